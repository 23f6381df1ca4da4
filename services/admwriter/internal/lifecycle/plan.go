package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
)

// States reads the Administrate state of events in bulk (ids in chunks of
// 100, one page each), keyed by Administrate id. An event missing from the
// answer is gone from Administrate.
func States(ctx context.Context, api *administrate.Client, events []Event) (map[string]administrate.EventStatus, error) {
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.AdmEventID)
	}
	out := make(map[string]administrate.EventStatus, len(events))
	if len(ids) == 0 {
		return out, nil
	}
	got, err := api.ListEventStatuses(ctx, administrate.EventFilter{IDs: ids}, administrate.WithPageSize(100))
	if err != nil {
		return nil, fmt.Errorf("read events from Administrate: %w", err)
	}
	for _, s := range got {
		out[s.ID] = s
	}
	return out, nil
}

// Step is one event's planned change: the command to send, or why none.
type Step struct {
	Event
	// Command is nil when nothing is to change (Outcome says why).
	Command *messaging.EventCommand `json:"command,omitempty"`
	Outcome string                  `json:"outcome"` // change, unchanged, refused
	Detail  string                  `json:"detail"`
}

// Request is what a lifecycle command asks for.
type Request struct {
	Action string
	On     bool // websale, soldout
	// WebSaleKey is the "Web sale" definition key (websale).
	WebSaleKey string
	// Prices per lower-cased course template code (prices); Explicit, when
	// set, is the same price for every event instead.
	TemplatePrices map[string][]TemplatePrice
	Explicit       *TemplatePrice
	CurrencyID     string
	Added          map[int64]map[[2]string]bool
}

// Plan decides, per event, what req would change. states is from States
// (not needed for prices: what this system added is in adm.event_prices).
func Plan(runID string, events []Event, states map[string]administrate.EventStatus, req Request) []Step {
	steps := make([]Step, 0, len(events))
	for _, e := range events {
		s := Step{Event: e, Outcome: "change"}
		cmd := &messaging.EventCommand{
			EventCommandRef: messaging.EventCommandRef{RunID: runID, Action: req.Action, EventID: e.ID, AdmEventID: e.AdmEventID, Code: e.Code},
			On:              req.On,
			WebSaleKey:      req.WebSaleKey,
		}
		st, found := states[e.AdmEventID]
		if req.Action != messaging.ActionPrices && !found {
			if req.Action == messaging.ActionDelete {
				s.Detail = "not in Administrate any more: only the bridge is marked"
				s.Command = cmd
			} else {
				s.Outcome, s.Detail = "refused", "not in Administrate any more"
			}
			steps = append(steps, s)
			continue
		}
		switch req.Action {
		case messaging.ActionPublish:
			switch st.LifecycleState {
			case administrate.EventLifecycleStatePublished:
				s.Outcome, s.Detail = "unchanged", "already published"
			case administrate.EventLifecycleStateDraft:
				s.Detail = "draft → published"
			default:
				s.Outcome, s.Detail = "refused", string(st.LifecycleState)+": cannot be published"
			}
		case messaging.ActionWebSale:
			v, _ := st.CustomField(req.WebSaleKey)
			if administrate.IsWebSaleOn(v) == req.On {
				s.Outcome, s.Detail = "unchanged", "web sale already "+onOff(req.On)
			} else {
				s.Detail = "web sale " + onOff(!req.On) + " → " + onOff(req.On)
			}
		case messaging.ActionSoldOut:
			if st.IsSoldOut == req.On {
				s.Outcome, s.Detail = "unchanged", "sold out already "+onOff(req.On)
			} else {
				s.Detail = "sold out " + onOff(!req.On) + " → " + onOff(req.On)
			}
		case messaging.ActionDelete:
			if st.LifecycleState != administrate.EventLifecycleStateDraft {
				s.Outcome, s.Detail = "refused", string(st.LifecycleState)+": only drafts are deleted"
			} else {
				s.Detail = "draft: delete"
			}
		case messaging.ActionPrices:
			prices := req.TemplatePrices[strings.ToLower(e.CourseTemplateCode)]
			if req.Explicit != nil {
				prices = []TemplatePrice{*req.Explicit}
			}
			var add []string
			for _, p := range prices {
				if req.Added[e.ID][[2]string{p.PriceLevelID, req.CurrencyID}] {
					continue
				}
				cmd.Prices = append(cmd.Prices, messaging.EventCommandPrice{PriceLevelID: p.PriceLevelID,
					CurrencyID: req.CurrencyID, Amount: p.Amount})
				add = append(add, p.PriceLevelName+" "+p.Amount)
			}
			switch {
			case len(prices) == 0:
				s.Outcome, s.Detail = "refused", "course template "+e.CourseTemplateCode+" has no prices (syncer run course-template-price-levels)"
			case len(add) == 0:
				s.Outcome, s.Detail = "unchanged", "prices already added"
			default:
				s.Detail = "add " + strings.Join(add, ", ")
			}
		}
		if s.Outcome == "change" {
			s.Command = cmd
		}
		steps = append(steps, s)
	}
	return steps
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
