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
	RunID   string `json:"run_id"`
	Action  string `json:"action"`
	EventID int64  `json:"event_id"` // adm.events.id (the bridge row)
	// AdmEventID is the Administrate event id the bridge holds.
	AdmEventID string `json:"adm_event_id"`
	Code       string `json:"code,omitempty"`
	// On is the value for websale and soldout.
	On bool `json:"on,omitempty"`
	// WebSaleKey is the "Web sale" custom field's definition key (websale).
	WebSaleKey string `json:"web_sale_key,omitempty"`
	// Prices are the prices to add (prices).
	Prices []EventCommandPrice `json:"prices,omitempty"`
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
	RunID      string `json:"run_id"`
	Action     string `json:"action"`
	EventID    int64  `json:"event_id"`
	AdmEventID string `json:"adm_event_id"`
	Code       string `json:"code,omitempty"`
	Outcome    string `json:"outcome"`
	Detail     string `json:"detail,omitempty"`
}
