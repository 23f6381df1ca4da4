package deploy

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	dashboardsDir = "grafana/dashboards"
	rulesFile     = "prometheus/rules.yaml"
)

// codeDirs hold the Go source whose metric registrations count.
var codeDirs = []string{"../pkg", "../services"}

// dashboard is the part of a Grafana dashboard the tests read; the rest of
// the JSON is Grafana's business.
type dashboard struct {
	ID         *int    `json:"id"`
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // inside collapsed rows
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardsDir, err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

func walkPanels(ps []panel, fn func(panel)) {
	for _, p := range ps {
		fn(p)
		walkPanels(p.Panels, fn)
	}
}

// Dashboards are code: a stable uid, "id": null, a datasource variable that
// every panel and query uses, and the dashboards the operators need.
func TestDashboards(t *testing.T) {
	t.Parallel()
	ds := loadDashboards(t)
	uids := map[string]string{}
	for file, d := range ds {
		if d.ID != nil {
			t.Errorf("%s: id is %d, want null (Grafana assigns it)", file, *d.ID)
		}
		if !regexp.MustCompile(`^admsync-[a-z0-9-]+$`).MatchString(d.UID) || len(d.UID) > 40 {
			t.Errorf("%s: uid %q, want a stable admsync-<name> of at most 40 characters", file, d.UID)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", file, other, d.UID)
		}
		uids[d.UID] = file
		if d.Title == "" {
			t.Errorf("%s: no title", file)
		}
		hasDS := false
		for _, v := range d.Templating.List {
			if v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"` {
				hasDS = true
			}
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
				t.Errorf("%s: variable %s does not query ${datasource}", file, v.Name)
			}
		}
		if !hasDS {
			t.Errorf("%s: no `datasource` variable of type datasource (prometheus)", file)
		}
		ids := map[int]bool{}
		queries := 0
		walkPanels(d.Panels, func(p panel) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", file, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				return
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel %q does not use ${datasource}", file, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			for _, q := range p.Targets {
				queries++
				if strings.TrimSpace(q.Expr) == "" {
					t.Errorf("%s: panel %q query %s is empty", file, p.Title, q.RefID)
				}
				if q.Datasource != nil && q.Datasource.UID != "${datasource}" {
					t.Errorf("%s: panel %q query %s pins data source %q", file, p.Title, q.RefID, q.Datasource.UID)
				}
				if err := balanced(q.Expr); err != nil {
					t.Errorf("%s: panel %q: %v in %s", file, p.Title, err, q.Expr)
				}
			}
		})
		if queries == 0 {
			t.Errorf("%s: no queries", file)
		}
	}
	// The topics issue 7 asks for, each on some dashboard.
	all := map[string]bool{}
	for _, d := range ds {
		for _, e := range dashboardExprs(d) {
			for _, m := range metricNames(e) {
				all[m] = true
				for _, suf := range histogramSuffixes {
					all[strings.TrimSuffix(m, suf)] = true
				}
			}
		}
	}
	for topic, metric := range map[string]string{
		"sync runs":            "admsync_sync_runs_total",
		"sync discrepancies":   "admsync_sync_unmatched",
		"import throughput":    "admsync_import_rows_total",
		"admwriter throughput": "admsync_admwriter_events_total",
		"admwriter latency":    "admsync_admwriter_event_duration_seconds",
		"admwriter breaker":    "admsync_admwriter_breaker_state",
		"DLQ":                  "admsync_dlq_messages",
		"Administrate calls":   "admsync_administrate_requests_total",
		"Administrate latency": "admsync_administrate_request_duration_seconds",
		"outbox lag":           "admsync_outbox_lag_seconds",
		"consumer pending":     "admsync_consumer_pending",
	} {
		if !all[metric] {
			t.Errorf("no dashboard shows %s (%s)", topic, metric)
		}
	}
}

// balanced catches the commonest PromQL slip: an unclosed bracket.
func balanced(expr string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inStr := false
	for _, r := range expr {
		switch {
		case r == '"':
			inStr = !inStr
		case inStr:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return fmt.Errorf("unbalanced %q", r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 || inStr {
		return fmt.Errorf("unclosed %q", stack)
	}
	return nil
}

func dashboardExprs(d dashboard) []string {
	var out []string
	walkPanels(d.Panels, func(p panel) {
		for _, q := range p.Targets {
			out = append(out, q.Expr)
		}
	})
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, v.Definition)
			var q struct {
				Query string `json:"query"`
			}
			if json.Unmarshal(v.Query, &q) == nil {
				out = append(out, q.Query)
			}
		}
	}
	return out
}

