package prometheus_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

const (
	rulesFile = "kioskd.rules.yml"
	testsFile = "kioskd.rules.test.yml"
)

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/install-test-deps.sh does)")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestRulesCheck(t *testing.T) { promtool(t, "check", "rules", rulesFile) }

func TestRulesUnitTests(t *testing.T) { promtool(t, "test", "rules", testsFile) }

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Annotations map[string]string `yaml:"annotations"`
			Labels      map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type testFile struct {
	Tests []struct {
		Alerts []struct {
			Name string           `yaml:"alertname"`
			Exp  []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		Exprs []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// Every alert has a case where it fires and one where it does not; every
// recording rule is evaluated; every alert names the terminal, says what
// to do and points at its runbook entry in OPERATIONS.md.
func TestEveryRuleIsTestedAndDocumented(t *testing.T) {
	var rules ruleFile
	var tests testFile
	load(t, rulesFile, &rules)
	load(t, testsFile, &tests)
	firing, quiet, exprs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.Alerts {
			if len(a.Exp) > 0 {
				firing[a.Name] = true
			} else {
				quiet[a.Name] = true
			}
		}
		for _, e := range tc.Exprs {
			exprs[e.Expr] = true
		}
	}
	ops, err := os.ReadFile("../OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				if !exprs[r.Record] {
					t.Errorf("recording rule %s has no promql_expr_test", r.Record)
				}
				continue
			}
			alerts = append(alerts, r.Alert)
			if !firing[r.Alert] {
				t.Errorf("alert %s has no test where it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alert %s has no test where it stays quiet", r.Alert)
			}
			for _, k := range []string{"summary", "description"} {
				if !strings.Contains(r.Annotations[k], "$labels.kiosk_id") {
					t.Errorf("alert %s: the %s does not name the terminal ($labels.kiosk_id)", r.Alert, k)
				}
			}
			anchor := "OPERATIONS.md#" + strings.ToLower(r.Alert)
			if !strings.Contains(r.Annotations["description"], anchor) {
				t.Errorf("alert %s: the description does not point at %s", r.Alert, anchor)
			}
			if !strings.Contains(string(ops), "\n### "+r.Alert+"\n") {
				t.Errorf("alert %s has no runbook entry (### %s) in OPERATIONS.md", r.Alert, r.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
			}
		}
	}
	if len(alerts) < 15 {
		t.Errorf("only %d alerts found in %s: %v", len(alerts), rulesFile, alerts)
	}
}
