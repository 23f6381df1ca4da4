// Package failpoint lets chaos tests stop the admwriter at the exact lines
// where a crash is most dangerous. Random kills rarely land in the few
// milliseconds between an Administrate create and the bridge commit, so the
// tests name the point instead: ADMWRITER_CRASH_AT=after_create makes the
// process exit with status 137 (what kill -9 reports) right there.
package failpoint

import (
	"os"
	"strings"
)

// The points the writer passes through, in order.
const (
	// AfterCreate is right after Administrate answered a create, before the
	// event id is stored anywhere.
	AfterCreate = "after_create"
	// BeforeBridgeCommit is after the last Administrate call of an event,
	// before the bridge row is marked done.
	BeforeBridgeCommit = "before_bridge_commit"
	// BeforeAck is after the bridge is done, before the message is acked.
	BeforeAck = "before_ack"
)

// EnvVar names the environment variable read by FromEnv.
const EnvVar = "ADMWRITER_CRASH_AT"

// Func is called at every point; a non-nil error aborts the handler as a
// crash would (no further writes, no release of the claim).
type Func func(point string) error

// FromEnv returns the failpoint configured by ADMWRITER_CRASH_AT (a comma
// separated list), or nil when none is set. The returned func never returns
// at a listed point: it exits the process with status 137.
func FromEnv() Func {
	v := strings.TrimSpace(os.Getenv(EnvVar))
	if v == "" {
		return nil
	}
	points := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		points[strings.TrimSpace(p)] = true
	}
	return func(point string) error {
		if points[point] {
			// Deliberately abrupt: no deferred cleanup, no flush, no ack.
			os.Exit(137)
		}
		return nil
	}
}

// Valid reports whether v (one point or a comma separated list) names
// only known points.
func Valid(v string) bool {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case AfterCreate, BeforeBridgeCommit, BeforeAck:
		default:
			return false
		}
	}
	return true
}
