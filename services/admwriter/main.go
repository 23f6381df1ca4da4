// Command admwriter writes imported tutorial events to Administrate exactly
// once; run it with --help for its commands.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/admwriter/internal/cli"
)

func main() { service.Main("admwriter", run) }

func run(ctx context.Context) error {
	env := func() (*service.Env, error) { return service.Setup("admwriter", os.Stderr) }
	return cli.Execute(ctx, os.Args[1:], env)
}
