package administrate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Events as they flow back into the tutorial catalogue (the events stage and the
// webhook consumer): state, web sale and URL (custom field values), places,
// location and venue, staff, and each session's location, venue and staff.

// SyncedSession is a session as the events stage reads it.
type SyncedSession struct {
	ID, LegacyID, Title    string
	LocationID, VenueID    string
	InstructorContactIDs   []string // staff of type instructor, in Administrate's order
	AdministratorContactID []string
}

// SyncedEvent is an event as the events stage reads it. Times are zero when
// Administrate returns none.
type SyncedEvent struct {
	ID, LegacyID, Title     string
	LifecycleState          EventLifecycleState
	IsSoldOut               bool
	CancelledAt, UpdatedAt  time.Time
	MaxPlaces               int
	RemainingPlaces         int
	LmsStart, LmsEnd        time.Time
	RegistrationDeadline    time.Time
	LocationID, VenueID     string
	CustomFieldValues       []CustomFieldValue
	InstructorContactIDs    []string // event-level staff of type instructor
	AdministratorContactIDs []string
	Sessions                []SyncedSession // Administrate's order (creation order)
}

// ErrNestedIncomplete says a nested list (an event's sessions or staff) has more
// entries than one read returns; the read is refused rather than taken as complete.
var ErrNestedIncomplete = errors.New("a nested list has more entries than one page")

// NestedPageSize is how many sessions and staff of one event are read with it.
const NestedPageSize = 100

// splitStaff returns the contact ids of a staff page's instructors and of its
// administrators, in Administrate's order.
func splitStaff(p SyncStaffPage) (instructors, admins []string) {
	for _, e := range p.Edges {
		switch e.Node.StaffType {
		case StaffTypeInstructor:
			instructors = append(instructors, e.Node.Contact.Id)
		case StaffTypeAdministrator:
			admins = append(admins, e.Node.Contact.Id)
		}
	}
	return instructors, admins
}

func syncedEventFrom(f SyncEventFields) (SyncedEvent, error) {
	e := SyncedEvent{ID: f.Id, LegacyID: f.LegacyId, Title: f.Title, LifecycleState: f.LifecycleState,
		IsSoldOut: f.IsSoldOut, CancelledAt: f.CancelledAt.Time, UpdatedAt: f.UpdatedAt.Time,
		MaxPlaces: f.MaxPlaces, RemainingPlaces: f.RemainingPlaces, LmsStart: f.LmsStart.Time, LmsEnd: f.LmsEnd.Time,
		RegistrationDeadline: f.RegistrationDeadline.Time, LocationID: f.Location.Id, VenueID: f.Venue.Id}
	for _, v := range f.CustomFieldValues {
		e.CustomFieldValues = append(e.CustomFieldValues, CustomFieldValue{DefinitionKey: v.DefinitionKey, Value: v.Value})
	}
	if f.Staff.PageInfo.HasNextPage || f.Sessions.PageInfo.HasNextPage {
		return e, fmt.Errorf("event %s (%s): %w", f.Title, f.Id, ErrNestedIncomplete)
	}
	e.InstructorContactIDs, e.AdministratorContactIDs = splitStaff(f.Staff.SyncStaffPage)
	for _, se := range f.Sessions.Edges {
		n := se.Node.SyncSessionFields
		if n.Staff.PageInfo.HasNextPage {
			return e, fmt.Errorf("session %s of event %s: %w", n.Id, f.Title, ErrNestedIncomplete)
		}
		s := SyncedSession{ID: n.Id, LegacyID: n.LegacyId, Title: n.Title, LocationID: n.Location.Id, VenueID: n.Venue.Id}
		s.InstructorContactIDs, s.AdministratorContactID = splitStaff(n.Staff.SyncStaffPage)
		e.Sessions = append(e.Sessions, s)
	}
	return e, nil
}

// ListSyncedEvents returns every event whose title contains the word sitting (all
// events when sitting is ""), each with its sessions and staff.
func (c *Client) ListSyncedEvents(ctx context.Context, sitting string, opts ...ListOption) ([]SyncedEvent, error) {
	var filters []EventFieldGraphFilter
	if sitting != "" {
		filters = []EventFieldGraphFilter{{Field: EventFieldTitle, Operation: FilterOperationWordlike, Value: sitting}}
	}
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[SyncedEvent], error) {
		resp, err := SyncEvents(ctx, c, filters, first, offset, NestedPageSize)
		if err != nil {
			return Page[SyncedEvent]{}, err
		}
		conn := resp.Events
		p := Page[SyncedEvent]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			ev, err := syncedEventFrom(e.Node.SyncEventFields)
			if err != nil {
				return Page[SyncedEvent]{}, err
			}
			p.Items = append(p.Items, ev)
		}
		return p, nil
	})
}

