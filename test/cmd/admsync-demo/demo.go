package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/sampledata"
	"admsync/test/harness"
)

// run runs the demo, writing its report to out. With -keep it ends only
// when ctx does (Ctrl-C), leaving the services running until then.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("admsync-demo", flag.ContinueOnError)
	workbook := fs.String("workbook", "", "import this workbook instead of a generated one; reference data is derived from it")
	events := fs.Int("events", 30, "events in the generated workbook")
	binDir := fs.String("bin", "bin", "directory holding syncer, importer and admwriter")
	rate := fs.Float64("rate", 40, "requests per second the services may send to the simulated Administrate")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up waiting for the admwriter after this long")
	keep := fs.Bool("keep", false, "keep the services running until Ctrl-C, and the database and the work directory after it (make demo KEEP=1)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: admsync-demo [flags]

Runs migrate, sync, import and the write to (simulated) Administrate end to end and
prints a summary. Needs DATABASE_URL pointing at a PostgreSQL server where it may
create and drop a database (make demo finds or starts one).

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	serverURL := os.Getenv("DATABASE_URL")
	if serverURL == "" {
		return errors.New("DATABASE_URL is not set: run it through `make demo`, which finds or starts PostgreSQL")
	}
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(out, "demo: "+format+"\n", a...) }
	start := time.Now()

	say("starting PostgreSQL database, embedded NATS and the Administrate simulator")
	st, err := harness.Start(ctx, harness.Options{ServerURL: serverURL, BinDir: bin, RateLimit: *rate, Keep: *keep,
		Log: func(f string, a ...any) { say(f, a...) }})
	if err != nil {
		return err
	}
	defer func() {
		if *keep {
			say("kept database %s and directory %s", st.DBName, st.Dir)
		}
		st.Close()
	}()

	// The workbook and its reference data.
	var ref *sampledata.ReferenceData
	path := *workbook
	if path != "" {
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		say("deriving reference data from %s", path)
		if ref, err = sampledata.FromWorkbook(path); err != nil {
			return fmt.Errorf("read reference data from the workbook: %w", err)
		}
	} else {
		book, r := sampledata.Generate(sampledata.Options{Events: *events, Seed: 2026})
		spoil(book)
		path = filepath.Join(st.Dir, "sample.xlsx")
		if err := book.WriteFile(path); err != nil {
			return err
		}
		ref = r
		say("generated %s with %d events (two of them deliberately invalid)", path, *events)
	}
	say("seeding the tutorial tables and the simulated Administrate tenant: %d course templates, %d locations, %d venues, %d instructors",
		len(ref.CourseTemplates), len(ref.Locations), len(ref.Venues), len(ref.Instructors))
	if err := st.SeedTutorial(ctx, ref); err != nil {
		return fmt.Errorf("seed tutorial tables: %w", err)
	}
	if err := admsimtest.SeedReference(st.Sim, ref); err != nil {
		return fmt.Errorf("seed simulator: %w", err)
	}
	disc, err := st.AddDiscrepancies(ctx)
	if err != nil {
		return err
	}
	say("deliberate discrepancies: only in Administrate: %s; only in the tutorial tables: %s",
		strings.Join(disc.AdministrateOnly, ", "), strings.Join(disc.TutorialOnly, ", "))

	say("starting admwriter, importer and syncer services")
	hookAddr, err := loopbackAddr()
	if err != nil {
		return err
	}
	procs := map[string]*harness.Proc{}
	for _, svc := range []string{"admwriter", "importer", "syncer"} {
		var extra []string
		if svc == "syncer" {
			extra = demoWebhookEnv(hookAddr) // the Administrate webhook intake
		}
		p, err := st.Spawn(svc, svc, extra, "serve")
		if err != nil {
			return err
		}
		procs[svc] = p
	}

	fmt.Fprintln(out)
	say("$ syncer run all --no-prompt")
	if err := stream(ctx, st, out, "syncer", "run", "all", "--no-prompt"); err != nil {
		return fmt.Errorf("syncer run all failed: %w", err)
	}

	fmt.Fprintln(out)
	say("$ importer import %s --json", filepath.Base(path))
	sum, _, err := st.Import(ctx, path, "--report", filepath.Join(st.Dir, "import-report.xlsx"))
	if err != nil {
		return err
	}
	rejections, err := rejectedRows(ctx, st, sum.RunID)
	if err != nil {
		return err
	}
	say("imported %d events (%d sessions), rejected %d events, skipped %d duplicates", sum.Imported, sum.Sessions, sum.Rejected, sum.Duplicates)

	fmt.Fprintln(out)
	say("waiting for the admwriter to create the events in Administrate")
	p, err := st.WaitDrained(ctx, *timeout, func(p harness.Progress) {
		say("  %d of %d events written (%d dead-lettered), %d messages not yet published", p.Done, p.Accepted, p.Failed, p.Unsent)
	})
	if err != nil {
		return err
	}
	say("all %d accepted events are done or dead-lettered (%d done, %d dead-lettered)", p.Accepted, p.Done, p.Failed)
	t, err := st.Tally(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintln(out)
	if err := flowBack(ctx, st, hookAddr, say); err != nil {
		return err
	}

	fmt.Fprintln(out)
	say("summary after %s", time.Since(start).Round(time.Second))
	say("  created in Administrate: %d events with %d sessions, using %d API calls", t.Created, t.Sessions, t.APICalls)
	say("  duplicates at Administrate: %d; dead letters: %d", t.Duplicated, t.DLQ)
	if len(rejections) > 0 {
		say("  rejected rows (fix them in the workbook and import it again; accepted events are skipped as duplicates):")
		for _, r := range rejections {
			say("    %s", r)
		}
	}
	fmt.Fprintln(out)
	if *keep {
		say("the services keep running until you press Ctrl-C; where to look next:")
		for _, svc := range []string{"syncer", "importer", "admwriter"} {
			say("  %-9s metrics http://%s/metrics  readiness http://%s/readyz", svc, procs[svc].Metrics, procs[svc].Metrics)
		}
		say("  logs: %s/*.log", st.Dir)
		envFile, err := writeEnv(st)
		if err != nil {
			return err
		}
		say("  Administrate simulator: %s (requests counted at %s%s)", st.SimURL, st.SimURL, admsim.ControlPath)
		say("  commands, in another shell: . %s", envFile)
		say("    syncer run all --plan | admwriter status | admwriter events list | admwriter dlq list | nats stream view DLQ")
	} else {
		say("the services have stopped and the database is dropped; run with -keep (make demo KEEP=1) to keep them for inspection")
	}
	fmt.Fprintf(out, "demo: accepted %d events (%d sessions), rejected %d events, created %d events in Administrate, duplicates %d, dead letters %d, api calls %d\n",
		sum.Imported, sum.Sessions, sum.Rejected, t.Created, t.Duplicated, t.DLQ, t.APICalls)
	if *keep {
		<-ctx.Done()
		say("interrupted: stopping the services")
	}
	return nil
}

