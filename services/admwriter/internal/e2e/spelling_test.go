package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"admsync/pkg/admsim"
	"admsync/pkg/match"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
)

// whitespace the matcher collapses: runs of spaces, tabs, no-break and em spaces.
var spellingSpaces = []string{" ", "  ", "\t", "\u00a0", "\u2003", " \u00a0 ", " \t"}

// respell writes s the way a person might type it in a way match.Key still
// accepts: random case per letter, surrounding whitespace, any run of inner
// whitespace, and letters in the Unicode forms full case folding maps to
// ASCII (U+017F long s for s, U+212A Kelvin sign for k).
func respell(rng *rand.Rand, s string) string {
	pick := func() string { return spellingSpaces[rng.IntN(len(spellingSpaces))] }
	var b strings.Builder
	if rng.IntN(2) == 0 {
		b.WriteString(pick())
	}
	for i, word := range strings.Fields(s) {
		if i > 0 {
			b.WriteString(pick())
		}
		for _, r := range word {
			switch {
			case (r == 's' || r == 'S') && rng.IntN(3) == 0:
				b.WriteRune('\u017f')
			case (r == 'k' || r == 'K') && rng.IntN(2) == 0:
				b.WriteRune('\u212a')
			case rng.IntN(2) == 0:
				b.WriteRune(unicode.ToUpper(r))
			default:
				b.WriteRune(unicode.ToLower(r))
			}
		}
	}
	if rng.IntN(2) == 0 {
		b.WriteString(pick())
	}
	return b.String()
}

// respellBook rewrites every code, location, venue, instructor and
// administrator cell of a generated workbook; it returns how many cells changed.
func respellBook(t *testing.T, rng *rand.Rand, book *sampledata.Book) int {
	t.Helper()
	changed := 0
	for i := range book.Rows {
		r := &book.Rows[i]
		for _, col := range []string{"A", "E", "F", "R", "S", "T"} {
			v := r.Get(col)
			if v.Kind != sampledata.String || v.Text == "" {
				continue
			}
			parts := strings.Split(v.Text, " / ") // several names in one cell
			for k, p := range parts {
				parts[k] = respell(rng, p)
				if match.Key(parts[k]) != match.Key(p) {
					t.Fatalf("the generator broke the matcher's promise: %q -> %q", p, parts[k])
				}
			}
			if nt := strings.Join(parts, " / "); nt != v.Text {
				r.Set(col, sampledata.Text(nt))
				changed++
			}
		}
	}
	return changed
}

// Property: whatever spelling of codes, locations, venues and instructor
// names the importer accepts, and whichever create, session update or
// addStaff response is lost after Administrate applied it, Administrate ends
// with exactly the accepted events, once each, every session updated once
// and every instructor and administrator on it once. Each round is a seeded
// workbook through the real importer binary, then the writer against the
// simulator dropping the responses of one class of mutation (the last class:
// all of them). ADMWRITER_SPELLING_ROUNDS sets the number of rounds (4);
// ADMWRITER_SPELLING_SEED the first seed.
func TestRespelledWorkbookWithLostResponses(t *testing.T) {
	t.Parallel()
	bin := importer(t)
	rounds, first := 4, uint64(1)
	if v, err := strconv.Atoi(os.Getenv("ADMWRITER_SPELLING_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	if v, err := strconv.ParseUint(os.Getenv("ADMWRITER_SPELLING_SEED"), 10, 64); err == nil {
		first = v
	}
	classes := [][]string{
		{"CreateBlendedEvent", "CreateClassroomEvent", "CreateLMSEvent"},
		{"UpdateSession"},
		{"AddSessionStaff"},
		nil, // every mutation, AddEventStaff included
	}
	for i := range rounds {
		seed := first + uint64(i)
		drop := classes[i%len(classes)]
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			spellingRound(t, bin, seed, drop)
		})
	}
}