func loadRules(t *testing.T) *prometheusRuleObject {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := decodeStrict(b)
	if err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	pr, ok := obj.(*prometheusRuleObject)
	if !ok {
		t.Fatalf("%s is a %T, want a PrometheusRule", rulesFile, obj)
	}
	return pr
}

// The alerts issue 7 asks for exist, each with a severity, a summary, a
// description and a runbook link into docs/operations.md.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	pr := loadRules(t)
	byMetric := map[string][]string{}
	names := map[string]bool{}
	for _, g := range pr.Spec.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("empty or unnamed group %q", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if names[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			names[r.Alert] = true
			if err := balanced(r.Expr); err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
			if r.For == "" {
				t.Errorf("%s: no `for` (a single scrape would page)", r.Alert)
			}
			if r.Labels["severity"] == "" {
				t.Errorf("%s: no severity label", r.Alert)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if !regexp.MustCompile(`^docs/operations\.md#[a-z0-9-]+$`).MatchString(r.Annotations["runbook_url"]) {
				t.Errorf("%s: runbook_url %q, want docs/operations.md#<section>", r.Alert, r.Annotations["runbook_url"])
			}
			for _, m := range metricNames(r.Expr) {
				byMetric[m] = append(byMetric[m], r.Alert)
			}
		}
	}
	for topic, metric := range map[string]string{
		"DLQ not empty":             "admsync_dlq_messages",
		"breaker open":              "admsync_admwriter_breaker_state",
		"outbox lag":                "admsync_outbox_lag_seconds",
		"last successful sync":      "admsync_sync_last_success_timestamp_seconds",
		"consumer pending growing":  "admsync_consumer_pending",
		"Administrate 429 throttle": "admsync_administrate_requests_total",
	} {
		if len(byMetric[metric]) == 0 {
			t.Errorf("no alert on %s (%s)", topic, metric)
		}
	}
}

// The base ships every dashboard as a ConfigMap for the Grafana sidecar and
// the alert rules as a PrometheusRule, unchanged.
func TestMonitoringIsDeployed(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	files, _ := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, o := range r.all("ConfigMap") {
			cm := o.obj.(*corev1.ConfigMap)
			if got, ok := cm.Data[filepath.Base(f)]; ok {
				found = true
				if cm.Labels["grafana_dashboard"] != "1" {
					t.Errorf("ConfigMap %s (%s) lacks the grafana_dashboard: \"1\" label", o.name, filepath.Base(f))
				}
				if got != string(want) {
					t.Errorf("ConfigMap %s differs from %s", o.name, f)
				}
			}
		}
		if !found {
			t.Errorf("%s is in no ConfigMap; add it to grafana/kustomization.yaml", f)
		}
	}
	rendered := r.get(t, "PrometheusRule", "admsync").(*prometheusRuleObject)
	if !slices.EqualFunc(rendered.Spec.Groups, loadRules(t).Spec.Groups, func(a, b ruleGroup) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return string(x) == string(y)
	}) {
		t.Error("the rendered PrometheusRule differs from prometheus/rules.yaml")
	}
	// The provisioning file is valid YAML with a file provider.
	b, err := os.ReadFile("grafana/provisioning/dashboards/admsync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.Unmarshal(b, &prov); err != nil || prov.APIVersion != 1 || len(prov.Providers) != 1 ||
		prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("grafana provisioning: %+v (%v)", prov, err)
	}
}

