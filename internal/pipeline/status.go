package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Status describes the pipeline across the cluster (counts come from the
// database) and on this instance (breaker, workers).
type Status struct {
	Breaker      string
	QueueDepth   int
	Processing   int
	DeadLettered int
	OldestQueued *time.Time
	OldestAge    time.Duration
	WorkersBusy  int
	Workers      int
	InPerSecond  float64 // events stored per second over the last minute
	OutPerSecond float64 // events processed per second over the last minute
	MeasuredAt   time.Time
}

// statusTTL bounds how often Status queries the database: dashboards and
// scrapes may ask many times a second.
const statusTTL = time.Second

// Status returns the current status, at most statusTTL old.
func (p *Pipeline) Status(ctx context.Context) (Status, error) {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	if p.status != nil && time.Since(p.statusAt) < statusTTL {
		s := *p.status
		s.Breaker, s.WorkersBusy = p.BreakerState(), int(p.busy.Load())
		return s, p.statusErr
	}
	s, err := p.readStatus(ctx)
	p.status, p.statusAt, p.statusErr = &s, time.Now(), err
	return s, err
}

func (p *Pipeline) readStatus(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	now := p.opts.Now().UTC()
	s := Status{Breaker: p.BreakerState(), WorkersBusy: int(p.busy.Load()), Workers: p.workerCount, MeasuredAt: now}
	minuteAgo := now.Add(-time.Minute)
	row := p.db.Read.QueryRowContext(ctx, p.db.Rebind(`SELECT
		(SELECT COUNT(*) FROM webhook_events WHERE processing_state = 'queued'),
		(SELECT COUNT(*) FROM webhook_events WHERE processing_state = 'processing'),
		(SELECT COUNT(*) FROM webhook_events WHERE processing_state = 'failed'),
		(SELECT MIN(received_at) FROM webhook_events WHERE processing_state = 'queued'),
		(SELECT COUNT(*) FROM webhook_events WHERE received_at >= ?),
		(SELECT COUNT(*) FROM webhook_events WHERE processed_at >= ?)`), minuteAgo, minuteAgo)
	var oldest any
	var in, out int
	if err := row.Scan(&s.QueueDepth, &s.Processing, &s.DeadLettered, &oldest, &in, &out); err != nil {
		return s, fmt.Errorf("reading pipeline status: %w", err)
	}
	if t, err := store.ScanTime(oldest); err == nil && !t.IsZero() {
		s.OldestQueued = &t
		s.OldestAge = max(now.Sub(t), 0) // committed after now was read: it has not waited
	}
	s.InPerSecond = float64(in) / 60
	s.OutPerSecond = float64(out) / 60
	return s, nil
}

// QueueGauges implements metrics.StatusSource.
func (p *Pipeline) QueueGauges() (depth, oldestSeconds, deadLettered float64) {
	s, err := p.Status(context.Background())
	if err != nil {
		return -1, -1, -1
	}
	return float64(s.QueueDepth), s.OldestAge.Seconds(), float64(s.DeadLettered)
}
