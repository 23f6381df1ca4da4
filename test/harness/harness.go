// Package harness assembles a whole admsync installation on this machine —
// a fresh PostgreSQL database, an embedded nats-server, the Administrate
// simulator over HTTP and the real service binaries as child processes — for
// the demo, the NATS CLI runbook tests and the chaos runs.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/admsim"
	"admsync/pkg/database"
	"admsync/pkg/messaging/natsembed"
)

// Options shapes a Stack.
type Options struct {
	// ServerURL is the PostgreSQL server; a database is created on it and
	// dropped by Close.
	ServerURL string
	// BinDir holds syncer, importer and admwriter.
	BinDir string
	// Dir receives the NATS store, logs and workbooks (default a temp dir).
	Dir string
	// RateLimit is ADMINISTRATE_RATE_LIMIT for the services (default 15).
	RateLimit float64
	// SimFaults are the simulator's initial faults.
	SimFaults admsim.Faults
	// Keep leaves the database in place on Close.
	Keep bool
	// Log receives progress lines (nil: discard).
	Log func(format string, args ...any)
	// NATSBin, when set, runs nats-server as this child process (the
	// test/cmd/natsd wrapper around natsembed) instead of in-process, so a
	// chaos run can SIGKILL the broker. Empty: embedded, as the demo uses.
	NATSBin string
	// NATSCluster, when above 1, runs that many NATSBin children as one
	// JetStream cluster on loopback (node-loss scenarios); NATSURL then
	// lists every node.
	NATSCluster int
	// Env is added to every service child's environment (e.g. NATS_REPLICAS=3).
	Env []string
}

// Stack is one running installation.
type Stack struct {
	Opts   Options
	Dir    string
	DBName string
	DBURL  string
	Pool   *pgxpool.Pool
	// NATS is the embedded server; nil when NATSProc runs it instead.
	NATS *natsembed.Server
	// NATSProc is the nats-server child process (Options.NATSBin).
	NATSProc *Proc
	// NATSNodes are the cluster's nodes (Options.NATSCluster).
	NATSNodes []*NATSNode
	// NATSURL is the client URL either way; it survives restarts.
	NATSURL string
	Sim     *admsim.Server
	SimURL  string

	simSrv *http.Server
	procs  []*Proc
}

// Start brings up database, NATS and simulator and applies the migrations
// with the real `syncer migrate`.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.RateLimit == 0 {
		opts.RateLimit = 15
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	s := &Stack{Opts: opts}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	s.Dir = opts.Dir
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "admsync-")
		if err != nil {
			return nil, err
		}
		s.Dir = d
	}
	if err := s.createDatabase(ctx); err != nil {
		return nil, err
	}
	if opts.NATSCluster > 1 {
		if opts.NATSBin == "" {
			return nil, errors.New("a NATS cluster needs the natsd binary (Options.NATSBin)")
		}
		if err := s.startNATSCluster(ctx, opts.NATSCluster); err != nil {
			return nil, err
		}
	} else if opts.NATSBin != "" {
		if err := s.startNATSChild(ctx); err != nil {
			return nil, err
		}
	} else {
		ns, err := natsembed.Start(natsembed.Options{Dir: filepath.Join(s.Dir, "nats"), Port: -1})
		if err != nil {
			return nil, fmt.Errorf("start embedded nats-server: %w", err)
		}
		s.NATS = ns
		s.NATSURL = ns.URL()
	}
	sim, err := admsim.New(admsim.Options{TokenTTL: 15 * time.Minute, Faults: opts.SimFaults})
	if err != nil {
		return nil, err
	}
	s.Sim = sim
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.simSrv = &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go s.simSrv.Serve(ln) //nolint:errcheck
	s.SimURL = "http://" + ln.Addr().String()
	opts.Log("PostgreSQL database %s, NATS %s, Administrate simulator %s", s.DBName, s.NATSURL, s.SimURL)

	if out, err := s.Run(ctx, "syncer", "migrate"); err != nil {
		return nil, fmt.Errorf("syncer migrate: %w\n%s", err, out)
	}
	pool, err := database.Open(ctx, s.DBURL)
	if err != nil {
		return nil, err
	}
	s.Pool = pool
	ok = true
	return s, nil
}

func (s *Stack) createDatabase(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, s.Opts.ServerURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s.DBName = "admsync_run_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+s.DBName); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(s.Opts.ServerURL)
	if err != nil {
		return err
	}
	u.Path = "/" + s.DBName
	s.DBURL = u.String()
	return nil
}

// ClientEnv is what any admsync command needs to reach this installation:
// PostgreSQL, NATS and the simulated Administrate (URLs, credentials, rate).
func (s *Stack) ClientEnv() []string {
	id, secret := s.Sim.Credentials()
	return []string{
		"DATABASE_URL=" + s.DBURL,
		"NATS_URL=" + s.NATSURL,
		"ADMINISTRATE_API_URL=" + s.SimURL + admsim.GraphQLPath,
		"ADMINISTRATE_TOKEN_URL=" + s.SimURL + "/oauth/token",
		"ADMINISTRATE_CLIENT_ID=" + id,
		"ADMINISTRATE_CLIENT_SECRET=" + secret,
		fmt.Sprintf("ADMINISTRATE_RATE_LIMIT=%g", s.Opts.RateLimit),
		"ADMINISTRATE_TIMEOUT=10s",
	}
}

// Env is the environment every service child gets.
func (s *Stack) Env(metricsAddr string) []string {
	env := append(os.Environ(), s.ClientEnv()...)
	env = append(env, "LOG_FORMAT=json", "METRICS_ADDR="+metricsAddr)
	return append(env, s.Opts.Env...)
}

// Close stops every child, the simulator and NATS, and drops the database.
func (s *Stack) Close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(10 * time.Second)
	}
	if s.simSrv != nil {
		_ = s.simSrv.Close()
	}
	if s.NATS != nil {
		s.NATS.Shutdown()
	}
	if s.Pool != nil {
		s.Pool.Close()
	}
	if s.DBName != "" && !s.Opts.Keep {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if admin, err := pgx.Connect(ctx, s.Opts.ServerURL); err == nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+s.DBName+" WITH (FORCE)")
			admin.Close(ctx)
		}
	}
	if s.Opts.Dir == "" && s.Dir != "" && !s.Opts.Keep {
		_ = os.RemoveAll(s.Dir)
	}
}

// ErrTimeout is returned by waits that ran out of time.
var ErrTimeout = errors.New("timed out")
