package admsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"admsync/pkg/testwait"
)

// A change made through the control endpoint fires the registered webhook
// with Administrate's envelope and the configured secret; a 503 is retried
// (is_retry set, same triggered_at), a 400 is not.
func TestWebhooksFireAndRetryLikeAdministrate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	statuses := []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK, http.StatusBadRequest}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("User-Agent") != "Administrate-Webhooks/1.0" {
			t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
		}
		bodies = append(bodies, m)
		w.WriteHeader(statuses[min(len(bodies)-1, len(statuses)-1)])
	}))
	t.Cleanup(recv.Close)
	h := start(t, Options{WebhookRetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}})
	t.Cleanup(h.sim.Close)
	ev, err := h.sim.AddEvent(EventSeed{Title: "CB1-01-26A"})
	if err != nil {
		t.Fatal(err)
	}
	res := h.ok(`mutation($in: WebhookCreateInput!) { webhooks { create(input: $in) { webhook { id lifecycleState } errors { message } } } }`,
		map[string]any{"in": map[string]any{"webhookTypeId": WebhookTypeID("event_updated"), "name": "updates",
			"query": `query($objectid: ID!) { node(id: $objectid) { id } }`, "url": recv.URL, "config": `{"secret": "s3"}`}})
	if errs := res["webhooks"].(map[string]any)["create"].(map[string]any)["errors"].([]any); len(errs) != 0 {
		t.Fatalf("create: %v", errs)
	}
	if err := h.sim.ChangeEvent(ev, []byte(`{"isSoldOut": true}`)); err != nil {
		t.Fatal(err)
	}
	wait := func(n int) {
		t.Helper()
		testwait.For(t, fmt.Sprintf("%d webhook deliveries", n), func() bool { return len(h.sim.WebhookDeliveries()) >= n })
	}
	wait(3)
	mu.Lock()
	first, third := bodies[0], bodies[2]
	mu.Unlock()
	md1, md3 := first["metadata"].(map[string]any), third["metadata"].(map[string]any)
	if md1["is_retry"] != false || md3["is_retry"] != true || md1["triggered_at"] != md3["triggered_at"] {
		t.Errorf("metadata: first %v, third %v", md1, md3)
	}
	if first["configuration"].(map[string]any)["secret"] != "s3" || first["payload"].(map[string]any)["node"].(map[string]any)["id"] != ev {
		t.Errorf("body = %v", first)
	}
	// A second change is answered 400: not retried.
	if err := h.sim.ChangeEvent(ev, []byte(`{"maxPlaces": 7}`)); err != nil {
		t.Fatal(err)
	}
	wait(4)
	time.Sleep(100 * time.Millisecond)
	if n := len(h.sim.WebhookDeliveries()); n != 4 {
		t.Errorf("%d deliveries, want 4 (a 4xx is not retried)", n)
	}
	// No change, no delivery.
	if err := h.sim.ChangeEvent(ev, []byte(`{"maxPlaces": 7}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(h.sim.WebhookDeliveries()); n != 4 {
		t.Errorf("%d deliveries after a no-op change, want 4", n)
	}
}

// A delivery whose attempt has not returned yet is in no log entry, but it is
// unsettled until the receiver answers (chaos webhook-burst waits on this).
func TestWebhookInFlightIsUnsettled(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	h := start(t, Options{WebhookRetryDelays: []time.Duration{10 * time.Millisecond}})
	t.Cleanup(h.sim.Close)
	ev, err := h.sim.AddEvent(EventSeed{Title: "CB1-02-26A"})
	if err != nil {
		t.Fatal(err)
	}
	h.ok(`mutation($in: WebhookCreateInput!) { webhooks { create(input: $in) { webhook { id } errors { message } } } }`,
		map[string]any{"in": map[string]any{"webhookTypeId": WebhookTypeID("event_updated"), "name": "updates",
			"query": `query($objectid: ID!) { node(id: $objectid) { id } }`, "url": recv.URL, "config": `{"secret": "s"}`}})
	if err := h.sim.ChangeEvent(ev, []byte(`{"isSoldOut": true}`)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the delivery to be attempted", func() bool { return h.sim.WebhooksUnsettled() == 1 })
	if n := len(h.sim.WebhookDeliveries()); n != 0 {
		t.Fatalf("%d deliveries logged while the only attempt is in flight", n)
	}
	close(release)
	testwait.For(t, "the delivery to settle", func() bool { return h.sim.WebhooksUnsettled() == 0 })
	if d := h.sim.WebhookDeliveries(); len(d) != 1 || d[0].Status != http.StatusOK {
		t.Fatalf("deliveries = %+v", d)
	}
}
