// Command admwriter writes imported tutorial events to Administrate exactly
// once; run it with --help for its commands.
package main

import (
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/admwriter/internal/cli"
)

func main() { service.Main("admwriter", cli.Run) }
