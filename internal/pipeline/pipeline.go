// Package pipeline processes stored events asynchronously. Each event has a
// narrow queue entry (internal/store's event_queue); a worker claims due
// entries in batches and, in the same transaction, runs the stages
// (journeys), adds to the rollups and marks the entries processed. The
// event row itself is never rewritten. On PostgreSQL the claim is FOR
// UPDATE SKIP LOCKED, so the row locks are the lease: other instances skip
// the events, and a crashed worker's events are free again as soon as its
// connection ends. A failure retries with exponential backoff and jitter;
// after the last attempt the event is dead-lettered (state failed). A
// circuit breaker pauses the workers while the database is unavailable;
// the receiver keeps storing meanwhile.
//
// The pipeline must never process one event in two places at once (the
// claim's locks, or SQLite's single writer, make sure of it), and never
// count an event twice in the rollups (a replayed event is re-processed
// but not re-counted).
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

// Event is what a stage sees of a claimed event.
type Event = store.QueuedEvent

// Stage is per-batch work done inside the processing transaction.
type Stage interface {
	// Name names the stage in errors and logs.
	Name() string
	// Apply processes events inside tx at now. It returns a function to run
	// after the commit (to publish live updates), or nil.
	Apply(ctx context.Context, tx *sql.Tx, events []*Event, now time.Time) (func(context.Context), error)
}

// Options tune the pipeline.
type Options struct {
	Workers      int           // concurrent workers (default 2 on SQLite, 4 on PostgreSQL)
	BatchSize    int           // events claimed at once (default 100)
	Lease        time.Duration // longest a batch's transaction may run, its events held (default 30s)
	MaxAttempts  int           // attempts before dead-lettering (default 8)
	BackoffBase  time.Duration // first retry delay (default 1s), doubled per attempt
	BackoffMax   time.Duration // longest retry delay (default 10m)
	PollInterval time.Duration // how often idle workers look for due events (default 1s)
	// Linger is how long a worker lets new events gather after it drained
	// the queue (a claim that found less than a full batch) before it
	// claims again (default 50ms; negative: none). Chasing every commit
	// processes tiny batches whose fixed cost — two transactions, the
	// journey reads, the rollup upserts — occupies SQLite's single writer
	// and starves ingest: at 1,000 events/s, batches of 8 kept the writer
	// 77% busy. A few tens of milliseconds of receipt → processed latency
	// buy batches ten times larger.
	Linger time.Duration
	// TxBudget is how long a batch's transaction should hold SQLite's
	// single writer, which the receiver's group commits wait for: batches
	// that take longer shrink, down to a few events (default 25ms on
	// SQLite; PostgreSQL writers do not wait for each other, and batches
	// are always BatchSize there).
	TxBudget time.Duration
	// Now is the clock (tests control it).
	Now func() time.Time
}

// Pipeline is the set of workers.
type Pipeline struct {
	db       *store.DB
	hub      *live.Hub
	m        *metrics.Metrics
	log      *slog.Logger
	opts     Options
	stages   []Stage
	instance string
	breaker  *gobreaker.CircuitBreaker[struct{}]

	wake   chan struct{}
	busy   atomic.Int32
	paused atomic.Bool
	// size is the adaptive batch size (see batchSize); 0 means BatchSize.
	size atomic.Int32
	// inFlight counts the events in this instance's open batches.
	inFlight atomic.Int64

	statusMu    sync.Mutex
	status      *Status
	statusAt    time.Time
	statusErr   error
	workerCount int
}

