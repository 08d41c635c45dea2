package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Status describes the pipeline across the cluster (counts come from the
// database) and on this instance (breaker, workers).
type Status struct {
	Breaker    string
	QueueDepth int
	// Processing counts the events this instance's workers hold in open
	// transactions (processing is never stored, see internal/store).
	Processing   int
	DeadLettered int
	OldestQueued *time.Time
	OldestAge    time.Duration
	WorkersBusy  int
	Workers      int
	InPerSecond  float64 // events stored per second over the last minute
	OutPerSecond float64 // events received over the last minute and processed since, per second
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
	d, err := p.db.QueueDepth(ctx)
	if err != nil {
		return s, fmt.Errorf("reading pipeline status: %w", err)
	}
	s.QueueDepth, s.DeadLettered = d.Queued, d.Failed
	if !d.OldestQueued.IsZero() {
		t := d.OldestQueued
		s.OldestQueued = &t
		s.OldestAge = max(0, now.Sub(t))
	}
	s.Processing = int(p.inFlight.Load())
	in, out, err := p.db.RecentFlow(ctx, now.Add(-time.Minute))
	if err != nil {
		return s, fmt.Errorf("reading pipeline status: %w", err)
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
