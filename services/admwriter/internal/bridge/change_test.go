package bridge

import (
	"context"
	"errors"
	"testing"
)

// A correction claims an event only once it is done, applies each revision
// once, never beside another worker, and not at all once the event was
// deleted in Administrate.
func TestClaimChangeStates(t *testing.T) {
	t.Parallel()
	s, ev := setup(t)
	ctx := context.Background()
	var nc *NotCreatedError
	if _, err := s.ClaimChange(ctx, ev, 1); !errors.As(err, &nc) || nc.State != "" {
		t.Fatalf("before any claim: err = %v, want NotCreatedError without a bridge", err)
	}
	c, err := s.Claim(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimChange(ctx, ev, 1); !errors.As(err, &nc) || nc.State != Pending {
		t.Fatalf("while creating: err = %v, want NotCreatedError(pending)", err)
	}
	if err := s.BeginCreate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Created(ctx, c, "Q291cnNlOjE="); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	cc, err := s.ClaimChange(ctx, ev, 1)
	if err != nil || cc.ExternalID != "Q291cnNlOjE=" {
		t.Fatalf("done event: claim %+v, err %v", cc, err)
	}
	var busy *BusyError
	if _, err := s.ClaimChange(ctx, ev, 2); !errors.As(err, &busy) {
		t.Fatalf("second correction while the first runs: err = %v, want busy", err)
	}
	if err := s.FinishChange(ctx, cc, 1, 7, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimChange(ctx, ev, 1); !errors.Is(err, ErrChangeApplied) {
		t.Fatalf("revision 1 again: err = %v, want applied", err)
	}
	if err := s.FinishChange(ctx, cc, 1, 7, 3); !errors.Is(err, ErrFenced) {
		t.Fatalf("finishing with a released claim: err = %v, want fenced", err)
	}
	if st, _, _ := state(t, s.Pool, ev); st != Done {
		t.Fatalf("state after a correction = %s, want done", st)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE adm.events SET deleted_at = now() WHERE tutorial_event_id = $1`, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimChange(ctx, ev, 2); !errors.Is(err, ErrDeleted) {
		t.Fatalf("deleted event: err = %v, want ErrDeleted", err)
	}
}
