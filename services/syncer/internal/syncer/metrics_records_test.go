package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/database/dbtest"
)

// A run recorded by another process (the CronJob) shows in the gauge, and
// the gauge never moves backwards.
func TestRefreshLastSuccessFromRunRecords(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	finished := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	db.Exec(t, `INSERT INTO admsync.sync_runs (stage, status, finished_at) VALUES ('locations', 'ok', $1)`, finished)
	db.Exec(t, `INSERT INTO admsync.sync_runs (stage, status, finished_at) VALUES ('locations', 'failed', $1::timestamptz + interval '1 hour')`, finished)
	db.Exec(t, `INSERT INTO admsync.sync_runs (stage, status, finished_at, plan_only) VALUES ('venues', 'ok', $1, true)`, finished)
	m := NewMetrics(prometheus.NewRegistry())
	if err := m.RefreshLastSuccess(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(m.lastSuccess.WithLabelValues("locations")); got != float64(finished.Unix()) {
		t.Fatalf("locations last success %v, want %v", got, finished.Unix())
	}
	if got := gaugeValue(m.lastSuccess.WithLabelValues("venues")); got != 0 {
		t.Fatalf("a plan-only run is no success, got %v", got)
	}
	newer := float64(finished.Add(time.Hour * 5).Unix())
	m.lastSuccess.WithLabelValues("locations").Set(newer)
	if err := m.RefreshLastSuccess(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(m.lastSuccess.WithLabelValues("locations")); got != newer {
		t.Fatalf("gauge moved backwards to %v", got)
	}
}
