package administrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"

	"admsync/pkg/config/redact"
	"admsync/pkg/ctxtime"
	"admsync/pkg/defaults"
)

// Defaults for Options.
const (
	// DefaultRateLimit leaves headroom under Administrate's ~20 requests/s per IP
	// (6,000 per 5 minutes), which the writer and syncer share.
	DefaultRateLimit   = 15.0
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 5
	DefaultPageSize    = 100
)

// Options configures a Client. Secrets arrive as plain strings and are never logged.
type Options struct {
	APIURL       string // e.g. https://api.getadministrate.com/graphql
	TokenURL     string // e.g. https://auth.getadministrate.com/oauth/token
	ClientID     string
	ClientSecret string

	// RateLimit is the request budget in requests/s (default 15); RateBurst its burst
	// (default 1, i.e. evenly spaced requests). Limiter, when set, replaces both so that
	// several clients in one process share one budget.
	RateLimit float64
	RateBurst int
	Limiter   *rate.Limiter
	// Budget, when set, replaces RateLimit, RateBurst and Limiter: every request
	// waits on it. A SharedBudget keeps all replicas within the tenant's budget.
	Budget Budget

	// Timeout bounds every HTTP attempt, token requests included (default 30s).
	Timeout time.Duration
	// MaxAttempts bounds attempts per call, first one included (default 5).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the jittered exponential backoff (250ms, 10s).
	BackoffBase, BackoffMax time.Duration
	// PageSize is the default first argument of paged reads (100); a call sets its own
	// with WithPageSize, so one client serves every page size.
	PageSize int
	// BatchMax caps the writes sent as one request by Batch (default DefaultBatchMax;
	// 1 sends every write on its own, as the single-op methods do).
	BatchMax int

	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Logger     *slog.Logger          // nil: discard
	HTTPClient *http.Client          // base client; its Timeout is ignored in favour of Timeout
}

// Client calls Administrate. It is safe for concurrent use; create one per process so
// the rate budget is shared. It implements genqlient's graphql.Client, so the generated
// functions in this package can be called with it directly.
type Client struct {
	opts    Options
	http    *http.Client
	tokens  *tokenSource
	limiter *rate.Limiter
	budget  Budget // limiter, unless Options.Budget replaced it
	metrics *metrics
	log     *slog.Logger

	pauseUntil   atomic.Int64 // unix nanos: a 429's Retry-After holds every caller of this client
	batchLearned atomic.Int64 // a smaller BatchMax the tenant accepted after refusing a larger one
	rngMu        sync.Mutex
	rng          *rand.Rand
}

var _ graphql.Client = (*Client)(nil)

// New validates opts and builds a Client. It does not contact Administrate.
func New(opts Options) (*Client, error) {
	if opts.APIURL == "" || opts.TokenURL == "" {
		return nil, errors.New("administrate: APIURL and TokenURL are required")
	}
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, errors.New("administrate: client id and secret are required")
	}
	// Refuse a malformed URL here, with its credentials redacted: net/http
	// would echo it whole in every request's error.
	for _, u := range []struct{ name, v string }{{"ADMINISTRATE_API_URL", opts.APIURL}, {"ADMINISTRATE_TOKEN_URL", opts.TokenURL}} {
		pu, err := url.Parse(u.v)
		if err != nil {
			return nil, fmt.Errorf("administrate: %s is not a valid URL: %w", u.name, redact.Error(err, u.v))
		}
		if (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, fmt.Errorf("administrate: %s=%s: want an https:// URL with a host", u.name, redact.URL(u.v))
		}
	}
	defaults.Positive(&opts.RateLimit, DefaultRateLimit)
	defaults.Positive(&opts.RateBurst, 1)
	defaults.Positive(&opts.Timeout, DefaultTimeout)
	defaults.Positive(&opts.MaxAttempts, DefaultMaxAttempts)
	defaults.Positive(&opts.BackoffBase, 250*time.Millisecond)
	defaults.Positive(&opts.BackoffMax, 10*time.Second)
	defaults.Positive(&opts.PageSize, DefaultPageSize)
	defaults.Positive(&opts.BatchMax, DefaultBatchMax)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	// Per-attempt deadlines come from contexts; a client-wide Timeout would also cut
	// retries short, so it is dropped from our copy.
	hc := *base
	hc.Timeout = 0
	// Each HTTP call is a client span under the caller's (no-op while tracing
	// is off) and sends the W3C traceparent header.
	hc.Transport = otelhttp.NewTransport(base.Transport)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("administrate: register metrics: %w", err)
	}
	lim := opts.Limiter
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(opts.RateLimit), opts.RateBurst)
	}
	tokenHTTP := hc
	tokenHTTP.Timeout = opts.Timeout
	var budget Budget = lim
	if opts.Budget != nil {
		budget = opts.Budget
	}
	c := &Client{
		opts:    opts,
		http:    &hc,
		limiter: lim,
		budget:  budget,
		metrics: m,
		log:     log,
		rng:     rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
		tokens: newTokenSource(&clientcredentials.Config{
			ClientID:     opts.ClientID,
			ClientSecret: opts.ClientSecret,
			TokenURL:     opts.TokenURL,
			AuthStyle:    oauth2.AuthStyleInParams, // Administrate reads credentials from the form body
		}, &tokenHTTP),
	}
	return c, nil
}

