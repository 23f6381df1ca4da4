package messaging_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natsembed"
)

// A runner hands each message to a func(ctx, msg) error and acks, retries
// or dead-letters according to the returned error.
func ExampleRunner() {
	dir, _ := os.MkdirTemp("", "example-nats")
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	nc, _ := messaging.Connect(ctx, srv.URL(), "example", quiet)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := messaging.EnsureTopology(ctx, js); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = js.Publish(ctx, messaging.SubjectTutorialEventCreated, []byte(`{"tutorial_event_id":7}`),
		jetstream.WithMsgID("outbox-row-1"))

	done := make(chan struct{})
	r, _ := messaging.NewRunner(js, messaging.RunnerOptions{
		Consumer:  messaging.AdmWriterConsumer(),
		Workers:   2,
		FetchWait: time.Second,
		Logger:    quiet,
		Handler: func(ctx context.Context, msg jetstream.Msg) error {
			fmt.Printf("%s %s\n", msg.Subject(), msg.Data())
			close(done)
			return nil // ack
		},
	})
	runCtx, stop := context.WithCancel(ctx)
	go func() { <-done; stop() }()
	fmt.Println("drained:", r.Run(runCtx))
	// Output:
	// tutorial.event.created {"tutorial_event_id":7}
	// drained: <nil>
}