// New returns a pipeline over db running stages in order.
func New(db *store.DB, hub *live.Hub, m *metrics.Metrics, log *slog.Logger, instance string, opts Options, stages ...Stage) *Pipeline {
	if opts.Workers <= 0 {
		opts.Workers = 2
		if db.Postgres() {
			opts.Workers = 4
		}
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 10 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	switch {
	case opts.Linger == 0:
		opts.Linger = 50 * time.Millisecond
	case opts.Linger < 0:
		opts.Linger = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TxBudget == 0 && !db.Postgres() {
		opts.TxBudget = 25 * time.Millisecond
	}
	p := &Pipeline{
		db: db, hub: hub, m: m, log: log, opts: opts, stages: stages, instance: instance,
		wake: make(chan struct{}, 1), workerCount: opts.Workers,
	}
	p.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "pipeline",
		MaxRequests: 1,
		Timeout:     5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		// Only an unavailable database trips the breaker; a bad event is the
		// event's problem, handled by its retries.
		IsSuccessful: func(err error) bool { return err == nil || !store.IsUnavailable(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			m.Breaker.WithLabelValues("pipeline").Set(breakerValue(to))
			level := slog.LevelWarn
			if to == gobreaker.StateClosed {
				level = slog.LevelInfo
			}
			log.Log(context.Background(), level, "pipeline circuit breaker changed state", "from", from.String(), "to", to.String())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = hub.Publish(ctx, live.Message{Kind: live.StatusChanged})
		},
	})
	m.Breaker.WithLabelValues("pipeline").Set(0)
	return p
}

func breakerValue(s gobreaker.State) float64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

// BreakerState is the breaker's state: closed, half-open or open.
func (p *Pipeline) BreakerState() string { return p.breaker.State().String() }

// Wake tells idle workers that events may be due.
func (p *Pipeline) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run runs the workers until ctx ends, then waits for in-flight batches.
func (p *Pipeline) Run(ctx context.Context) {
	// Events received anywhere (this instance or, through the bridge, any
	// other) wake the workers at once instead of at the next poll.
	sub := p.hub.Subscribe(ctx, 16, live.EventReceived)
	go func() {
		for range sub.C {
			p.Wake()
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < p.opts.Workers; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			p.work(ctx, fmt.Sprintf("%s/w%d", p.instance, n))
		}(i)
	}
	wg.Wait()
}

func (p *Pipeline) work(ctx context.Context, worker string) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	for ctx.Err() == nil {
		if p.breaker.State() == gobreaker.StateOpen {
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		n, err := p.round(ctx, worker)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
				p.log.Warn("claiming events failed", "err", err, "worker", worker)
			}
			sleep(ctx, time.Second)
			continue
		}
		if n == 0 {
			idle.Reset(p.opts.PollInterval)
			select {
			case <-ctx.Done():
			case <-p.wake:
				// Let the burst that woke us gather into one batch.
				sleep(ctx, p.opts.Linger)
			case <-idle.C:
			}
			continue
		}
		if n < p.batchSize() {
			// The queue is drained: let the next batch gather.
			sleep(ctx, p.opts.Linger)
		}
		// Otherwise more may be due: go round again without waiting.
	}
}

// round is one worker's round: take due events and process them in one
// transaction. The breaker counts only failures of the database itself.
func (p *Pipeline) round(ctx context.Context, worker string) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	var n int
	_, err := p.breaker.Execute(func() (struct{}, error) {
		var err error
		n, err = p.runBatch(context.WithoutCancel(ctx), worker)
		return struct{}{}, err
	})
	if err != nil && n > 0 && store.IsUnavailable(err) {
		// The database failed, not the events: the transaction rolled back,
		// the events are still queued and no attempt was spent.
		return n, nil
	}
	return n, err
}

// batchResult is what a committed batch leaves to do after its commit.
type batchResult struct {
	processed    int
	e2e          []float64
	afters       []func(context.Context)
	done         []*Event
	retried      int
	deadLettered int
	causes       []error
}

