package administrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The lifecycle layer: what the admwriter's `events` commands read and write after an
// import (publish, web sale, sold out, prices, deleting drafts), and creating an
// instructor's contact. Every write here is safe to repeat: setting a state Administrate
// already has changes nothing, a price Administrate already has for the level and
// financial unit is reported as such (IsPriceExists), and deleting an event that is gone
// is ErrNotFound.

// EventStatus is an event's lifecycle as the `events` commands see it.
type EventStatus struct {
	ID, Title          string
	LifecycleState     EventLifecycleState
	IsSoldOut          bool
	CourseTemplateID   string
	CourseTemplateCode string
	CustomFieldValues  []CustomFieldValue
}

// CustomField returns the value of the custom field with definition key, and whether set.
func (e EventStatus) CustomField(key string) (string, bool) {
	for _, v := range e.CustomFieldValues {
		if v.DefinitionKey == key {
			return v.Value, true
		}
	}
	return "", false
}

func eventStatusFrom(f EventLifecycleFields) EventStatus {
	out := EventStatus{ID: f.Id, Title: f.Title, LifecycleState: f.LifecycleState, IsSoldOut: f.IsSoldOut,
		CourseTemplateID: f.CourseTemplate.Id, CourseTemplateCode: f.CourseTemplate.Code}
	for _, v := range f.CustomFieldValues {
		out.CustomFieldValues = append(out.CustomFieldValues, CustomFieldValue{DefinitionKey: v.DefinitionKey, Value: v.Value})
	}
	return out
}

// EventFilter selects events for ListEventStatuses. Empty fields do not filter.
type EventFilter struct {
	Sitting        string              // title wordlike <sitting> (titles carry the sitting)
	LifecycleState EventLifecycleState // lifecycleState eq
	IDs            []string            // id in [...]
}

// idsPerRequest bounds the id list of one filter, keeping each request small.
const idsPerRequest = 100

// ListEventStatuses returns the events f selects with their lifecycle fields, every page.
// With IDs it asks in chunks of at most 100 ids.
func (c *Client) ListEventStatuses(ctx context.Context, f EventFilter, opts ...ListOption) ([]EventStatus, error) {
	var base []EventFieldGraphFilter
	if f.Sitting != "" {
		base = append(base, EventFieldGraphFilter{Field: EventFieldTitle, Operation: FilterOperationWordlike, Value: f.Sitting})
	}
	if f.LifecycleState != "" {
		base = append(base, EventFieldGraphFilter{Field: EventFieldLifecyclestate, Operation: FilterOperationEq, Value: string(f.LifecycleState)})
	}
	if len(f.IDs) == 0 {
		return c.eventStatuses(ctx, base, opts)
	}
	var out []EventStatus
	for lo := 0; lo < len(f.IDs); lo += idsPerRequest {
		hi := min(lo+idsPerRequest, len(f.IDs))
		fs := append(append([]EventFieldGraphFilter(nil), base...),
			EventFieldGraphFilter{Field: EventFieldId, Operation: FilterOperationIn, Values: f.IDs[lo:hi]})
		part, err := c.eventStatuses(ctx, fs, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

func (c *Client) eventStatuses(ctx context.Context, filters []EventFieldGraphFilter, opts []ListOption) ([]EventStatus, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[EventStatus], error) {
		resp, err := EventsLifecycle(ctx, c, filters, first, offset)
		if err != nil {
			return Page[EventStatus]{}, err
		}
		conn := resp.Events
		p := Page[EventStatus]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, eventStatusFrom(e.Node.EventLifecycleFields))
		}
		return p, nil
	})
}

