package writer

import (
	"context"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
)

// Client implements API over pkg/administrate's typed layer: it only maps calls and
// classifies errors for the failure policy.
type Client struct {
	A *administrate.Client
}

// NewClient wraps an administrate client.
func NewClient(c *administrate.Client) *Client { return &Client{A: c} }

func created(c administrate.Created) Created {
	return Created{EventID: c.EventID, SessionIDs: c.SessionIDs(), Complete: c.Complete}
}

// CreateBlended sends event.createBlended.
func (c *Client) CreateBlended(ctx context.Context, in administrate.BlendedEventCreateInput) (Created, error) {
	r, err := c.A.CreateBlendedEvent(ctx, in)
	return created(r), classify("event.createBlended", err)
}

// CreateClassroom sends event.createClassroom.
func (c *Client) CreateClassroom(ctx context.Context, in administrate.ClassroomEventCreateInput) (Created, error) {
	r, err := c.A.CreateClassroomEvent(ctx, in)
	return created(r), classify("event.createClassroom", err)
}

// CreateLMS sends event.createLMS (LMS events have no sessions).
func (c *Client) CreateLMS(ctx context.Context, in administrate.LMSEventCreateInput) (Created, error) {
	r, err := c.A.CreateLMSEvent(ctx, in)
	return created(r), classify("event.createLMS", err)
}

// UpdateSession sends session.update.
func (c *Client) UpdateSession(ctx context.Context, sessionID string, in administrate.SessionUpdateInput) error {
	return classify("session.update", c.A.UpdateSession(ctx, sessionID, in))
}

// AddSessionStaff adds instructors to a session; "already staff" counts as added.
func (c *Client) AddSessionStaff(ctx context.Context, sessionID string, contactIDs []string) error {
	return classify("session.addStaff", c.A.AddSessionStaff(ctx, sessionID, contactIDs, administrate.StaffTypeInstructor))
}

// AddEventStaff adds one administrator; "already staff" counts as added.
func (c *Client) AddEventStaff(ctx context.Context, eventID, contactID string) error {
	return classify("event.addStaff", c.A.AddEventStaff(ctx, eventID, contactID, administrate.StaffTypeAdministrator))
}

// Batch sends ops through the client's Batch (ADMINISTRATE_BATCH caps the ops
// per request) and classifies each op's error.
func (c *Client) Batch(ctx context.Context, ops []administrate.BatchOp) ([]error, int) {
	r := c.A.Batch(ctx, ops)
	for i, err := range r.Errors {
		r.Errors[i] = classify(ops[i].Name(), err)
	}
	return r.Errors, r.Requests
}

// FindEvents returns the ids of the events with exactly this title whose course
// template has this code (as Administrate returns it).
func (c *Client) FindEvents(ctx context.Context, title, courseTemplateCode string) ([]string, error) {
	evs, err := c.A.FindEvents(ctx, administrate.EventQuery{Title: title, CourseTemplateCode: courseTemplateCode})
	if err != nil {
		return nil, classify("events", err)
	}
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// EventSessions reads an event's session ids in Administrate's order.
func (c *Client) EventSessions(ctx context.Context, eventID string) ([]string, error) {
	ev, err := c.A.EventByID(ctx, eventID)
	if err != nil {
		return nil, classify("event sessions", err)
	}
	ids := make([]string, 0, len(ev.Sessions))
	for _, s := range ev.Sessions {
		ids = append(ids, s.ID)
	}
	return ids, nil
}

// Probe asks for one event: the cheapest read that proves Administrate answers.
func (c *Client) Probe(ctx context.Context) error {
	err := c.A.Probe(ctx)
	if err != nil && messaging.IsPermanent(classify("probe", err)) {
		// Administrate answered; the breaker only cares that it is up.
		return nil
	}
	return err
}