// GraphQL returns the client as genqlient's graphql.Client, for calling generated
// operations directly.
func (c *Client) GraphQL() graphql.Client { return c }

// Limiter returns the rate budget in use (to share it with another Client).
func (c *Client) Limiter() *rate.Limiter { return c.limiter }

// tokenSource keeps the access token in memory only. invalidate swaps in a fresh
// source, which forces the next call to fetch a new token.
type tokenSource struct {
	cfg *clientcredentials.Config
	ctx context.Context

	mu  sync.Mutex
	src oauth2.TokenSource
	gen int
}

func newTokenSource(cfg *clientcredentials.Config, hc *http.Client) *tokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return &tokenSource{cfg: cfg, ctx: ctx, src: cfg.TokenSource(ctx)}
}

func (t *tokenSource) token() (*oauth2.Token, int, error) {
	t.mu.Lock()
	src, gen := t.src, t.gen
	t.mu.Unlock()
	tok, err := src.Token()
	// net/http quotes the token URL (query string included) in its errors.
	return tok, gen, redact.Error(err, t.cfg.TokenURL)
}

// invalidate drops the token of generation gen; concurrent 401s refetch only once.
func (t *tokenSource) invalidate(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen == t.gen {
		t.src = t.cfg.TokenSource(t.ctx)
		t.gen++
	}
}

// fresh fetches a new token outside the cache (doctor uses it to read the lifetime).
func (t *tokenSource) fresh(ctx context.Context) (*oauth2.Token, error) {
	hc, _ := t.ctx.Value(oauth2.HTTPClient).(*http.Client)
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	return tok, redact.Error(err, t.cfg.TokenURL)
}