// EventStatusByID reads one event's lifecycle fields; ErrNotFound when it is gone.
func (c *Client) EventStatusByID(ctx context.Context, id string) (EventStatus, error) {
	resp, err := EventLifecycle(ctx, c, id)
	if err != nil {
		return EventStatus{}, err
	}
	n, ok := resp.Node.(*EventLifecycleNodeEvent)
	if !ok || n == nil {
		return EventStatus{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
	}
	return eventStatusFrom(n.EventLifecycleFields), nil
}

// Currency is a financial unit.
type Currency struct {
	ID, Code, Name string
	IsActive       bool
}

// ActiveCurrencies returns the tenant's active currencies (financial units).
func (c *Client) ActiveCurrencies(ctx context.Context, opts ...ListOption) ([]Currency, error) {
	filters := []CurrencyFieldGraphFilter{{Field: CurrencyFieldIsactive, Operation: FilterOperationEq, Value: "true"}}
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Currency], error) {
		resp, err := ActiveCurrencies(ctx, c, filters, first, offset)
		if err != nil {
			return Page[Currency]{}, err
		}
		conn := resp.Currencies
		p := Page[Currency]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, Currency{ID: e.Node.Id, Code: e.Node.Code, Name: e.Node.Name, IsActive: e.Node.IsActive})
		}
		return p, nil
	})
}

// UpdateEventLifecycle calls event.update with the fields set in in and returns the
// event's lifecycle fields as Administrate answers them.
func (c *Client) UpdateEventLifecycle(ctx context.Context, eventID string, in EventUpdateInput) (EventStatus, error) {
	resp, err := UpdateEventLifecycle(ctx, c, eventID, in)
	if err != nil {
		return EventStatus{}, err
	}
	r := resp.Event.Update
	if perr := mutationError("UpdateEventLifecycle", r.Errors, ""); perr != nil {
		return EventStatus{}, perr
	}
	return eventStatusFrom(r.Event.EventLifecycleFields), nil
}

// PublishEvent sets an event's lifecycle state to published.
func (c *Client) PublishEvent(ctx context.Context, eventID string) (EventStatus, error) {
	st := EventLifecycleStatePublished
	return c.UpdateEventLifecycle(ctx, eventID, EventUpdateInput{LifecycleState: &st})
}

// SetSoldOut sets an event's isSoldOut.
func (c *Client) SetSoldOut(ctx context.Context, eventID string, soldOut bool) (EventStatus, error) {
	return c.UpdateEventLifecycle(ctx, eventID, EventUpdateInput{IsSoldOut: &soldOut})
}

// WebSaleValue is the text Administrate's "Web sale" custom field holds ("True"/"False",
// as the previous client sent it).
func WebSaleValue(on bool) string {
	if on {
		return "True"
	}
	return "False"
}

// IsWebSaleOn reads a "Web sale" custom field value.
func IsWebSaleOn(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true", "yes", "y", "1":
		return true
	}
	return false
}

// SetWebSale sets an event's "Web sale" custom field (definition key defKey).
func (c *Client) SetWebSale(ctx context.Context, eventID, defKey string, on bool) (EventStatus, error) {
	return c.UpdateEventLifecycle(ctx, eventID, EventUpdateInput{
		CustomFieldValues: []CustomFieldValueInput{{DefinitionKey: defKey, Value: WebSaleValue(on)}}})
}

// EventPrice is one price to add to an event.
type EventPrice struct {
	PriceLevelID, CurrencyID string
	Amount                   Decimal
}

// priceExists is the stable part of the answer to adding a price the event already
// has for that price level and financial unit.
const priceExists = "price already exists"

// PriceExistsMessage is what the simulator answers for a duplicate event price [I]:
// the tenant's exact wording is unverified, so the check is on its stable part.
const PriceExistsMessage = "A price already exists for this price level and financial unit"

// IsPriceExists reports whether err says the event already has the price.
func IsPriceExists(err error) bool {
	var me *MutationError
	if !errors.As(err, &me) || len(me.Errors) == 0 {
		return false
	}
	for _, f := range me.Errors {
		if !strings.Contains(strings.ToLower(f.Message), priceExists) {
			return false
		}
	}
	return true
}

