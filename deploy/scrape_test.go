package deploy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
)

// targetLabels are the labels Prometheus attaches to every scraped series.
// With the default honor_labels: false, a series label of the same name is
// renamed exported_<name>, so a rule or panel matching it would see the
// target's value instead.
var targetLabels = []string{model.JobLabel, model.InstanceLabel}

// reservedLabel reports why Prometheus would not keep a metric label as
// hooklens exported it ("" when it would).
func reservedLabel(name string) string {
	switch {
	case strings.HasPrefix(name, model.ReservedLabelPrefix):
		return "labels starting with __ are reserved for Prometheus"
	case name == model.JobLabel || name == model.InstanceLabel:
		return "Prometheus renames it exported_" + name + " on scrape"
	}
	return ""
}

// No metric hooklens registers may carry a label Prometheus reserves or
// rewrites on scrape.
func TestNoReservedLabels(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ch := make(chan *prometheus.Desc, 256)
	go func() { s.App.Metrics.Registry.Describe(ch); close(ch) }()
	desc := regexp.MustCompile(`fqName: "([^"]+)".*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}`)
	checked := 0
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		require.NotNil(t, m, "cannot read %s", d)
		var labels []string
		for _, kv := range strings.Split(m[2], ",") {
			if k, _, ok := strings.Cut(kv, "="); ok {
				labels = append(labels, k)
			}
		}
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				labels = append(labels, l)
			}
		}
		for _, l := range labels {
			require.Empty(t, reservedLabel(l), "%s has a label %q: %s", m[1], l, reservedLabel(l))
		}
		checked++
	}
	require.Greater(t, checked, 20)
}

// scrape fetches url and returns its series as Prometheus stores them:
// the exposition parsed, histograms and summaries left out, target labels
// attached and colliding series labels renamed exported_*.
func scrape(t *testing.T, target, job string) []model.Metric {
	t.Helper()
	resp, err := http.Get(target)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	require.NoError(t, err)
	u, err := url.Parse(target)
	require.NoError(t, err)
	targetValues := map[string]string{model.JobLabel: job, model.InstanceLabel: u.Host}
	var out []model.Metric
	for name, f := range families {
		if f.GetType() != dto.MetricType_COUNTER && f.GetType() != dto.MetricType_GAUGE {
			continue
		}
		for _, m := range f.Metric {
			series := model.Metric{model.MetricNameLabel: model.LabelValue(name)}
			for _, lp := range m.Label {
				series[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
			}
			for _, l := range targetLabels {
				if v, clash := series[model.LabelName(l)]; clash {
					series["exported_"+model.LabelName(l)] = v
				}
				series[model.LabelName(l)] = model.LabelValue(targetValues[l])
			}
			out = append(out, series)
		}
	}
	return out
}

// seriesSelector writes m as a promtool input series.
func seriesSelector(m model.Metric) string {
	names := make([]string, 0, len(m))
	for k := range m {
		if k != model.MetricNameLabel {
			names = append(names, string(k))
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(string(m[model.MetricNameLabel]) + "{")
	for i, k := range names {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", k, string(m[model.LabelName(k)]))
	}
	b.WriteString("}")
	return b.String()
}

// The scheduler alerts, evaluated by promtool over series taken from a real
// scrape of a running hooklens (not hand-written input): a job that stops
// succeeding must be reported overdue, and one that only fails must be
// reported failing, each under the job's own name.
func TestRulesAgainstScrapedSeries(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (apt-get install prometheus)")
		}
		t.Skip("promtool is not on PATH")
	}
	s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) {
		c.StuckSweep = "1s" // so the scheduler exports its series within a second
	}})

	// Wait (bounded) for the stuck sweep to have run once.
	var last, runs model.Metric
	deadline := time.Now().Add(15 * time.Second)
	for last == nil || runs == nil {
		require.True(t, time.Now().Before(deadline), "the scheduled job's series never appeared in /metrics")
		time.Sleep(200 * time.Millisecond)
		for _, m := range scrape(t, s.URL+"/metrics", "hooklens") {
			named := false
			for _, v := range m {
				named = named || v == "stuck-journeys"
			}
			switch {
			case !named:
			case m[model.MetricNameLabel] == "hooklens_scheduled_job_last_success_timestamp_seconds":
				last = m
			case m[model.MetricNameLabel] == "hooklens_scheduled_job_runs_total" && m["result"] == "ok":
				runs = m
			}
		}
	}
	failed := runs.Clone()
	failed["result"] = "error"

	rules, err := filepath.Abs(rulesPath)
	require.NoError(t, err)
	const runbook = "https://github.com/hooklens/hooklens/blob/main/docs/alerts.md#prometheus-alerts"
	test := fmt.Sprintf(`rule_files: [%q]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '%s'
        values: '0x40'
      - series: '%s'
        values: '0x40'
      - series: '%s'
        values: '0+1x40'
    alert_rule_test:
      - eval_time: 27m
        alertname: HooklensScheduledJobOverdue
        exp_alerts:
          - exp_labels: {severity: warning, job_name: stuck-journeys}
            exp_annotations:
              summary: "Scheduled job stuck-journeys last succeeded 27m 0s ago"
              description: "The job fails, or no instance runs the scheduler (on PostgreSQL one instance holds the leader lock). The log of the leader says which."
              runbook_url: %s
      - eval_time: 40m
        alertname: HooklensScheduledJobFailing
        exp_alerts:
          - exp_labels: {severity: warning, job_name: stuck-journeys}
            exp_annotations:
              summary: "Scheduled job stuck-journeys fails and has not succeeded for 30 minutes"
              description: "Every run of stuck-journeys in the last 30 minutes failed. The leader's log has the error (\"scheduled job failed\")."
              runbook_url: %s
`, rules, seriesSelector(last), seriesSelector(runs), seriesSelector(failed), runbook, runbook)
	path := filepath.Join(t.TempDir(), "scraped_test.yml")
	require.NoError(t, os.WriteFile(path, []byte(test), 0o600))
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	require.NoError(t, err, "promtool over scraped series %s, %s:\n%s", seriesSelector(last), seriesSelector(runs), out)
}
