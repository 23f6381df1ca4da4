package cli_test

import (
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging/natstest"
)

// budgetReservations is how many slots have been reserved in the tenant's
// shared Administrate budget (the revision of its one key-value entry; 0
// when nobody has reserved one).
func budgetReservations(t *testing.T, ns *natstest.Server) uint64 {
	t.Helper()
	_, js := natstest.Connect(t, ns)
	ctx := natstest.Context(t)
	kv, err := js.KeyValue(ctx, administrate.DefaultBudgetBucket)
	if err != nil {
		return 0
	}
	e, err := kv.Get(ctx, administrate.DefaultBudgetKey)
	if err != nil {
		return 0
	}
	return e.Revision()
}

// A one-shot `syncer run` with NATS configured (the nightly CronJob)
// spends the tenant's budget shared with the admwriter (KV bucket
// ADM_RATE): every request the simulator received reserved one slot there.
// Without NATS_URL it keeps a limit of its own and reserves nothing.
func TestOneShotRunSpendsTheSharedBudget(t *testing.T) {
	w, ns := newNATSWorld(t)

	if got := w.exec("run", "locations", "--no-prompt"); got != 0 {
		t.Fatalf("exit %d: %s", got, w.output())
	}
	sent := len(w.sim.Requests())
	if got := budgetReservations(t, ns); sent == 0 || got != uint64(sent) {
		t.Fatalf("%d slots reserved in %s for %d requests sent; want one per request", got, administrate.DefaultBudgetBucket, sent)
	}

	delete(w.env, "NATS_URL")
	if got := w.exec("run", "locations", "--no-prompt"); got != 0 {
		t.Fatalf("exit %d without NATS: %s", got, w.output())
	}
	if len(w.sim.Requests()) == sent {
		t.Fatal("the second run sent nothing")
	}
	if got := budgetReservations(t, ns); got != uint64(sent) {
		t.Errorf("a run without NATS_URL reserved %d slot(s)", got-uint64(sent))
	}
}
