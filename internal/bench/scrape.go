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
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			v[name] = f
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the server's metrics: %w", err)
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
