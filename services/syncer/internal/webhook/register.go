package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"admsync/pkg/administrate"
)

// The webhooks this system needs: every change of an event or a session. The
// registered query asks only for the id: the consumer reads the object itself.
const (
	eventQuery   = "query EventChanged($objectid: ID!) { node(id: $objectid) { id } }"
	sessionQuery = "query SessionChanged($objectid: ID!) { node(id: $objectid) { id } }"
)

// Wanted names each webhook (our name, matched on re-registration) and its type.
var Wanted = []struct{ Name, Type, Query string }{
	{"admsync: Event Updated", "Event Updated", eventQuery},
	{"admsync: Event Published", "Event Published", eventQuery},
	{"admsync: Event Cancelled", "Event Cancelled", eventQuery},
	{"admsync: Event Deleted", "Event Deleted", eventQuery},
	{"admsync: Session Created", "Session Created", sessionQuery},
	{"admsync: Session Updated", "Session Updated", sessionQuery},
	{"admsync: Session Deleted", "Session Deleted", sessionQuery},
}

// Registration is what Register did with one webhook.
type Registration struct {
	Name   string `json:"name"`
	ID     string `json:"id,omitempty"`
	Action string `json:"action"` // created, updated, unchanged, unavailable
	Note   string `json:"note,omitempty"`
}

// Register creates the webhooks in Wanted, or updates the ones (matched by
// name) whose URL, query, configuration or state differ; a second run changes
// nothing. url is where Administrate posts (…/webhooks/administrate/<token>).
func Register(ctx context.Context, c *administrate.Client, url, secret string) ([]Registration, error) {
	types, err := c.ListWebhookTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhook types: %w", err)
	}
	typeIDs := map[string]string{}
	for _, t := range types {
		typeIDs[t.Name] = t.ID
	}
	existing, err := c.ListWebhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	byName := map[string]administrate.Webhook{}
	for _, w := range existing {
		byName[w.Name] = w
	}
	cfg, _ := json.Marshal(map[string]string{"secret": secret})
	var out []Registration
	for _, w := range Wanted {
		r := Registration{Name: w.Name}
		typeID, ok := typeIDs[w.Type]
		if !ok {
			r.Action, r.Note = "unavailable", "the tenant has no webhook type "+w.Type
			out = append(out, r)
			continue
		}
		have, found := byName[w.Name]
		switch {
		case !found:
			made, err := c.CreateWebhook(ctx, w.Name, typeID, w.Query, url, string(cfg))
			if err != nil {
				return out, fmt.Errorf("create webhook %q: %w", w.Name, err)
			}
			r.ID, r.Action = made.ID, "created"
		case have.TypeID != "" && have.TypeID != typeID:
			r.ID, r.Action, r.Note = have.ID, "unavailable", "a webhook of this name has another type (Administrate cannot change a type): rename or disable it"
		default:
			// The configuration (the secret) is not readable back, so it is
			// always sent; the update is idempotent on Administrate's side.
			same := have.URL == url && have.Query == w.Query && have.LifecycleState == administrate.WebhookLifecycleStateActive
			if _, err := c.UpdateWebhook(ctx, have.ID, w.Query, url, string(cfg), administrate.WebhookLifecycleStateActive); err != nil {
				return out, fmt.Errorf("update webhook %q: %w", w.Name, err)
			}
			r.ID, r.Action = have.ID, "updated"
			if same {
				r.Action = "unchanged"
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// List returns every webhook registered in the tenant, ours first.
func List(ctx context.Context, c *administrate.Client) ([]administrate.Webhook, error) {
	ws, err := c.ListWebhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	ours := map[string]bool{}
	for _, w := range Wanted {
		ours[w.Name] = true
	}
	sort.SliceStable(ws, func(i, j int) bool { return ours[ws[i].Name] && !ours[ws[j].Name] })
	return ws, nil
}