// AddEventPrice calls event.addPrices for one price and returns the new price's id.
// A price the event already has for the level and financial unit answers
// *MutationError matching IsPriceExists.
func (c *Client) AddEventPrice(ctx context.Context, eventID string, p EventPrice) (string, error) {
	resp, err := AddEventPrices(ctx, c, EventAddPricesInput{EventId: eventID, PriceLevelId: p.PriceLevelID,
		FinancialUnitId: p.CurrencyID, Amount: p.Amount})
	if err != nil {
		return "", err
	}
	r := resp.Event.AddPrices
	if perr := mutationError("AddEventPrices", r.Errors, ""); perr != nil {
		return "", perr
	}
	for _, pr := range r.Prices {
		return pr.Id, nil
	}
	return "", fmt.Errorf("administrate AddEventPrices: no price and no errors in the answer")
}

// DeleteEvent calls event.delete for one event. Administrate deletes drafts only; an
// event that no longer exists answers ErrNotFound.
func (c *Client) DeleteEvent(ctx context.Context, eventID string) error {
	resp, err := DeleteEvents(ctx, c, EventDeleteInput{EventIds: []string{eventID}})
	if err != nil {
		return err
	}
	return deleteError(eventID, mutationError("DeleteEvents", resp.Event.Delete.Errors, ""))
}

// deleteError turns the payload error of deleting eventID into ErrNotFound when
// it says the event is gone.
func deleteError(eventID string, perr error) error {
	if perr != nil && isNotFound(perr) {
		return fmt.Errorf("%w: event %s (%v)", ErrNotFound, eventID, perr)
	}
	return perr
}

func isNotFound(err error) bool {
	var me *MutationError
	if !errors.As(err, &me) || len(me.Errors) == 0 {
		return false
	}
	for _, f := range me.Errors {
		if !strings.Contains(strings.ToLower(f.Message), "not found") {
			return false
		}
	}
	return true
}

// NewContact is a contact to create.
type NewContact struct{ FirstName, LastName, Email string }

// CreateContact calls contact.create. The API documents no way to mark a contact as an
// instructor (the flag is set in Administrate's UI, on the contact's staff settings):
// the returned IsInstructor says whether the tenant did.
func (c *Client) CreateContact(ctx context.Context, in NewContact) (Contact, bool, error) {
	input := ContactCreateInput{PersonalName: PersonalNameInput{FirstName: in.FirstName, LastName: in.LastName}}
	if in.Email != "" {
		input.EmailAddresses = []EmailAddressInput{{Usage: EmailAddressUsagePrimary, Address: in.Email}}
	}
	resp, err := CreateContact(ctx, c, input)
	if err != nil {
		return Contact{}, false, err
	}
	r := resp.Contact.Create
	if perr := mutationError("CreateContact", r.Errors, r.Contact.Id); perr != nil {
		return contactFrom(r.Contact.ContactFields), false, perr
	}
	if r.Contact.Id == "" {
		return Contact{}, false, fmt.Errorf("administrate CreateContact: no contact and no errors in the answer")
	}
	return contactFrom(r.Contact.ContactFields), r.Contact.IsInstructor, nil
}

// FindContactsByName returns the contacts with exactly this first and last name
// (compared case-insensitively here, whatever the tenant's eq does), so a
// contact created on an earlier request is found instead of created twice.
func (c *Client) FindContactsByName(ctx context.Context, first, last string, opts ...ListOption) ([]Contact, error) {
	filters := []ContactFieldGraphFilter{
		{Field: ContactFieldFirstname, Operation: FilterOperationEq, Value: first},
		{Field: ContactFieldLastname, Operation: FilterOperationEq, Value: last},
	}
	all, err := c.contacts(ctx, filters, opts)
	if err != nil {
		return nil, err
	}
	var out []Contact
	for _, ct := range all {
		if strings.EqualFold(strings.TrimSpace(ct.FirstName), strings.TrimSpace(first)) &&
			strings.EqualFold(strings.TrimSpace(ct.LastName), strings.TrimSpace(last)) {
			out = append(out, ct)
		}
	}
	return out, nil
}
