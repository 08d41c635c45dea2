// Package deploy_test keeps the monitoring deliverables honest: every
// metric the Prometheus rules (prometheus/alerts.yml) and the Grafana
// dashboard (grafana/hooklens.json) name must exist in a real hooklens
// server, the rules must have the fields Prometheus requires, and the
// dashboard must import with a ${DS_PROMETHEUS} data source. With promtool
// on PATH the rules also go through `promtool check rules` and the unit
// tests in prometheus/alerts_test.yml.
package deploy_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/pipeline"
)

const (
	rulesPath     = "prometheus/alerts.yml"
	rulesTestPath = "prometheus/alerts_test.yml"
	dashboardPath = "grafana/hooklens.json"
)

// registered returns the names of every metric a running hooklens
// registers. Describe, not Gather: vectors without label values yet are
// described but not gathered.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	reg := s.App.Metrics.Registry
	// The alert service registers its metrics on the server's registry once
	// the server builds it; do what the server does (a no-op if it did).
	_, err := alert.New(s.App.DB, noFacts{}, plainSealer{}, s.App.Hub, slog.New(slog.DiscardHandler),
		alert.Options{Registerer: reg})
	require.NoError(t, err)

	ch := make(chan *prometheus.Desc, 256)
	go func() { reg.Describe(ch); close(ch) }()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		m := fq.FindStringSubmatch(d.String())
		require.NotNil(t, m, "cannot read a metric name from %s", d)
		names[m[1]] = true
	}
	require.True(t, names["hooklens_webhook_deliveries_total"], "the registry looks empty: %v", names)
	return names
}

type noFacts struct{}

func (noFacts) PipelineStatus(context.Context) (pipeline.Status, error) {
	return pipeline.Status{}, nil
}
func (noFacts) Subscription(context.Context) (alert.SubscriptionState, error) {
	return alert.SubscriptionState{}, nil
}

type plainSealer struct{}

func (plainSealer) Seal(p []byte) (string, []byte, error)   { return "identity", p, nil }
func (plainSealer) Open(_ string, s []byte) ([]byte, error) { return s, nil }

// metricRef finds metric names in PromQL. Only hooklens', Go's and the
// process's are checked; up and ALERTS come from Prometheus itself.
var metricRef = regexp.MustCompile(`\b(?:hooklens|go|process)_[a-zA-Z0-9_]*[a-zA-Z0-9]\b`)

// missing returns the metrics expr names that the registry lacks; a
// histogram's _bucket, _sum and _count series count as the histogram.
func missing(expr string, names map[string]bool) []string {
	var out []string
	for _, ref := range metricRef.FindAllString(expr, -1) {
		if names[ref] {
			continue
		}
		base := ref
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !names[base] {
			out = append(out, ref)
		}
	}
	return out
}

