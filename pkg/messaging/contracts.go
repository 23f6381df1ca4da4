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
