// Package failpoint lets chaos tests stop the admwriter at the exact lines
// where a crash is most dangerous. Random kills rarely land in the few
// milliseconds between an Administrate create and the bridge commit, so the
// tests name the point instead.
//
// The writer calls its Failpoint hook (nil in production) at each point.
// Reading the points from the environment and exiting the process there is
// compiled only with the build tag "failpoints" (env.go), which the chaos
// runs use (scripts/chaos.sh): the shipped binary cannot be made to crash on
// purpose.
package failpoint

import "strings"

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
	// AfterLifecycleWrite is right after Administrate answered a lifecycle
	// command's write (admwriter events …), before its outcome is recorded.
	AfterLifecycleWrite = "after_lifecycle_write"
	// AfterChangeCall is right after each write of a correction
	// (tutorial.event.changed) was answered, before the next one: the
	// correction is then partly applied, and recorded nowhere.
	AfterChangeCall = "after_change_call"
)

// Func is called at every point; a non-nil error aborts the handler as a
// crash would (no further writes, no release of the claim).
type Func func(point string) error

// Valid reports whether v (one point or a comma separated list) names
// only known points.
func Valid(v string) bool {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case AfterCreate, BeforeBridgeCommit, BeforeAck, AfterLifecycleWrite, AfterChangeCall:
		default:
			return false
		}
	}
	return true
}
