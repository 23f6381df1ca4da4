package chaos

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
)

// admwriterKillCorrections imports the season, lets the admwriter write it,
// then imports it again with corrections on most multi-day events (Max
// places, a Day 2 start, a Day 1 instructor) and kills -9 the admwriter
// while it applies them, plus one run that exits at the failpoint
// after_change_call (a correction half applied, recorded nowhere). Every
// correction must then be applied once (adm.event_changes), show in
// Administrate, and leave no session with a doubled instructor.
func admwriterKillCorrections(ctx context.Context, r *run) error {
	w, err := r.upForKills(ctx)
	if err != nil {
		return err
	}
	sum, err := r.importBook(ctx, r.book, "season")
	if err != nil {
		return err
	}
	if err := r.waitDone(ctx, sum.Imported, r.cfg.Drain); err != nil {
		return err
	}
	_, ref := sampledata.Generate(sampledata.Options{Events: r.cfg.Events, Seed: r.cfg.Seed})
	fixes, err := sampledata.CorrectN(r.book, ref, r.cfg.Events)
	if err != nil {
		return err
	}
	path, err := r.writeBook(r.book, "corrected")
	if err != nil {
		return err
	}
	if _, err := r.importFile(ctx, path); err != nil {
		return err
	}
	r.logf("%d corrections imported", len(fixes))
	fp := 1 + r.rng.IntN(4)
	for k := 1; k <= 6; k++ {
		sleep(ctx, r.jitter(300*time.Millisecond, 1200*time.Millisecond))
		w.Kill()
		if k == fp {
			if _, err := r.failpointRun("after_change_call"); err != nil {
				return err
			}
		}
		if err := w.Restart(); err != nil {
			return err
		}
	}
	healed := time.Now()
	want := map[string]bool{}
	for _, f := range fixes {
		want[f.Title] = true
	}
	deadline := time.Now().Add(r.cfg.Drain)
	applied := 0
	for time.Now().Before(deadline) {
		if err := r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM adm.event_changes`).Scan(&applied); err == nil && applied >= len(want) {
			break
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	// Judged before finish, whose self-check plants a duplicate in the
	// simulator once the real count is taken.
	lost := len(want) - applied
	r.res.notef("corrections: %d events corrected, %d applied, %d lost", len(want), applied, max(lost, 0))
	if lost != 0 {
		r.res.problemf("%d corrections not applied", lost)
	}
	if bad := r.checkCorrections(ctx, fixes); len(bad) > 0 {
		r.res.problemf("corrections wrong in Administrate: %s", strings.Join(bad, "; "))
	}
	return r.finish(ctx, healed)
}

// checkCorrections compares Administrate with each correction and looks for
// doubled instructors in every session.
func (r *run) checkCorrections(ctx context.Context, fixes []sampledata.Correction) []string {
	var bad []string
	byTitle := map[string]admsim.EventView{}
	n := map[string]int{}
	for _, e := range r.st.Sim.Events() {
		byTitle[e.Title] = e
		n[e.Title]++
	}
	for _, e := range r.st.Sim.Events() {
		for _, s := range r.st.Sim.Sessions(e.ID) {
			var seen []string
			for _, st := range s.Staff {
				if slices.Contains(seen, st.ContactID) {
					bad = append(bad, fmt.Sprintf("%s session %s has %s twice", e.Title, s.ID, st.ContactID))
				}
				seen = append(seen, st.ContactID)
			}
		}
	}
	for _, f := range fixes {
		e, ok := byTitle[f.Title]
		if !ok || n[f.Title] != 1 {
			bad = append(bad, fmt.Sprintf("%s: %d events", f.Title, n[f.Title]))
			continue
		}
		sessions := r.st.Sim.Sessions(e.ID)
		switch f.Field {
		case "Max places":
			if strconv.Itoa(e.MaxPlaces) != f.New {
				bad = append(bad, fmt.Sprintf("%s: max places %d, want %s", f.Title, e.MaxPlaces, f.New))
			}
		case "Day 2 start":
			if len(sessions) < 2 || !strings.Contains(sessions[1].Start.String(), "T"+f.New) {
				bad = append(bad, fmt.Sprintf("%s: Day 2 start not %s", f.Title, f.New))
			}
		case "Day 1 instructors":
			var want string
			if err := r.st.Pool.QueryRow(ctx, `SELECT ai.external_id FROM adm.instructors ai
				JOIN acted.tutorial_instructors ti ON ti.id = ai.tutorial_instructor_id
				JOIN acted.staff st ON st.id = ti.staff_id JOIN public.auth_user u ON u.id = st.user_id
				WHERE trim(u.first_name || ' ' || u.last_name) = $1 AND ai.gone_at IS NULL LIMIT 1`, f.New).Scan(&want); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", f.Title, err))
				continue
			}
			if len(sessions) == 0 || len(sessions[0].Staff) != 1 || sessions[0].Staff[0].ContactID != want {
				bad = append(bad, fmt.Sprintf("%s: Day 1 staff is not only %s", f.Title, f.New))
			}
		}
	}
	return bad
}
