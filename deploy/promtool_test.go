package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const rulesTestFile = "prometheus/rules_test.yaml"

// promtoolTests is the part of a promtool test file this test reads.
type promtoolTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestAlertRulesWithPromtool runs `promtool check rules` on the rule groups
// of the PrometheusRule and `promtool test rules` on prometheus/rules_test.yaml,
// and requires a case in which each alert fires. The unit tests compare
// labels only: the annotations are stripped before promtool runs them
// (their templates are checked by `promtool check rules`, their content by
// TestAlertRules). Without promtool the test fails under CI (CI=true) and
// is skipped, loudly, elsewhere: `make test` installs it (Debian's
// prometheus package).
func TestAlertRulesWithPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed, so the alert rules are untested: `make promtool` (apt-get install prometheus)")
		}
		t.Skip("SKIPPED: promtool is not installed; `make promtool` installs it (the alert rule unit tests did not run)")
	}
	pr := loadRules(t)
	dir := t.TempDir()
	groups := func(annotations bool) []byte {
		var gs []map[string]any
		for _, g := range pr.Spec.Groups {
			var rules []map[string]any
			for _, r := range g.Rules {
				m := map[string]any{"expr": r.Expr}
				for k, v := range map[string]string{"alert": r.Alert, "record": r.Record, "for": r.For} {
					if v != "" {
						m[k] = v
					}
				}
				if len(r.Labels) > 0 {
					m["labels"] = r.Labels
				}
				if annotations && len(r.Annotations) > 0 {
					m["annotations"] = r.Annotations
				}
				rules = append(rules, m)
			}
			gm := map[string]any{"name": g.Name, "rules": rules}
			if g.Interval != "" {
				gm["interval"] = g.Interval
			}
			gs = append(gs, gm)
		}
		b, err := yaml.Marshal(map[string]any{"groups": gs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("rules.full.yaml", groups(true))
	write("rules.plain.yaml", groups(false))
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", full)

	b, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var tests promtoolTests
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatalf("%s: %v", rulesTestFile, err)
	}
	if len(tests.RuleFiles) != 1 || tests.RuleFiles[0] != "rules.plain.yaml" {
		t.Fatalf("%s: rule_files %q, want [rules.plain.yaml] (written by this test)", rulesTestFile, tests.RuleFiles)
	}
	write("rules_test.yaml", b)
	run("test", "rules", "rules_test.yaml")

	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !fires[r.Alert] {
				t.Errorf("alert %s has no promtool case in %s in which it fires", r.Alert, rulesTestFile)
			}
		}
	}
}
