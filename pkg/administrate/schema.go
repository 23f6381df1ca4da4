package administrate

import _ "embed"

// SchemaSDL is schema.graphql: the subset of Administrate's schema our operations are
// generated from. The simulator serves it; tests validate documents against it.
//
//go:embed schema.graphql
var SchemaSDL string

// operationsJSON is genqlient's export of every document the client sends (see
// genqlient.yaml); doctor validates each of them against the live schema.
//
//go:embed operations.json
var operationsJSON []byte
