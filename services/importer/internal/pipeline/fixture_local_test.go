package pipeline_test

import (
	"context"
	"testing"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/localfixture"
	"admsync/services/importer/internal/pipeline"
)

// TestFixtureLocal imports a real workbook named by ADMSYNC_FIXTURE into a
// fresh database seeded from the workbook itself. It is skipped unless the
// variable is set: customer workbooks are never part of the repository.
func TestFixtureLocal(t *testing.T) {
	path := localfixture.Path(t)
	ctx := context.Background()
	db := dbtest.New(t)
	ref, err := sampledata.FromWorkbook(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampledata.Seed(ctx, db.Pool, ref); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false, false} {
		out, err := pipeline.Import(ctx, db.Pool, path, pipeline.Options{DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		s := out.Summary
		t.Logf("dry=%v rows=%d %s durations=%v", dry, s.Rows, s.Line(), s.Durations)
		for i, p := range s.Problems {
			if i < 20 {
				t.Log(p.Text)
			}
		}
	}
}
