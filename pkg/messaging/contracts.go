package messaging

// Message bodies, one type per subject, next to the subjects and streams
// they travel on, so the publisher and the consumer share one definition.

// TutorialEventCreated is the body of tutorial.event.created (stream
// TUTORIAL_EVENTS): ids only. The importer writes it through the outbox; the
// admwriter reads the event's rows by TutorialEventID.
type TutorialEventCreated struct {
	TutorialEventID int64 `json:"tutorial_event_id"`
	ImportRunID     int64 `json:"import_run_id,omitempty"`
}

// AdmEventLinked is the body of adm.event.linked (stream ADM_RESULTS): the
// admwriter created the tutorial event in Administrate.
type AdmEventLinked struct {
	TutorialEventID int64    `json:"tutorial_event_id"`
	ImportRunID     int64    `json:"import_run_id,omitempty"`
	ExternalID      string   `json:"external_id"`
	SessionIDs      []string `json:"session_ids,omitempty"`
	Attempts        int      `json:"attempts"`
}

// AdmEventFailed is the body of adm.event.failed (stream ADM_RESULTS): the
// admwriter gave up on the tutorial event.
type AdmEventFailed struct {
	TutorialEventID int64  `json:"tutorial_event_id"`
	ImportRunID     int64  `json:"import_run_id,omitempty"`
	Reason          string `json:"reason"`
	// ExternalID is set when the event was created and a later step failed.
	ExternalID string `json:"external_id,omitempty"`
	// SessionErrors names the Days whose session calls failed.
	SessionErrors map[string]string `json:"session_errors,omitempty"`
	Attempts      int               `json:"attempts"`
}
