// Package admsim is an in-memory simulator of the Administrate Core GraphQL API.
//
// It serves pkg/administrate/schema.graphql through gqlgen, so documents are validated
// like production (unknown fields, bad enum literals and malformed filters fail the whole
// request), keeps state in memory (seeded from JSON and dumpable back to it), issues
// base64 global ids with Administrate's internal prefixes (an event is Course:N), pages
// with first/offset and totalRecords, filters with eq/ne/like/wordlike/in/notin/isnull/
// notnull/gt/ge/lt/le, validates mutations the way the flows depend on (unknown ids, end
// before start, duplicate staff, a session id that is not a session), creates a blended
// event's sessions from its course template's session count, and issues OAuth2 client
// credentials tokens at /oauth/token with a configurable lifetime.
//
// Faults are switched on by Options or at runtime through the JSON control endpoint
// (/_control, see control.go): latency with jitter, a sliding-window rate limit answering
// 429 with Retry-After, a 5xx ratio, an outage window, "apply the mutation then drop the
// connection", and disabling schema fields (so doctor reports them) or operation names.
// Every GraphQL request is recorded (operation, variables, outcome) for tests.
//
// Seeds are JSON documents of type Seed (see seed.go; seed.json is the demo tenant the
// binary starts with): custom fields per entity type, currencies, price levels,
// locations, venues, contacts (instructor/admin flags), course templates (code, title,
// learningMode, sessionCount, approvedInstructors, prices) and existing events with their
// sessions and staff. Ids are written "Location:3" and references use the same form.
//
// Routes: POST /graphql (bearer token required), POST /oauth/token, /_control/... .
//
// Regenerating the gqlgen server code after editing the schema:
//
//	cd pkg && go generate ./admsim/
//
// Tests in other packages should use package admsimtest, which starts a simulator on
// 127.0.0.1 and offers seeding and inspection helpers.
package admsim

//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml
