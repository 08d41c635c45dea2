package bench_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/bench"
)

// TestClosedReportRendering writes a closed-loop report and a contention
// report into BENCHMARKS.md's generated section and as text: the ratios per
// pair and their median, the machine's autovacuum setting, and the
// contention figures appear, and the text outside the markers is kept.
func TestClosedReportRendering(t *testing.T) {
	t.Parallel()
	run := func(system string, pair int, rps, cpu, bytes float64) bench.ClosedRun {
		r := bench.ClosedRun{System: system, Pair: pair, Connections: 64, RequestsPerS: rps, CPUPerWebhookUS: cpu, BytesPerEvent: bytes,
			Load: &bench.LoadResult{Acked: 100, Sent: 100, Scheduled: 100}, Balanced: true, Drained: true}
		if system == bench.SystemHooklens {
			r.EndToEnd = &bench.EndToEnd{}
		}
		return r
	}
	runs := []bench.ClosedRun{
		run(bench.SystemHooklens, 1, 800, 600, 2000), run(bench.SystemCeiling, 1, 1000, 200, 1000),
		run(bench.SystemHooklens, 2, 900, 500, 1800), run(bench.SystemCeiling, 2, 1000, 250, 1000),
	}
	ratios, med := bench.Ratios(runs)
	closed := &bench.Report{Name: "postgres-closed", Mode: "closed", Kind: bench.Postgres, StartedAt: time.Now(),
		Machine: bench.Machine{Database: "PostgreSQL 15 (autovacuum off, track_counts on)", Autovacuum: "off", TrackCounts: "on"},
		Closed:  &bench.ClosedReport{Requests: 100, Pairs: 2, Levels: []bench.ClosedLevel{{Connections: 64, Runs: runs, Ratios: ratios, Median: med}}},
		Notes:   []string{"closed loop"}}
	cont := &bench.Report{Name: "sqlite-contention", Mode: "contention", Kind: bench.SQLite, Traffic: bench.Traffic{Rate: 200, Duration: time.Second},
		Contention: &bench.ContentionReport{Prefilled: 1000, BurnThreads: 2, ReplayStatus: "running", ReplayDone: 10, ReplayTotal: 1000, RebuildS: 2.5, RebuildFinished: true,
			Load: &bench.LoadResult{Scheduled: 200, Sent: 200, Acked: 200, Ack: bench.Stats{P50: 3, P99: 42.5}}}}

	// The suite's targets read the medians at 64 connections.
	var checked bool
	for _, s := range bench.Scenarios(bench.SuiteOptions{Kinds: []string{bench.Postgres}}) {
		if s.Name != "postgres-closed" {
			continue
		}
		checked = true
		closed.Targets = s.Targets(closed)
		require.Len(t, closed.Targets, 4)
		require.True(t, closed.Targets[0].Met, "0.85 ≥ 0.75")
		require.True(t, closed.Targets[1].Met, "2.5 ≤ 2.5")
		require.False(t, closed.Targets[2].Met, "1.9 > 1.8")
		require.True(t, closed.Targets[3].Met, "every run drained")
	}
	require.True(t, checked, "the suite has a closed-loop scenario per database")

	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	require.NoError(t, os.WriteFile(path, []byte("# Benchmarks\n\nhand-written\n"), 0o644))
	require.NoError(t, bench.UpdateMarkdown(path, []*bench.Report{closed, cont}, "hooklens bench suite"))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	md := string(raw)
	require.Contains(t, md, "hand-written")
	require.Contains(t, md, "autovacuum off, track_counts on")
	require.Contains(t, md, "### Closed loop: hooklens against the ceiling receiver")
	// req/s 0.8 and 0.9 → median 0.85; CPU 3.0 and 2.0 → 2.5; bytes 2.0 and 1.8 → 1.9.
	require.Contains(t, md, "| postgres | 64 | 0.85 (0.80, 0.90) | 2.50 (3.00, 2.00) | 1.90 (2.00, 1.80) |")
	require.Contains(t, md, "### SQLite ingest under contention")
	require.Contains(t, md, "| 200 | 200 | 3.0 | 42.5 |")
	require.NotContains(t, md, "| scenario | db |", "no open-loop table without open-loop reports")

	var text bytes.Buffer
	require.NoError(t, bench.WriteText(&text, closed))
	require.Contains(t, text.String(), "64 connections, hooklens ÷ ceiling (req/s / CPU per webhook / bytes per event): median 0.85 / 2.50 / 1.90")
	text.Reset()
	require.NoError(t, bench.WriteText(&text, cont))
	require.Contains(t, text.String(), "p99 42.5 ms")
}
