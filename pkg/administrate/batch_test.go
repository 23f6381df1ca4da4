package administrate_test

import (
	"errors"
	"fmt"
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

// batchFixture creates a blended event of n sessions and returns the ops that
// write them: per session an update and an instructor.
func batchFixture(t *testing.T, sim *admsimtest.Server, c *administrate.Client, n int) (administrate.Created, []administrate.BatchOp, string) {
	t.Helper()
	loc := sim.Location("London")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: fmt.Sprintf("CB%d_LO", n), Title: "CB", SessionCount: n})
	inst := sim.Instructor("Ada", "Lovelace")
	ev, err := c.CreateBlendedEvent(ctxT(t), administrate.BlendedEventCreateInput{CourseTemplateId: ct, Title: "ELO-BATCH",
		EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London", LocationId: loc})
	if err != nil || len(ev.Sessions) != n {
		t.Fatalf("create: %+v %v", ev, err)
	}
	var ops []administrate.BatchOp
	for i, s := range ev.Sessions {
		ops = append(ops,
			administrate.BatchUpdateSession(s.ID, administrate.SessionUpdateInput{Title: fmt.Sprintf("Day %d", i+1),
				Start: administrate.NewLocalDateTime(2026, 3, 2+i, 9, 0, 0), End: administrate.NewLocalDateTime(2026, 3, 2+i, 17, 0, 0)}),
			administrate.BatchAddSessionStaff(s.ID, []string{inst}, administrate.StaffTypeInstructor))
	}
	return ev, ops, inst
}

func checkSessionsWritten(t *testing.T, sim *admsimtest.Server, ev administrate.Created) {
	t.Helper()
	for i, s := range sim.Sessions(ev.EventID) {
		if s.Title != fmt.Sprintf("Day %d", i+1) || len(s.Staff) != 1 {
			t.Errorf("session %d: title %q staff %v, want Day %d with one instructor", i, s.Title, s.Staff, i+1)
		}
	}
}

// One request carries every op; each answer is judged on its own: a rejected
// field fails alone and "already staff" counts as done.
func TestBatchSendsOneRequestAndJudgesEachField(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, nil)
	ev, ops, inst := batchFixture(t, sim, c, 3)
	if err := c.AddSessionStaff(ctxT(t), ev.Sessions[2].ID, []string{inst}, administrate.StaffTypeInstructor); err != nil {
		t.Fatal(err)
	}
	ops = append(ops, administrate.BatchAddEventStaff(ev.EventID, "Q29udGFjdDo5OTk=", administrate.StaffTypeAdministrator))
	sim.ResetRequests()

	res := c.Batch(ctxT(t), ops)
	if res.Requests != 1 || sim.RequestCount() != 1 || sim.FieldCount() != len(ops) || sim.BatchedCount() != 1 {
		t.Fatalf("requests %d (simulator %d), fields %d, want 1 request of %d fields", res.Requests, sim.RequestCount(), sim.FieldCount(), len(ops))
	}
	for i, err := range res.Errors[:6] {
		if err != nil {
			t.Errorf("op %d (%s): %v", i, ops[i].Name(), err)
		}
	}
	var me *administrate.MutationError
	if err := res.Errors[6]; !errors.As(err, &me) || me.Errors[0].Field != "contactId" {
		t.Errorf("unknown administrator: %v, want its own MutationError", err)
	}
	checkSessionsWritten(t, sim, ev)
	if n := sim.CallCount("UpdateSession"); n != 3 {
		t.Errorf("simulator counted %d UpdateSession calls, want 3 (one per field)", n)
	}
}

// A tenant that refuses large documents: the batch is split in halves down to what
// it accepts, every op is applied once, and the client keeps the smaller size.
func TestBatchSplitsADocumentRefusedForItsSize(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{MaxFields: 2}))
	c := newClient(t, sim, func(o *administrate.Options) { o.BatchMax = 8 })
	ev, ops, _ := batchFixture(t, sim, c, 4)
	sim.ResetRequests()
	res := c.Batch(ctxT(t), ops)
	for i, err := range res.Errors {
		if err != nil {
			t.Errorf("op %d: %v", i, err)
		}
	}
	checkSessionsWritten(t, sim, ev)
	if got := sim.OutcomeCounts()[admsim.OutcomeTooLarge]; got != 2 {
		t.Errorf("refused documents %d, want 2 (8 fields, then 4)", got)
	}
	if c.BatchMax() != 2 || sim.FieldCount() != 8 {
		t.Errorf("BatchMax after refusals %d, fields applied %d; want 2 and 8", c.BatchMax(), sim.FieldCount())
	}
}

// A batched request that fails part-way (its first fields applied, then no usable
// answer) leaves every op "outcome unknown"; sending the same ops again completes
// them without duplicating anything.
func TestBatchFailingPartWayIsOutcomeUnknownAndRetryable(t *testing.T) {
	t.Parallel()
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			sim := admsimtest.Start(t)
			c := newClient(t, sim, nil)
			ev, ops, _ := batchFixture(t, sim, c, 3)
			sim.SetFaults(admsim.Faults{BatchFailures: 1, BatchApply: 3, BatchDrop: drop})
			res := c.Batch(ctxT(t), ops)
			for i, err := range res.Errors {
				if !errors.Is(err, administrate.ErrOutcomeUnknown) {
					t.Errorf("op %d: %v, want outcome unknown", i, err)
				}
			}
			ss := sim.Sessions(ev.EventID)
			if ss[0].Title != "Day 1" || len(ss[0].Staff) != 1 || ss[1].Title != "Day 2" || len(ss[1].Staff) != 0 || ss[2].Title == "Day 3" {
				t.Fatalf("after the part-way failure: %+v, want the first 3 fields applied only", ss)
			}
			res = c.Batch(ctxT(t), ops)
			for i, err := range res.Errors {
				if err != nil {
					t.Errorf("retry op %d: %v", i, err)
				}
			}
			checkSessionsWritten(t, sim, ev)
		})
	}
}

// BatchMax 1 (ADMINISTRATE_BATCH=1) sends each op as its own generated operation.
func TestBatchOfOneSendsTheSingleOperations(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, func(o *administrate.Options) { o.BatchMax = 1 })
	ev, ops, _ := batchFixture(t, sim, c, 2)
	sim.ResetRequests()
	res := c.Batch(ctxT(t), ops)
	if res.Requests != 4 || sim.BatchedCount() != 0 {
		t.Fatalf("requests %d, batched %d; want 4 single-op requests", res.Requests, sim.BatchedCount())
	}
	for _, r := range sim.Requests() {
		if r.Operation != "UpdateSession" && r.Operation != "AddSessionStaff" {
			t.Errorf("request %s, want the generated single operations", r.Operation)
		}
	}
	checkSessionsWritten(t, sim, ev)
}
