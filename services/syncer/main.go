// Command syncer keeps the adm bridge tables in step with Administrate; run
// it with --help for its commands.
package main

import (
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/syncer/internal/cli"
)

func main() { service.Main("syncer", cli.Run) }
