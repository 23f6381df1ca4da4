package admsim

import (
	"context"
	"fmt"
	"strings"

	"admsync/pkg/admsim/internal/graph"
)

// The operations a correction by re-import uses: event.update, event.removeStaff and
// a session's staff.

// Update applies the fields given and leaves the others as they are, as
// Administrate's event.update does; custom-field values replace those of the same
// definition. A rejected update changes nothing.
func (m eventMutationsResolver) Update(ctx context.Context, obj *graph.EventMutations, eventID string, in graph.EventUpdateInput) (*graph.EventMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	evKey := lookup(&errs, "eventId", &eventID, prefixEvent, "Event", st.events)
	if len(errs) > 0 {
		return &graph.EventMutateResponse{Errors: errs.list()}, nil
	}
	e := st.events[evKey]
	locKey, venKey := st.checkPlace(&errs, in.LocationID, in.VenueID, e.locationKey)
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		errs.add("title", "", "Title must not be empty")
	}
	if in.MaxPlaces != nil && *in.MaxPlaces < 0 {
		errs.add("maxPlaces", fmt.Sprint(*in.MaxPlaces), "Max places must not be negative")
	}
	cfs := st.checkCustomFields(&errs, "Event", in.CustomFieldValues)
	checkLifecycle(&errs, e, eventID, in) // publish and sold out (lifecycle.go)
	if len(errs) > 0 {
		return &graph.EventMutateResponse{Errors: errs.list()}, nil
	}
	applyLifecycle(e, in)
	if in.Title != nil {
		e.title = *in.Title
	}
	if locKey != 0 {
		e.locationKey = locKey
	}
	if in.VenueID != nil {
		e.venueKey = venKey
	}
	if in.MaxPlaces != nil {
		e.maxPlaces = *in.MaxPlaces
	}
	e.customFields = mergeCF(e.customFields, cfs)
	return &graph.EventMutateResponse{Event: st.eventModel(e), Errors: errs.list()}, nil
}

// RemoveStaff removes one Staff record, of the event or of one of its sessions
// (staff ids are unique across both). An unknown id is a field error.
func (m eventMutationsResolver) RemoveStaff(ctx context.Context, obj *graph.EventMutations, in graph.EventRemoveStaffInput) (*graph.ErrorsOnlyResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	key, ok := keyOf(in.StaffID, prefixStaff)
	if !ok {
		errs.add("staffId", in.StaffID, "Staff not found")
		return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
	}
	drop := func(staff []staffRec) ([]staffRec, bool) {
		for i, s := range staff {
			if s.key == key {
				return append(staff[:i:i], staff[i+1:]...), true
			}
		}
		return staff, false
	}
	for _, e := range st.events {
		var ok bool
		if e.staff, ok = drop(e.staff); ok {
			return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
		}
	}
	for _, s := range st.sessions {
		var ok bool
		if s.staff, ok = drop(s.staff); ok {
			return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
		}
	}
	errs.add("staffId", in.StaffID, "Staff not found")
	return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
}

// Staff lists a session's staff (the instructors session.addStaff added).
func (r sessionResolver) Staff(ctx context.Context, obj *graph.Session, filters []*graph.StaffFieldGraphFilter, first *int, offset *int, after *string) (*graph.StaffConnection, error) {
	defer r.lock()()
	st := r.s.st
	s := st.sessions[mustKey(obj.ID, prefixSession)]
	if s == nil {
		return nil, fmt.Errorf("session %s vanished", obj.ID)
	}
	return st.staffConnection(s.staff, filters, first, offset, after, r)
}
