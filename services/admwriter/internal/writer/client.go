package writer

import (
	"context"
	"errors"
	"slices"

	"github.com/Khan/genqlient/graphql"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
)

// sessionsPage is how many sessions a create asks back in its response; a
// course template with more sessions costs one extra read.
const sessionsPage = 100

// Client implements API with pkg/administrate's generated operations over
// its rate-limited, retrying client.
type Client struct {
	GQL graphql.Client
}

// NewClient wraps an administrate client.
func NewClient(c *administrate.Client) *Client { return &Client{GQL: c.GraphQL()} }

type fieldErr interface {
	GetLabel() string
	GetMessage() string
	GetValue() string
}

func payloadError[T any, P interface {
	*T
	fieldErr
}](op string, errs []T, entityID string) error {
	if len(errs) == 0 {
		return nil
	}
	me := &administrate.MutationError{Operation: op, EntityID: entityID}
	for i := range errs {
		e := P(&errs[i])
		me.Errors = append(me.Errors, administrate.FieldError{Field: e.GetLabel(), Message: e.GetMessage(), Value: e.GetValue()})
	}
	return me
}

// CreateBlended sends event.createBlended.
func (c *Client) CreateBlended(ctx context.Context, in administrate.BlendedEventCreateInput) (Created, error) {
	const op = "event.createBlended"
	resp, err := administrate.CreateBlendedEvent(ctx, c.GQL, in, sessionsPage)
	if err != nil {
		return Created{}, classify(op, err)
	}
	r := resp.Event.CreateBlended
	out := Created{EventID: r.Event.Id, Complete: !r.Event.Sessions.PageInfo.HasNextPage}
	for _, e := range r.Event.Sessions.Edges {
		out.SessionIDs = append(out.SessionIDs, e.Node.Id)
	}
	return out, classify(op, payloadError(op, r.Errors, r.Event.Id))
}

// CreateClassroom sends event.createClassroom.
func (c *Client) CreateClassroom(ctx context.Context, in administrate.ClassroomEventCreateInput) (Created, error) {
	const op = "event.createClassroom"
	resp, err := administrate.CreateClassroomEvent(ctx, c.GQL, in, sessionsPage)
	if err != nil {
		return Created{}, classify(op, err)
	}
	r := resp.Event.CreateClassroom
	out := Created{EventID: r.Event.Id, Complete: !r.Event.Sessions.PageInfo.HasNextPage}
	for _, e := range r.Event.Sessions.Edges {
		out.SessionIDs = append(out.SessionIDs, e.Node.Id)
	}
	return out, classify(op, payloadError(op, r.Errors, r.Event.Id))
}

// CreateLMS sends event.createLMS (LMS events have no sessions).
func (c *Client) CreateLMS(ctx context.Context, in administrate.LMSEventCreateInput) (Created, error) {
	const op = "event.createLMS"
	resp, err := administrate.CreateLMSEvent(ctx, c.GQL, in)
	if err != nil {
		return Created{}, classify(op, err)
	}
	r := resp.Event.CreateLMS
	return Created{EventID: r.Event.Id, Complete: true}, classify(op, payloadError(op, r.Errors, r.Event.Id))
}

// UpdateSession sends session.update.
func (c *Client) UpdateSession(ctx context.Context, sessionID string, in administrate.SessionUpdateInput) error {
	const op = "session.update"
	resp, err := administrate.UpdateSession(ctx, c.GQL, sessionID, in)
	if err != nil {
		return classify(op, err)
	}
	return classify(op, payloadError(op, resp.Session.Update.Errors, ""))
}