// metricRef matches the metric names checked against the code. Label
// values are quoted and never start a match; range and offset durations
// do not carry these prefixes.
var metricRef = regexp.MustCompile(`\b(?:admsync|go|process)_[a-zA-Z0-9_:]*[a-zA-Z0-9]`)

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// metricNames extracts the admsync_, go_ and process_ metric names of a
// PromQL expression (label values in quotes are skipped).
func metricNames(expr string) []string {
	expr = quoted.ReplaceAllString(expr, `""`)
	seen := map[string]bool{}
	var out []string
	for _, m := range metricRef.FindAllString(expr, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// histogramSuffixes are the series a histogram exposes besides its name.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// missingMetrics returns the names used in exprs that the code does not
// register; a histogram's _bucket/_sum/_count series count as its name.
func missingMetrics(exprs []string, registered map[string]bool) []string {
	missing := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricNames(e) {
			if registered[m] {
				continue
			}
			base := m
			for _, s := range histogramSuffixes {
				if b, ok := strings.CutSuffix(m, s); ok {
					base = b
				}
			}
			if !registered[base] {
				missing[base] = true
			}
		}
	}
	out := make([]string, 0, len(missing))
	for m := range missing {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

var (
	registeredOnce sync.Once
	registered     map[string]bool
	registeredErr  error
)

// registeredMetrics collects the metric names the services register: every
// admsync_ name written as a Go string literal (Name: "admsync_x", or a
// variable holding it) or assembled from prometheus Opts{Namespace,
// Subsystem, Name} string constants, in non-test Go files under ../pkg and
// ../services; plus the go_ and process_ series of client_golang's Go and
// process collectors when the code registers them.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	registeredOnce.Do(func() { registered, registeredErr = scanMetrics(codeDirs) })
	if registeredErr != nil {
		t.Fatal(registeredErr)
	}
	return registered
}

var metricLiteral = regexp.MustCompile(`^(?:admsync|go|process)_[a-zA-Z0-9_:]*[a-zA-Z0-9]$`)

func scanMetrics(dirs []string) (map[string]bool, error) {
	names := map[string]bool{}
	goCollector, processCollector := false, false
	fset := token.NewFileSet()
	for _, root := range dirs {
		pkgs := map[string][]*ast.File{}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") && path != root {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, files := range pkgs {
			consts := stringConsts(files)
			for _, f := range files {
				ast.Inspect(f, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.BasicLit:
						if v, ok := stringLit(n); ok && metricLiteral.MatchString(v) {
							names[v] = true
						}
					case *ast.CompositeLit:
						if fq := fqName(n, consts); fq != "" {
							names[fq] = true
						}
					case *ast.SelectorExpr:
						if x, ok := n.X.(*ast.Ident); ok && x.Name == "collectors" {
							switch n.Sel.Name {
							case "NewGoCollector":
								goCollector = true
							case "NewProcessCollector":
								processCollector = true
							}
						}
					}
					return true
				})
			}
		}
	}
	if goCollector || processCollector {
		reg := prometheus.NewRegistry()
		if goCollector {
			reg.MustRegister(collectors.NewGoCollector())
		}
		if processCollector {
			reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		}
		mfs, err := reg.Gather()
		if err != nil {
			return nil, err
		}
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
	}
	return names, nil
}

func stringLit(n ast.Expr) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// stringConsts maps the package's string constants to their values.
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							out[name.Name] = v
						}
					}
				}
			}
		}
	}
	return out
}

// fqName assembles the name of a prometheus.*Opts literal written as
// Namespace/Subsystem/Name parts (prometheus.BuildFQName's rule).
func fqName(cl *ast.CompositeLit, consts map[string]string) string {
	parts := map[string]string{}
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok || key.Name != "Namespace" && key.Name != "Subsystem" && key.Name != "Name" {
			continue
		}
		if v, ok := stringLit(kv.Value); ok {
			parts[key.Name] = v
		} else if id, ok := kv.Value.(*ast.Ident); ok {
			if v, ok := consts[id.Name]; ok {
				parts[key.Name] = v
			}
		}
	}
	if parts["Name"] == "" || parts["Namespace"] == "" && parts["Subsystem"] == "" {
		return ""
	}
	fq := prometheus.BuildFQName(parts["Namespace"], parts["Subsystem"], parts["Name"])
	if !metricLiteral.MatchString(fq) {
		return ""
	}
	return fq
}

