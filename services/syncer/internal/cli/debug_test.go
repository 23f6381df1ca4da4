package cli_test

import (
	"strings"
	"testing"
)

// --debug reports every page a stage fetches ("Fetched N <things>"), with the
// page size given per call (no client per page size).
func TestDebugReportsEveryPage(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"Bath", "Leeds", "York"} {
		w.tutorialLocation(n)
		w.sim.Location(n)
	}
	if code := w.exec("run", "locations", "--no-prompt", "--debug", "--page-size", "2"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, w.output())
	}
	for _, want := range []string{"Fetched 2 locations (2 so far)", "Fetched 1 locations (3 so far)"} {
		if !strings.Contains(w.stdout.String(), want) {
			t.Errorf("--debug output lacks %q:\n%s", want, w.output())
		}
	}
	if got := w.sim.CallCount("Locations"); got != 2 {
		t.Errorf("3 locations at 2 a page took %d calls, want 2", got)
	}
}
