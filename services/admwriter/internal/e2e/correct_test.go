package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
)

// season imports a generated season with the real importer binary and waits
// until the admwriter wrote every event; it returns the book (to correct),
// its path and the number of events.
func (b *bundle) season(t *testing.T, bin string) (*sampledata.Book, int) {
	t.Helper()
	bk, _ := sampledata.Generate(sampledata.Options{Events: 24, Seed: 7})
	b.importBook(t, bin, bk)
	var accepted int
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM admsync.import_events`).Scan(&accepted); err != nil {
		t.Fatal(err)
	}
	if accepted == 0 {
		t.Fatal("the importer accepted no event")
	}
	b.start(runOpts{workers: 4})
	b.ensureStreams()
	relayFlush(t, b)
	b.waitState("done", accepted)
	return bk, accepted
}

// importBook writes bk and runs `importer import` on it; it returns the output.
func (b *bundle) importBook(t *testing.T, bin string, bk *sampledata.Book) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "season.xlsx")
	if err := bk.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", path)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.db.URL, "NATS_URL="+b.nats.URL(), "METRICS_ADDR=", "LOG_LEVEL=error")
	out, _ := cmd.CombinedOutput()
	t.Logf("importer: %s", out)
	return string(out)
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// corrected checks that Administrate shows the three corrections once each.
func (b *bundle) corrected(t *testing.T, fixes []sampledata.Correction) {
	t.Helper()
	for _, f := range fixes {
		evs := b.eventsTitled(f.Title)
		if len(evs) != 1 {
			t.Fatalf("%s: %d events in Administrate, want 1", f.Title, len(evs))
		}
		ev := evs[0]
		sessions := b.sim.Sessions(ev.ID)
		var rows int
		if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM acted.tutorial_sessions s JOIN acted.tutorial_events e
			ON e.id = s.tutorial_event_id WHERE e.code = $1`, f.Title).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if len(sessions) != rows {
			t.Errorf("%s: %d sessions in Administrate, %d Days", f.Title, len(sessions), rows)
		}
		switch f.Field {
		case "Max places":
			if got := ev.MaxPlaces; f.New != strconv.Itoa(got) {
				t.Errorf("%s: Administrate max places %d, want %s", f.Title, got, f.New)
			}
		case "Day 2 start":
			if got := sessions[1].Start.String(); !strings.Contains(got, "T"+f.New) {
				t.Errorf("%s: Day 2 starts at %s in Administrate, want %s", f.Title, got, f.New)
			}
		case "Day 1 instructors":
			var want string
			if err := b.db.Pool.QueryRow(b.ctx, `SELECT ai.external_id FROM adm.instructors ai
				JOIN acted.tutorial_instructors ti ON ti.id = ai.tutorial_instructor_id
				JOIN acted.staff st ON st.id = ti.staff_id JOIN public.auth_user u ON u.id = st.user_id
				WHERE trim(u.first_name || ' ' || u.last_name) = $1 AND ai.gone_at IS NULL LIMIT 1`, f.New).Scan(&want); err != nil {
				t.Fatal(err)
			}
			staff := sessions[0].Staff
			if len(staff) != 1 || staff[0].ContactID != want {
				t.Errorf("%s: Day 1 staff %+v, want only %s (%s)", f.Title, staff, f.New, want)
			}
		}
	}
}

