// Package config loads the settings every admsync binary shares from the
// environment, so that Kubernetes, the demo and the tests configure a process
// the same way.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"admsync/pkg/messaging"
)

// Secret holds a credential. It prints as [redacted] through fmt, slog and
// JSON so that a careless log line or error cannot leak it; Reveal is the one
// way to read it.
type Secret struct{ value string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the credential for the one place that needs it (an HTTP
// request or a connection string).
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether a credential was configured.
func (s Secret) IsSet() bool { return s.value != "" }

const redacted = "[redacted]"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// Config is the environment of one admsync process. Field comments name the
// variable; Describe renders the table used by --help.
type Config struct {
	DatabaseURL Secret // DATABASE_URL (may embed a password, hence secret)
	NATSURL     string // NATS_URL
	// NATSConfigured: NATS_URL (or NATS_URL_FILE) was given, not defaulted.
	// One-shot commands that may run without NATS use it only then.
	NATSConfigured bool
	// NATSReplicas is NATS_REPLICAS, the replicas of every stream;
	// messaging.DefaultTopology reads the same variable.
	NATSReplicas int
	// NATSInboxPrefix (NATS_INBOX_PREFIX) replaces _INBOX in the reply
	// subjects of requests and JetStream calls, so that a NATS user can be
	// allowed to subscribe to its own replies only (_INBOX_<user>.>).
	NATSInboxPrefix string
	// NATSTLSCA (NATS_TLS_CA) is a PEM file of the CA that signed the NATS
	// servers' certificate; set, the connection requires TLS and verifies
	// the server against it instead of the system's roots.
	NATSTLSCA string

	AdministrateAPIURL       string  // ADMINISTRATE_API_URL
	AdministrateTokenURL     string  // ADMINISTRATE_TOKEN_URL
	AdministrateClientID     string  // ADMINISTRATE_CLIENT_ID
	AdministrateClientSecret Secret  // ADMINISTRATE_CLIENT_SECRET
	AdministrateRateLimit    float64 // ADMINISTRATE_RATE_LIMIT requests per second
	AdministrateTimeout      time.Duration
	// AdministrateBatch (ADMINISTRATE_BATCH) caps the writes sent as aliased
	// fields of one request; 1 sends each on its own.
	AdministrateBatch int

	MetricsAddr string // METRICS_ADDR

	// Administrate webhook intake (syncer serve): the listen address, the
	// unguessable path token and the secret Administrate sends back in
	// each delivery's configuration.
	WebhookAddr   string // WEBHOOK_ADDR
	WebhookToken  Secret // WEBHOOK_ROUTE_TOKEN
	WebhookSecret Secret // WEBHOOK_SECRET
	LogLevel      slog.Level
	LogFormat     string // LOG_FORMAT: auto, text or json
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
	Secret              bool
}

// Vars lists every variable the loader reads, for --help and the README.
var Vars = []Var{
	{Name: "DATABASE_URL", Default: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", Help: "PostgreSQL connection string", Secret: true},
	// A NATS URL may carry the service's user and password, so it may come
	// from a mounted file like the other secrets.
	{Name: "NATS_URL", Default: "nats://127.0.0.1:4222", Help: "NATS server URL(s), comma separated; may embed user:password", Secret: true},
	{Name: "NATS_REPLICAS", Default: "1", Help: "replicas of every JetStream stream and bucket: 1, or 3 on a production cluster"},
	{Name: "NATS_TLS_CA", Default: "", Help: "PEM file of the CA of the NATS servers' certificate (TLS to NATS, e.g. the prod overlay's cert-manager CA); empty: plain or system-trusted TLS"},
	{Name: "NATS_INBOX_PREFIX", Default: "", Help: "prefix of this process's reply subjects instead of _INBOX (the deploy gives each NATS user its own, _INBOX_<user>)"},
	{Name: "ADMINISTRATE_API_URL", Default: "", Help: "Administrate GraphQL endpoint, e.g. https://api.getadministrate.com/graphql"},
	{Name: "ADMINISTRATE_TOKEN_URL", Default: "", Help: "OAuth2 token endpoint, e.g. https://auth.getadministrate.com/oauth/token"},
	{Name: "ADMINISTRATE_CLIENT_ID", Default: "", Help: "OAuth2 client id"},
	{Name: "ADMINISTRATE_CLIENT_SECRET", Default: "", Help: "OAuth2 client secret", Secret: true},
	{Name: "ADMINISTRATE_RATE_LIMIT", Default: "15", Help: "requests per second to Administrate (it allows 20/s per IP); for admwriter serve, syncer serve and, with NATS_URL set, syncer run, the tenant's budget for all of them together, shared through NATS (KV bucket ADM_RATE)"},
	{Name: "ADMINISTRATE_BATCH", Default: "32", Help: "most writes sent as aliased fields of one request (a blended event's session updates and staff); 1 sends each write on its own"},
	{Name: "ADMINISTRATE_TIMEOUT", Default: "30s", Help: "timeout of one Administrate request"},
	{Name: "METRICS_ADDR", Default: ":9090", Help: "listen address of /metrics, /livez and /readyz (empty disables)"},
	{Name: "WEBHOOK_ADDR", Default: "", Help: "syncer serve: listen address of the Administrate webhook intake, POST /webhooks/administrate/<WEBHOOK_ROUTE_TOKEN> (empty disables)"},
	{Name: "WEBHOOK_ROUTE_TOKEN", Default: "", Help: "unguessable path token of the webhook intake (at least 16 characters)", Secret: true},
	{Name: "WEBHOOK_SECRET", Default: "", Help: "the secret registered in each webhook's configuration and checked on every delivery", Secret: true},
	{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Name: "LOG_FORMAT", Default: "auto", Help: "text on a terminal and json otherwise (auto), or text, json"},
}

// Lookuper reads one variable; os.LookupEnv in production, a map in tests.
type Lookuper func(name string) (string, bool)

// MapLookuper serves variables from a map, for tests.
func MapLookuper(m map[string]string) Lookuper {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Load reads the process environment.
func Load() (*Config, error) { return LoadWith(os.LookupEnv) }

// LoadWith reads the configuration through look. Secrets may be given as
// NAME or as NAME_FILE (a mounted file, as Kubernetes does it); not both.
func LoadWith(look Lookuper) (*Config, error) {
	var errs []error
	get := func(name string) string {
		v, err := value(look, name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	c := &Config{
		DatabaseURL:              NewSecret(get("DATABASE_URL")),
		NATSURL:                  get("NATS_URL"),
		NATSInboxPrefix:          get("NATS_INBOX_PREFIX"),
		NATSTLSCA:                get("NATS_TLS_CA"),
		AdministrateAPIURL:       get("ADMINISTRATE_API_URL"),
		AdministrateTokenURL:     get("ADMINISTRATE_TOKEN_URL"),
		AdministrateClientID:     get("ADMINISTRATE_CLIENT_ID"),
		AdministrateClientSecret: NewSecret(get("ADMINISTRATE_CLIENT_SECRET")),
		MetricsAddr:              get("METRICS_ADDR"),
		WebhookAddr:              get("WEBHOOK_ADDR"),
		WebhookToken:             NewSecret(get("WEBHOOK_ROUTE_TOKEN")),
		WebhookSecret:            NewSecret(get("WEBHOOK_SECRET")),
		LogFormat:                strings.ToLower(get("LOG_FORMAT")),
	}
	for _, name := range []string{"NATS_URL", "NATS_URL_FILE"} {
		if v, ok := look(name); ok && strings.TrimSpace(v) != "" {
			c.NATSConfigured = true
		}
	}
	replicas, err := messaging.ParseReplicas(get("NATS_REPLICAS"))
	if err != nil {
		errs = append(errs, err)
	}
	c.NATSReplicas = replicas
	if r := get("ADMINISTRATE_RATE_LIMIT"); r != "" {
		f, err := strconv.ParseFloat(r, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("ADMINISTRATE_RATE_LIMIT=%q: want a positive number of requests per second", r))
		}
		c.AdministrateRateLimit = f
	}
	if b := get("ADMINISTRATE_BATCH"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("ADMINISTRATE_BATCH=%q: want a whole number of writes per request, at least 1", b))
		}
		c.AdministrateBatch = n
	}
	if t := get("ADMINISTRATE_TIMEOUT"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("ADMINISTRATE_TIMEOUT=%q: want a duration such as 30s", t))
		}
		c.AdministrateTimeout = d
	}
	if p := c.NATSInboxPrefix; p != "" && !validInboxPrefix(p) {
		errs = append(errs, fmt.Errorf("NATS_INBOX_PREFIX=%q: want subject tokens without wildcards, spaces or a trailing dot, e.g. _INBOX_importer", p))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: want debug, info, warn or error: %w", err))
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want auto, text or json", c.LogFormat))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

func validInboxPrefix(p string) bool {
	if strings.ContainsAny(p, " \t\r\n*>") {
		return false
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

// RequireAdministrate reports which Administrate settings are missing, for
// the commands that call Administrate.
func (c *Config) RequireAdministrate() error {
	if m := missing(
		need{c.AdministrateAPIURL != "", "ADMINISTRATE_API_URL"},
		need{c.AdministrateTokenURL != "", "ADMINISTRATE_TOKEN_URL"},
		need{c.AdministrateClientID != "", "ADMINISTRATE_CLIENT_ID"},
		need{c.AdministrateClientSecret.IsSet(), "ADMINISTRATE_CLIENT_SECRET (or ADMINISTRATE_CLIENT_SECRET_FILE)"},
	); len(m) > 0 {
		return fmt.Errorf("Administrate is not configured: set %s", strings.Join(m, ", "))
	}
	return nil
}

// RequireWebhookIntake reports which settings the syncer's webhook intake
// (and the registration of its webhooks) lacks.
func (c *Config) RequireWebhookIntake() error {
	if m := missing(
		need{len(c.WebhookToken.Reveal()) >= 16, "WEBHOOK_ROUTE_TOKEN (at least 16 characters)"},
		need{c.WebhookSecret.IsSet(), "WEBHOOK_SECRET"},
	); len(m) > 0 {
		return fmt.Errorf("configuration: the webhook intake needs %s", strings.Join(m, " and "))
	}
	return nil
}

// need is one setting a command requires: met or not, and how an error names it.
type need struct {
	met  bool
	name string
}

// missing names the needs that are not met, in order.
func missing(needs ...need) []string {
	var out []string
	for _, n := range needs {
		if !n.met {
			out = append(out, n.name)
		}
	}
	return out
}

func value(look Lookuper, name string) (string, error) {
	var def string
	var secret bool
	for _, v := range Vars {
		if v.Name == name {
			def, secret = v.Default, v.Secret
		}
	}
	v, ok := look(name)
	if secret {
		if path, fok := look(name + "_FILE"); fok && path != "" {
			if ok && v != "" {
				return "", fmt.Errorf("%s and %s_FILE are both set: keep one", name, name)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				// The path is not secret; the content never appears in errors.
				return "", fmt.Errorf("%s_FILE: %w", name, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	if !ok {
		return def, nil
	}
	return strings.TrimSpace(v), nil
}

// Describe renders the variables as an aligned table for --help output.
func Describe() string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	for _, v := range Vars {
		extra := ""
		if v.Secret {
			extra = " (also " + v.Name + "_FILE)"
		}
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(&b, "  %-28s %s%s [default %s]\n", v.Name, v.Help, extra, def)
	}
	return b.String()
}
