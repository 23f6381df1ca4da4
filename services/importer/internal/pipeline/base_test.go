package pipeline_test

import "testing"

func TestGeneratedWorkbookIsValid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, events := range []int{80, 300} {
		out := b.run(b.write(book(events)), true)
		if out.Summary.Rejected != 0 || out.Summary.Imported != events {
			for _, p := range out.Summary.Problems {
				t.Log(p.Text)
			}
			t.Fatalf("generated workbook: %s", out.Summary.Line())
		}
	}
}
