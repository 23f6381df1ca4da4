// Package syncer is the Administrate → bridge sync: seven stages (custom
// fields, price levels, locations, venues, instructors, course templates,
// course template price levels), each shaped fetch → match → plan → apply →
// report.
//
// A stage checks its prerequisites before calling Administrate, fetches
// every page (any failure: nothing changes), then in one transaction holding
// the stage's advisory lock loads the stored bridge rows and the active
// tutorial rows, matches them on normalised keys (ambiguity in either
// direction is reported and left unlinked), and writes only the rows whose
// data differ. Records Administrate no longer returns are marked gone, never
// deleted, unless the fetch was incomplete or fell by more than half. The
// result is reported for people (text), for machines (StageResult, JSON) and
// stored in admsync.sync_runs / sync_discrepancies; on a terminal the
// unmatched tutorial records can then be created in Administrate.
//
// `run all` reads every stage's data from Administrate at once (pages
// concurrently within the client's rate budget) and starts each stage's
// transaction when the stages it depends on are done. Each run row in
// admsync.sync_runs is guarded by a session advisory lock; a running row whose
// lock is free lost its process and is marked abandoned.
package syncer
