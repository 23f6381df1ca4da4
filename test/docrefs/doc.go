// Package docrefs checks that every command line of our binaries named
// anywhere a reader meets one (a message or --help text in the Go sources,
// the READMEs, docs/) exists: each subcommand and flag is looked up in the
// binaries' real command trees.
package docrefs
