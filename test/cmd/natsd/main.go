// Command natsd runs the project's embedded nats-server (package
// natsembed: JetStream, file store, sync_interval always, loopback only) as
// a process of its own, so that the chaos runs can SIGKILL it and start it
// again on the same port and store directory — what a crash of the broker
// looks like, which an in-process server cannot show. SIGTERM or SIGINT
// shut it down gracefully.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"admsync/pkg/messaging/natsembed"
)

func main() {
	dir := flag.String("dir", "", "JetStream store directory (required; kept across restarts)")
	port := flag.Int("port", 4222, "client port on 127.0.0.1")
	debug := flag.Bool("debug", false, "log the server's own messages to stderr")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "natsd: --dir is required")
		os.Exit(2)
	}
	// Subscribe before starting, so a SIGTERM during start-up is not lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	srv, err := natsembed.Start(natsembed.Options{Dir: *dir, Port: *port, Debug: *debug})
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
	fmt.Printf("natsd: listening on %s (store %s)\n", srv.URL(), srv.StoreDir())
	s := <-sigs
	fmt.Printf("natsd: %s: shutting down\n", s)
	srv.Shutdown()
}