// AddSessionStaff sends session.addStaff. Contacts Administrate reports as
// already staff count as added; if only some were, the rest are sent again
// (Administrate rejects the whole call when any one is already there).
func (c *Client) AddSessionStaff(ctx context.Context, sessionID string, contactIDs []string) error {
	const op = "session.addStaff"
	todo := slices.Clone(contactIDs)
	for len(todo) > 0 {
		resp, err := administrate.AddSessionStaff(ctx, c.GQL, administrate.SessionStaffInput{
			SessionId: sessionID, ContactIds: todo, StaffType: administrate.StaffTypeInstructor})
		if err != nil {
			return classify(op, err)
		}
		perr := payloadError(op, resp.Session.AddStaff.Errors, "")
		if perr == nil {
			return nil
		}
		if !administrate.IsAlreadyStaff(perr) {
			return classify(op, perr)
		}
		var me *administrate.MutationError
		errors.As(perr, &me)
		left := todo[:0:0]
		for _, id := range todo {
			already := false
			for _, f := range me.Errors {
				if f.Value == id {
					already = true
				}
			}
			if !already {
				left = append(left, id)
			}
		}
		if len(left) == len(todo) {
			// The answer named no contact we sent: count it as done rather than loop.
			return nil
		}
		todo = left
	}
	return nil
}

// AddEventStaff sends event.addStaff for one administrator.
func (c *Client) AddEventStaff(ctx context.Context, eventID, contactID string) error {
	const op = "event.addStaff"
	resp, err := administrate.AddEventStaff(ctx, c.GQL, administrate.EventStaffInput{
		EventId: eventID, ContactId: contactID, StaffType: administrate.StaffTypeAdministrator})
	if err != nil {
		return classify(op, err)
	}
	perr := payloadError(op, resp.Event.AddStaff.Errors, "")
	if administrate.IsAlreadyStaff(perr) {
		return nil
	}
	return classify(op, perr)
}

// FindEvents lists events by title and course template code.
func (c *Client) FindEvents(ctx context.Context, title, courseTemplateCode string) ([]string, error) {
	const op = "events"
	filters := []administrate.EventFieldGraphFilter{
		{Field: administrate.EventFieldTitle, Operation: administrate.FilterOperationEq, Value: title},
		{Field: administrate.EventFieldCoursetemplatecode, Operation: administrate.FilterOperationEq, Value: courseTemplateCode},
	}
	ids, err := administrate.CollectPages(ctx, 50, func(ctx context.Context, first, offset int) (administrate.Page[string], error) {
		resp, err := administrate.Events(ctx, c.GQL, filters, first, offset)
		if err != nil {
			return administrate.Page[string]{}, err
		}
		p := administrate.Page[string]{HasNextPage: resp.Events.PageInfo.HasNextPage, TotalRecords: resp.Events.PageInfo.TotalRecords}
		for _, e := range resp.Events.Edges {
			p.Items = append(p.Items, e.Node.Id)
		}
		return p, nil
	})
	return ids, classify(op, err)
}

// EventSessions reads an event's session ids in Administrate's order.
func (c *Client) EventSessions(ctx context.Context, eventID string) ([]string, error) {
	const op = "event sessions"
	ids, err := administrate.CollectPages(ctx, sessionsPage, func(ctx context.Context, first, offset int) (administrate.Page[string], error) {
		resp, err := administrate.EventWithSessions(ctx, c.GQL, eventID, first, offset)
		if err != nil {
			return administrate.Page[string]{}, err
		}
		ev, ok := resp.Node.(*administrate.EventWithSessionsNodeEvent)
		if !ok || ev == nil {
			return administrate.Page[string]{}, administrate.ErrNotFound
		}
		p := administrate.Page[string]{HasNextPage: ev.Sessions.PageInfo.HasNextPage, TotalRecords: ev.Sessions.PageInfo.TotalRecords}
		for _, e := range ev.Sessions.Edges {
			p.Items = append(p.Items, e.Node.Id)
		}
		return p, nil
	})
	return ids, classify(op, err)
}

// Probe asks for one event: the cheapest read that proves Administrate answers.
func (c *Client) Probe(ctx context.Context) error {
	_, err := administrate.Events(ctx, c.GQL, nil, 1, 0)
	if err != nil && messaging.IsPermanent(classify("probe", err)) {
		// Administrate answered; the breaker only cares that it is up.
		return nil
	}
	return err
}
