// Package metricstest reads what a Prometheus registry holds, so tests
// assert on the metrics a component exports rather than on its internals.
// A series' value is a counter's or gauge's value, or a histogram's or
// summary's sample count. Only tests import it.
package metricstest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Lookup sums the series of name whose labels include labels (nil matches
// every series of name); found is false when no series matched.
func Lookup(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) (sum float64, found bool) {
	t.Helper()
	for _, mf := range gather(t, g) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				sum += value(m)
				found = true
			}
		}
	}
	return sum, found
}

// Value is Lookup's sum: 0 when no series matched.
func Value(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	v, _ := Lookup(t, g, name, labels)
	return v
}

// Flatten returns every series by its exposition name, labels sorted:
// `name{a="x",b="y"}`, with a histogram's or summary's count under name_count.
func Flatten(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, mf := range gather(t, g) {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if m.Histogram != nil || m.Summary != nil {
				name += "_count"
			}
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			if len(labels) > 0 {
				sort.Strings(labels)
				name += "{" + strings.Join(labels, ",") + "}"
			}
			out[name] = value(m)
		}
	}
	return out
}

func gather(t testing.TB, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("metricstest: gather: %v", err)
	}
	return mfs
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := make(map[string]string, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}
