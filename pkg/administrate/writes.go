package administrate

import (
	"context"
	"fmt"
	"slices"
)

// Created is what an event create returned: the ids Administrate assigned. When
// Complete is false the response held only a first page of sessions; read the rest
// with EventByID once the event id is safely stored.
type Created struct {
	EventID, LegacyID string
	Sessions          []SessionRef // in Administrate's order
	Complete          bool
}

// SessionIDs returns the ids of c.Sessions in order.
func (c Created) SessionIDs() []string {
	ids := make([]string, 0, len(c.Sessions))
	for _, s := range c.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

// createdFrom is what createBlended or createClassroom answered: the event's ids and
// the first page of its sessions.
func createdFrom(f CreatedEventFields) Created {
	out := Created{EventID: f.Id, LegacyID: f.LegacyId, Complete: !f.Sessions.PageInfo.HasNextPage}
	for _, e := range f.Sessions.Edges {
		out.Sessions = append(out.Sessions, SessionRef{ID: e.Node.Id, LegacyID: e.Node.LegacyId})
	}
	return out
}

// finish turns payload errors into *MutationError (keeping the id when Administrate
// created the event anyway) and refuses an answer with neither event nor errors.
func finish(op string, c Created, errs error) (Created, error) {
	if errs != nil {
		return c, errs
	}
	if c.EventID == "" {
		return c, fmt.Errorf("administrate %s: no event and no errors in the answer", op)
	}
	return c, nil
}

// CreateBlendedEvent calls event.createBlended. The answer includes the sessions the
// course template gives the event. On *MutationError with EntityID set, the event
// exists: keep the returned EventID.
func (c *Client) CreateBlendedEvent(ctx context.Context, in BlendedEventCreateInput) (Created, error) {
	resp, err := CreateBlendedEvent(ctx, c, in, c.opts.PageSize)
	if err != nil {
		return Created{}, err
	}
	r := resp.Event.CreateBlended
	return finish("CreateBlendedEvent", createdFrom(r.Event.CreatedEventFields),
		mutationError("CreateBlendedEvent", r.Errors, r.Event.Id))
}

// CreateClassroomEvent calls event.createClassroom.
func (c *Client) CreateClassroomEvent(ctx context.Context, in ClassroomEventCreateInput) (Created, error) {
	resp, err := CreateClassroomEvent(ctx, c, in, c.opts.PageSize)
	if err != nil {
		return Created{}, err
	}
	r := resp.Event.CreateClassroom
	return finish("CreateClassroomEvent", createdFrom(r.Event.CreatedEventFields),
		mutationError("CreateClassroomEvent", r.Errors, r.Event.Id))
}

// CreateLMSEvent calls event.createLMS (LMS events have no sessions).
func (c *Client) CreateLMSEvent(ctx context.Context, in LMSEventCreateInput) (Created, error) {
	resp, err := CreateLMSEvent(ctx, c, in)
	if err != nil {
		return Created{}, err
	}
	r := resp.Event.CreateLMS
	return finish("CreateLMSEvent", Created{EventID: r.Event.Id, LegacyID: r.Event.LegacyId, Complete: true},
		mutationError("CreateLMSEvent", r.Errors, r.Event.Id))
}

// AddEventStaff calls event.addStaff for one contact. A contact Administrate reports as
// already staff on the event counts as added, so the call can be repeated safely.
func (c *Client) AddEventStaff(ctx context.Context, eventID, contactID string, staffType StaffType) error {
	resp, err := AddEventStaff(ctx, c, EventStaffInput{EventId: eventID, ContactId: contactID, StaffType: staffType})
	if err != nil {
		return err
	}
	perr := mutationError("AddEventStaff", resp.Event.AddStaff.Errors, "")
	if IsAlreadyStaff(perr) {
		return nil
	}
	return perr
}

// AddSessionStaff calls session.addStaff. Contacts Administrate reports as already
// staff count as added; if only some were, the rest are sent again (Administrate
// rejects the whole call when any one of them is already there).
func (c *Client) AddSessionStaff(ctx context.Context, sessionID string, contactIDs []string, staffType StaffType) error {
	todo := slices.Clone(contactIDs)
	for len(todo) > 0 {
		resp, err := AddSessionStaff(ctx, c, SessionStaffInput{SessionId: sessionID, ContactIds: todo, StaffType: staffType})
		if err != nil {
			return err
		}
		perr := mutationError("AddSessionStaff", resp.Session.AddStaff.Errors, "")
		if perr == nil {
			return nil
		}
		if !IsAlreadyStaff(perr) {
			return perr
		}
		me := perr.(*MutationError)
		left := todo[:0:0]
		for _, id := range todo {
			if !slices.ContainsFunc(me.Errors, func(f FieldError) bool { return f.Value == id }) {
				left = append(left, id)
			}
		}
		if len(left) == len(todo) {
			// The answer named none of the contacts sent: count it as done rather than loop.
			return nil
		}
		todo = left
	}
	return nil
}

// UpdateSession calls session.update.
func (c *Client) UpdateSession(ctx context.Context, sessionID string, in SessionUpdateInput) error {
	resp, err := UpdateSession(ctx, c, sessionID, in)
	if err != nil {
		return err
	}
	return mutationError("UpdateSession", resp.Session.Update.Errors, "")
}

// CreateLocation calls location.create, an inferred mutation: Doctor says whether the
// tenant has it.
func (c *Client) CreateLocation(ctx context.Context, in LocationCreateInput) (Location, error) {
	resp, err := CreateLocation(ctx, c, in)
	if err != nil {
		return Location{}, err
	}
	r := resp.Location.Create
	l := Location{ID: r.Location.Id, LegacyID: r.Location.LegacyId, Name: r.Location.Name, Code: r.Location.Code}
	return l, mutationError("CreateLocation", r.Errors, r.Location.Id)
}

// CreateVenue calls venue.create, an inferred mutation: Doctor says whether the tenant
// has it.
func (c *Client) CreateVenue(ctx context.Context, in VenueCreateInput) (Venue, error) {
	resp, err := CreateVenue(ctx, c, in)
	if err != nil {
		return Venue{}, err
	}
	r := resp.Venue.Create
	v := Venue{ID: r.Venue.Id, LegacyID: r.Venue.LegacyId, Name: r.Venue.Name, Description: r.Venue.Description,
		LocationID: r.Venue.Location.Id}
	return v, mutationError("CreateVenue", r.Errors, r.Venue.Id)
}

// CreateCourseTemplate calls courseTemplate.create, an inferred mutation: Doctor says
// whether the tenant has it.
func (c *Client) CreateCourseTemplate(ctx context.Context, in CourseTemplateCreateInput) (CourseTemplate, error) {
	resp, err := CreateCourseTemplate(ctx, c, in)
	if err != nil {
		return CourseTemplate{}, err
	}
	r := resp.CourseTemplate.Create
	ct := CourseTemplate{ID: r.CourseTemplate.Id, LegacyID: r.CourseTemplate.LegacyId, Code: r.CourseTemplate.Code,
		Title: r.CourseTemplate.Title}
	return ct, mutationError("CreateCourseTemplate", r.Errors, r.CourseTemplate.Id)
}
