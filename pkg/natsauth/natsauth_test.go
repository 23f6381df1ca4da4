package natsauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/natsauth"
)

// startServer runs an embedded JetStream server with the matrix's users plus
// an unrestricted "admin" that declares the streams.
func startServer(t *testing.T) string {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	opts.Users = append(opts.Users, &server.User{Username: "admin", Password: "admin-pw"})
	for _, u := range natsauth.Users() {
		p := natsauth.Matrix[u]
		opts.Users = append(opts.Users, &server.User{Username: u, Password: u + "-pw", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: p.Publish},
			Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
		}})
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	admin := connect(t, s.ClientURL(), "admin", "admin-pw")
	js, _ := jetstream.New(admin)
	ctx := context.Background()
	for name, subj := range map[string]string{"TUTORIAL_EVENTS": "tutorial.event.>", "ADM_RESULTS": "adm.event.>", "DLQ": "dlq.>", "SYNC_REQUESTS": "sync.request.>", "SYNC_RESULTS": "sync.result.>"} {
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	for stream, cons := range map[string]string{"TUTORIAL_EVENTS": "admwriter", "SYNC_REQUESTS": "syncer"} {
		if _, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: cons, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
	}
	return s.ClientURL()
}

func connect(t *testing.T, url, user, pw string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(user, pw))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// client is one user's connection; the server reports refused publishes
// asynchronously, so violations are collected from the error handler.
type client struct {
	js         jetstream.JetStream
	violations chan error
}

func dial(t *testing.T, url, user string) *client {
	t.Helper()
	c := &client{violations: make(chan error, 16)}
	nc, err := nats.Connect(url, nats.UserInfo(user, user+"-pw"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			c.violations <- err
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c.js, _ = jetstream.New(nc)
	return c
}

// refused runs op and reports whether the server refused it with a
// permissions violation (op's own error is then a timeout or no-responders).
func (c *client) refused(op func(ctx context.Context) error) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	opErr := op(ctx)
	if opErr == nil {
		return false, nil
	}
	select {
	case v := <-c.violations:
		return true, v
	case <-time.After(2 * time.Second):
		return false, opErr
	}
}

func TestEachServiceIsRefusedOutsideItsSubjects(t *testing.T) {
	url := startServer(t)
	publish := func(subject string) func(context.Context, *client) error {
		return func(ctx context.Context, c *client) error {
			_, err := c.js.Publish(ctx, subject, []byte("{}"))
			return err
		}
	}
	fetch := func(stream, consumer string) func(context.Context, *client) error {
		return func(ctx context.Context, c *client) error {
			cons, err := c.js.Consumer(ctx, stream, consumer)
			if err != nil {
				return err
			}
			_, err = cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
			return err
		}
	}
	deleteStream := func(stream string) func(context.Context, *client) error {
		return func(ctx context.Context, c *client) error { return c.js.DeleteStream(ctx, stream) }
	}
	cases := []struct {
		user, what string
		op         func(context.Context, *client) error
		allowed    bool
	}{
		{"importer", "publish its events", publish("tutorial.event.created"), true},
		{"admwriter", "publish results", publish("adm.event.linked"), true},
		{"admwriter", "fetch its consumer", fetch("TUTORIAL_EVENTS", "admwriter"), true},
		{"syncer", "publish sync results", publish("sync.result.locations"), true},
		{"operator", "trigger a sync", publish("sync.request.all"), true},
		{"importer", "publish an admwriter result", publish("adm.event.linked"), false},
		{"admwriter", "publish a sync result", publish("sync.result.all"), false},
		{"syncer", "publish tutorial events", publish("tutorial.event.created"), false},
		{"importer", "consume admwriter's work", fetch("TUTORIAL_EVENTS", "admwriter"), false},
		{"syncer", "consume admwriter's work", fetch("TUTORIAL_EVENTS", "admwriter"), false},
		{"admwriter", "delete a stream", deleteStream("TUTORIAL_EVENTS"), false},
		{"operator", "delete the DLQ", deleteStream("DLQ"), false},
	}
	for _, tc := range cases {
		t.Run(tc.user+" "+tc.what, func(t *testing.T) {
			t.Parallel()
			c := dial(t, url, tc.user)
			refused, err := c.refused(func(ctx context.Context) error { return tc.op(ctx, c) })
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("should be allowed: %v", err)
			case !tc.allowed && !refused:
				t.Fatalf("should be refused by a permissions violation, got %v", err)
			}
		})
	}
}

func TestServerConfigReadsPasswordsFromEnvironment(t *testing.T) {
	cfg := natsauth.ServerConfig()
	for _, u := range natsauth.Users() {
		if !strings.Contains(cfg, "$NATS_"+strings.ToUpper(u)+"_PASSWORD") {
			t.Errorf("user %s password not from the environment", u)
		}
	}
	if strings.Contains(cfg, "STREAM.DELETE") || strings.Contains(cfg, "STREAM.PURGE") {
		t.Error("no user may delete or purge streams")
	}
}
