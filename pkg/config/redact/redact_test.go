package redact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/config/redact"
	"admsync/pkg/database"
	"admsync/pkg/messaging"
	"admsync/pkg/observability"
)

// genPassword makes a password of the characters people and generators put
// in them, including the ones that break URL parsing (@ / : ? # % and a
// comma). It always contains a marker so that any fragment left in a text
// can be found.
func genPassword(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&()*+;=@/:?#%"
	n := 8 + r.IntN(24)
	var b strings.Builder
	b.WriteString("Pw")
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	b.WriteString("Zq9")
	return b.String()
}

// leaks reports the longest run (>= 6 bytes) of the secret, raw or
// escaped, that is still in text.
func leaks(text, secret string) string {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), (&url.URL{User: url.UserPassword("u", secret)}).String()[len("//u:"):]}
	for _, f := range forms {
		f = strings.TrimSuffix(f, "@")
		for n := len(f); n >= 6; n-- {
			for i := 0; i+n <= len(f); i++ {
				if frag := f[i : i+n]; strings.Contains(text, frag) && hasSecretChars(frag) {
					return frag
				}
			}
		}
	}
	return ""
}

// hasSecretChars skips fragments made only of URL syntax that occurs in
// the text anyway ("://", "127.0.0.1").
func hasSecretChars(s string) bool {
	letters := 0
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			letters++
		}
	}
	return letters >= 3
}

