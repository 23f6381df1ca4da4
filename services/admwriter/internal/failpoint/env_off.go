//go:build !failpoints

package failpoint

// Help is empty: this build has no failpoints.
const Help = ""

// FromEnv returns nil: without the build tag "failpoints" the environment
// cannot make the process crash.
func FromEnv() (Func, error) { return nil, nil }
