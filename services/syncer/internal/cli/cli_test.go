package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/config"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/admsource"
	"admsync/services/syncer/internal/cli"
	"admsync/services/syncer/internal/syncer"
)

type world struct {
	t      *testing.T
	db     *dbtest.DB
	sim    *admsimtest.Server
	env    map[string]string
	stdin  string
	tty    bool
	fast   bool // fast-retrying client (sim.ClientOptions) instead of the configured one
	stdout bytes.Buffer
	stderr bytes.Buffer

	mu   sync.Mutex
	envs []*service.Env
}

func newWorld(t *testing.T) *world {
	t.Helper()
	t.Parallel()
	w := &world{t: t, db: dbtest.New(t), sim: admsimtest.Start(t)}
	w.env = map[string]string{
		"DATABASE_URL": w.db.URL, "ADMINISTRATE_API_URL": w.sim.APIURL, "ADMINISTRATE_TOKEN_URL": w.sim.TokenURL,
		"ADMINISTRATE_CLIENT_ID": w.sim.ClientID, "ADMINISTRATE_CLIENT_SECRET": w.sim.ClientSecret,
		"ADMINISTRATE_RATE_LIMIT": "1000", "METRICS_ADDR": "", "LOG_LEVEL": "warn", "LOG_FORMAT": "text",
	}
	return w
}

// newNATSWorld is newWorld with an embedded NATS server in NATS_URL, London
// among the tutorial locations and London and Manchester in Administrate: a
// locations stage finds one to link and one unmatched.
func newNATSWorld(t *testing.T) (*world, *natstest.Server) {
	t.Helper()
	w := newWorld(t)
	ns := natstest.Start(t)
	w.env["NATS_URL"] = ns.URL()
	w.tutorialLocation("London")
	w.sim.Location("London")
	w.sim.Location("Manchester")
	return w, ns
}

func (w *world) deps() cli.Deps {
	return cli.Deps{
		Stdin: strings.NewReader(w.stdin), Stdout: &w.stdout, Stderr: &w.stderr,
		IsTerminal: func() bool { return w.tty },
		Env: func() (*service.Env, error) {
			cfg, err := config.LoadWith(config.MapLookuper(w.env))
			if err != nil {
				return nil, err
			}
			e := service.SetupWith("syncer", cfg, &w.stderr)
			w.mu.Lock()
			w.envs = append(w.envs, e)
			w.mu.Unlock()
			return e, nil
		},
		Administrate: func(env *service.Env) (*admsource.Source, error) {
			if !w.fast {
				return cli.NewAdministrate(env)
			}
			o := w.sim.ClientOptions()
			c, err := administrate.New(o)
			return admsource.New(c), err
		},
	}
}

// exec runs the command line and returns its exit code.
func (w *world) exec(args ...string) int {
	w.t.Helper()
	w.stdout.Reset()
	w.stderr.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := cli.Execute(ctx, args, w.deps())
	if err != nil { // what main prints
		w.stderr.WriteString("syncer: " + err.Error() + "\n")
	}
	return service.ExitCode(err)
}

func (w *world) output() string { return w.stdout.String() + w.stderr.String() }

func (w *world) tutorialLocation(name string) {
	w.t.Helper()
	if _, err := w.db.Pool.Exec(context.Background(), `INSERT INTO acted.tutorial_locations (name) VALUES ($1)`, name); err != nil {
		w.t.Fatal(err)
	}
}

func TestExitCodes(t *testing.T) {
	w := newWorld(t)
	w.tutorialLocation("London")
	w.sim.Location("London")
	cases := []struct {
		args []string
		want int
		says string
	}{
		{[]string{"run", "bogus"}, 2, "unknown stage"},
		{[]string{"run"}, 2, "exactly one stage"},
		{[]string{"run", "locations", "--page-size", "0"}, 2, "--page-size"},
		{[]string{"run", "locations", "--nope"}, 2, "unknown flag"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"run", "venues", "--no-prompt"}, 1, "prerequisite not met: venues needs synced locations"},
		{[]string{"run", "sync_locations", "--no-prompt"}, 0, "Sync completed: 1 created"},
		{[]string{"run", "SYNC_LOCATIONS", "--no-prompt"}, 0, "Sync completed: 0 created, 0 updated, 1 unchanged"},
		{[]string{"run", "course_template_price_levels"}, 1, "prerequisite not met"},
	}
	for _, c := range cases {
		if got := w.exec(c.args...); got != c.want || !strings.Contains(w.output(), c.says) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s", c.args, got, c.want, c.says, w.output())
		}
	}
	// Administrate down: exit 1, nothing changed.
	w.fast = true
	if err := w.sim.StartOutage(time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := w.exec("run", "locations", "--no-prompt"); got != 1 || !strings.Contains(w.output(), "no local row was changed") {
		t.Errorf("outage: exit %d:\n%s", got, w.output())
	}
	// Administrate not configured: exit 1 with what to set.
	delete(w.env, "ADMINISTRATE_API_URL")
	if got := w.exec("run", "locations"); got != 1 || !strings.Contains(w.output(), "ADMINISTRATE_API_URL") {
		t.Errorf("unconfigured: exit %d:\n%s", got, w.output())
	}
}