// The extraction and the check catch what they must: histogram series map
// to the histogram, label values are not names, and a made-up name fails.
func TestMetricCheckCatchesUnknownNames(t *testing.T) {
	t.Parallel()
	reg := map[string]bool{
		"admsync_outbox_lag_seconds":          true,
		"admsync_handler_duration_seconds":    true,
		"admsync_messages_handled_total":      true,
		"go_goroutines":                       true,
		"process_resident_memory_bytes":       true,
		"admsync_sync_runs_total":             true,
		"admsync_administrate_requests_total": true,
	}
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`max(admsync_outbox_lag_seconds{namespace=~"$namespace"}) > 300`, nil},
		{`histogram_quantile(0.95, sum by (le) (rate(admsync_handler_duration_seconds_bucket[5m])))`, nil},
		{`sum(rate(admsync_handler_duration_seconds_sum[5m])) / sum(rate(admsync_handler_duration_seconds_count[5m]))`, nil},
		{`sum by (outcome) (rate(admsync_messages_handled_total{consumer="admsync_not_a_metric"}[5m]))`, nil},
		{`go_goroutines + process_resident_memory_bytes`, nil},
		{`max(admsync_made_up_total)`, []string{"admsync_made_up_total"}},
		{`rate(admsync_made_up_seconds_bucket[5m])`, []string{"admsync_made_up_seconds"}},
		{`go_made_up_thing and process_made_up`, []string{"go_made_up_thing", "process_made_up"}},
		{`increase(admsync_sync_runs_totl[1h])`, []string{"admsync_sync_runs_totl"}},
		{`sum(rate(admsync_administrate_requests_total{status="429"}[5m])) / sum(rate(admsync_administrate_request_total[5m]))`, []string{"admsync_administrate_request_total"}},
	} {
		got := missingMetrics([]string{c.expr}, reg)
		if !slices.Equal(got, c.want) {
			t.Errorf("missingMetrics(%s) = %q, want %q", c.expr, got, c.want)
		}
	}

	// The source scan itself: a registration in each style is found, a
	// name only in a test file or a comment is not.
	dir := t.TempDir()
	src := map[string]string{
		"m.go": `package m
import "github.com/prometheus/client_golang/prometheus"
const ns = "admsync"
var a = prometheus.NewCounter(prometheus.CounterOpts{Name: "admsync_literal_total"})
var b = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: "outbox", Name: "parts_seconds"})
// admsync_in_a_comment_total
`,
		"m_test.go": `package m
var c = "admsync_only_in_tests_total"
`,
	}
	for name, body := range src {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, err := scanMetrics([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"admsync_literal_total":        true,
		"admsync_outbox_parts_seconds": true,
		"admsync_in_a_comment_total":   false,
		"admsync_only_in_tests_total":  false,
		"go_goroutines":                false, // no Go collector registered here
	} {
		if names[name] != want {
			t.Errorf("scan found %s: %v, want %v", name, names[name], want)
		}
	}
}

// Every metric the dashboards and the alert rules use is registered by the
// services. A name used before its registration lands fails here, listed.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	t.Parallel()
	var exprs []string
	for _, d := range loadDashboards(t) {
		exprs = append(exprs, dashboardExprs(d)...)
	}
	for _, g := range loadRules(t).Spec.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	used := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricNames(e) {
			used[m] = true
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the dashboards and rules; extraction broken?", len(used))
	}
	reg := registeredMetrics(t)
	if !reg["admsync_build_info"] || !reg["go_goroutines"] {
		t.Fatalf("the scan of %v found neither admsync_build_info nor go_goroutines; scan broken?", codeDirs)
	}
	if missing := missingMetrics(exprs, reg); len(missing) > 0 {
		t.Errorf("used in deploy/grafana or deploy/prometheus but registered nowhere under %v:\n  %s",
			codeDirs, strings.Join(missing, "\n  "))
	}
}

// The runbook links of the alerts point at sections that exist in
// docs/operations.md (GitHub's heading anchors).
func TestRunbookAnchorsExist(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatalf("the alerts link to docs/operations.md: %v", err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[headingAnchor(strings.TrimLeft(h, "#"))] = true
		}
	}
	for _, g := range loadRules(t).Spec.Groups {
		for _, r := range g.Rules {
			_, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if !anchors[anchor] {
				t.Errorf("%s: docs/operations.md has no section #%s", r.Alert, anchor)
			}
		}
	}
}

// headingAnchor is GitHub's anchor of a Markdown heading: lower case,
// punctuation dropped, spaces to hyphens.
func headingAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}
