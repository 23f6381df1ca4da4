package chaos

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"admsync/pkg/sampledata"
)

// lifecycleKill: the admwriter dies during each kind of lifecycle command
// (admwriter events prices add, websale on, soldout on, delete-drafts,
// publish). For each, an admwriter built with failpoints exits right after
// Administrate answered the first write (after_lifecycle_write, before the
// outcome is recorded), a normal one takes over and is killed -9 twice more
// while the command's messages are redelivered. The command must still answer
// for every event, and Administrate must end with each change made exactly
// once: every event its template's prices once each, web sale and sold out
// on, published; the mistaken second import's events deleted, the rest kept.
func lifecycleKill(ctx context.Context, r *run) error {
	_, w, err := r.upWith(ctx, setup{})
	if err != nil {
		return err
	}
	sum, err := r.importBook(ctx, r.book, "season")
	if err != nil {
		return err
	}
	// The mistaken import: the same generator with more events, so the
	// season's are skipped as duplicates and only the extra ones are new;
	// delete-drafts removes them.
	wrong, _ := sampledata.Generate(sampledata.Options{Events: r.cfg.Events + max(r.cfg.Events/3, 3), Seed: r.cfg.Seed})
	sum2, err := r.importBook(ctx, wrong, "mistake")
	if err != nil {
		return err
	}
	if err := r.waitDone(ctx, sum.Imported+sum2.Imported, r.cfg.Drain); err != nil {
		return err
	}
	commands := [][]string{
		{"prices", "add"},
		{"websale", "on"},
		{"soldout", "on", "--import-run", fmt.Sprint(sum.RunID)},
		{"delete-drafts", "--import-run", fmt.Sprint(sum2.RunID)},
		{"publish", "--import-run", fmt.Sprint(sum.RunID)},
	}
	hit := 0
	for _, c := range commands {
		w.Stop(30 * time.Second)
		f, err := r.spawnAdmwriter("admwriter-"+c[0], "after_lifecycle_write")
		if err != nil {
			return err
		}
		cmd := r.st.Command(ctx, []string{"LOG_LEVEL=warn"}, "admwriter", append(append([]string{"events"}, c...), "--yes", "--wait", "5m")...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if !f.Wait(90 * time.Second) {
			f.Stop(30 * time.Second)
			r.res.notef("%s: failpoint not reached", c[0])
		} else if f.ExitCode() == 137 {
			hit++
		}
		if err := w.Restart(); err != nil {
			return err
		}
		for range 2 {
			sleep(ctx, r.jitter(300*time.Millisecond, 1200*time.Millisecond))
			w.Kill()
			if err := w.Restart(); err != nil {
				return err
			}
		}
		select {
		case err := <-done:
			text := out.String()
			if err != nil || !strings.Contains(text, " 0 failed") {
				r.res.problemf("admwriter events %s: %v\n%s", strings.Join(c, " "), err, lastLines(text, 5))
			} else {
				r.logf("admwriter events %s: %s", strings.Join(c, " "), lastLines(text, 1))
			}
		case <-time.After(6 * time.Minute):
			r.res.problemf("admwriter events %s did not finish", strings.Join(c, " "))
			_ = cmd.Process.Kill()
		}
	}
	r.res.notef("%d/%d commands crashed the admwriter after a write", hit, len(commands))
	healed := time.Now()
	ferr := r.finish(ctx, healed)
	r.checkLifecycle(ctx, sum.RunID, sum2.RunID)
	return ferr
}

// checkLifecycle compares Administrate with what the commands asked for.
func (r *run) checkLifecycle(ctx context.Context, season, mistake int64) {
	rows, err := r.st.Pool.Query(ctx, `SELECT e.external_id, ie.import_run_id, e.deleted_at IS NOT NULL
		FROM adm.events e JOIN admsync.import_events ie ON ie.tutorial_event_id = e.tutorial_event_id WHERE e.state = 'done'`)
	if err != nil {
		r.res.problemf("read bridges: %v", err)
		return
	}
	defer rows.Close()
	var checked, deleted, lost, dup int
	for rows.Next() {
		var ext string
		var run int64
		var gone bool
		if err := rows.Scan(&ext, &run, &gone); err != nil {
			r.res.problemf("read bridges: %v", err)
			return
		}
		ev, ok := r.st.Sim.Event(ext)
		if run == mistake {
			if ok || !gone {
				r.res.problemf("event %s of the mistaken import: in Administrate %v, bridge marked deleted %v", ext, ok, gone)
			}
			deleted++
			continue
		}
		if !ok || gone {
			r.res.problemf("event %s of the season: in Administrate %v, bridge marked deleted %v", ext, ok, gone)
			lost++
			continue
		}
		seen := map[string]int{}
		for _, p := range ev.Prices {
			seen[p.PriceLevelID+"/"+p.CurrencyID]++
		}
		for k, n := range seen {
			if n > 1 {
				r.res.problemf("event %s has the price %s %d times", ext, k, n)
				dup++
			}
		}
		if len(seen) != 2 {
			r.res.problemf("event %s has %d prices, want its template's 2", ext, len(seen))
			lost++
		}
		if ev.LifecycleState != "published" || !ev.IsSoldOut {
			r.res.problemf("event %s: %s, sold out %v", ext, ev.LifecycleState, ev.IsSoldOut)
			lost++
		}
		on := false
		for _, v := range ev.CustomFields {
			if strings.EqualFold(v, "true") { // the import writes "true", the command "True"
				on = true
			}
		}
		if !on {
			r.res.problemf("event %s: web sale not on", ext)
			lost++
		}
		checked++
	}
	r.res.notef("lifecycle: %d season events checked, %d mistaken ones deleted; changes lost %d, duplicated %d", checked, deleted, lost, dup)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