func TestJSONResult(t *testing.T) {
	w := newWorld(t)
	w.tutorialLocation("Edinburgh")
	w.sim.Location("London")
	if got := w.exec("run", "locations", "--json"); got != 0 {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
	var res syncer.StageResult
	if err := json.Unmarshal(w.stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not a JSON result: %v\n%s", err, w.stdout.String())
	}
	if res.Stage != syncer.StageLocations || res.Counts.Created != 1 || len(res.UnmatchedTutorial) != 1 || len(res.UnmatchedAdministrate) != 1 {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(w.stderr.String(), "Sync completed") {
		t.Fatalf("the human report belongs on stderr with --json:\n%s", w.stderr.String())
	}

	if got := w.exec("run", "all", "--json", "--skip-errors"); got != 1 {
		t.Fatalf("all: exit %d (course templates lack Event custom fields, so 1 is expected):\n%s", got, w.output())
	}
	var all syncer.AllResult
	if err := json.Unmarshal(w.stdout.Bytes(), &all); err != nil {
		t.Fatalf("all: %v\n%s", err, w.stdout.String())
	}
	if all.Stage != "all" || len(all.Stages) != 7 || all.Failed != 2 || all.Outcome != syncer.OutcomeFailed {
		t.Fatalf("all = stage %s, %d stages, %d failed, %s", all.Stage, len(all.Stages), all.Failed, all.Outcome)
	}
}

func TestHelpSaysWhatPrerequisitesAndExitCodes(t *testing.T) {
	w := newWorld(t)
	cmds := [][]string{{"--help"}, {"run", "--help"}, {"run", "all", "--help"}, {"doctor", "--help"},
		{"serve", "--help"}, {"migrate", "--help"}}
	for _, s := range syncer.Order {
		cmds = append(cmds, []string{"run", s, "--help"})
	}
	for _, args := range cmds {
		if got := w.exec(args...); got != 0 {
			t.Errorf("%v: exit %d", args, got)
		}
		out := w.output()
		for _, want := range []string{"Prerequisite", "Exit codes:", "1  ", "2  usage"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out)
			}
		}
	}
	if w.exec("run", "venues", "--help"); !strings.Contains(w.output(), "locations synced") {
		t.Errorf("venues help does not name its prerequisite:\n%s", w.output())
	}
}

func TestPromptOnATerminal(t *testing.T) {
	w := newWorld(t)
	w.tutorialLocation("Edinburgh")
	w.sim.Location("London")
	// Not a terminal: says so, asks nothing.
	if got := w.exec("run", "locations"); got != 0 || !strings.Contains(w.output(), "not a terminal: behaving as --no-prompt") {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
	// A terminal, answering y.
	w.tty, w.stdin = true, "y\n"
	if got := w.exec("run", "locations"); got != 0 || !strings.Contains(w.output(), "Create them in Administrate now? [y/N]") {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
	if w.sim.CallCount("CreateLocation") != 1 {
		t.Fatalf("CreateLocation called %d times", w.sim.CallCount("CreateLocation"))
	}
	// --no-prompt on a terminal: no question.
	w.tutorialLocation("Glasgow")
	if got := w.exec("run", "locations", "--no-prompt"); got != 0 || strings.Contains(w.output(), "[y/N]") {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
}

func TestDoctor(t *testing.T) {
	w := newWorld(t)
	if got := w.exec("doctor"); got != 0 {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
	out := w.output()
	if !strings.Contains(out, "credentials: ok (token lifetime 1h0m0s)") || !strings.Contains(out, "location.create") {
		t.Fatalf("output:\n%s", out)
	}
	w.sim.SetFaults(admsim.Faults{Disabled: []string{"location.create"}})
	if got := w.exec("doctor"); got != 1 || !strings.Contains(w.output(), "MISSING") {
		t.Fatalf("exit %d:\n%s", got, w.output())
	}
}
