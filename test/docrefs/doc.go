// Package docrefs checks the command trees a reader meets: every command
// line of our binaries named anywhere (a message or --help text in the Go
// sources, the READMEs, docs/) exists, each subcommand and flag looked up in
// the binaries' real command trees; and every command that only groups
// others, typed alone, is a usage error that names what to type next.
package docrefs