// MakeRequest implements graphql.Client: one logical call with rate limiting, auth,
// retries and the error taxonomy described in errors.go.
func (c *Client) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	op := req.OpName
	if op == "" {
		op = "anonymous"
	}
	mutation := isMutation(req.Query)
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("administrate %s: encode request: %w", op, err)
	}
	reauthed := false
	var last error
	for attempt := 1; ; attempt++ {
		if err := c.waitBudget(ctx); err != nil {
			return c.giveUp(op, last, err)
		}
		res := c.attempt(ctx, op, body, resp)
		if res.err == nil {
			return nil
		}
		if res.aborted {
			return res.err
		}
		last = res.err
		if ctx.Err() != nil {
			if mutation && res.sent {
				return &OutcomeUnknownError{Operation: op, Err: res.err}
			}
			return c.giveUp(op, res.err, ctx.Err())
		}
		var reason string
		var wait time.Duration
		switch {
		case res.status == http.StatusUnauthorized && !reauthed:
			// One forced re-fetch: the token may have been revoked or expired early.
			reauthed = true
			c.tokens.invalidate(res.tokenGen)
			c.metrics.retries.WithLabelValues(op, "unauthorized").Inc()
			c.log.Debug("administrate re-authenticating after 401", "operation", op)
			attempt-- // the re-auth does not consume an attempt
			continue
		case res.status == http.StatusUnauthorized:
			return &AuthError{StatusCode: res.status, Err: res.err}
		case res.tokenErr:
			reason, wait = "token_error", c.backoff(attempt)
		case res.status == http.StatusTooManyRequests:
			// Administrate has not processed a refused request: safe for mutations too.
			// The pause holds every caller of this client; waitBudget sleeps it off and
			// accounts it as rate-limit wait.
			reason = "rate_limited"
			pause := res.retryAfter
			if pause <= 0 {
				pause = c.backoff(attempt)
			}
			c.pause(pause)
		case res.status >= 500:
			if mutation {
				return &OutcomeUnknownError{Operation: op, Err: res.err}
			}
			reason, wait = "server_error", c.backoffAtLeast(attempt, res.retryAfter)
		case res.transport:
			if mutation && res.sent {
				return &OutcomeUnknownError{Operation: op, Err: res.err}
			}
			reason = "network_error"
			if res.timeout {
				reason = "timeout"
			}
			wait = c.backoff(attempt)
		default:
			return res.err // permanent: GraphQL errors, other 4xx, auth
		}
		if attempt >= c.opts.MaxAttempts {
			return fmt.Errorf("administrate %s: giving up after %d attempts: %w", op, attempt, last)
		}
		c.metrics.retries.WithLabelValues(op, reason).Inc()
		c.log.Debug("administrate retry", "operation", op, "attempt", attempt, "reason", reason, "wait", wait)
		if err := ctxtime.Sleep(ctx, wait); err != nil {
			return c.giveUp(op, last, err)
		}
	}
}

// giveUp reports the last typed failure together with the context error that stopped us.
func (c *Client) giveUp(op string, last, ctxErr error) error {
	if last == nil {
		return fmt.Errorf("administrate %s: %w", op, ctxErr)
	}
	return fmt.Errorf("administrate %s: stopped (%w) after: %w", op, ctxErr, last)
}

type attemptResult struct {
	err        error
	status     int // 0 when no HTTP answer
	sent       bool
	transport  bool
	timeout    bool
	tokenErr   bool
	aborted    bool // the before-send check stopped it: not sent, not retried
	tokenGen   int
	retryAfter time.Duration
}