// The Prometheus rule file, as rulefmt reads it.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Limit    int    `yaml:"limit"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func TestMonitoringDeliverables(t *testing.T) {
	t.Parallel()
	names := registered(t)
	used := map[string]bool{}

	t.Run("alerts.yml", func(t *testing.T) {
		raw, err := os.ReadFile(rulesPath)
		require.NoError(t, err)
		var f ruleFile
		// Strict, like Prometheus: an unknown (misspelt) field is an error.
		require.NoError(t, yaml.UnmarshalWithOptions(raw, &f, yaml.Strict()))
		require.NotEmpty(t, f.Groups)
		groups, alerts := map[string]bool{}, map[string]bool{}
		for _, g := range f.Groups {
			require.NotEmpty(t, g.Name, "a group needs a name")
			require.False(t, groups[g.Name], "group %q appears twice", g.Name)
			groups[g.Name] = true
			require.NotEmpty(t, g.Rules, "group %s has no rules", g.Name)
			if g.Interval != "" {
				_, err := model.ParseDuration(g.Interval)
				require.NoError(t, err, "group %s interval", g.Name)
			}
			for _, r := range g.Rules {
				require.NotEmpty(t, r.Alert, "group %s: every rule here is an alert", g.Name)
				require.Empty(t, r.Record, "%s: a rule is an alert or a recording, not both", r.Alert)
				require.Regexp(t, `^Hooklens[A-Za-z0-9]+$`, r.Alert)
				require.False(t, alerts[r.Alert], "alert %s appears twice", r.Alert)
				alerts[r.Alert] = true
				require.NotEmpty(t, strings.TrimSpace(r.Expr), "%s has no expr", r.Alert)
				for _, d := range []string{r.For, r.KeepFiringFor} {
					if d != "" {
						_, err := model.ParseDuration(d)
						require.NoError(t, err, "%s: %q is not a Prometheus duration", r.Alert, d)
					}
				}
				for k := range r.Labels {
					require.True(t, model.LabelName(k).IsValid(), "%s: label %q", r.Alert, k)
				}
				for k := range r.Annotations {
					require.True(t, model.LabelName(k).IsValid(), "%s: annotation %q", r.Alert, k)
				}
				require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s: severity", r.Alert)
				require.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
				require.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
				require.Equal(t, strings.Count(r.Expr, "("), strings.Count(r.Expr, ")"), "%s: parentheses", r.Alert)
				require.Empty(t, missing(r.Expr, names), "%s names metrics hooklens does not export", r.Alert)
				for _, m := range metricRef.FindAllString(r.Expr, -1) {
					used[m] = true
				}
			}
		}
		t.Logf("%d alerts in %d groups", len(alerts), len(groups))
	})

	t.Run("hooklens.json", func(t *testing.T) {
		raw, err := os.ReadFile(dashboardPath)
		require.NoError(t, err)
		var d struct {
			Panels     []map[string]any `json:"panels"`
			Templating struct {
				List []map[string]any `json:"list"`
			} `json:"templating"`
			Annotations struct {
				List []map[string]any `json:"list"`
			} `json:"annotations"`
		}
		require.NoError(t, json.Unmarshal(raw, &d))
		var generic map[string]any
		require.NoError(t, json.Unmarshal(raw, &generic))
		inputs, _ := generic["__inputs"].([]any)
		require.Len(t, inputs, 1, "one input: the Prometheus data source")
		in := inputs[0].(map[string]any)
		require.Equal(t, "DS_PROMETHEUS", in["name"])
		require.Equal(t, "datasource", in["type"])
		require.Equal(t, "prometheus", in["pluginId"])
		require.Equal(t, "hooklens-overview", generic["uid"])
		require.NotEmpty(t, generic["title"])
		require.Nil(t, generic["id"], "an exported dashboard has no id")

		requireDS := func(where string, v any) {
			ds, ok := v.(map[string]any)
			require.True(t, ok, "%s has no data source", where)
			require.Equal(t, "${DS_PROMETHEUS}", ds["uid"], "%s", where)
		}
		ids := map[float64]bool{}
		occupied := map[[2]int]string{}
		for _, p := range d.Panels {
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			require.NotZero(t, id, "panel %q has no id", title)
			require.False(t, ids[id], "panel id %v repeats", id)
			ids[id] = true
			g := p["gridPos"].(map[string]any)
			x, y, w, h := int(g["x"].(float64)), int(g["y"].(float64)), int(g["w"].(float64)), int(g["h"].(float64))
			require.True(t, w > 0 && h > 0 && x >= 0 && x+w <= 24, "panel %q gridPos %v", title, g)
			for cx := x; cx < x+w; cx++ {
				for cy := y; cy < y+h; cy++ {
					other, taken := occupied[[2]int{cx, cy}]
					require.False(t, taken, "panels %q and %q overlap", title, other)
					occupied[[2]int{cx, cy}] = title
				}
			}
			if p["type"] == "row" {
				continue
			}
			requireDS("panel "+title, p["datasource"])
			targets, _ := p["targets"].([]any)
			require.NotEmpty(t, targets, "panel %q has no query", title)
			for _, tg := range targets {
				tm := tg.(map[string]any)
				requireDS("a query of "+title, tm["datasource"])
				expr, _ := tm["expr"].(string)
				require.NotEmpty(t, expr, "panel %q", title)
				require.Empty(t, missing(expr, names), "panel %q names metrics hooklens does not export", title)
				for _, m := range metricRef.FindAllString(expr, -1) {
					used[m] = true
				}
			}
		}
		for _, v := range d.Templating.List {
			requireDS("variable "+v["name"].(string), v["datasource"])
			require.Empty(t, missing(v["definition"].(string), names), "variable %s", v["name"])
		}
		for _, a := range d.Annotations.List {
			if expr, ok := a["expr"].(string); ok {
				requireDS("annotation "+a["name"].(string), a["datasource"])
				require.Empty(t, missing(expr, names))
			}
		}
	})

	// Not a failure (others add metrics all the time), but worth seeing.
	var unused []string
	for n := range names {
		base := n
		if strings.HasPrefix(n, "hooklens_") && !used[base] && !used[base+"_bucket"] {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Logf("hooklens metrics neither the rules nor the dashboard use: %s", strings.Join(unused, ", "))
	}
}

// promtool, when installed, parses every PromQL expression and template
// and runs the rules' unit tests.
func TestPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		dbtest.SkipMissing(t, "promtool is not on PATH (apt-get install prometheus); the PromQL is only checked by TestMonitoringDeliverables")
	}
	for _, args := range [][]string{{"check", "rules", rulesPath}, {"test", "rules", rulesTestPath}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
		require.True(t, slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool { return strings.Contains(l, "SUCCESS") }),
			"promtool %s:\n%s", strings.Join(args, " "), out)
	}
}