// runBatch claims due events and processes them in one transaction: on
// PostgreSQL the claim's row locks are the lease (other instances skip the
// events; a crashed worker's transaction ends with its connection); on
// SQLite the transaction holds the only writer. A stage that fails on some
// event rolls the batch back to a savepoint and the events are processed
// one by one, each failure recorded as a retry or a dead letter in the
// same transaction. It returns the number of events claimed.
func (p *Pipeline) runBatch(ctx context.Context, worker string) (n int, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Lease)
	defer cancel()
	started := time.Now()
	now := p.opts.Now().UTC()
	tx, err := p.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	events, err := p.db.ClaimDue(ctx, tx, now, p.batchSize())
	if err != nil || len(events) == 0 {
		return 0, err
	}
	p.busy.Add(1)
	p.inFlight.Add(int64(len(events)))
	p.m.WorkersBusy.Inc()
	defer func() {
		p.m.WorkersBusy.Dec()
		p.inFlight.Add(-int64(len(events)))
		p.busy.Add(-1)
	}()
	res, err := p.processAll(ctx, tx, worker, events, now, started)
	if err != nil {
		return len(events), err
	}
	if err := tx.Commit(); err != nil {
		return len(events), fmt.Errorf("committing: %w", err)
	}
	elapsed := time.Since(started)
	p.m.BatchDuration.Observe(elapsed.Seconds())
	p.adapt(len(events), elapsed)
	p.finish(ctx, res)
	return len(events), nil
}

// processAll runs the stages over events inside tx; see runBatch.
func (p *Pipeline) processAll(ctx context.Context, tx *sql.Tx, worker string, events []*Event, now, started time.Time) (*batchResult, error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT batch"); err != nil {
		return nil, fmt.Errorf("processing: %w", err)
	}
	res := &batchResult{}
	err := p.apply(ctx, tx, events, now, started, res)
	if err == nil {
		return res, nil
	}
	if store.IsUnavailable(err) || ctx.Err() != nil {
		return nil, err
	}
	if len(events) > 1 {
		p.log.Warn("batch failed; processing its events one by one", "err", err, "events", len(events), "worker", worker)
	}
	if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT batch"); rerr != nil {
		return nil, fmt.Errorf("processing: %w", rerr)
	}
	res = &batchResult{}
	for _, ev := range events {
		if len(events) > 1 {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT one"); err != nil {
				return nil, fmt.Errorf("processing: %w", err)
			}
			one := &batchResult{}
			err = p.apply(ctx, tx, []*Event{ev}, now, started, one)
			if err == nil {
				if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT one"); err != nil {
					return nil, fmt.Errorf("processing: %w", err)
				}
				res.merge(one)
				continue
			}
			if store.IsUnavailable(err) || ctx.Err() != nil {
				return nil, err
			}
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT one"); rerr != nil {
				return nil, fmt.Errorf("processing: %w", rerr)
			}
		}
		if ferr := p.recordFailure(ctx, tx, ev, err, now, res); ferr != nil {
			return nil, ferr
		}
	}
	return res, nil
}

func (r *batchResult) merge(o *batchResult) {
	r.processed += o.processed
	r.e2e = append(r.e2e, o.e2e...)
	r.afters = append(r.afters, o.afters...)
	r.done = append(r.done, o.done...)
}

// apply runs the stages and the rollups on events and marks them processed,
// inside tx. A panicking stage is the events' failure, not the worker's.
func (p *Pipeline) apply(ctx context.Context, tx *sql.Tx, events []*Event, now, started time.Time, res *batchResult) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("pipeline stage panicked", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error while processing: %v", v)
		}
	}()
	for _, s := range p.stages {
		after, err := s.Apply(ctx, tx, events, now)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		if after != nil {
			res.afters = append(res.afters, after)
		}
	}
	batch := rollup.NewBatch()
	ids := make([]int, len(events))
	for i, ev := range events {
		ids[i] = ev.ID
		if ev.RolledUp {
			continue
		}
		d := batch.At(ev.ReceivedAt, ev.Topic)
		d.Received++
		d.Processed++
		if ev.Source != "webhook" {
			d.ReceivedSync++
		} else {
			d.ObserveWebhookLag(ev.CreatedAt, ev.ReceivedAt)
		}
		ms := float64(now.Sub(ev.ReceivedAt).Microseconds()) / 1000
		d.ObserveProc(ms)
		res.e2e = append(res.e2e, ms/1000)
	}
	if err := rollup.Apply(ctx, p.db, tx, batch); err != nil {
		return err
	}
	took := float64(time.Since(started).Microseconds()) / 1000 // this batch's processing time
	if err := p.db.MarkProcessed(ctx, tx, now, took, ids); err != nil {
		return err
	}
	res.processed += len(events)
	res.done = append(res.done, events...)
	return nil
}