// writeEnv writes, for a kept demo, the environment every command needs to
// reach it (the simulator's credentials included) as a shell file only its
// owner can read, so the credentials stay out of the printed report.
func writeEnv(st *harness.Stack) (string, error) {
	var b strings.Builder
	for _, kv := range st.ClientEnv() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	path := filepath.Join(st.Dir, "admsync.env")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write the commands' environment: %w", err)
	}
	return path, nil
}

// spoil makes two events of a generated workbook invalid, so the demo shows
// how rejections are reported: an unknown location, and a session that ends
// before it starts.
func spoil(book *sampledata.Book) {
	events := 0
	for i := range book.Rows {
		r := &book.Rows[i]
		if r.Get("A").Text == "" {
			continue
		}
		events++
		switch events {
		case 3:
			r.Set("E", sampledata.Text("Atlantis"))
		case 5:
			if r.Get("I").Kind != sampledata.Blank {
				r.Set("K", sampledata.Text("08:00"))
				r.Set("I", sampledata.Text("18:00"))
			}
		}
	}
}

// rejectedRows lists the rejected Excel rows with their messages, from the
// import run's records.
func rejectedRows(ctx context.Context, st *harness.Stack, runID int64) ([]string, error) {
	if runID == 0 {
		return nil, nil
	}
	rows, err := st.Pool.Query(ctx, `SELECT excel_row, messages::text FROM admsync.import_rows
		WHERE import_run_id = $1 AND status = 'rejected' ORDER BY excel_row`, runID)
	if err != nil {
		return nil, fmt.Errorf("read rejected rows: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var row int
		var msgs string
		if err := rows.Scan(&row, &msgs); err != nil {
			return nil, err
		}
		var list []any
		_ = json.Unmarshal([]byte(msgs), &list)
		var texts []string
		for _, m := range list {
			switch v := m.(type) {
			case string:
				texts = append(texts, v)
			case map[string]any:
				if s, ok := v["text"].(string); ok {
					texts = append(texts, s)
				} else if s, ok := v["message"].(string); ok {
					texts = append(texts, s)
				}
			}
		}
		sort.Strings(texts)
		if len(texts) == 0 {
			texts = []string{"rejected with its event group"}
		}
		out = append(out, fmt.Sprintf("Excel row %d: %s", row, strings.Join(texts, "; ")))
	}
	return out, rows.Err()
}

// stream runs a binary and copies its output line by line, indented.
func stream(ctx context.Context, st *harness.Stack, w io.Writer, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(st.Opts.BinDir, bin), args...)
	// The report is the point here; the services' own logs are in their files.
	cmd.Env = append(st.Env(""), "LOG_LEVEL=warn")
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(w, "    "+sc.Text())
		}
		close(done)
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	return err
}
