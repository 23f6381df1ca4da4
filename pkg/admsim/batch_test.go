package admsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The control summary counts requests and the root fields they carried; the
// field cap refuses a larger document with a request-level error, executing
// nothing; the recorded fields name each one's operation and variables.
func TestControlCountsRequestsAndFields(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	setFaults := func(body string) {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/_control/faults", strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("faults %s: HTTP %d", body, res.StatusCode)
		}
	}
	const two = `query ReadBatch($op0_first: Int, $op1_first: Int) {
		op0: locations(first: $op0_first) { edges { node { id } } }
		op1: venues(first: $op1_first) { edges { node { id } } }
	}`
	h.ok(two, map[string]any{"op0_first": 1, "op1_first": 2})
	h.ok(`{ locations { edges { node { id } } } }`, nil)

	res, err := http.Get(h.srv.URL + ControlPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var sum struct{ Requests, Fields, Batched int }
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Requests != 2 || sum.Fields != 3 || sum.Batched != 1 {
		t.Fatalf("summary %+v (%v), want 2 requests, 3 fields, 1 batched:\n%s", sum, err, raw)
	}
	f := h.sim.Requests()[0].Fields
	if len(f) != 2 || f[0].Operation != "Locations" || f[1].Operation != "Venues" || f[1].Variables["first"] != float64(2) {
		t.Errorf("recorded fields %+v", f)
	}

	setFaults(`{"maxFields": 1}`)
	st, _, body := h.gql(h.tok, two, map[string]any{"op0_first": 1, "op1_first": 2})
	if st != http.StatusBadRequest || !strings.Contains(dig(body, "errors").([]any)[0].(map[string]any)["message"].(string), "at most 1") {
		t.Errorf("over the cap: HTTP %d %v", st, body)
	}
	if r := h.sim.Requests(); r[len(r)-1].Outcome != OutcomeTooLarge || r[len(r)-1].Executed() {
		t.Errorf("refused document recorded as %+v", r[len(r)-1])
	}
}
