package admsim

import (
	"context"
	"fmt"
	"net/mail"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim/internal/graph"
)

// Event lifecycle and contact creation, as Administrate behaves: events move draft →
// published (→ cancelled) and never back; only drafts can be deleted; an event has at
// most one price per price level and financial unit; setting what an event already has
// changes nothing. Contacts are created without the instructor flag: the API documents
// no way to set it.

type contactMutationsResolver struct{ *resolver }

func (r *resolver) ContactMutations() graph.ContactMutationsResolver {
	return contactMutationsResolver{r}
}

// Contact is the contact mutation namespace (it shadows the Contact type's resolver
// that mutationResolver would otherwise promote from *resolver).
func (mutationResolver) Contact(context.Context) (*graph.ContactMutations, error) {
	return &graph.ContactMutations{}, nil
}

// Administrate's lifecycle order; a transition may only move forward.
var lifecycleRank = map[string]int{"draft": 0, "published": 1, "cancelled": 2}

// checkLifecycle validates the lifecycle part of an event.update: a state may only
// move forward, and a cancelled event takes no change at all.
func checkLifecycle(errs *verrs, e *eventRec, eventID string, in graph.EventUpdateInput) {
	if in.LifecycleState != nil {
		to := string(*in.LifecycleState)
		if lifecycleRank[to] < lifecycleRank[e.lifecycleState] {
			errs.add("lifecycleState", to, "A %s event cannot become %s", e.lifecycleState, to)
		}
	}
	if e.lifecycleState == "cancelled" && (in.LifecycleState == nil || string(*in.LifecycleState) != "cancelled") {
		errs.add("eventId", eventID, "A cancelled event cannot be changed")
	}
}

// applyLifecycle sets what checkLifecycle allowed.
func applyLifecycle(e *eventRec, in graph.EventUpdateInput) {
	if in.IsSoldOut != nil {
		e.isSoldOut = *in.IsSoldOut
	}
	if in.LifecycleState != nil {
		e.lifecycleState = string(*in.LifecycleState)
	}
}

func (m eventMutationsResolver) AddPrices(ctx context.Context, obj *graph.EventMutations, in graph.EventAddPricesInput) (*graph.PricesMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	evKey := lookup(&errs, "eventId", &in.EventID, prefixEvent, "Event", st.events)
	plKey := lookup(&errs, "priceLevelId", &in.PriceLevelID, prefixPriceLevel, "PriceLevel", st.priceLevels)
	curKey := lookup(&errs, "financialUnitId", &in.FinancialUnitID, prefixCurrency, "Currency", st.currencies)
	if in.Amount.IsZero() || in.Amount.Rat() == nil || in.Amount.Rat().Sign() < 0 {
		errs.add("amount", in.Amount.String(), "Amount must be a number not below zero")
	}
	if len(errs) == 0 {
		for _, pk := range st.events[evKey].prices {
			if p := st.prices[pk]; p != nil && p.priceLevelKey == plKey && p.currencyKey == curKey {
				errs.add("priceLevelId", in.PriceLevelID, administrate.PriceExistsMessage)
			}
		}
	}
	if len(errs) > 0 {
		return &graph.PricesMutateResponse{Errors: errs.list()}, nil
	}
	p := &priceRec{key: st.newKey(prefixPrice), priceLevelKey: plKey, currencyKey: curKey, amount: in.Amount}
	st.prices[p.key] = p
	e := st.events[evKey]
	e.prices = append(e.prices, p.key)
	return &graph.PricesMutateResponse{Prices: []*graph.Price{st.priceModel(p)}, Errors: errs.list()}, nil
}

func (m eventMutationsResolver) Delete(ctx context.Context, obj *graph.EventMutations, in graph.EventDeleteInput) (*graph.ErrorsOnlyResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	var keys []int
	for _, id := range in.EventIds {
		if id == nil {
			continue
		}
		k := lookup(&errs, "eventIds", id, prefixEvent, "Event", st.events)
		if k == 0 {
			continue
		}
		if s := st.events[k].lifecycleState; s != "draft" {
			errs.add("eventIds", *id, "Only draft events can be deleted (this one is %s)", s)
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs.add("eventIds", "", "At least one event is required")
	}
	if len(errs) > 0 {
		return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
	}
	for _, k := range keys {
		e := st.events[k]
		for _, sk := range e.sessions {
			delete(st.sessions, sk)
		}
		for _, pk := range e.prices {
			delete(st.prices, pk)
		}
		delete(st.events, k)
	}
	return &graph.ErrorsOnlyResponse{Errors: errs.list()}, nil
}

func (m contactMutationsResolver) Create(ctx context.Context, obj *graph.ContactMutations, in graph.ContactCreateInput) (*graph.ContactMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	first := errs.required("personalName.firstName", in.PersonalName.FirstName, "First name")
	last := errs.required("personalName.lastName", in.PersonalName.LastName, "Last name")
	email := ""
	for _, e := range in.EmailAddresses {
		if e == nil {
			continue
		}
		if _, err := mail.ParseAddress(e.Address); err != nil {
			errs.add("emailAddresses", e.Address, "Invalid email address")
			continue
		}
		if e.Usage == graph.EmailAddressUsagePrimary || email == "" {
			email = e.Address
		}
	}
	if len(errs) > 0 {
		return &graph.ContactMutateResponse{Errors: errs.list()}, nil
	}
	c := &contactRec{key: st.newKey(prefixContact), firstName: first, lastName: last, email: email}
	st.contacts[c.key] = c
	return &graph.ContactMutateResponse{Contact: contactModel(c), Errors: errs.list()}, nil
}

// SetContactInstructor sets a contact's instructor flag, as ticking Instructor on
// the contact in Administrate's UI does (the API offers no way to).
func (s *Server) SetContactInstructor(id string, on bool) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k, ok := keyOf(id, prefixContact)
	if !ok || s.st.contacts[k] == nil {
		return fmt.Errorf("contact %s not found", id)
	}
	s.st.contacts[k].isInstructor = on
	return nil
}
