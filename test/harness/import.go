package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// ImportSummary is the part of `importer import --json` that the demo and
// the chaos scenarios read.
type ImportSummary struct {
	Imported   int   `json:"imported_events"`
	Sessions   int   `json:"imported_sessions"`
	Rejected   int   `json:"rejected_events"`
	Duplicates int   `json:"duplicate_events"`
	RunID      int64 `json:"import_run_id"`
}

// Import runs `importer import PATH --json [args…]` to completion (logging
// warnings only) and returns its summary and the JSON it printed, which
// holds more than the summary. An error means it printed no summary; a
// summary with rejections is not an error.
func (s *Stack) Import(ctx context.Context, path string, args ...string) (*ImportSummary, []byte, error) {
	cmd := s.Command(ctx, []string{"LOG_LEVEL=warn"}, "importer", append([]string{"import", path, "--json"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	var sum ImportSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		stderr, _, _ := strings.Cut(errOut.String(), "\n")
		return nil, nil, fmt.Errorf("importer import %s: no summary (%v): %s", filepath.Base(path), runErr, stderr)
	}
	return &sum, out.Bytes(), nil
}
