package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/pipeline"
)

// The importer binary caps its heap softly (main.go); benchmarks measure
// the same configuration.
func init() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

// benchRows is the size of the benchmark workbook; BENCH_ROWS overrides it.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var benchFileOnce sync.Once

// benchFile generates the workbook once per machine (it is cached in the
// temp directory) so every benchmark reads the same file.
func benchFile(b *testing.B) (string, *sampledata.ReferenceData) {
	b.Helper()
	opts := sampledata.Options{Rows: benchRows(), Seed: 1}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("admsync-bench-%d-seed1.xlsx", opts.Rows))
	var err error
	benchFileOnce.Do(func() {
		if _, statErr := os.Stat(path); statErr == nil {
			return
		}
		tmp := path + ".part"
		if _, err = sampledata.WriteFile(tmp, opts); err == nil {
			err = os.Rename(tmp, path)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return path, sampledata.Reference(opts)
}

// peak measures the highest heap in use and the process's peak RSS
// (VmHWM, reset first through clear_refs) while fn runs.
type peak struct {
	stop   chan struct{}
	done   chan struct{}
	heap   uint64
	rssOK  bool
	rssKiB int64
}

func startPeak() *peak {
	runtime.GC()
	p := &peak{stop: make(chan struct{}), done: make(chan struct{})}
	p.rssOK = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	go func() {
		defer close(p.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.heap {
				p.heap = ms.HeapInuse
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peak) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(float64(p.heap)/(1<<20), "peak-heap-MB")
	if !p.rssOK {
		return
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if kib, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				b.ReportMetric(float64(kib)/1024, "peak-rss-MB")
			}
		}
	}
}

func seeded(b *testing.B, ref *sampledata.ReferenceData) *dbtest.DB {
	b.Helper()
	db := dbtest.New(b)
	ctx := context.Background()
	if _, err := sampledata.Seed(ctx, db.Pool, ref); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkBareRows is the ceiling: excelize's streaming row iterator
// alone, with the options the importer uses.
func BenchmarkBareRows(b *testing.B) {
	path, _ := benchFile(b)
	b.ResetTimer()
	rows := 0
	p := startPeak()
	for b.Loop() {
		rows = bareRows(b, path)
	}
	p.report(b)
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// bareRows reads every row of the workbook with excelize's streaming
// iterator and the options the importer uses, and counts them.
func bareRows(b *testing.B, path string) int {
	opts := excelize.Options{RawCellValue: true, UnzipXMLSizeLimit: 16 << 20, UnzipSizeLimit: 1 << 30}
	f, err := excelize.OpenFile(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	it, err := f.Rows("Import")
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	rows := 0
	for it.Next() {
		if _, err := it.Columns(opts); err != nil {
			b.Fatal(err)
		}
		rows++
	}
	return rows
}

// BenchmarkReadValidate is a dry run: read, parse, group and validate
// against reference data loaded from PostgreSQL, including the duplicate
// check against earlier imports.
func BenchmarkReadValidate(b *testing.B) {
	path, ref := benchFile(b)
	db := seeded(b, ref)
	b.ResetTimer()
	var sum *pipeline.Summary
	p := startPeak()
	for b.Loop() {
		out, err := pipeline.Import(context.Background(), db.Pool, path, pipeline.Options{DryRun: true})
		if err != nil {
			b.Fatal(err)
		}
		sum = out.Summary
	}
	p.report(b)
	if sum.Rejected != 0 {
		b.Fatalf("benchmark workbook has rejections: %s", sum.Line())
	}
	b.ReportMetric(float64(sum.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFullWrite imports into an empty database each time: read,
// validate, and the one transaction with every table and the outbox.
func BenchmarkFullWrite(b *testing.B) {
	path, ref := benchFile(b)
	var sum *pipeline.Summary
	var elapsed time.Duration
	var p *peak
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := seeded(b, ref)
		p = startPeak()
		b.StartTimer()
		t0 := time.Now()
		out, err := pipeline.Import(context.Background(), db.Pool, path, pipeline.Options{})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		sum = out.Summary
		b.StopTimer()
		if i < b.N-1 {
			close(p.stop)
			<-p.done
		}
	}
	p.report(b)
	if sum.Rejected != 0 || sum.Imported == 0 {
		b.Fatalf("benchmark import: %s", sum.Line())
	}
	b.ReportMetric(float64(sum.Rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(sum.Imported), "events")
	b.Logf("%s in %v (%v)", sum.Line(), elapsed/time.Duration(b.N), sum.Durations)
}

// BenchmarkImportFullWriteVsBare measures the full local write against
// excelize's bare row iterator as interleaved pairs (bare, import, bare,
// import, …; five pairs per iteration, each import into a fresh database
// seeded outside the timing), so a busy machine slows both sides of a pair
// alike, and reports the median of the pair ratios (import rows/s ÷ bare
// rows/s) as "x". Before each side the heap is collected and returned to
// the system outside the timing: otherwise the bare read after an import
// paid for scavenging the import's ~100 MB heap (the soft memory limit
// makes the scavenger eager) and the import reused pages warmed before.
func BenchmarkImportFullWriteVsBare(b *testing.B) {
	path, ref := benchFile(b)
	bare := func() time.Duration {
		t0 := time.Now()
		bareRows(b, path)
		return time.Since(t0)
	}
	var ratios []float64
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		for range 5 {
			db := seeded(b, ref)
			debug.FreeOSMemory()
			b.StartTimer()
			tb := bare()
			b.StopTimer()
			debug.FreeOSMemory()
			b.StartTimer()
			t0 := time.Now()
			out, err := pipeline.Import(context.Background(), db.Pool, path, pipeline.Options{})
			ti := time.Since(t0)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if out.Summary.Rejected != 0 || out.Summary.Imported == 0 {
				b.Fatalf("benchmark import: %s", out.Summary.Line())
			}
			ratios = append(ratios, tb.Seconds()/ti.Seconds())
			b.Logf("pair: bare %v, import %v (%.2f)", tb.Round(time.Millisecond), ti.Round(time.Millisecond), ratios[len(ratios)-1])
		}
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x")
}
