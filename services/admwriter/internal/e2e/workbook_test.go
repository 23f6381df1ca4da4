package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"admsync/pkg/sampledata"
)

var (
	importerOnce sync.Once
	importerBin  string
	importerErr  error
	importerOut  []byte
)

// importer builds the importer binary once per test run (the Go build
// cache makes later builds cheap).
func importer(t *testing.T) string {
	t.Helper()
	importerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "admwriter-e2e-")
		if err != nil {
			importerErr = err
			return
		}
		importerBin = filepath.Join(dir, "importer")
		cmd := exec.Command("go", "build", "-o", importerBin, "admsync/services/importer")
		importerOut, importerErr = cmd.CombinedOutput()
	})
	if importerErr != nil {
		t.Fatalf("build the importer: %v\n%s", importerErr, importerOut)
	}
	return importerBin
}

// TestWorkbookImportEndToEnd: a generated workbook goes through the real
// importer binary (validation, tutorial rows, import_events, outbox), the
// outbox relay, JetStream and the admwriter; every accepted event exists
// once in Administrate with all its sessions and their instructors.
func TestWorkbookImportEndToEnd(t *testing.T) {
	t.Parallel()
	bin := importer(t)
	b := setup(t)
	book := filepath.Join(t.TempDir(), "events.xlsx")
	// Same seed as setup's reference data, so every name in it is seeded.
	if _, err := sampledata.WriteFile(book, sampledata.Options{Events: 24, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", book)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.db.URL, "NATS_URL="+b.nats.URL(), "METRICS_ADDR=", "LOG_LEVEL=error")
	out, err := cmd.CombinedOutput()
	t.Logf("importer: %s", out)
	var accepted int
	if qerr := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM admsync.import_events`).Scan(&accepted); qerr != nil {
		t.Fatal(qerr)
	}
	if accepted == 0 {
		t.Fatalf("the importer accepted no event (%v)", err)
	}

	b.start(runOpts{workers: 4})
	b.ensureStreams()
	relayFlush(t, b)
	b.waitState("done", accepted)

	rows, err := b.db.Pool.Query(b.ctx, `
SELECT ie.title, e.external_id, ie.learning_mode,
       (SELECT count(*) FROM acted.tutorial_sessions s WHERE s.tutorial_event_id = ie.tutorial_event_id),
       (SELECT count(*) FROM acted.tutorial_session_instructors si JOIN acted.tutorial_sessions s ON s.id = si.tutorialsessions_id
         WHERE s.tutorial_event_id = ie.tutorial_event_id),
       (SELECT count(*) FROM adm.sessions a WHERE a.event_id = e.id)
FROM admsync.import_events ie JOIN adm.events e ON e.tutorial_event_id = ie.tutorial_event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	modes := map[string]int{}
	for rows.Next() {
		var title, ext, mode string
		var sessions, instructors, bridged int
		if err := rows.Scan(&title, &ext, &mode, &sessions, &instructors, &bridged); err != nil {
			t.Fatal(err)
		}
		modes[mode]++
		if got := len(b.eventsTitled(title)); got != 1 {
			t.Errorf("%s: %d events in Administrate, want 1", title, got)
		}
		if mode == sampledata.LMS {
			continue
		}
		simSessions := b.sim.Sessions(ext)
		staffed := 0
		for _, s := range simSessions {
			staffed += len(s.Staff)
		}
		if len(simSessions) != sessions || bridged != sessions || staffed != instructors {
			t.Errorf("%s: Administrate sessions %d, bridged %d, staff %d; workbook sessions %d, instructors %d",
				title, len(simSessions), bridged, staffed, sessions, instructors)
		}
	}
	if len(b.sim.Events()) != accepted {
		t.Errorf("Administrate has %d events, the import accepted %d", len(b.sim.Events()), accepted)
	}
	for _, m := range []string{sampledata.Blended, sampledata.LMS, sampledata.Classroom} {
		if modes[m] == 0 {
			t.Errorf("the workbook had no %s event (modes %v): the test covers less than it says", m, modes)
		}
	}
}
