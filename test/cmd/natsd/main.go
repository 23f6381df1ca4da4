// Command natsd runs the project's embedded nats-server (package
// natsembed: JetStream, file store, sync_interval always, loopback only) as
// a process of its own, so that the chaos runs can SIGKILL it and start it
// again on the same port and store directory — what a crash of the broker
// looks like, which an in-process server cannot show. With --cluster-port
// and --routes it is one node of a JetStream cluster on loopback (the same
// settings plus cluster routes), for the node-loss scenarios. SIGTERM or
// SIGINT shut it down gracefully.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"admsync/pkg/messaging/natsembed"
)

func main() {
	dir := flag.String("dir", "", "JetStream store directory (required; kept across restarts)")
	port := flag.Int("port", 4222, "client port on 127.0.0.1")
	debug := flag.Bool("debug", false, "log the server's own messages to stderr")
	name := flag.String("name", "", "server name (required in a cluster, stable across restarts)")
	clusterName := flag.String("cluster-name", "admsync-chaos", "cluster name")
	clusterPort := flag.Int("cluster-port", 0, "route port on 127.0.0.1; set it to run as a cluster node")
	routes := flag.String("routes", "", "comma separated route URLs of the other nodes, e.g. nats://127.0.0.1:6223")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "natsd: --dir is required")
		os.Exit(2)
	}
	// Subscribe before starting, so a SIGTERM during start-up is not lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if *clusterPort == 0 {
		srv, err := natsembed.Start(natsembed.Options{Dir: *dir, Port: *port, Debug: *debug})
		if err != nil {
			fmt.Fprintln(os.Stderr, "natsd:", err)
			os.Exit(1)
		}
		fmt.Printf("natsd: listening on %s (store %s)\n", srv.URL(), srv.StoreDir())
		s := <-sigs
		fmt.Printf("natsd: %s: shutting down\n", s)
		srv.Shutdown()
		return
	}
	srv, err := startNode(*name, *clusterName, *dir, *port, *clusterPort, *routes, *debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
	fmt.Printf("natsd: node %s listening on 127.0.0.1:%d, routes on %d (store %s)\n", *name, *port, *clusterPort, *dir)
	s := <-sigs
	fmt.Printf("natsd: %s: shutting down\n", s)
	srv.Shutdown()
	srv.WaitForShutdown()
}

// startNode starts one cluster node with natsembed's settings (file store,
// sync_interval always, loopback) plus routes. It does not wait for the
// other nodes: JetStream needs a quorum, which the caller waits for.
func startNode(name, cluster, dir string, port, clusterPort int, routes string, debug bool) (*server.Server, error) {
	if name == "" {
		return nil, fmt.Errorf("--name is required for a cluster node")
	}
	var rs []*url.URL
	for _, r := range strings.Split(routes, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("--routes %q: %w", r, err)
		}
		rs = append(rs, u)
	}
	o := &server.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      !debug,
		Cluster: server.ClusterOpts{
			Name: cluster,
			Host: "127.0.0.1",
			Port: clusterPort,
		},
		Routes: rs,
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("start nats-server node %s: %w", name, err)
	}
	if debug {
		srv.ConfigureLogger()
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats-server node %s: not ready after 30s", name)
	}
	return srv, nil
}
