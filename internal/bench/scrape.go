package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServerMetrics are the server's own counters at the end of a run, from
// /metrics: how work was batched, which explains much of its cost.
type ServerMetrics struct {
	// IngestCommits is the number of group commits; IngestBatchMean the
	// deliveries per commit.
	IngestCommits   float64 `json:"ingestCommits"`
	IngestBatchMean float64 `json:"ingestBatchMean"`
	// PipelineBatches is the number of processing batches;
	// PipelineBatchMean the events per batch and PipelineBatchMS the mean
	// time one took.
	PipelineBatches   float64 `json:"pipelineBatches"`
	PipelineBatchMean float64 `json:"pipelineBatchMean"`
	PipelineBatchMS   float64 `json:"pipelineBatchMeanMs"`
}

// scrapeMetrics reads the counters from baseURL/metrics.
func scrapeMetrics(ctx context.Context, baseURL string) (*ServerMetrics, error) {
	v, err := readMetrics(ctx, baseURL)
	if err != nil {
		return nil, err
	}
	m := &ServerMetrics{
		IngestCommits:   v["hooklens_ingest_batch_size_count"],
		PipelineBatches: v["hooklens_pipeline_batch_seconds_count"],
	}
	if m.IngestCommits > 0 {
		m.IngestBatchMean = v["hooklens_ingest_batch_size_sum"] / m.IngestCommits
	}
	if m.PipelineBatches > 0 {
		m.PipelineBatchMean = v["hooklens_pipeline_processed_total"] / m.PipelineBatches
		m.PipelineBatchMS = 1000 * v["hooklens_pipeline_batch_seconds_sum"] / m.PipelineBatches
	}
	return m, nil
}

// readMetrics reads every sample of baseURL/metrics, keyed by the sample's
// name with its labels as exposed (e.g. `x_total{kind="retry"}`).
func readMetrics(ctx context.Context, baseURL string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the server's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the server's metrics: HTTP %d", resp.StatusCode)
	}
	v := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64); err == nil {
			v[line[:i]] = f
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the server's metrics: %w", err)
	}
	return v, nil
}

// sumMetric adds every sample of the metric name, whatever its labels.
func sumMetric(v map[string]float64, name string) float64 {
	var sum float64
	for k, f := range v {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += f
		}
	}
	return sum
}

// pipelineBacklog asks hooklens, through its own /metrics, how much of
// what it stored its pipeline has not finished: new events stored minus
// events processed or dead-lettered, and whether the queue gauge and the
// busy workers are at zero. It holds no SQL, so it reads the same whatever
// tables hold the queue.
func pipelineBacklog(ctx context.Context, baseURL string) (backlog float64, idle bool, err error) {
	v, err := readMetrics(ctx, baseURL)
	if err != nil {
		return 0, false, err
	}
	stored := sumMetric(v, "hooklens_events_stored_total")
	done := v["hooklens_pipeline_processed_total"] + v[`hooklens_pipeline_failures_total{kind="dead_letter"}`]
	idle = v["hooklens_queue_depth"] == 0 && v["hooklens_pipeline_workers_busy"] == 0
	return stored - done, idle, nil
}

// waitPipelineDrained polls hooklens' /metrics until every event it stored
// is processed (or dead-lettered) and its queue is empty and no worker is
// busy, or until timeout; it says how long that took. A fresh server's
// counters start at zero, so "every event it stored" is the run's.
func waitPipelineDrained(ctx context.Context, baseURL string, timeout time.Duration) (time.Duration, bool, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		backlog, idle, err := pipelineBacklog(ctx, baseURL)
		if err != nil {
			return time.Since(start), false, err
		}
		if backlog <= 0 && idle {
			return time.Since(start), true, nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), false, nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
