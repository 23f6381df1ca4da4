package workbook

import (
	"testing"

	"admsync/services/importer/internal/localfixture"
)

// Local check against a real workbook; never committed data. Skipped unless
// ADMSYNC_FIXTURE points at one.
func TestFixtureLocal(t *testing.T) {
	p := localfixture.Path(t)
	r, err := Open(p, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, ev, probs := 0, 0, 0
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			break
		}
		n++
		row, ps := r.Layout.Parse(rec)
		if row.Kind == KindEvent {
			ev++
		}
		probs += len(ps)
		for _, p := range ps {
			t.Log(p.Format(r.Name, r.Sheet))
		}
	}
	t.Logf("data rows %d events %d problems %d stats %+v 1904=%v", n, ev, probs, r.Stats(), r.Date1904())
}

func TestFixtureLocalSameAsExcelize(t *testing.T) {
	p := localfixture.Path(t)
	t.Logf("%d rows read alike", sameAsExcelize(t, p))
}
