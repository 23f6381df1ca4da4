// Package security checks the boundaries that no single service test can:
// that a whole debug-level run of every service leaks no credential.
package security

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/test/harness"
)

// TestDebugRunLeaksNoSecret runs sync, import and the write to Administrate
// with every service at LOG_LEVEL=debug — including a run with a wrong
// client secret — and greps every log line and command output for the
// client secret, the database password, bearer tokens and token fields.
func TestDebugRunLeaksNoSecret(t *testing.T) {
	bin, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"syncer", "importer", "admwriter"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s missing in bin/: run `make build` first (make test does)", b)
		}
	}
	// Trust authentication ignores the password, so a made-up one can ride
	// along in DATABASE_URL and must never be printed.
	const dbPassword = "pg-Pa55word-never-logged"
	server, err := url.Parse(dbtest.ServerURL())
	if err != nil || server.User == nil {
		t.Skipf("TEST_DATABASE_URL is not a URL with a user: %v", err)
	}
	if _, has := server.User.Password(); !has {
		server.User = url.UserPassword(server.User.Username(), dbPassword)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	st, err := harness.Start(ctx, harness.Options{ServerURL: server.String(), BinDir: bin, RateLimit: 50, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	book, ref := sampledata.Generate(sampledata.Options{Events: 3, Seed: 5})
	if err := st.SeedTutorial(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := admsimtest.SeedReference(st.Sim, ref); err != nil {
		t.Fatal(err)
	}
	debug := []string{"LOG_LEVEL=debug"}
	for _, svc := range []string{"importer", "admwriter"} {
		if _, err := st.Spawn(svc, svc, debug, "serve"); err != nil {
			t.Fatal(err)
		}
	}
	var outputs []string
	run := func(extra []string, bin string, args ...string) {
		out, _ := st.RunEnv(ctx, append(append([]string{}, debug...), extra...), bin, args...)
		outputs = append(outputs, out)
	}
	run(nil, "syncer", "run", "all", "--no-prompt")
	run(nil, "syncer", "doctor")
	path := filepath.Join(dir, "book.xlsx")
	if err := book.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	run(nil, "importer", "import", path)
	if _, err := st.WaitDrained(ctx, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	// The webhook intake at debug: registration, a change flowing back, a
	// delivery with a wrong secret and one with a wrong route token.
	const hookToken, hookSecret = "route-token-never-logged-0123", "webhook-secret-never-logged"
	hookAddr := testwait.FreeAddr(t)
	hookEnv := append(append([]string{}, debug...), "WEBHOOK_ADDR="+hookAddr, "WEBHOOK_ROUTE_TOKEN="+hookToken, "WEBHOOK_SECRET="+hookSecret)
	if _, err := st.Spawn("syncer", "syncer", hookEnv, "serve"); err != nil {
		t.Fatal(err)
	}
	waitListening(t, hookAddr)
	out, err := st.RunEnv(ctx, hookEnv, "syncer", "webhooks", "register", "--public-url", "http://"+hookAddr)
	if err != nil {
		t.Fatalf("webhooks register: %v\n%s", err, out)
	}
	outputs = append(outputs, out)
	run(hookEnv, "syncer", "webhooks", "list")
	var evID string
	var tut int64
	if err := st.Pool.QueryRow(ctx, `SELECT external_id, tutorial_event_id FROM adm.events WHERE external_id IS NOT NULL LIMIT 1`).Scan(&evID, &tut); err != nil {
		t.Fatal(err)
	}
	if err := st.Sim.ChangeEvent(evID, []byte(`{"isSoldOut": true}`)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the sold-out event to flow back", func() bool {
		var sold bool
		_ = st.Pool.QueryRow(ctx, `SELECT is_soldout FROM acted.tutorial_events WHERE id = $1`, tut).Scan(&sold)
		return sold
	})
	ds := st.Sim.WebhookDeliveries()
	body := ds[len(ds)-1].Body
	post(t, "http://"+hookAddr+"/webhooks/administrate/"+hookToken, bytes.Replace(body, []byte(hookSecret), []byte("wrong-"+hookSecret), 1))
	post(t, "http://"+hookAddr+"/webhooks/administrate/wrong-"+hookToken, body)
	// Failures are where secrets tend to leak: a refused credential and an
	// unreachable database.
	const wrongSecret = "wrong-client-secret-must-not-show"
	run([]string{"ADMINISTRATE_CLIENT_SECRET=" + wrongSecret}, "syncer", "run", "locations", "--no-prompt")
	run([]string{"DATABASE_URL=postgres://admsync:" + dbPassword + "@127.0.0.1:1/nowhere"}, "admwriter", "status")
	st.Sim.ExpireTokens()
	run(nil, "syncer", "run", "locations", "--no-prompt")
	if st.Sim.TokensIssued() < 2 {
		t.Fatalf("expected several tokens to be issued during the run, got %d", st.Sim.TokensIssued())
	}

	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	all := strings.Join(outputs, "\n")
	if !strings.Contains(all, `"level":"DEBUG"`) {
		t.Fatal("no debug line was logged: the check would prove nothing")
	}
	_, clientSecret := st.Sim.Credentials()
	forbidden := map[string]*regexp.Regexp{
		"client secret":     regexp.MustCompile(regexp.QuoteMeta(clientSecret)),
		"wrong secret":      regexp.MustCompile(regexp.QuoteMeta(wrongSecret)),
		"webhook secret":    regexp.MustCompile(regexp.QuoteMeta(hookSecret)),
		"route token":       regexp.MustCompile(regexp.QuoteMeta(hookToken)),
		"database password": regexp.MustCompile(regexp.QuoteMeta(dbPassword)),
		"bearer header":     regexp.MustCompile(`(?i)bearer [A-Za-z0-9._-]{8,}`),
		"token field":       regexp.MustCompile(`access_token|client_secret=`),
		"simulator token":   regexp.MustCompile(`\b[0-9a-f]{48}\b`),
	}
	for what, re := range forbidden {
		if loc := re.FindStringIndex(all); loc != nil {
			from, to := max(0, loc[0]-120), min(len(all), loc[1]+120)
			t.Errorf("%s leaked: …%s…", what, all[from:to])
		}
	}
}

func waitListening(t *testing.T, addr string) {
	testwait.For(t, "the webhook intake to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST with a wrong secret or token: %d", resp.StatusCode)
	}
}
