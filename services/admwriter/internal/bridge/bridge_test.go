package bridge

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/database/dbtest"
)

func seedEvent(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	ctx := context.Background()
	var product, ev int64
	if err := pool.QueryRow(ctx, `INSERT INTO acted.products (product_code, subject_code, sitting, variation_code)
		VALUES ('CB1/LO/26A', 'CB1', '2026A', 'LO_2') RETURNING id`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO acted.tutorial_events (code, start_date, end_date, product_id)
		VALUES ('ELO-CB1-01-26A', '2026-03-30', '2026-03-31', $1) RETURNING id`, product).Scan(&ev); err != nil {
		t.Fatal(err)
	}
	var s1, s2 int64
	for i, id := range []*int64{&s1, &s2} {
		if err := pool.QueryRow(ctx, `INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, start_date, end_date, sequence)
			VALUES ($1, 'S', now(), now() + interval '1 hour', $2) RETURNING id`, ev, i+1).Scan(id); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// setup gives a test its own database holding one tutorial event with two
// sessions, and a store with a one-minute lease.
func setup(t *testing.T) (*Store, int64) {
	t.Helper()
	db := dbtest.New(t)
	return &Store{Pool: db.Pool, Lease: time.Minute}, seedEvent(t, db.Pool)
}

func state(t *testing.T, pool *pgxpool.Pool, ev int64) (State, string, int) {
	t.Helper()
	r, err := Get(context.Background(), pool, ev)
	if err != nil || r == nil {
		t.Fatalf("Get: %v %v", r, err)
	}
	return r.State, r.ExternalID, r.Attempts
}

func TestHappyPathStates(t *testing.T) {
	t.Parallel()
	s, ev := setup(t)
	ctx := context.Background()

	c, err := s.Claim(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != Pending || c.Attempts != 1 {
		t.Fatalf("fresh claim %+v", c)
	}
	if err := s.BeginCreate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := state(t, s.Pool, ev); st != Creating {
		t.Fatalf("after BeginCreate: %s", st)
	}
	if err := s.Created(ctx, c, "Q291cnNlOjE="); err != nil {
		t.Fatal(err)
	}
	var sid int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM acted.tutorial_sessions WHERE tutorial_event_id = $1 AND sequence = 1`, ev).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	if err := s.Session(ctx, c, sid, 1, "U2Vzc2lvbjox", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Session(ctx, c, sid, 1, "U2Vzc2lvbjox", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	st, ext, _ := state(t, s.Pool, ev)
	if st != Done || ext != "Q291cnNlOjE=" {
		t.Fatalf("finished row %s %s", st, ext)
	}
	var n int
	var staff bool
	if err := s.Pool.QueryRow(ctx, `SELECT count(*), bool_and(staff_done) FROM adm.sessions`).Scan(&n, &staff); err != nil || n != 1 || !staff {
		t.Fatalf("sessions: %d %v %v", n, staff, err)
	}
	// A done event is skipped: no token, nothing to do.
	again, err := s.Claim(ctx, ev)
	if err != nil || again.State != Done {
		t.Fatalf("claim of a done event: %+v %v", again, err)
	}
}

func TestLiveClaimIsBusyAndStaleClaimIsFenced(t *testing.T) {
	t.Parallel()
	s, ev := setup(t)
	ctx := context.Background()

	a, err := s.Claim(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, ev); !errors.Is(err, ErrBusy) {
		t.Fatalf("second claim within the lease = %v, want ErrBusy", err)
	}
	if err := s.BeginCreate(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Worker A stalls past its lease; B takes over.
	if _, err := s.Pool.Exec(ctx, `UPDATE adm.events SET claimed_at = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	b, err := s.Claim(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != Creating || b.Attempts != 2 {
		t.Fatalf("takeover claim %+v: a create may have been sent, so it must reconcile", b)
	}
	// A wakes up: every fenced write affects 0 rows.
	if err := s.Created(ctx, a, "Q291cnNlOjk="); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale Created = %v, want ErrFenced", err)
	}
	if err := s.Heartbeat(ctx, a); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale Heartbeat = %v, want ErrFenced", err)
	}
	if err := s.Created(ctx, b, "Q291cnNlOjE="); err != nil {
		t.Fatal(err)
	}
	if _, ext, _ := state(t, s.Pool, ev); ext != "Q291cnNlOjE=" {
		t.Fatalf("external id %q", ext)
	}
}

func TestConcurrentClaimsOneWins(t *testing.T) {
	t.Parallel()
	s, ev := setup(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, busy := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Claim(context.Background(), ev)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrBusy):
				busy++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || busy != 7 {
		t.Fatalf("won %d busy %d, want 1 and 7", won, busy)
	}
}

func TestReleaseKeepsStateAndFailedReopens(t *testing.T) {
	t.Parallel()
	s, ev := setup(t)
	ctx := context.Background()

	c, _ := s.Claim(ctx, ev)
	_ = s.BeginCreate(ctx, c)
	if err := s.Release(ctx, c, "503 from Administrate"); err != nil {
		t.Fatal(err)
	}
	c2, err := s.Claim(ctx, ev)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	if c2.State != Creating {
		t.Fatalf("state after release %s, want creating (reconcile next)", c2.State)
	}
	if err := s.Fail(ctx, c2, "validation: title taken"); err != nil {
		t.Fatal(err)
	}
	r, _ := Get(ctx, s.Pool, ev)
	if r.State != Failed || r.LastError != "validation: title taken" {
		t.Fatalf("failed row %+v", r)
	}
	c3, err := s.Claim(ctx, ev)
	if err != nil || c3.State != Creating || c3.Attempts != 3 {
		t.Fatalf("reopened failed claim %+v %v", c3, err)
	}
	_ = s.Created(ctx, c3, "Q291cnNlOjI=")
	_ = s.Fail(ctx, c3, "too few sessions")
	c4, err := s.Claim(ctx, ev)
	if err != nil || c4.State != Created || c4.ExternalID != "Q291cnNlOjI=" {
		t.Fatalf("failed row with an id must resume as created: %+v %v", c4, err)
	}
}

func TestClaimOfMissingTutorialEvent(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	s := &Store{Pool: db.Pool, Lease: time.Minute}
	if _, err := s.Claim(context.Background(), 999999); !errors.Is(err, ErrNoEvent) {
		t.Fatalf("Claim = %v, want ErrNoEvent", err)
	}
}
