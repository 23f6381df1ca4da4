// Command admsync-chaos runs admsync's fault-injection scenarios (package
// test/chaos) against the real binaries on this machine and prints one
// table row per scenario, ending with
//
//	chaos: N scenarios, lost L, duplicated D, unexpected U
//
// It exits 1 when any scenario lost, duplicated or invented an event, left
// a dead letter outside the poison scenario, or failed one of its own
// checks. `make chaos` runs it through scripts/chaos.sh, which also starts
// the throw-away PostgreSQL cluster the restart scenario needs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"admsync/test/chaos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("admsync-chaos", flag.ContinueOnError)
	cfg := chaos.Config{}
	binDir := fs.String("bin", "bin", "directory holding syncer, importer and admwriter")
	fs.StringVar(&cfg.NATSBin, "natsd", "", "natsd binary (test/cmd/natsd) for the nats-server kill; default BIN/natsd")
	fs.StringVar(&cfg.PrivatePGURL, "pg-url", "", "URL of a throw-away PostgreSQL cluster for the restart scenario (never a shared one)")
	pgRestart := fs.String("pg-restart", "", "command (split on spaces) that restarts that cluster with -m immediate and waits")
	fs.Float64Var(&cfg.Rate, "rate", 50, "ADMINISTRATE_RATE_LIMIT of the services (requests/s)")
	fs.IntVar(&cfg.Events, "events", 100, "events per scenario (the pause scenario uses half, poison twice)")
	fs.DurationVar(&cfg.Outage, "outage", 2*time.Minute, "length of the Administrate outage")
	fs.DurationVar(&cfg.Pause, "pause", 165*time.Second, "how long one admwriter stays stopped: past AckWait (60s), the busy retry (30s) and the lease")
	fs.DurationVar(&cfg.Drain, "drain", 4*time.Minute, "longest wait for recovery after the faults are healed")
	fs.Uint64Var(&cfg.Seed, "seed", 8, "seed for workbooks and fault timing")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep every scenario's database and logs (failed ones keep their logs anyway)")
	only := fs.String("only", "", "run the scenarios (and rounds, named round-SEED) whose names match this regular expression")
	rounds := fs.Int("rounds", 0, "randomized rounds to run besides the named scenarios")
	roundSeed := fs.Uint64("round-seed", 1, "seed of the first randomized round; the others follow it")
	oneRound := fs.Uint64("round", 0, "run only the randomized round with this seed (as printed by a failing run)")
	parallel := fs.Int("parallel", 1, "scenarios run at once (each has its own database, NATS and simulator)")
	list := fs.Bool("list", false, "list the scenarios and exit")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: admsync-chaos [flags]

Runs fault-injection scenarios against the real services on this machine (loopback
only, every wait bounded). Needs TEST_DATABASE_URL (or DATABASE_URL): a PostgreSQL
server where it may create and drop databases. make chaos sets everything up.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var selected []chaos.Scenario
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "admsync-chaos: --only:", err)
		return 2
	}
	all := append(chaos.Scenarios(), chaos.Rounds(*roundSeed, *rounds)...)
	if *oneRound != 0 {
		all = []chaos.Scenario{chaos.Round(*oneRound)}
	}
	for _, sc := range all {
		if re.MatchString(sc.Name) {
			selected = append(selected, sc)
		}
	}
	if *list {
		for _, sc := range chaos.Scenarios() {
			fmt.Printf("%-16s %s\n", sc.Name, sc.What)
		}
		return 0
	}
	if len(selected) == 0 {
		fmt.Fprintln(os.Stderr, "admsync-chaos: no scenario matches --only", *only)
		return 2
	}
	cfg.ServerURL = os.Getenv("TEST_DATABASE_URL")
	if cfg.ServerURL == "" {
		cfg.ServerURL = os.Getenv("DATABASE_URL")
	}
	if cfg.ServerURL == "" {
		fmt.Fprintln(os.Stderr, "admsync-chaos: TEST_DATABASE_URL is not set: run it through `make chaos`")
		return 2
	}
	if cfg.BinDir, err = filepath.Abs(*binDir); err != nil {
		fmt.Fprintln(os.Stderr, "admsync-chaos:", err)
		return 2
	}
	if cfg.NATSBin == "" {
		cfg.NATSBin = filepath.Join(cfg.BinDir, "natsd")
	}
	cfg.PGRestart = strings.Fields(*pgRestart)
	if cfg.PrivatePGURL != "" && sameServer(cfg.PrivatePGURL, cfg.ServerURL) {
		fmt.Fprintln(os.Stderr, "admsync-chaos: --pg-url is the server the other scenarios share; the restart scenario needs a throw-away cluster of its own")
		return 2
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}

	start := time.Now()
	// Rows appear on stderr as scenarios finish (in any order when
	// parallel); stdout gets the whole table in scenario order at the end.
	results := chaos.Run(ctx, cfg, selected, *parallel, func(r *chaos.Result) {
		if !*quiet {
			fmt.Fprintln(os.Stderr, "row: "+chaos.Row(r))
		}
	})
	fmt.Println(chaos.Header())
	for _, r := range results {
		if r != nil { // nil: not started, the run was interrupted
			fmt.Println(chaos.Row(r))
		}
	}
	line, ok := chaos.Summary(results)
	fmt.Println(line)
	for _, r := range results {
		if r == nil {
			continue
		}
		if seed, isRound := chaos.RoundSeed(r.Name); isRound && !r.OK() {
			fmt.Printf("chaos: %s failed; rerun it alone with: scripts/chaos.sh --round %d\n", r.Name, seed)
		}
	}
	fmt.Printf("chaos: wall time %s\n", time.Since(start).Round(time.Second))
	if !ok || ctx.Err() != nil {
		return 1
	}
	return 0
}

// sameServer reports whether two PostgreSQL URLs name the same host and port.
func sameServer(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return "5432"
	}
	return ua.Hostname() == ub.Hostname() && port(ua) == port(ub)
}
