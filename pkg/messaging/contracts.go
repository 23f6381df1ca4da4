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

// Lifecycle command actions: the last token of event.command.<action>.
const (
	ActionPublish = "publish"
	ActionWebSale = "websale"
	ActionSoldOut = "soldout"
	ActionPrices  = "prices"
	ActionDelete  = "delete"
)

// EventCommand is the body of event.command.<action> (stream EVENT_COMMANDS):
// one Administrate event this system created and what to do to it. The
// admwriter (`admwriter events …` publishes them) answers on
// event.result.<RunID>.
type EventCommand struct {
	EventCommandRef
	// On is the value for websale and soldout.
	On bool `json:"on,omitempty"`
	// WebSaleKey is the "Web sale" custom field's definition key (websale).
	WebSaleKey string `json:"web_sale_key,omitempty"`
	// Prices are the prices to add (prices).
	Prices []EventCommandPrice `json:"prices,omitempty"`
}

// EventCommandRef names one command: its run, its action and the event it is
// about. A command's result repeats it, so the two carry the same fields.
type EventCommandRef struct {
	RunID   string `json:"run_id"`
	Action  string `json:"action"`
	EventID int64  `json:"event_id"` // adm.events.id (the bridge row)
	// AdmEventID is the Administrate event id the bridge holds.
	AdmEventID string `json:"adm_event_id"`
	Code       string `json:"code,omitempty"`
}

// EventCommandPrice is one event price: level, financial unit, amount.
type EventCommandPrice struct {
	PriceLevelID string `json:"price_level_id"`
	CurrencyID   string `json:"currency_id"`
	Amount       string `json:"amount"`
}

// Outcomes of one event's command.
const (
	OutcomeChanged   = "changed"
	OutcomeUnchanged = "unchanged"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
)

// EventResult is the body of event.result.<run id> (stream EVENT_RESULTS).
type EventResult struct {
	EventCommandRef
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// TutorialEventChanged is the body of tutorial.event.changed (stream
// TUTORIAL_EVENTS): a re-import corrected an event imported earlier. The
// importer writes it through the outbox in the transaction that updates the
// tutorial rows; the admwriter converges the Administrate event on those
// rows, touching only what the message names (so a change made in
// Administrate by other means, a web sale switched on for example, is left
// alone unless the workbook corrects that very field).
type TutorialEventChanged struct {
	TutorialEventID int64 `json:"tutorial_event_id"`
	ImportRunID     int64 `json:"import_run_id,omitempty"`
	// Revision counts the corrections of the event (1 for the first); the
	// admwriter applies each revision once.
	Revision int `json:"revision"`
	// EventFields names the event fields to converge (ChangedField* values).
	EventFields []string `json:"event_fields,omitempty"`
	// SessionDays are the Days whose session.update must be sent again
	// (title, times, URL, or the event's location or venue).
	SessionDays []int `json:"session_days,omitempty"`
	// StaffDays are the Days whose instructors changed.
	StaffDays []int `json:"staff_days,omitempty"`
	// Administrators is set when the event administrators changed.
	Administrators bool `json:"administrators,omitempty"`
	// Changes lists every corrected field, old and new, for logs and audits.
	Changes []FieldChange `json:"changes"`
}

// FieldChange is one corrected field of TutorialEventChanged.
type FieldChange struct {
	Day   int    `json:"day,omitempty"`
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// The event fields TutorialEventChanged.EventFields may name.
const (
	ChangedFieldTitle            = "title"
	ChangedFieldMaxPlaces        = "max_places"
	ChangedFieldLocation         = "location"
	ChangedFieldVenue            = "venue"
	ChangedFieldSitting          = "sitting"
	ChangedFieldWebSale          = "web_sale"
	ChangedFieldURL              = "url"
	ChangedFieldOCRMoodleCode    = "ocr_moodle_code"
	ChangedFieldFinalisationDate = "finalisation_date"
)
