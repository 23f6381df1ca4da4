// Package natsembed runs a nats-server with JetStream inside the process,
// for tests and for the demo. It configures the server the way production
// should be: file storage with sync_interval always (the Jepsen NATS 2.12.1
// finding: the default 2-minute fsync interval loses acknowledged writes on a
// single-node crash), listening on loopback only.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures an embedded server.
type Options struct {
	// Dir is the JetStream store directory (required). Restart keeps it.
	Dir string
	// Host defaults to 127.0.0.1: the embedded server is never exposed.
	Host string
	// Port is the client port; -1 (or 0) picks a free one, which Restart reuses.
	Port int
	// Name is the server name (default "admsync-embedded").
	Name string
	// Debug turns on the server's own logging to stderr.
	Debug bool
}

// Server is a running (or stopped, awaiting Restart) embedded nats-server.
type Server struct {
	mu   sync.Mutex
	opts Options
	srv  *server.Server
}

// Start starts a server and waits until it accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("start embedded nats-server: store dir is required")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	if opts.Name == "" {
		opts.Name = "admsync-embedded"
	}
	s := &Server{opts: opts}
	if err := s.start(); err != nil {
		return nil, err
	}
	// Pin the chosen port so clients reconnect to the same URL after Restart.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	return s, nil
}

func (s *Server) start() error {
	o := &server.Options{
		ServerName: s.opts.Name,
		Host:       s.opts.Host,
		Port:       s.opts.Port,
		JetStream:  true,
		StoreDir:   s.opts.Dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      !s.opts.Debug,
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("start embedded nats-server: %w", err)
	}
	if s.opts.Debug {
		srv.ConfigureLogger()
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("start embedded nats-server on %s:%d: not ready after 15s", s.opts.Host, s.opts.Port)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return errors.New("start embedded nats-server: JetStream did not start")
	}
	s.srv = srv
	return nil
}

// URL is the client URL, stable across restarts.
func (s *Server) URL() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// StoreDir is the JetStream store directory.
func (s *Server) StoreDir() string { return s.opts.Dir }

// Running reports whether the server is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil && s.srv.Running()
}

// Shutdown stops the server; it is safe to call twice.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart stops the server if it runs and starts it again on the same port
// and store, as a NATS restart in production would.
func (s *Server) Restart() error {
	s.Shutdown()
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	// The port can linger briefly after shutdown; retry a few times.
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