// TestCorrectionsByReimportEndToEnd: import a generated season, correct
// three events (Max places, a session time, an instructor) and import
// again: Administrate shows the corrections and nothing is duplicated; the
// same workbook once more changes nothing; another number of Days is
// refused with nothing written.
func TestCorrectionsByReimportEndToEnd(t *testing.T) {
	t.Parallel()
	bin := importer(t)
	b := setup(t)
	bk, accepted := b.season(t, bin)
	before := b.calls()

	fixes, err := sampledata.Correct(bk, b.ref)
	if err != nil {
		t.Fatal(err)
	}
	out := b.importBook(t, bin, bk)
	for _, f := range fixes {
		if !strings.Contains(out, f.Title) || !strings.Contains(out, f.Field) || !strings.Contains(out, f.New) {
			t.Errorf("the import output does not list %s %s → %s", f.Title, f.Field, f.New)
		}
	}
	relayFlush(t, b)
	testwait.For(t, "three corrections applied", func() bool {
		return b.count(t, `SELECT count(*) FROM adm.event_changes`) == 3
	})
	b.corrected(t, fixes)
	if n := len(b.sim.Events()); n != accepted {
		t.Errorf("Administrate has %d events, want %d", n, accepted)
	}
	after := b.calls()
	for _, op := range []string{"CreateBlendedEvent", "CreateClassroomEvent", "CreateLMSEvent"} {
		if after[op] != before[op] {
			t.Errorf("%s sent %d more times by the corrections", op, after[op]-before[op])
		}
	}
	if d := after["UpdateEvent"] - before["UpdateEvent"]; d != 1 {
		t.Errorf("event.update sent %d times, want 1 (Max places)", d)
	}
	if d := after["UpdateSession"] - before["UpdateSession"]; d != 1 {
		t.Errorf("session.update sent %d times, want 1 (Day 2)", d)
	}
	if d := after["AddSessionStaff"] - before["AddSessionStaff"]; d != 1 {
		t.Errorf("session.addStaff sent %d times, want 1", d)
	}
	if d := after["RemoveStaff"] - before["RemoveStaff"]; d != 1 {
		t.Errorf("event.removeStaff sent %d times, want 1", d)
	}
	// Each correction's writes are one request: the instructor's addition
	// and removal go together.
	if calls := b.count(t, `SELECT sum(calls) FROM adm.event_changes`); calls != 3+3 {
		t.Errorf("the three corrections took %d requests, want 6 (a read and a write each)", calls)
	}

	// The same workbook again: nothing to correct, nothing sent.
	outbox := b.count(t, `SELECT count(*) FROM admsync.outbox`)
	again := b.importBook(t, bin, bk)
	if !strings.Contains(again, "skipped 24 duplicates") || strings.Contains(again, "changed") {
		t.Errorf("second identical import: %s", again)
	}
	if n := b.count(t, `SELECT count(*) FROM admsync.outbox`); n != outbox {
		t.Errorf("the identical re-import queued %d messages", n-outbox)
	}

	// Another number of Days: refused, nothing written.
	title, err := sampledata.ChangeDays(bk, b.ref)
	if err != nil {
		t.Fatal(err)
	}
	revisions := b.count(t, `SELECT coalesce(sum(revision), 0) FROM admsync.import_events`)
	refused := b.importBook(t, bin, bk)
	if !strings.Contains(refused, title) || !strings.Contains(refused, "Day(s)") || !strings.Contains(refused, "delete the draft event in Administrate") {
		t.Errorf("the Days change is not refused clearly:\n%s", refused)
	}
	if n := b.count(t, `SELECT count(*) FROM admsync.outbox`); n != outbox {
		t.Errorf("the refused import queued %d messages", n-outbox)
	}
	if n := b.count(t, `SELECT coalesce(sum(revision), 0) FROM admsync.import_events`); n != revisions {
		t.Errorf("the refused import corrected events (revisions %d → %d)", revisions, n)
	}
	time.Sleep(200 * time.Millisecond)
	if final := b.calls(); final["UpdateEvent"] != after["UpdateEvent"] || final["UpdateSession"] != after["UpdateSession"] {
		t.Errorf("Administrate calls after the refused import: %v", final)
	}
}

// TestCorrectionLostResponsesConvergeOnce: the answers to the correction's
// writes are lost after Administrate applied them; the retries read the
// event back and send only what is still missing, so every correction is
// there once and no staff member is doubled.
func TestCorrectionLostResponsesConvergeOnce(t *testing.T) {
	t.Parallel()
	bin := importer(t)
	b := setup(t)
	bk, accepted := b.season(t, bin)
	fixes, err := sampledata.Correct(bk, b.ref)
	if err != nil {
		t.Fatal(err)
	}
	// Two answers lost: the Max places update's, and the one request carrying
	// the instructor correction's addition and removal.
	b.sim.SetFaults(admsim.Faults{DropAfterApply: 2, DropOperations: []string{"UpdateEvent", "AddSessionStaff", "RemoveStaff"}})
	b.importBook(t, bin, bk)
	relayFlush(t, b)
	testwait.For(t, "three corrections applied", func() bool {
		return b.count(t, `SELECT count(*) FROM adm.event_changes`) == 3
	})
	if left := b.sim.Faults().DropAfterApply; left != 0 {
		t.Errorf("%d drops left: the test lost fewer answers than it says", left)
	}
	b.corrected(t, fixes)
	if n := len(b.sim.Events()); n != accepted {
		t.Errorf("Administrate has %d events, want %d", n, accepted)
	}
	dls, err := messaging.NewDLQ(b.js).List(b.ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectTutorialEvents})
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 0 {
		t.Errorf("%d dead letters", len(dls))
	}
}
