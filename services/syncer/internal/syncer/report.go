package syncer

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// report prints the discrepancy report of a stage: changes (with --plan or
// --debug), why nothing was marked gone, unmatched records both ways,
// ambiguous keys, skipped records and errors. Empty sections are left out.
func (r *Runner) report(rc *runContext, info Info, res *StageResult, sp *stagePlan) {
	if len(res.Changes) > 0 {
		verb := map[string]string{"create": "Created", "update": "Updated", "gone": "Marked gone", "delete": "Removed"}
		if rc.opts.Plan {
			verb = map[string]string{"create": "Would create", "update": "Would update", "gone": "Would mark gone", "delete": "Would remove"}
		}
		for _, c := range res.Changes {
			line := fmt.Sprintf("%s %s: %s", verb[c.Action], c.Table, c.ID)
			if c.Description != "" {
				line += " (" + c.Description + ")"
			}
			if c.Action == "update" && len(c.Fields) > 0 {
				line += " [" + strings.Join(c.Fields, ", ") + "]"
			}
			rc.printf("  %s\n", line)
		}
	}
	for _, m := range res.Mirrors {
		rc.printf("  %s: %s\n", m.Name, mirrorLine(m.Counts, rc.opts.Plan))
	}
	if n := len(res.Gone); n > 0 {
		verb := "no longer returned by Administrate, marked gone"
		if rc.opts.Plan {
			verb = "no longer returned by Administrate, would be marked gone"
		}
		rc.printf("\n⚠ %d %s(s) %s:\n", n, info.Noun, verb)
		for _, g := range res.Gone {
			rc.printf("  - %s (id: %s)\n", g.Description, g.ID)
			if g.UsedBy != "" {
				rc.printf("      %s\n", g.UsedBy)
			}
		}
	}
	if res.GoneBlocked != "" {
		rc.printf("\n⚠ %s\n", res.GoneBlocked)
	}
	rc.printRecords(res.UnmatchedTutorial, "tutorial "+info.Noun+"(s) had no match in Administrate",
		func(x Record) string { return x.Description + " (tutorial #" + x.ID + ")" })
	rc.printRecords(res.UnmatchedAdministrate, "Administrate "+info.Noun+"(s) had no match in tutorial tables",
		func(x Record) string { return x.Description + " (id: " + x.ID + ")" })
	if n := len(res.Ambiguous); n > 0 {
		rc.printf("\n⚠ %d ambiguous %s key(s), left unlinked:\n", n, info.Noun)
		for _, a := range res.Ambiguous {
			rc.printf("  - %q: %s\n", a.Key, a.Description)
			for _, t := range a.Tutorial {
				rc.printf("      tutorial #%s %s\n", t.ID, t.Description)
			}
			for _, x := range a.Administrate {
				rc.printf("      Administrate %s %s\n", x.ID, x.Description)
			}
		}
	}
	rc.printRecords(res.Skipped, info.Noun+"(s) skipped",
		func(x Record) string { return x.ID + ": " + x.Description })
	if n := len(res.Errors); n > 0 {
		rc.printf("\n✗ %d error(s):\n", n)
		for _, e := range res.Errors {
			rc.printf("  - %s\n", e)
		}
	}
}

// printRecords prints a warning section of the report: "⚠ <n> <what>:"
// and one line per record as line spells it; nothing when recs is empty.
func (rc *runContext) printRecords(recs []Record, what string, line func(Record) string) {
	if len(recs) == 0 {
		return
	}
	rc.printf("\n⚠ %d %s:\n", len(recs), what)
	for _, x := range recs {
		rc.printf("  - %s\n", line(x))
	}
}

func mirrorLine(c Counts, plan bool) string {
	if plan {
		return fmt.Sprintf("would create %d, would update %d, would remove or mark gone %d; %d unchanged", c.Created, c.Updated, c.Gone, c.Unchanged)
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d gone", c.Created, c.Updated, c.Unchanged, c.Gone)
}

// promptPhase is the second phase of a stage: the unmatched tutorial records
// were only collected during the stage; now, on a terminal and without
// --no-prompt, one question offers to create them in Administrate. Created
// records are linked in the same run.
func (r *Runner) promptPhase(ctx context.Context, rc *runContext, cs creatingStage, res *StageResult, sp *stagePlan) {
	info := cs.info()
	items := sp.unmatchedForCreate
	if !rc.mayPrompt() {
		rc.printf("%d unmatched tutorial %s(s) logged (--no-prompt)\n", len(items), info.Noun)
		return
	}
	rc.printf("\n%d tutorial %s(s) have no match in Administrate.\n", len(items), info.Noun)
	var wasGone []string
	for _, it := range items {
		if it.wasGone {
			wasGone = append(wasGone, fmt.Sprintf("  - %s (tutorial #%s): %s", it.Label, it.ID, it.Note))
		}
	}
	if len(wasGone) > 0 {
		rc.printf("%d of them were linked to a record Administrate no longer returns; creating makes a new one "+
			"(restore the old one in Administrate instead if it was archived by mistake):\n%s\n", len(wasGone), strings.Join(wasGone, "\n"))
	}
	rc.printf("Create them in Administrate now? [y/N] ")
	if !r.readYes() {
		rc.printf("Skipped.\n")
		return
	}
	var cr *creation
	var applied int
	err := r.inStageTx(ctx, rc, info.Name, func(tx pgx.Tx) error {
		var err error
		if cr, err = cs.create(ctx, tx, rc, items); err != nil {
			return err
		}
		if len(cr.rows) == 0 {
			return nil
		}
		t := sp.tables[0].t
		existing, err := t.load(ctx, tx)
		if err != nil {
			return err
		}
		p := diff(t, existing, diffInput{desired: cr.rows, noGone: true})
		if err := p.apply(ctx, tx); err != nil {
			return err
		}
		res.Counts.Created += len(p.creates)
		res.Counts.Updated += len(p.updates)
		applied = p.writes()
		return nil
	})
	if cr != nil {
		for _, c := range cr.created {
			rc.printf("  Created in Administrate and linked: %s (id: %s)\n", c.Description, c.ID)
		}
		for _, m := range cr.manual {
			rc.printf("  By hand: tutorial #%s: %s\n", m.ID, m.Description)
		}
		for _, e := range cr.errors {
			rc.printf("  ✗ %s\n", e)
		}
		res.CreatedInAdministrate = append(res.CreatedInAdministrate, cr.created...)
		res.Manual = append(res.Manual, cr.manual...)
		res.Errors = append(res.Errors, cr.errors...)
		res.Counts.Errors += len(cr.errors)
	}
	if err != nil {
		// The records exist in Administrate; the next run links them by key.
		msg := fmt.Sprintf("link the records created in Administrate: %v (the next run links them by their key)", err)
		rc.printf("  ✗ %s\n", msg)
		res.Errors = append(res.Errors, msg)
		res.Counts.Errors++
		return
	}
	res.RowsApplied += applied
}

// readYes reads one answer; only y or yes (any case) means yes, and end of
// input means no.
func (r *Runner) readYes() bool {
	r.inOnce.Do(func() {
		if r.In != nil {
			r.in = bufio.NewReader(r.In)
		}
	})
	if r.in == nil {
		return false
	}
	line, err := r.in.ReadString('\n')
	if err != nil && line == "" {
		return false
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