func spellingRound(t *testing.T, bin string, seed uint64, dropOps []string) {
	rng := rand.New(rand.NewPCG(seed, 0x5e11))
	book, ref := sampledata.Generate(sampledata.Options{Events: 10, Seed: seed})
	b := setupWith(t, func(r *sampledata.ReferenceData) { *r = *ref })
	if n := respellBook(t, rng, book); n == 0 {
		t.Fatal("no cell was respelled: the round tests nothing")
	}
	path := filepath.Join(t.TempDir(), "respelled.xlsx")
	if err := book.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", path)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.db.URL, "NATS_URL="+b.nats.URL(), "METRICS_ADDR=", "LOG_LEVEL=error")
	out, err := cmd.CombinedOutput()
	t.Logf("importer (%v): %s", err, out)

	type accepted struct {
		title, code string
		admins      int
	}
	var events []accepted
	rows, err := b.db.Pool.Query(b.ctx, `SELECT title, course_template_code, cardinality(administrator_ids) FROM admsync.import_events ORDER BY tutorial_event_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a accepted
		if err := rows.Scan(&a.title, &a.code, &a.admins); err != nil {
			t.Fatal(err)
		}
		events = append(events, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	respelled := 0
	for _, e := range events {
		if !slices.ContainsFunc(ref.CourseTemplates, func(ct sampledata.CourseTemplate) bool { return ct.Code == e.code }) {
			respelled++
		}
	}
	if len(events) == 0 || respelled == 0 {
		t.Fatalf("the importer accepted %d events, %d of them with a respelled code: the round tests nothing", len(events), respelled)
	}
	t.Logf("seed %d: %d events accepted (%d with a respelled code); dropping responses of %v", seed, len(events), respelled, dropOps)

	drops := 2 + rng.IntN(5)
	b.sim.SetFaults(admsim.Faults{DropAfterApply: drops, DropOperations: dropOps})
	b.start(runOpts{workers: 4})
	b.ensureStreams()
	relayFlush(t, b)
	testwait.For(b.t, "every accepted event to be settled", func() bool {
		st := b.states()
		return st["done"]+st["failed"] >= len(events)
	})

	if st := b.states(); st["done"] != len(events) {
		t.Errorf("bridge states %v, want %d done", st, len(events))
	}
	for _, dl := range b.deadLetters() {
		t.Errorf("dead letter: %s", dl.Reason)
	}
	if got := len(b.sim.Events()); got != len(events) {
		t.Errorf("Administrate holds %d events, the import accepted %d", got, len(events))
	}
	for _, e := range events {
		if got := b.eventsTitled(e.title); len(got) != 1 {
			t.Errorf("%s: %d events in Administrate, want 1", e.title, len(got))
		} else if admins := staffOf(got[0].Staff); len(admins) != e.admins {
			t.Errorf("%s: administrators %v, want %d distinct", e.title, got[0].Staff, e.admins)
		}
	}

	// Every session: updated with its workbook title, its instructors once each.
	srows, err := b.db.Pool.Query(b.ctx, `
SELECT e.external_id, s.sequence, s.title,
       coalesce(array_agg(DISTINCT ai.external_id) FILTER (WHERE ai.external_id IS NOT NULL), '{}')
FROM adm.events e
JOIN acted.tutorial_sessions s ON s.tutorial_event_id = e.tutorial_event_id
LEFT JOIN acted.tutorial_session_instructors si ON si.tutorialsessions_id = s.id
LEFT JOIN adm.instructors ai ON ai.tutorial_instructor_id = si.tutorialinstructor_id AND ai.gone_at IS NULL
WHERE e.external_id IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer srows.Close()
	checked := 0
	for srows.Next() {
		var ext, title string
		var day int
		var want []string
		if err := srows.Scan(&ext, &day, &title, &want); err != nil {
			t.Fatal(err)
		}
		sessions := b.sim.Sessions(ext)
		if day < 1 || day > len(sessions) {
			t.Errorf("event %s: no Administrate session for Day %d (%d sessions)", ext, day, len(sessions))
			continue
		}
		s := sessions[day-1]
		if s.Title != title {
			t.Errorf("event %s Day %d: title %q, want %q (the update was lost)", ext, day, s.Title, title)
		}
		got := staffOf(s.Staff)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(s.Staff) != len(got) {
			t.Errorf("event %s Day %d: staff %v, want %v once each", ext, day, s.Staff, want)
		}
		checked++
	}
	if err := srows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Error("no session was checked")
	}

	// The round did lose responses of the class it meant to.
	lost := map[string]int{}
	for _, r := range b.sim.Requests() {
		if r.Outcome == admsim.OutcomeDropped {
			for _, op := range r.Operations() {
				lost[op]++
			}
		}
	}
	t.Logf("lost responses: %v", lost)
	want := dropOps
	if want == nil {
		want = []string{"CreateBlendedEvent", "CreateClassroomEvent", "CreateLMSEvent", "UpdateSession", "AddSessionStaff", "AddEventStaff"}
	}
	total := 0
	for _, op := range want {
		total += lost[op]
	}
	if total == 0 {
		t.Errorf("no response of %v was lost: the round tests less than it says", want)
	}
}

// staffOf lists the distinct contacts of a staff list.
func staffOf(staff []admsim.StaffView) []string {
	var out []string
	for _, s := range staff {
		if !slices.Contains(out, s.ContactID) {
			out = append(out, s.ContactID)
		}
	}
	return out
}