// SyncedEventByID reads one event as it is now; ErrNotFound when Administrate has no
// such event (deleted).
func (c *Client) SyncedEventByID(ctx context.Context, id string) (SyncedEvent, error) {
	resp, err := SyncEvent(ctx, c, id, NestedPageSize)
	if err != nil {
		return SyncedEvent{}, err
	}
	n, ok := resp.Node.(*SyncEventNodeEvent)
	if !ok || n == nil {
		return SyncedEvent{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
	}
	return syncedEventFrom(n.SyncEventFields)
}

// EventOfSession returns the id of the event a session belongs to; ErrNotFound when
// Administrate has no such session.
func (c *Client) EventOfSession(ctx context.Context, sessionID string) (string, error) {
	resp, err := SessionEvent(ctx, c, sessionID)
	if err != nil {
		return "", err
	}
	n, ok := resp.Node.(*SessionEventNodeSession)
	if !ok || n == nil || n.Event.Id == "" {
		return "", fmt.Errorf("%w: session %s", ErrNotFound, sessionID)
	}
	return n.Event.Id, nil
}

// Webhook is a webhook registration.
type Webhook struct {
	ID, Name, URL, Query string
	LifecycleState       WebhookLifecycleState
	TypeID, TypeName     string
}

func webhookFrom(f WebhookFields) Webhook {
	return Webhook{ID: f.Id, Name: f.Name, URL: f.Url, Query: f.Query, LifecycleState: f.LifecycleState,
		TypeID: f.WebhookType.Id, TypeName: f.WebhookType.Name}
}

// WebhookType is a type of webhook (the trigger), e.g. "Event Updated".
type WebhookType struct{ ID, Name string }

// ListWebhooks returns every webhook registration.
func (c *Client) ListWebhooks(ctx context.Context, opts ...ListOption) ([]Webhook, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Webhook], error) {
		resp, err := Webhooks(ctx, c, first, offset)
		if err != nil {
			return Page[Webhook]{}, err
		}
		conn := resp.Webhooks
		p := Page[Webhook]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, webhookFrom(e.Node.WebhookFields))
		}
		return p, nil
	})
}

// ListWebhookTypes returns every webhook type.
func (c *Client) ListWebhookTypes(ctx context.Context, opts ...ListOption) ([]WebhookType, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[WebhookType], error) {
		resp, err := WebhookTypes(ctx, c, first, offset)
		if err != nil {
			return Page[WebhookType]{}, err
		}
		conn := resp.WebhookTypes
		p := Page[WebhookType]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, WebhookType{ID: e.Node.Id, Name: e.Node.Name})
		}
		return p, nil
	})
}

// CreateWebhook registers a webhook. config is the JSON text Administrate delivers
// back with every payload (e.g. {"secret": "…"}).
func (c *Client) CreateWebhook(ctx context.Context, name, typeID, query, url, config string) (Webhook, error) {
	resp, err := CreateWebhook(ctx, c, WebhookCreateInput{WebhookTypeId: typeID, Name: name, Query: query, Url: url, Config: config})
	if err != nil {
		return Webhook{}, err
	}
	if perr := mutationError("CreateWebhook", resp.Webhooks.Create.Errors, ""); perr != nil {
		return Webhook{}, perr
	}
	return webhookFrom(resp.Webhooks.Create.Webhook.WebhookFields), nil
}

// UpdateWebhook changes a webhook's query, URL, configuration and state (its type
// cannot change).
func (c *Client) UpdateWebhook(ctx context.Context, id, query, url, config string, state WebhookLifecycleState) (Webhook, error) {
	resp, err := UpdateWebhook(ctx, c, WebhookUpdateInput{WebhookId: id, Query: query, Url: url, Config: config, LifecycleState: state})
	if err != nil {
		return Webhook{}, err
	}
	if perr := mutationError("UpdateWebhook", resp.Webhooks.Update.Errors, id); perr != nil {
		return Webhook{}, perr
	}
	return webhookFrom(resp.Webhooks.Update.Webhook.WebhookFields), nil
}
