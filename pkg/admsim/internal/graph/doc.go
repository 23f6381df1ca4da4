// Package graph holds the gqlgen-generated executable schema and models of the
// Administrate simulator (generated.go, models_gen.go; regenerate with
// `go generate ./admsim/` from pkg/). Resolvers live in package admsim.
package graph
