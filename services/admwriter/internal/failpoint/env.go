//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
	"strings"
)

// EnvVar names the environment variable read by FromEnv.
const EnvVar = "ADMWRITER_CRASH_AT"

// Help describes the failpoints for `admwriter serve --help`.
const Help = `

This binary is built with failpoints (fault-injection tests only):
ADMWRITER_CRASH_AT=after_create|before_bridge_commit|before_ack|after_lifecycle_write makes the
process exit with status 137 at that point.`

// FromEnv returns the failpoint configured by ADMWRITER_CRASH_AT (a comma
// separated list), or nil when none is set. The returned func never returns
// at a listed point: it exits the process with status 137 (what kill -9
// reports).
func FromEnv() (Func, error) {
	v := strings.TrimSpace(os.Getenv(EnvVar))
	if v == "" {
		return nil, nil
	}
	if !Valid(v) {
		return nil, fmt.Errorf("%s=%q: want after_create, before_bridge_commit, before_ack or after_lifecycle_write", EnvVar, v)
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
	}, nil
}
