package administrate

import (
	"context"
	"fmt"
)

// StaffMember is one Staff record: the id removeStaff takes, its contact and type.
type StaffMember struct {
	ID, ContactID string
	Type          StaffType
}

// SessionState is one session as a correction sees it: its id and staff.
type SessionState struct {
	ID    string
	Staff []StaffMember
}

// EventSnapshot is the part of an event a correction by re-import can change: the
// fields event.update takes, the event's staff and each session's staff (sessions in
// Administrate's order). Session times cannot be read back (the tenant exposes none).
type EventSnapshot struct {
	ID, Title           string
	MaxPlaces           int
	LocationID, VenueID string
	CustomFieldValues   []CustomFieldValue
	Staff               []StaffMember
	Sessions            []SessionState
}

// eventStatePage is how many sessions and staff one EventState read asks for; more
// than the writer's limits allow, so one page is always the whole state.
const eventStatePage = 200

// staffMembers is a page of an event's or a session's staff.
func staffMembers(p StaffPage) []StaffMember {
	var out []StaffMember
	for _, e := range p.Edges {
		out = append(out, StaffMember{ID: e.Node.Id, ContactID: e.Node.Contact.Id, Type: e.Node.StaffType})
	}
	return out
}

// EventState reads what a correction converges: one query, every part in one page.
// An answer that says more pages exist is refused rather than read in part.
func (c *Client) EventState(ctx context.Context, id string) (EventSnapshot, error) {
	resp, err := EventState(ctx, c, id, eventStatePage)
	if err != nil {
		return EventSnapshot{}, err
	}
	n, ok := resp.Node.(*EventStateNodeEvent)
	if !ok || n == nil {
		return EventSnapshot{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
	}
	st := EventSnapshot{ID: n.Id, Title: n.Title, MaxPlaces: n.MaxPlaces, LocationID: n.Location.Id, VenueID: n.Venue.Id}
	for _, v := range n.CustomFieldValues {
		st.CustomFieldValues = append(st.CustomFieldValues, CustomFieldValue{DefinitionKey: v.DefinitionKey, Value: v.Value})
	}
	if n.Staff.PageInfo.HasNextPage || n.Sessions.PageInfo.HasNextPage {
		return EventSnapshot{}, fmt.Errorf("administrate EventState: event %s has more than %d staff or sessions", id, eventStatePage)
	}
	st.Staff = staffMembers(n.Staff.StaffPage)
	for _, e := range n.Sessions.Edges {
		if e.Node.Staff.PageInfo.HasNextPage {
			return EventSnapshot{}, fmt.Errorf("administrate EventState: session %s has more than %d staff", e.Node.Id, eventStatePage)
		}
		st.Sessions = append(st.Sessions, SessionState{ID: e.Node.Id, Staff: staffMembers(e.Node.Staff.StaffPage)})
	}
	return st, nil
}

// UpdateEvent calls event.update. Only the fields set in in are sent (omitempty), so
// an update changes exactly what it names and can be repeated safely.
func (c *Client) UpdateEvent(ctx context.Context, eventID string, in EventUpdateInput) error {
	resp, err := UpdateEvent(ctx, c, eventID, in)
	if err != nil {
		return err
	}
	return mutationError("UpdateEvent", resp.Event.Update.Errors, "")
}

// RemoveStaff calls event.removeStaff for one Staff id (of the event or of one of its
// sessions).
func (c *Client) RemoveStaff(ctx context.Context, staffID string) error {
	resp, err := RemoveStaff(ctx, c, EventRemoveStaffInput{StaffId: staffID})
	if err != nil {
		return err
	}
	return mutationError("RemoveStaff", resp.Event.RemoveStaff.Errors, "")
}
