// Package pipeline processes stored events asynchronously. The events table
// is the queue: workers claim due events in batches under a lease, run the
// stages (journeys) and the rollups in one transaction, and mark the events
// processed. A failure retries with exponential backoff and jitter; after
// the last attempt the event is dead-lettered (state failed). A crashed
// worker's lease expires and another worker takes its events over. A
// circuit breaker pauses the workers while the database is unavailable;
// the receiver keeps storing meanwhile.
//
// The pipeline must never process one event in two places at once (leases
// are checked when results are written), and never count an event twice in
// the rollups (a replayed event is re-processed but not re-counted).
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
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
type Event struct {
	ID            int
	EventID       string
	Topic         string
	ResourceType  string
	ResourceID    string
	CustomerID    string
	CorrelationID string
	CreatedAt     time.Time
	ReceivedAt    time.Time
	Source        string
	Attempts      int
	RolledUp      bool
}

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
	Lease        time.Duration // how long a claim lasts before others may take it (default 30s)
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
	// leaseScan is when a SQLite worker last looked for expired leases
	// (Unix nanoseconds).
	leaseScan atomic.Int64

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
		var n int
		var err error
		if p.db.Postgres() {
			n, err = p.claimThenProcess(ctx, worker)
		} else {
			n, err = p.claimAndProcess(ctx, worker)
		}
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
		if n < p.opts.BatchSize {
			// The queue is drained: let the next batch gather.
			sleep(ctx, p.opts.Linger)
		}
		// Otherwise more may be due: go round again without waiting.
	}
}

