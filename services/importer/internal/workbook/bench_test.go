package workbook

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/sampledata"
)

// BenchmarkStrictVsExcelize reads the same generated workbook with
// excelize's bare row iterator and with this package's strict reader,
// alternately (five pairs, so a busy machine slows both alike), and
// reports the median of the pair ratios (strict rows/s ÷ excelize rows/s).
// BENCH_ROWS sets the size (default 20,000 rows).
func BenchmarkStrictVsExcelize(b *testing.B) {
	rows := 20_000
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROWS")); err == nil && n > 0 {
		rows = n
	}
	path := filepath.Join(b.TempDir(), "bench.xlsx")
	if _, err := sampledata.WriteFile(path, sampledata.Options{Rows: rows, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	bare := func() time.Duration {
		t0 := time.Now()
		opts := excelize.Options{RawCellValue: true}
		f, err := excelize.OpenFile(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		it, err := f.Rows(SheetName)
		if err != nil {
			b.Fatal(err)
		}
		for it.Next() {
			if _, err := it.Columns(opts); err != nil {
				b.Fatal(err)
			}
		}
		it.Close()
		f.Close()
		return time.Since(t0)
	}
	strict := func() time.Duration {
		t0 := time.Now()
		r, err := Open(path, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if err != nil {
				b.Fatal(err)
			}
			if rec == nil {
				break
			}
		}
		r.Close()
		return time.Since(t0)
	}
	var ratios []float64
	var sumBare, sumStrict time.Duration
	for b.Loop() {
		for range 5 {
			tb, ts := bare(), strict()
			sumBare, sumStrict = sumBare+tb, sumStrict+ts
			ratios = append(ratios, tb.Seconds()/ts.Seconds())
		}
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x")
	b.ReportMetric(float64(rows)*float64(len(ratios))/sumStrict.Seconds(), "rows/s")
	b.Log(fmt.Sprintf("pair ratios %.2f; excelize %v, strict %v in total", ratios, sumBare, sumStrict))
}
