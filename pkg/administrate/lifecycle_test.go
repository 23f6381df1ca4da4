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
