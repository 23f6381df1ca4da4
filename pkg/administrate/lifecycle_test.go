package administrate_test

import (
	"errors"
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

// TestLifecycleOperations drives every lifecycle operation against the simulator:
// Administrate's rules (forward-only lifecycle, drafts-only delete, one price per level
// and financial unit) and that repeating a write changes nothing.
func TestLifecycleOperations(t *testing.T) {
	sim := admsimtest.Start(t)
	c := newClient(t, sim, nil)
	ctx := ctxT(t)
	loc := sim.Location("London")
	gbp := sim.Currency("GBP")
	pl := sim.PriceLevel("Normal")
	web := sim.CustomField("Event", "Web sale")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1", Title: "CB1", LearningMode: "blended"})
	a := sim.SeedEvent(admsim.EventSeed{CourseTemplate: ct, Title: "CB1 26A London", Location: loc, LifecycleState: "draft"})
	b := sim.SeedEvent(admsim.EventSeed{CourseTemplate: ct, Title: "CB1 26S London", Location: loc, LifecycleState: "draft"})

	cur, err := c.ActiveCurrencies(ctx)
	if err != nil || len(cur) != 1 || cur[0].ID != gbp || cur[0].Code != "GBP" {
		t.Fatalf("active currencies = %+v, %v", cur, err)
	}
	got, err := c.ListEventStatuses(ctx, administrate.EventFilter{Sitting: "26A"})
	if err != nil || len(got) != 1 || got[0].ID != a || got[0].LifecycleState != administrate.EventLifecycleStateDraft {
		t.Fatalf("events of sitting 26A = %+v, %v", got, err)
	}
	got, err = c.ListEventStatuses(ctx, administrate.EventFilter{IDs: []string{a, b}})
	if err != nil || len(got) != 2 {
		t.Fatalf("events by id = %+v, %v", got, err)
	}

	for range 2 { // the second time changes nothing and is no error
		if st, err := c.PublishEvent(ctx, a); err != nil || st.LifecycleState != administrate.EventLifecycleStatePublished {
			t.Fatalf("publish = %+v, %v", st, err)
		}
		if st, err := c.SetSoldOut(ctx, a, true); err != nil || !st.IsSoldOut {
			t.Fatalf("sold out = %+v, %v", st, err)
		}
		st, err := c.SetWebSale(ctx, a, web, true)
		if v, _ := st.CustomField(web); err != nil || !administrate.IsWebSaleOn(v) {
			t.Fatalf("web sale = %+v, %v", st, err)
		}
	}
	if st, err := c.EventStatusByID(ctx, a); err != nil || !st.IsSoldOut || st.LifecycleState != "published" {
		t.Fatalf("event a = %+v, %v", st, err)
	}
	if _, err := c.UpdateEventLifecycle(ctx, a, administrate.EventUpdateInput{LifecycleState: ptr(administrate.EventLifecycleStateDraft)}); err == nil {
		t.Fatal("a published event went back to draft")
	}

	price := administrate.EventPrice{PriceLevelID: pl, CurrencyID: gbp, Amount: administrate.MustDecimal("650.00")}
	if id, err := c.AddEventPrice(ctx, b, price); err != nil || id == "" {
		t.Fatalf("add price = %q, %v", id, err)
	}
	if _, err := c.AddEventPrice(ctx, b, price); !administrate.IsPriceExists(err) {
		t.Fatalf("second add of the same price: %v, want IsPriceExists", err)
	}
	if ev, _ := sim.Event(b); len(ev.Prices) != 1 || ev.Prices[0].Amount != "650.00" {
		t.Fatalf("event b prices = %+v", ev.Prices)
	}

	if err := c.DeleteEvent(ctx, a); err == nil {
		t.Fatal("a published event was deleted")
	}
	if err := c.DeleteEvent(ctx, b); err != nil {
		t.Fatalf("delete draft: %v", err)
	}
	if err := c.DeleteEvent(ctx, b); !errors.Is(err, administrate.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := c.EventStatusByID(ctx, b); !errors.Is(err, administrate.ErrNotFound) {
		t.Fatalf("deleted event read: %v", err)
	}

	ct2, instr, err := c.CreateContact(ctx, administrate.NewContact{FirstName: "Ada", LastName: "Fenwick", Email: "ada@example.org"})
	if err != nil || ct2.ID == "" || instr {
		t.Fatalf("create contact = %+v (instructor %v), %v", ct2, instr, err)
	}
	if _, _, err := c.CreateContact(ctx, administrate.NewContact{FirstName: "Ada"}); err == nil {
		t.Fatal("a contact without last name was created")
	}
}

func ptr[T any](v T) *T { return &v }

// TestBatchLifecycleOps sends the lifecycle writes of several events as one
// request: each field is judged on its own (a duplicate price, a published
// event's delete and a gone event's delete fail alone, as the single operations
// would), and a new price's id comes back.
func TestBatchLifecycleOps(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, nil)
	ctx := ctxT(t)
	loc := sim.Location("London")
	gbp := sim.Currency("GBP")
	normal, retaker := sim.PriceLevel("Normal"), sim.PriceLevel("Retaker")
	web := sim.CustomField("Event", "Web sale")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1", Title: "CB1", LearningMode: "blended"})
	seed := func(title, state string) string {
		return sim.SeedEvent(admsim.EventSeed{CourseTemplate: ct, Title: title, Location: loc, LifecycleState: state})
	}
	a, b, d, pub := seed("A 26A", "draft"), seed("B 26A", "draft"), seed("D 26A", "draft"), seed("P 26A", "published")
	had := administrate.EventPrice{PriceLevelID: normal, CurrencyID: gbp, Amount: administrate.MustDecimal("500.00")}
	if _, err := c.AddEventPrice(ctx, b, had); err != nil {
		t.Fatal(err)
	}
	sim.ResetRequests()

	published, soldOut := administrate.EventLifecycleStatePublished, true
	var newID string
	ops := []administrate.BatchOp{
		administrate.BatchUpdateEventLifecycle(a, administrate.EventUpdateInput{LifecycleState: &published}),
		administrate.BatchUpdateEventLifecycle(a, administrate.EventUpdateInput{IsSoldOut: &soldOut}),
		administrate.BatchUpdateEventLifecycle(a, administrate.EventUpdateInput{CustomFieldValues: []administrate.CustomFieldValueInput{{DefinitionKey: web, Value: administrate.WebSaleValue(true)}}}),
		administrate.BatchAddEventPrice(b, had, nil),
		administrate.BatchAddEventPrice(b, administrate.EventPrice{PriceLevelID: retaker, CurrencyID: gbp, Amount: administrate.MustDecimal("300.50")}, &newID),
		administrate.BatchDeleteEvent(d),
		administrate.BatchDeleteEvent(pub),
		administrate.BatchDeleteEvent(d),
	}
	res := c.Batch(ctx, ops)
	if res.Requests != 1 || sim.RequestCount() != 1 || sim.FieldCount() != len(ops) {
		t.Fatalf("requests %d (simulator %d), fields %d; want 1 request of %d fields", res.Requests, sim.RequestCount(), sim.FieldCount(), len(ops))
	}
	// The simulator names each field's operation, UpdateEventLifecycle apart
	// from UpdateEvent (both call event.update) by what it selects.
	if a, u, p, d := sim.CallCount("UpdateEventLifecycle"), sim.CallCount("UpdateEvent"), sim.CallCount("AddEventPrices"), sim.CallCount("DeleteEvents"); a != 3 || u != 0 || p != 2 || d != 3 {
		t.Errorf("simulator counted UpdateEventLifecycle %d, UpdateEvent %d, AddEventPrices %d, DeleteEvents %d; want 3, 0, 2, 3", a, u, p, d)
	}
	for _, i := range []int{0, 1, 2, 4, 5} {
		if res.Errors[i] != nil {
			t.Errorf("op %d (%s): %v", i, ops[i].Name(), res.Errors[i])
		}
	}
	if !administrate.IsPriceExists(res.Errors[3]) {
		t.Errorf("the price b already had: %v, want IsPriceExists", res.Errors[3])
	}
	var me *administrate.MutationError
	if err := res.Errors[6]; !errors.As(err, &me) || errors.Is(err, administrate.ErrNotFound) {
		t.Errorf("delete of a published event: %v, want its own MutationError", err)
	}
	if err := res.Errors[7]; !errors.Is(err, administrate.ErrNotFound) {
		t.Errorf("second delete of d in the same document: %v, want ErrNotFound", err)
	}
	st, err := c.EventStatusByID(ctx, a)
	if v, _ := st.CustomField(web); err != nil || st.LifecycleState != published || !st.IsSoldOut || !administrate.IsWebSaleOn(v) {
		t.Errorf("event a = %+v, %v; want published, sold out, web sale on", st, err)
	}
	ev, _ := sim.Event(b)
	if len(ev.Prices) != 2 || newID == "" || ev.Prices[1].ID != newID {
		t.Errorf("event b prices %+v, new price id %q", ev.Prices, newID)
	}
	if _, ok := sim.Event(d); ok {
		t.Error("draft d was not deleted")
	}
	if _, ok := sim.Event(pub); !ok {
		t.Error("the published event was deleted")
	}
}
