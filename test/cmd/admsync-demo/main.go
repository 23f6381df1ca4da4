// Command admsync-demo runs the whole admsync flow on this machine and ends
// by itself (with -keep at Ctrl-C, the services running until then): a
// fresh database on the local PostgreSQL, an embedded nats-server, the
// Administrate simulator seeded to match the workbook's reference data
// (plus a few deliberate discrepancies), the three services,
// `syncer run all`, an import, and a wait until every accepted event is in
// Administrate. `make demo` runs it; `make demo WORKBOOK=path.xlsx` uses a
// real workbook and derives the reference data from it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
