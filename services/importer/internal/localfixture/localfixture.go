// Package localfixture names the real workbook that the importer's local-only
// tests read. Customer workbooks are never part of the repository.
package localfixture

import (
	"os"
	"testing"
)

// Variable is the environment variable that points at the workbook.
const Variable = "ADMSYNC_FIXTURE"

// Path returns the workbook named by ADMSYNC_FIXTURE, and skips the test when
// the variable is not set.
func Path(t testing.TB) string {
	t.Helper()
	p := os.Getenv(Variable)
	if p == "" {
		t.Skip(Variable + " not set")
	}
	return p
}
