// Command importer validates event workbooks and imports them; run it with
// --help for its commands.
package main

import (
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/importer/internal/cli"
)

func main() { service.Main("importer", cli.Run) }