// claimThenProcess is a worker's round on PostgreSQL: claim a batch under a
// lease in its own short transaction, then process it in another. The
// lease is committed, so other instances skip the events without waiting
// on row locks: a repeated delivery of a claimed event (its delivery count
// is an UPDATE of the same row) never waits for a processing batch.
func (p *Pipeline) claimThenProcess(ctx context.Context, worker string) (int, error) {
	// A successful claim proves little (the processing transaction may
	// still fail), so only failed claims are counted by the breaker;
	// processing transactions count both ways.
	events, err := p.claim(ctx, worker)
	if err != nil {
		if store.IsUnavailable(err) {
			_, _ = p.breaker.Execute(func() (struct{}, error) { return struct{}{}, err })
		}
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	p.busy.Add(1)
	p.m.WorkersBusy.Inc()
	p.process(context.WithoutCancel(ctx), worker, events)
	p.m.WorkersBusy.Dec()
	p.busy.Add(-1)
	return len(events), nil
}

// claimAndProcess is a worker's round on SQLite: one transaction selects
// the due events and processes them. SQLite's single writer already makes
// the transaction exclusive, so no lease is written: each event row is
// written once (as processed) instead of twice, and the batch costs one
// commit (one fsync, and each dirtied page written to the WAL once)
// instead of two. A crash rolls everything back and leaves the events
// queued. If a stage fails, the transaction rolls back and the events are
// then claimed under a lease and retried one by one (see isolate), as on
// PostgreSQL.
func (p *Pipeline) claimAndProcess(ctx context.Context, worker string) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	start := time.Now()
	var events []*Event
	_, err := p.breaker.Execute(func() (struct{}, error) {
		var err error
		events, err = p.selectAndProcess(context.WithoutCancel(ctx), worker)
		return struct{}{}, err
	})
	if len(events) > 0 {
		p.m.BatchDuration.Observe(time.Since(start).Seconds())
	}
	switch {
	case err == nil:
		return len(events), nil
	case len(events) == 0:
		return 0, err // the claim failed (or the breaker refused it)
	case store.IsUnavailable(err):
		// The database, not the events, failed: the transaction rolled
		// back, so the events are still queued and no attempt was spent.
		// The breaker counted the failure.
		return len(events), nil
	}
	// A stage failed on some event. Take the batch under a lease (which
	// counts the attempt) and find the bad events one by one.
	p.log.Warn("batch failed; processing its events one by one", "err", err, "events", len(events), "worker", worker)
	ids := make([]int, len(events))
	for i, ev := range events {
		ids[i] = ev.ID
	}
	bctx := context.WithoutCancel(ctx)
	leased, lerr := p.lease(bctx, worker, ids)
	if lerr != nil {
		// The events are still queued: the next round retries them.
		return 0, lerr
	}
	p.busy.Add(1)
	p.m.WorkersBusy.Inc()
	p.isolate(bctx, worker, leased)
	p.m.WorkersBusy.Dec()
	p.busy.Add(-1)
	return len(events), nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

const claimColumns = `id, event_id, topic, resource_type, resource_id, customer_id, correlation_id,
	created_at, received_at, source, attempts, rolled_up`

// claim takes up to BatchSize due events under a lease: first those whose
// lease expired (a crashed worker's), then queued ones in due order.
func (p *Pipeline) claim(ctx context.Context, worker string) ([]*Event, error) {
	now := p.opts.Now().UTC()
	until := now.Add(p.opts.Lease)
	lock := ""
	if p.db.Postgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []*Event
	for _, where := range []string{
		"processing_state = 'processing' AND locked_until < ? ORDER BY locked_until",
		"processing_state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at",
	} {
		n := p.opts.BatchSize - len(out)
		if n <= 0 {
			break
		}
		q := `UPDATE webhook_events SET processing_state = 'processing', locked_until = ?, locked_by = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM webhook_events WHERE ` + where + ` LIMIT ?` + lock + `)
			RETURNING ` + claimColumns
		rows, err := p.db.Write.QueryContext(ctx, p.db.Rebind(q), until, worker, now, n)
		if err != nil {
			return out, fmt.Errorf("claiming events: %w", err)
		}
		got, err := scanEvents(rows)
		if err != nil {
			return out, fmt.Errorf("claiming events: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// lease takes the events ids that are still due (queued, or under an
// expired lease) under a lease, counting an attempt.
func (p *Pipeline) lease(ctx context.Context, worker string, ids []int) ([]*Event, error) {
	now := p.opts.Now().UTC()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := make([]any, 0, len(ids)+3)
	args = append(args, now.Add(p.opts.Lease), worker, now)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := p.db.Write.QueryContext(ctx, p.db.Rebind(`UPDATE webhook_events
		SET processing_state = 'processing', locked_until = ?, locked_by = ?, attempts = attempts + 1
		WHERE (processing_state = 'queued' OR (processing_state = 'processing' AND locked_until < ?))
		AND id IN (`+placeholders(len(ids))+`) RETURNING `+claimColumns), args...)
	if err != nil {
		return nil, fmt.Errorf("leasing events: %w", err)
	}
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("leasing events: %w", err)
	}
	return out, nil
}

// leaseScanEvery is how often a SQLite worker looks for expired leases.
// Leases are only taken when a batch failed (see claimAndProcess), so an
// expired one means a crash or a stall: worth finding within a second, not
// worth a query on every round.
const leaseScanEvery = time.Second

// selectDue reads, inside tx, up to BatchSize due events: first those
// whose lease expired (at most every leaseScanEvery), then queued ones in
// due order. On SQLite tx holds the only writer, so nobody else can take
// them until it ends.
func (p *Pipeline) selectDue(ctx context.Context, tx *sql.Tx, now time.Time) ([]*Event, error) {
	var out []*Event
	wheres := []string{"processing_state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at"}
	if last := p.leaseScan.Load(); now.UnixNano()-last >= int64(leaseScanEvery) && p.leaseScan.CompareAndSwap(last, now.UnixNano()) {
		wheres = append([]string{"processing_state = 'processing' AND locked_until < ? ORDER BY locked_until"}, wheres...)
	}
	for _, where := range wheres {
		n := p.opts.BatchSize - len(out)
		if n <= 0 {
			break
		}
		rows, err := tx.QueryContext(ctx, p.db.Rebind(`SELECT `+claimColumns+` FROM webhook_events WHERE `+where+` LIMIT ?`), now, n)
		if err != nil {
			return nil, err
		}
		got, err := scanEvents(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func scanEvents(rows *sql.Rows) ([]*Event, error) {
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		e := &Event{}
		var rtype, rid, cid, corr sql.NullString
		var created, received any
		if err := rows.Scan(&e.ID, &e.EventID, &e.Topic, &rtype, &rid, &cid, &corr, &created, &received,
			&e.Source, &e.Attempts, &e.RolledUp); err != nil {
			return nil, err
		}
		e.ResourceType, e.ResourceID, e.CustomerID, e.CorrelationID = rtype.String, rid.String, cid.String, corr.String
		var err error
		if e.CreatedAt, err = store.ScanTime(created); err != nil {
			return nil, err
		}
		if e.ReceivedAt, err = store.ScanTime(received); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// process runs one claimed batch; on failure it isolates the bad events by
// retrying one by one, and schedules retries or dead-letters them.
func (p *Pipeline) process(ctx context.Context, worker string, events []*Event) {
	start := time.Now()
	_, err := p.breaker.Execute(func() (struct{}, error) {
		return struct{}{}, p.processBatch(ctx, worker, events)
	})
	p.m.BatchDuration.Observe(time.Since(start).Seconds())
	if err == nil {
		return
	}
	if errors.Is(err, errLeaseLost) {
		p.log.Warn("lease lost mid-batch; another worker has these events", "worker", worker, "events", len(events))
		return
	}
	if store.IsUnavailable(err) || errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		// The database (or the breaker guarding it) is the problem, not the
		// events: hand them back without spending an attempt, so an outage
		// never dead-letters good events. If even that fails, their leases
		// expire and they are claimed again later.
		p.release(ctx, worker, events)
		return
	}
	if len(events) == 1 {
		p.fail(ctx, worker, events, err)
		return
	}
	p.log.Warn("batch failed; processing its events one by one", "err", err, "events", len(events), "worker", worker)
	p.isolate(ctx, worker, events)
}

// isolate processes leased events one by one, recording a failed attempt
// for each that fails.
func (p *Pipeline) isolate(ctx context.Context, worker string, events []*Event) {
	for _, ev := range events {
		if err := p.processBatch(ctx, worker, []*Event{ev}); err != nil && !errors.Is(err, errLeaseLost) {
			p.fail(ctx, worker, []*Event{ev}, err)
		}
	}
}

var errLeaseLost = errors.New("lease lost: another worker took the events over")

// processBatch processes leased events in one transaction.
func (p *Pipeline) processBatch(ctx context.Context, worker string, events []*Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("pipeline stage panicked", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error while processing: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, p.opts.Lease)
	defer cancel()
	now := p.opts.Now().UTC()
	tx, err := p.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return p.complete(ctx, tx, worker, events, now, false)
}

// selectAndProcess selects the due events and processes them in one
// transaction (SQLite; see claimAndProcess). It returns the events it
// selected, also when processing them failed.
func (p *Pipeline) selectAndProcess(ctx context.Context, worker string) (events []*Event, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("pipeline stage panicked", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error while processing: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, p.opts.Lease)
	defer cancel()
	now := p.opts.Now().UTC()
	tx, err := p.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	events, err = p.selectDue(ctx, tx, now)
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	if len(events) == 0 {
		return nil, nil
	}
	// Stages see the number of this attempt, as a lease would have counted it.
	for _, ev := range events {
		ev.Attempts++
	}
	p.busy.Add(1)
	p.m.WorkersBusy.Inc()
	defer func() {
		p.m.WorkersBusy.Dec()
		p.busy.Add(-1)
	}()
	return events, p.complete(ctx, tx, worker, events, now, true)
}

// complete runs the stages and the rollups on events inside tx, marks them
// processed and commits. Leased events must still be leased by worker
// (errLeaseLost otherwise); selected ones (SQLite, see claimAndProcess)
// count their attempt here.
func (p *Pipeline) complete(ctx context.Context, tx *sql.Tx, worker string, events []*Event, now time.Time, selected bool) error {
	var afters []func(context.Context)
	for _, s := range p.stages {
		after, err := s.Apply(ctx, tx, events, now)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		if after != nil {
			afters = append(afters, after)
		}
	}

	batch := rollup.NewBatch()
	ids := make([]any, 0, len(events)+3)
	ids = append(ids, now, nil)
	if !selected {
		ids = append(ids, worker)
	}
	var e2e []float64
	for _, ev := range events {
		ids = append(ids, ev.ID)
		if ev.RolledUp {
			continue
		}
		d := batch.At(ev.ReceivedAt, ev.Topic)
		d.Received++
		d.Processed++
		if ev.Source != "webhook" {
			d.ReceivedSync++
		} else {
			d.ObserveLag(float64(ev.ReceivedAt.Sub(ev.CreatedAt).Microseconds()) / 1000)
		}
		ms := float64(now.Sub(ev.ReceivedAt).Microseconds()) / 1000
		d.ObserveProc(ms)
		e2e = append(e2e, ms/1000)
	}
	if err := rollup.Apply(ctx, p.db, tx, batch); err != nil {
		return err
	}
	ids[1] = float64(time.Since(now).Microseconds()) / 1000 // this batch's processing time
	q := `UPDATE webhook_events SET processing_state = 'processed', processed_at = ?,
		processing_duration_ms = ?, locked_until = NULL, locked_by = NULL, last_error = NULL, rolled_up = TRUE
		WHERE processing_state = 'processing' AND locked_by = ? AND id IN (` + placeholders(len(events)) + `)`
	if selected {
		q = `UPDATE webhook_events SET processing_state = 'processed', processed_at = ?,
		processing_duration_ms = ?, locked_until = NULL, locked_by = NULL, last_error = NULL, rolled_up = TRUE,
		attempts = attempts + 1 WHERE id IN (` + placeholders(len(events)) + `)`
	}
	res, err := tx.ExecContext(ctx, p.db.Rebind(q), ids...)
	if err != nil {
		return fmt.Errorf("marking events processed: %w", err)
	}
	if n, _ := res.RowsAffected(); int(n) != len(events) {
		return errLeaseLost
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	p.m.Processed.Add(float64(len(events)))
	for _, s := range e2e {
		p.m.EndToEnd.Observe(s)
	}
	pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer pcancel()
	for _, after := range afters {
		after(pctx)
	}
	msg := live.Message{Kind: live.EventProcessed, IDs: make([]int, len(events)), Keys: make([]string, len(events))}
	for i, ev := range events {
		msg.IDs[i], msg.Keys[i] = ev.ID, ev.Topic
	}
	if err := p.hub.Publish(pctx, msg); err != nil {
		p.log.Warn("publishing processed events", "err", err)
	}
	return nil
}

// fail records a failed attempt for each event: a retry after a backoff, or
// the dead letter after the last attempt.
func (p *Pipeline) fail(ctx context.Context, worker string, events []*Event, cause error) {
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := p.opts.Now().UTC()
	tx, err := p.db.Write.BeginTx(ctx, nil)
	if err != nil {
		p.log.Warn("cannot record failed attempts; leases will expire and the events will be retried", "err", err, "cause", cause)
		return
	}
	defer func() { _ = tx.Rollback() }()
	batch := rollup.NewBatch()
	var dead, retry int
	for _, ev := range events {
		var q string
		var args []any
		if ev.Attempts >= p.opts.MaxAttempts {
			q = `UPDATE webhook_events SET processing_state = 'failed', last_error = ?, locked_until = NULL, locked_by = NULL
				WHERE id = ? AND locked_by = ? AND processing_state = 'processing'`
			args = []any{msg, ev.ID, worker}
			batch.At(ev.ReceivedAt, ev.Topic).DeadLettered++
			dead++
		} else {
			q = `UPDATE webhook_events SET processing_state = 'queued', next_attempt_at = ?, last_error = ?, locked_until = NULL, locked_by = NULL
				WHERE id = ? AND locked_by = ? AND processing_state = 'processing'`
			args = []any{now.Add(p.backoff(ev.Attempts)), msg, ev.ID, worker}
			batch.At(ev.ReceivedAt, ev.Topic).Retried++
			retry++
		}
		if _, err := tx.ExecContext(ctx, p.db.Rebind(q), args...); err != nil {
			p.log.Warn("cannot record failed attempt; the lease will expire and the event will be retried", "err", err, "event_id", ev.EventID)
			return
		}
	}
	if err := rollup.Apply(ctx, p.db, tx, batch); err != nil {
		p.log.Warn("cannot count failed attempts", "err", err)
		return
	}
	if err := tx.Commit(); err != nil {
		p.log.Warn("cannot record failed attempts", "err", err)
		return
	}
	p.m.ProcessFailures.WithLabelValues("retry").Add(float64(retry))
	p.m.ProcessFailures.WithLabelValues("dead_letter").Add(float64(dead))
	level := slog.LevelWarn
	if dead > 0 {
		level = slog.LevelError
	}
	p.log.Log(ctx, level, "processing failed", "err", cause, "events", len(events), "retrying", retry, "dead_lettered", dead)
}

// release returns claimed events to the queue, due now, refunding the
// attempt their claim counted.
func (p *Pipeline) release(ctx context.Context, worker string, events []*Event) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	args := make([]any, 0, len(events)+1)
	args = append(args, worker)
	for _, ev := range events {
		args = append(args, ev.ID)
	}
	_, err := p.db.Write.ExecContext(ctx, p.db.Rebind(`UPDATE webhook_events
		SET processing_state = 'queued', attempts = attempts - 1, locked_until = NULL, locked_by = NULL
		WHERE processing_state = 'processing' AND locked_by = ? AND id IN (`+placeholders(len(events))+`)`), args...)
	if err != nil && ctx.Err() == nil {
		p.log.Debug("cannot release events; their leases will expire", "err", err)
	}
}

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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