// urlShapes puts a password into every connection-string shape the
// services accept, each broken in one of the ways a typo breaks them.
func urlShapes(pw string) []string {
	esc := url.QueryEscape(pw)
	return []string{
		"nats://importer:" + esc + "@127.0.0.1:abc",
		"nats://importer:" + pw + "@127.0.0.1:4222",
		"nats://importer:" + esc + "%zz@127.0.0.1:4222",
		"nats://importer:" + esc + "@127.0.0.1:4222,nats://importer:" + esc + "@nats-1:x",
		"nats://" + esc + "@127.0.0.1:4222/",
		"postgres://admsync_importer:" + esc + "@db:54x32/admsync?sslmode=require",
		"postgres://admsync_importer:" + pw + "@db:5432/admsync",
		"postgres://admsync_importer@db:5432/admsync?sslmode=require&password=" + esc,
		"postgres://db:5432/admsync?password=" + esc + "&sslmode=bogus",
		"postgresql://admsync_importer:" + esc + "@[::1:5432/admsync",
		"host=db port=x user=admsync_importer password=" + strings.NewReplacer(" ", "", "'", "").Replace(pw) + " dbname=admsync",
		"host=db port=5432 user=admsync_importer password='" + strings.NewReplacer("'", "", `\`, "").Replace(pw) + "' sslmode=wrong",
		"https://svc:" + esc + "@api.getadministrate.com:44x3/graphql",
		"https://auth.getadministrate.com/oauth/token?client_secret=" + esc + "&x=%zz",
		"https://api.getadministrate.com/graphql?access_token=" + esc,
	}
}

// Every shape, with generated passwords: the redacted URL and an error that
// quotes the URL keep no part of the password.
func TestRedactGeneratedCredentials(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	for range 300 {
		pw := genPassword(r)
		for _, u := range urlShapes(pw) {
			if l := leaks(redact.URL(u), pw); l != "" && !strings.Contains(u, " ") {
				// Key=value DSNs need the known form (RedactError).
				if !strings.HasPrefix(u, "host=") {
					t.Errorf("RedactURL(%q) = %q keeps %q", u, redact.URL(u), l)
				}
			}
			err := redact.Error(fmt.Errorf("open: %w", &url.Error{Op: "parse", URL: u, Err: errors.New("invalid port")}), u)
			if l := leaks(err.Error(), pw); l != "" {
				t.Fatalf("seed %d: RedactError for %q: %q keeps %q", seed, u, err, l)
			}
		}
	}
}

func TestRedactKeepsWhatHelps(t *testing.T) {
	for in, want := range map[string]string{
		"nats://importer:pw123@127.0.0.1:abc":            "nats://importer:[redacted]@127.0.0.1:abc",
		"nats://a:pw123@h1:4222,nats://h2:4222":          "nats://a:[redacted]@h1:4222,nats://h2:4222",
		"nats://h1:4222":                                 "nats://h1:4222",
		"postgres://u@db/x?sslmode=require&password=z":   "postgres://u@db/x?sslmode=require&password=[redacted]",
		"https://api.getadministrate.com/graphql":        "https://api.getadministrate.com/graphql",
		`parse "nats://s3cr3tT0kenValue@h:x": invalid`:   `parse "nats://[redacted]@h:x": invalid`,
		"duplicate key value violates unique constraint": "duplicate key value violates unique constraint",
	} {
		if got := redact.URL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	base := errors.New("boom")
	if err := redact.Error(fmt.Errorf("x: %w", base)); !errors.Is(err, base) {
		t.Error("RedactError hides the wrapped error from errors.Is")
	}
	if redact.Error(nil) != nil {
		t.Error("RedactError(nil) != nil")
	}
}

// The real call sites: a NATS_URL, a DATABASE_URL and the Administrate URLs
// with malformed parts produce errors that say what is wrong and keep no
// credential.
func TestConnectionErrorsHideCredentials(t *testing.T) {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 20 {
		pw := genPassword(r)
		esc := url.QueryEscape(pw)

		for _, u := range []string{
			"nats://importer:" + esc + "@127.0.0.1:abc",
			"nats://importer:" + esc + "%zz@127.0.0.1:4222",
			"nats://127.0.0.1:4222,nats://importer:" + esc + "@h2:-1",
		} {
			_, err := messaging.Connect(ctx, u, "test", nil)
			checkErr(t, "messaging.Connect", u, pw, err)
		}

		for _, u := range []string{
			"postgres://admsync_importer:" + esc + "@127.0.0.1:54x32/admsync",
			"postgres://admsync_importer:" + esc + "%zz@127.0.0.1:5432/admsync",
			"postgres://admsync_importer@127.0.0.1:5432/admsync?password=" + esc + "&sslmode=bogus",
			"host=127.0.0.1 port=x user=admsync_importer password=" + strings.NewReplacer(" ", "", "'", "", `\`, "").Replace(pw),
		} {
			_, err := database.Open(ctx, u)
			checkErr(t, "database.Open", u, pw, err)
		}

		for _, c := range []struct{ api, token string }{
			{"https://svc:" + esc + "@api.example.com:44x3/graphql", "https://auth.example.com/oauth/token"},
			{"https://api.example.com/graphql", "https://auth.example.com:x/oauth/token?client_secret=" + esc},
			{"https://api.example.com/gr%zz/graphql?access_token=" + esc, "https://auth.example.com/oauth/token"},
		} {
			_, err := administrate.New(administrate.Options{APIURL: c.api, TokenURL: c.token, ClientID: "id", ClientSecret: "secret-" + pw})
			checkErr(t, "administrate.New", c.api+" "+c.token, pw, err)
		}
	}

	// A well-formed URL whose host does not answer: the request error
	// (net/http quotes the URL, query string included) keeps no secret.
	pw := genPassword(r)
	cl, err := administrate.New(administrate.Options{
		APIURL:   "http://127.0.0.1:1/graphql?access_token=" + url.QueryEscape(pw),
		TokenURL: "http://127.0.0.1:1/oauth/token?client_secret=" + url.QueryEscape(pw),
		ClientID: "id", ClientSecret: "x", MaxAttempts: 1, Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Doctor(ctx)
	checkErr(t, "administrate request", "http://127.0.0.1:1", pw, err)
}

func checkErr(t *testing.T, what, u, pw string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s(%q) succeeded", what, u)
	}
	if l := leaks(err.Error(), pw); l != "" {
		t.Errorf("%s(%q): error %q shows %q of the password", what, u, err, l)
	}
}

// Log lines: a connection string in a message, a string attribute or an
// error attribute loses its credentials.
func TestLogLinesHideCredentials(t *testing.T) {
	var buf bytes.Buffer
	log := observability.NewLogger(&buf, nil, "json", "test")
	pw := "Pw-Very$ecret/Zq9"
	u := "nats://importer:" + pw + "@127.0.0.1:abc"
	log.Info("connecting to "+u, "url", u, "error", &url.Error{Op: "parse", URL: u, Err: errors.New("invalid port")})
	if strings.Contains(buf.String(), "ecret") {
		t.Errorf("log line shows the password: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "importer") {
		t.Errorf("log line lost the user name: %s", buf.String())
	}
}
