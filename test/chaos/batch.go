package chaos

import (
	"context"
	"fmt"
	"time"

	"admsync/pkg/admsim"
)

// admBatch: batched writes. The admwriter sends each blended event's session
// updates and staff additions as one request of aliased fields. Here the
// tenant refuses documents of more than a few fields (the writer must split
// them), and waves of batched requests fail part-way: the first k fields are
// applied, then the answer is a 500 or the connection is dropped, so every
// field's outcome is unknown. Every event must still be written once, and
// every session of it updated and staffed exactly once.
func admBatch(ctx context.Context, r *run) error {
	if _, _, err := r.upWith(ctx, setup{faults: admsim.Faults{MaxFields: 4, Latency: 20 * time.Millisecond, Jitter: 20 * time.Millisecond}}); err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	waves := 0
	for i := 0; i < 8; i++ {
		sleep(ctx, r.jitter(200*time.Millisecond, 900*time.Millisecond))
		n, k, drop := 1+r.rng.IntN(3), r.rng.IntN(4), r.rng.IntN(2) == 0
		if err := r.st.Sim.UpdateFaults(func(f *admsim.Faults) { f.BatchFailures += n; f.BatchApply, f.BatchDrop = k, drop }); err != nil {
			return err
		}
		waves++
	}
	healed := time.Now()
	err := r.finish(ctx, healed)

	outcomes := r.st.Sim.OutcomeCounts()
	r.res.notef("%d waves; %d requests carrying %d fields (%d batched); %d failed part-way with 500, %d dropped, %d refused for size",
		waves, r.st.Sim.RequestCount(), r.st.Sim.FieldCount(), r.st.Sim.BatchedCount(),
		outcomes[admsim.OutcomePartial], outcomes[admsim.OutcomeDropped], outcomes[admsim.OutcomeTooLarge])
	if outcomes[admsim.OutcomePartial]+outcomes[admsim.OutcomeDropped] == 0 {
		r.res.problemf("no batched request failed part-way: the scenario tested nothing")
	}
	if cerr := r.checkSessionsOnce(ctx); cerr != nil {
		r.res.problemf("%v", cerr)
	}
	return err
}

// checkSessionsOnce compares every written event's sessions in the simulator
// with the bridge: each session stored as done, and no contact twice on one
// session's staff.
func (r *run) checkSessionsOnce(ctx context.Context) error {
	rows, err := r.st.Pool.Query(ctx, `SELECT e.external_id, count(s.*) FILTER (WHERE s.external_id IS NOT NULL AND s.staff_done)
		FROM adm.events e LEFT JOIN adm.sessions s ON s.event_id = e.id
		WHERE e.state = 'done' GROUP BY e.external_id`)
	if err != nil {
		return fmt.Errorf("read session bridges: %w", err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var ext string
		var done int
		if err := rows.Scan(&ext, &done); err != nil {
			return err
		}
		sessions := r.st.Sim.Sessions(ext)
		if len(sessions) != done {
			return fmt.Errorf("event %s: %d sessions in Administrate, %d stored as written and staffed", ext, len(sessions), done)
		}
		for _, s := range sessions {
			seen := map[string]bool{}
			for _, st := range s.Staff {
				if seen[st.ContactID] {
					return fmt.Errorf("event %s session %s: contact %s is staff twice", ext, s.ID, st.ContactID)
				}
				seen[st.ContactID] = true
			}
		}
		checked++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.res.notef("%d written events' sessions checked against the bridge", checked)
	return nil
}
