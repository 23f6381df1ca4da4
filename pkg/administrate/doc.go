// Package administrate is admsync's client for the Administrate Core GraphQL API.
//
// The typed operations in generated.go come from schema.graphql and operations/*.graphql
// through genqlient. Services call only the typed layer (reads.go, writes.go): list
// methods that return every page, with the page size and progress as per-call options,
// and writes whose payload errors are typed. Client carries what every call needs:
//
//   - OAuth2 client credentials (golang.org/x/oauth2/clientcredentials), the token kept in
//     memory only and re-fetched once when the API answers 401;
//   - a timeout on every HTTP attempt and one rate budget (golang.org/x/time/rate) per
//     process, shared by every caller of the same Client;
//   - retries with jittered exponential backoff honouring Retry-After: queries are retried on
//     429, 5xx, timeouts and network errors; mutations only when Administrate cannot have
//     applied them (429, 401, a connection that failed before the request was written).
//     Otherwise a mutation fails with *OutcomeUnknownError and the caller must reconcile;
//   - mutation payload errors { label message value } as *MutationError (IsAlreadyStaff
//     recognises the benign "already exists as staff" rejection);
//   - first/offset paging that stops on hasNextPage=false and fails with ErrEmptyPage
//     instead of looping on an empty page that claims more;
//   - Prometheus metrics (see metrics.go) and debug logs with operation and duration,
//     never tokens or secrets.
//
// Doctor checks a configured tenant: credentials, token lifetime, every operation we
// send validated against the live schema obtained by introspection, and every field,
// argument, input field and enum value those operations use looked up in it.
// contract.go says which of those are production-proven; the rest are what a tenant is
// most likely to lack.
//
// Regenerating the typed client after editing schema.graphql or operations/*.graphql:
//
//	cd pkg && go generate ./administrate/
//
// which runs the directive below and rewrites generated.go and operations.json.
package administrate

//go:generate go run github.com/Khan/genqlient genqlient.yaml
