// Package observability gives every admsync process the same logger, metrics
// registry and HTTP endpoints (/metrics, /livez, /readyz).
package observability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"admsync/pkg/config/redact"
)

// NewLogger returns a slog logger writing text on a terminal and JSON
// otherwise (format "auto"), or the format asked for.
func NewLogger(w io.Writer, level slog.Leveler, format, service string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		return redactAttr(groups, readableDuration(groups, a))
	}}
	useText := format == "text"
	if format == "auto" || format == "" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			useText = true
		}
	}
	var h slog.Handler
	if useText {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	l := slog.New(h)
	if service != "" {
		l = l.With("service", service)
	}
	return l
}

// redactAttr removes credentials from every message and string or error
// attribute: a connection string can reach a log line through an error from
// any library, and a log line is read by more people than a Secret.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); strings.Contains(s, "@") || strings.Contains(s, "=") {
			a.Value = slog.StringValue(redact.URL(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			a.Value = slog.StringValue(redact.URL(err.Error()))
		}
	}
	return a
}

// readableDuration writes durations as "1.2s" rather than JSON's
// nanoseconds, so "retry_in" and "took" read the same in every format.
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		d := a.Value.Duration()
		if d > time.Millisecond {
			d = d.Round(time.Millisecond)
		}
		return slog.String(a.Key, d.String())
	}
	return a
}

// Version is the module version stamped at build time (-ldflags -X), else
// what the Go toolchain recorded.
var Version = ""

// BuildVersion reports the running build's version.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// NewRegistry returns a registry with the Go, process and build-info
// collectors, never the global default one.
func NewRegistry(service string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "admsync_build_info",
		Help: "Build information of the running admsync binary; always 1.",
	}, []string{"service", "version", "goversion"})
	bi, _ := debug.ReadBuildInfo()
	gov := ""
	if bi != nil {
		gov = bi.GoVersion
	}
	info.WithLabelValues(service, BuildVersion(), gov).Set(1)
	reg.MustRegister(info)
	return reg
}

// Check is one readiness dependency (PostgreSQL ping, NATS connected...).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Server serves /metrics, /livez and /readyz. Liveness only says the process
// answers, so a database blip never gets the pod restarted; readiness asks
// every check.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	checks []Check
}

// NewServer listens on addr (":0" picks a free port; see Addr).
func NewServer(addr string, reg *prometheus.Registry, checks ...Check) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", addr, err)
	}
	s := &Server{ln: ln, checks: checks}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", s.ready)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	failed := false
	var body []byte
	for _, c := range s.checks {
		if err := c.Fn(ctx); err != nil {
			failed = true
			body = fmt.Appendf(body, "%s: not ready: %v\n", c.Name, err)
		} else {
			body = fmt.Appendf(body, "%s: ok\n", c.Name)
		}
	}
	if failed {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write(body)
}

// Serve runs until ctx ends, then shuts down within five seconds.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	}
}
