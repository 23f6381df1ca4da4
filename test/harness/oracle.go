package harness

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Progress is how far the writing to Administrate has come.
type Progress struct {
	Accepted  int // events accepted by imports (admsync.import_events)
	Done      int // adm.events in state done
	Failed    int // adm.events in state failed (dead-lettered)
	Unsent    int // outbox rows not yet published
	Remaining int // accepted and neither done nor failed
}

// Progress reads the oracle counts from PostgreSQL.
func (s *Stack) Progress(ctx context.Context) (Progress, error) {
	var p Progress
	err := s.Pool.QueryRow(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE e.state = 'done'),
		       count(*) FILTER (WHERE e.state = 'failed'),
		       (SELECT count(*) FROM admsync.outbox WHERE published_at IS NULL)
		FROM admsync.import_events ie
		LEFT JOIN adm.events e ON e.tutorial_event_id = ie.tutorial_event_id`).Scan(&p.Accepted, &p.Done, &p.Failed, &p.Unsent)
	p.Remaining = p.Accepted - p.Done - p.Failed
	return p, err
}

// WaitDrained waits until every accepted event is done or dead-lettered,
// calling report every few seconds.
func (s *Stack) WaitDrained(ctx context.Context, timeout time.Duration, report func(Progress)) (Progress, error) {
	deadline := time.Now().Add(timeout)
	last := time.Time{}
	for {
		p, err := s.Progress(ctx)
		if err == nil && p.Remaining == 0 && p.Unsent == 0 {
			return p, nil
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("%w after %s: %d of %d events still unwritten", ErrTimeout, timeout, p.Remaining, p.Accepted)
		}
		if report != nil && time.Since(last) > 5*time.Second {
			report(p)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Tally is the end-to-end oracle of a run (docs/architecture.md, "Exactly once").
type Tally struct {
	Accepted     int // events committed by imports
	Created      int // events at the simulator
	Sessions     int // sessions of those events
	Duplicated   int // extra events at the simulator for one (title, course template)
	Unexpected   int // simulator events no accepted tutorial event explains
	Lost         int // accepted and neither done nor dead-lettered
	DeadLettered int // adm.events failed
	DLQ          uint64
	APICalls     int
	DuplicateKey []string
}

// Tally computes the oracle from PostgreSQL, the simulator and NATS.
func (s *Stack) Tally(ctx context.Context) (Tally, error) {
	var t Tally
	p, err := s.Progress(ctx)
	if err != nil {
		return t, err
	}
	t.Accepted, t.DeadLettered, t.Lost = p.Accepted, p.Failed, p.Remaining

	titles := map[string]bool{}
	rows, err := s.Pool.Query(ctx, `SELECT title FROM admsync.import_events`)
	if err != nil {
		return t, err
	}
	for rows.Next() {
		var title string
		if err := rows.Scan(&title); err != nil {
			rows.Close()
			return t, err
		}
		titles[title] = true
	}
	rows.Close()

	perKey := map[string]int{}
	for _, e := range s.Sim.Events() {
		t.Created++
		t.Sessions += len(e.SessionIDs)
		perKey[e.Title+" / "+e.CourseTemplateID]++
		if !titles[e.Title] {
			t.Unexpected++
		}
	}
	for k, n := range perKey {
		if n > 1 {
			t.Duplicated += n - 1
			t.DuplicateKey = append(t.DuplicateKey, k)
		}
	}
	sort.Strings(t.DuplicateKey)
	t.APICalls = len(s.Sim.Requests())
	t.DLQ, _ = s.DLQDepth(ctx)
	return t, nil
}

// DLQDepth counts messages in the DLQ stream.
func (s *Stack) DLQDepth(ctx context.Context) (uint64, error) {
	info, err := s.StreamInfo(ctx, "DLQ")
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