// recordFailure records ev's failed attempt inside tx: a retry after a
// backoff, or the dead letter after the last attempt.
func (p *Pipeline) recordFailure(ctx context.Context, tx *sql.Tx, ev *Event, cause error, now time.Time, res *batchResult) error {
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	batch := rollup.NewBatch()
	var retryAt time.Time
	if ev.Attempts >= p.opts.MaxAttempts {
		batch.At(ev.ReceivedAt, ev.Topic).DeadLettered++
		res.deadLettered++
	} else {
		retryAt = now.Add(p.backoff(ev.Attempts))
		batch.At(ev.ReceivedAt, ev.Topic).Retried++
		res.retried++
	}
	if err := p.db.MarkFailed(ctx, tx, ev.ID, retryAt, msg); err != nil {
		return err
	}
	if err := rollup.Apply(ctx, p.db, tx, batch); err != nil {
		return fmt.Errorf("counting failed attempts: %w", err)
	}
	res.causes = append(res.causes, cause)
	return nil
}

// finish does what follows a batch's commit: metrics, logs, live updates.
func (p *Pipeline) finish(ctx context.Context, res *batchResult) {
	p.m.Processed.Add(float64(res.processed))
	for _, s := range res.e2e {
		p.m.EndToEnd.Observe(s)
	}
	if res.retried+res.deadLettered > 0 {
		p.m.ProcessFailures.WithLabelValues("retry").Add(float64(res.retried))
		p.m.ProcessFailures.WithLabelValues("dead_letter").Add(float64(res.deadLettered))
		level := slog.LevelWarn
		if res.deadLettered > 0 {
			level = slog.LevelError
		}
		p.log.Log(ctx, level, "processing failed", "err", errors.Join(res.causes...),
			"events", res.retried+res.deadLettered, "retrying", res.retried, "dead_lettered", res.deadLettered)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for _, after := range res.afters {
		after(pctx)
	}
	if len(res.done) == 0 {
		return
	}
	msg := live.Message{Kind: live.EventProcessed, IDs: make([]int, len(res.done)), Keys: make([]string, len(res.done))}
	for i, ev := range res.done {
		msg.IDs[i], msg.Keys[i] = ev.ID, ev.Topic
	}
	if err := p.hub.Publish(pctx, msg); err != nil {
		p.log.Warn("publishing processed events", "err", err)
	}
}

// batchSize is how many events the next batch may claim. On SQLite a
// batch holds the only writer, which the receiver's group commits wait
// for, so the size adapts to keep each batch's transaction within
// TxBudget (see adapt); on PostgreSQL writers do not wait for each other
// and batches are always BatchSize.
func (p *Pipeline) batchSize() int {
	if n := int(p.size.Load()); n > 0 {
		return n
	}
	return p.opts.BatchSize
}

// adapt halves the batch size when a batch held the transaction longer
// than TxBudget and grows it again, step by step, while batches stay well
// within it.
func (p *Pipeline) adapt(claimed int, took time.Duration) {
	if p.opts.TxBudget <= 0 {
		return
	}
	cur := p.batchSize()
	switch {
	case took > p.opts.TxBudget && cur > minBatch:
		p.size.Store(int32(max(minBatch, cur/2)))
	case took < p.opts.TxBudget/2 && claimed >= cur && cur < p.opts.BatchSize:
		p.size.Store(int32(min(p.opts.BatchSize, cur+cur/4+1)))
	}
}

// minBatch is the smallest batch adapt shrinks to.
const minBatch = 8

// backoff is the delay before retry number attempt: exponential from
// BackoffBase, capped at BackoffMax, with "equal jitter" so that a burst of
// failures does not retry in lock-step.
func (p *Pipeline) backoff(attempt int) time.Duration {
	d := p.opts.BackoffBase
	for i := 1; i < attempt && d < p.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.opts.BackoffMax)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Round runs one round by hand: claim due events and process them. It
// returns how many events it claimed. Tools and tests use it; Run's
// workers call the same code.
func (p *Pipeline) Round(ctx context.Context) (int, error) {
	return p.round(ctx, p.instance+"/manual")
}