// attempt performs one HTTP exchange under the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, op string, body []byte, resp *graphql.Response) (res attemptResult) {
	tok, gen, err := c.tokens.token()
	res.tokenGen = gen
	if err != nil {
		return c.tokenFailure(op, err)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	actx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), c.opts.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.opts.APIURL, bytes.NewReader(body))
	if err != nil {
		res.err = fmt.Errorf("administrate %s: build request: %w", op, redact.Error(err, c.opts.APIURL))
		return res
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(hreq)
	if check := beforeSend(ctx); check != nil {
		if err := check(ctx); err != nil {
			res.err, res.aborted = &NotSentError{Operation: op, Err: err}, true
			return res
		}
	}

	start := time.Now()
	status := ""
	defer func() {
		d := time.Since(start)
		c.metrics.requests.WithLabelValues(op, status).Inc()
		c.metrics.duration.WithLabelValues(op).Observe(d.Seconds())
		c.log.Debug("administrate request", "operation", op, "status", status, "duration", d)
	}()

	hres, err := c.http.Do(hreq)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(io.LimitReader(hres.Body, 64<<20))
		_ = hres.Body.Close()
	}
	res.sent = wrote.Load()
	if err != nil {
		res.transport = true
		res.timeout = isTimeout(err) && ctx.Err() == nil
		status = "network_error"
		if res.timeout {
			status = "timeout"
		}
		res.err = &TransportError{Operation: op, Sent: res.sent, Timeout: res.timeout, Err: redact.Error(err, c.opts.APIURL)}
		return res
	}
	res.status = hres.StatusCode
	status = strconv.Itoa(hres.StatusCode)
	res.retryAfter = parseRetryAfter(hres.Header.Get("Retry-After"))

	switch {
	case hres.StatusCode >= 200 && hres.StatusCode < 300:
		if err := json.Unmarshal(raw, resp); err != nil {
			res.err = fmt.Errorf("administrate %s: decode response: %w", op, err)
			return res
		}
		if len(resp.Errors) > 0 {
			status = "graphql_error"
			res.err = &GraphQLError{Operation: op, StatusCode: hres.StatusCode, Errors: resp.Errors}
		}
		return res
	case hres.StatusCode == http.StatusUnauthorized || hres.StatusCode == http.StatusTooManyRequests || hres.StatusCode >= 500:
		res.err = &HTTPError{Operation: op, StatusCode: hres.StatusCode, RetryAfter: res.retryAfter, Body: snippet(raw)}
		return res
	default:
		// Invalid documents come back as 4xx with a GraphQL errors body: keep the messages.
		var gr graphql.Response
		if json.Unmarshal(raw, &gr) == nil && len(gr.Errors) > 0 {
			res.err = &GraphQLError{Operation: op, StatusCode: hres.StatusCode, Errors: gr.Errors}
			return res
		}
		res.err = &HTTPError{Operation: op, StatusCode: hres.StatusCode, Body: snippet(raw)}
		return res
	}
}

// tokenFailure classifies a failed token fetch: refused credentials are permanent,
// anything else (network, 5xx at the auth server) is transient and nothing was sent to
// the API, so even a mutation may retry.
func (c *Client) tokenFailure(op string, err error) attemptResult {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		// RetrieveError's text includes the response body, never our secret.
		return attemptResult{err: &AuthError{StatusCode: re.Response.StatusCode, Err: fmt.Errorf("token request refused: %s", re.ErrorCode)}}
	}
	c.metrics.requests.WithLabelValues(op, "token_error").Inc()
	return attemptResult{tokenErr: true, err: &TransportError{Operation: op, Err: fmt.Errorf("fetch token: %w", err), Timeout: isTimeout(err)}}
}

// waitBudget blocks until a Retry-After pause is over and the rate budget allows a
// request; the time spent is exported as ratelimit wait.
func (c *Client) waitBudget(ctx context.Context) error {
	start := time.Now()
	if until := c.pauseUntil.Load(); until > start.UnixNano() {
		if err := ctxtime.Sleep(ctx, time.Duration(until-start.UnixNano())); err != nil {
			return err
		}
	}
	if err := c.budget.Wait(ctx); err != nil {
		return err
	}
	if waited := time.Since(start); waited > time.Millisecond {
		c.metrics.wait.Add(waited.Seconds())
	}
	return nil
}

func (c *Client) pause(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := c.pauseUntil.Load()
		if cur >= until || c.pauseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// backoff is exponential with equal jitter: half fixed, half random, so retries from
// several workers spread out but never fire immediately.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.BackoffBase << min(attempt-1, 20)
	if d > c.opts.BackoffMax || d <= 0 {
		d = c.opts.BackoffMax
	}
	c.rngMu.Lock()
	j := time.Duration(c.rng.Int64N(int64(d/2) + 1))
	c.rngMu.Unlock()
	return d/2 + j
}

func (c *Client) backoffAtLeast(attempt int, floor time.Duration) time.Duration {
	return max(c.backoff(attempt), floor)
}

func isMutation(query string) bool {
	q := strings.TrimSpace(query)
	for strings.HasPrefix(q, "#") { // skip leading comment lines
		if i := strings.IndexByte(q, '\n'); i >= 0 {
			q = strings.TrimSpace(q[i+1:])
		} else {
			return false
		}
	}
	return strings.HasPrefix(q, "mutation")
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func snippet(b []byte) string {
	const limit = 512
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
