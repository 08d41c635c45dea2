package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/store"
)

// ErrOverloaded means the commit queue is full; the delivery gets 503 and
// Dwolla retries it.
var ErrOverloaded = errors.New("too many deliveries waiting to be stored")

// ErrClosed means the committer is shutting down.
var ErrClosed = errors.New("receiver is shutting down")

// job is one verified delivery waiting for its commit.
type job struct {
	ctx      context.Context
	event    store.NewEvent
	delivery store.NewDelivery
	arrived  time.Time
	done     chan result
}

type result struct {
	stored    store.StoredEvent
	duplicate bool
	err       error
}

// committer groups concurrent deliveries into shared transactions ("group
// commit"). Each writer takes whatever is waiting the moment it is free,
// commits it in one transaction and only then answers each delivery: no
// fixed timer adds latency at low load, and under load one fsync serves
// many deliveries.
type committer struct {
	db       *store.DB
	w        *store.EventWriter
	hub      *live.Hub
	m        *metrics.Metrics
	log      *slog.Logger
	writers  int
	maxBatch int
	txTime   time.Duration
	now      func() time.Time // stamps received_at (Options.Now)

	jobs    chan *job
	rejects chan store.NewDelivery
	ann     *announcer

	mu      sync.RWMutex
	closed  bool
	wg      sync.WaitGroup
	stop    chan struct{}
	lastErr atomic.Pointer[time.Time] // when the last commit failed
	lastOK  atomic.Pointer[time.Time]
}

func newCommitter(db *store.DB, hub *live.Hub, m *metrics.Metrics, log *slog.Logger, writers, maxBatch, queue int, txTime time.Duration) *committer {
	return &committer{
		db: db, w: db.NewEventWriter(), hub: hub, m: m, log: log,
		writers: writers, maxBatch: maxBatch, txTime: txTime,
		jobs:    make(chan *job, queue),
		rejects: make(chan store.NewDelivery, queue),
		ann:     newAnnouncer(hub, m, log),
		stop:    make(chan struct{}),
	}
}

func (c *committer) start() {
	c.ann.start()
	for i := 0; i < c.writers; i++ {
		c.wg.Add(1)
		go c.run()
	}
}

// close stops taking work, commits what is queued, and waits for writers.
func (c *committer) close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); c.ann.close(); _ = c.w.Close(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for pending commits: %w", ctx.Err())
	}
}

// submit queues j without blocking.
func (c *committer) submit(j *job) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.jobs <- j:
		c.m.IngestQueued.Inc()
		return nil
	default:
		return ErrOverloaded
	}
}

// record queues a rejected delivery's record. Records are best effort: when
// the queue is full the record is dropped (and counted) so a flood of bad
// requests cannot slow down storing good ones.
func (c *committer) record(d store.NewDelivery) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	select {
	case c.rejects <- d:
	default:
		c.m.RejectsDropped.Inc()
	}
}

func (c *committer) run() {
	defer c.wg.Done()
	for {
		var first *job
		var firstReject *store.NewDelivery
		select {
		case first = <-c.jobs:
		case d := <-c.rejects:
			firstReject = &d
		case <-c.stop:
			// Drain what was queued before close, then leave.
			for {
				batch, rejects := c.gather(nil, nil)
				if len(batch) == 0 && len(rejects) == 0 {
					return
				}
				c.commit(batch, rejects)
			}
		}
		var batch []*job
		var rejects []store.NewDelivery
		if first != nil {
			batch = append(batch, first)
		}
		if firstReject != nil {
			rejects = append(rejects, *firstReject)
		}
		c.commit(batch, rejects)
	}
}

// gather takes whatever is waiting, accepted deliveries first, up to maxBatch.
func (c *committer) gather(batch []*job, rejects []store.NewDelivery) ([]*job, []store.NewDelivery) {
	for len(batch) < c.maxBatch {
		select {
		case j := <-c.jobs:
			batch = append(batch, j)
			continue
		default:
		}
		break
	}
	for len(rejects) < c.maxBatch {
		select {
		case d := <-c.rejects:
			rejects = append(rejects, d)
			continue
		default:
		}
		break
	}
	return batch, rejects
}

// commit stores batch and rejects, and whatever else is waiting once the
// transaction has the writer, then answers each delivery.
func (c *committer) commit(batch []*job, rejects []store.NewDelivery) {
	ctx, cancel := context.WithTimeout(context.Background(), c.txTime)
	defer cancel()
	// On PostgreSQL a group commit is one statement (store.EventWriter's
	// StoreGroup) with no transaction around it. On SQLite it is a
	// transaction; statements a previous commit used for the first time
	// are prepared now, outside it (the writer has one connection).
	var tx *sql.Tx
	var err error
	if !c.db.Postgres() {
		if err := c.w.Prepare(ctx); err != nil {
			c.log.Warn("preparing ingest statements", "err", err)
		}
		// Begin before gathering: BEGIN waits for the single writer (a
		// processing batch may hold it), and deliveries that arrive
		// meanwhile then join this commit instead of waiting for the next.
		tx, err = c.db.Write.BeginTx(ctx, nil)
	}
	batch, rejects = c.gather(batch, rejects)
	c.m.IngestQueued.Sub(float64(len(batch)))
	if err != nil {
		c.noteFailure()
		err = fmt.Errorf("beginning transaction: %w", err)
		for _, j := range batch {
			j.done <- result{err: err}
		}
		if len(rejects) > 0 {
			c.m.RejectsDropped.Add(float64(len(rejects)))
		}
		return
	}
	if tx != nil {
		defer func() { _ = tx.Rollback() }()
	}
	// A delivery whose request already timed out was answered 503; Dwolla
	// will send it again. Storing it now would only add load when the
	// database is already slow.
	pending := batch[:0]
	for _, j := range batch {
		if j.ctx.Err() != nil {
			j.done <- result{err: j.ctx.Err()}
			continue
		}
		pending = append(pending, j)
	}
	if len(pending) == 0 && len(rejects) == 0 {
		return
	}
	c.m.IngestBatchSize.Observe(float64(len(pending) + len(rejects)))
	results, err := c.store(ctx, tx, pending, rejects)
	if err != nil && len(pending) > 1 {
		if tx != nil {
			_ = tx.Rollback()
		}
		// One bad row must not fail its neighbours: retry each alone.
		c.log.Warn("group commit failed; retrying deliveries one by one", "err", err, "batch", len(pending))
		for _, j := range pending {
			if j.ctx.Err() != nil {
				j.done <- result{err: j.ctx.Err()}
				continue
			}
			r, err := c.write([]*job{j}, nil)
			if err != nil {
				j.done <- result{err: err}
				continue
			}
			c.finish([]*job{j}, r)
		}
		return
	}
	if err != nil {
		for _, j := range pending {
			j.done <- result{err: err}
		}
		if len(rejects) > 0 {
			c.m.RejectsDropped.Add(float64(len(rejects)))
		}
		return
	}
	c.finish(pending, results)
}

func (c *committer) finish(batch []*job, results []result) {
	var ids []int
	var topics []string
	for i, j := range batch {
		r := results[i]
		if !r.duplicate {
			ids = append(ids, r.stored.ID)
			topics = append(topics, j.event.Topic)
		}
		j.done <- r
	}
	if len(ids) > 0 {
		c.m.EventsStored.WithLabelValues("webhook").Add(float64(len(ids)))
		c.ann.add(ids, topics)
	}
}

// maxUnannounced bounds the stored events waiting to be announced while
// publishing is slow (PostgreSQL unreachable); beyond it announcements are
// dropped and counted, like any live message a slow consumer misses. The
// workers' poll still finds the events.
const maxUnannounced = 50000

// announcer publishes "event received" for committed events off the
// writers' path. On PostgreSQL a publish is a NOTIFY round trip; made by a
// writer after every group commit it delayed that writer's next commit.
// Announcements made while one is in flight are merged into the next, so
// under load there are far fewer NOTIFYs than commits. It runs only after
// the commit, so subscribers still never hear of an event that is not
// durable.
type announcer struct {
	hub *live.Hub
	m   *metrics.Metrics
	log *slog.Logger

	mu      sync.Mutex
	ids     []int
	topics  []string
	signal  chan struct{}
	quit    chan struct{}
	done    chan struct{}
	started atomic.Bool
}

func newAnnouncer(hub *live.Hub, m *metrics.Metrics, log *slog.Logger) *announcer {
	return &announcer{hub: hub, m: m, log: log, signal: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (a *announcer) start() {
	if a.started.CompareAndSwap(false, true) {
		go a.run()
	}
}

// close publishes what is pending and stops.
func (a *announcer) close() {
	if !a.started.Load() {
		return
	}
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	<-a.done
}

func (a *announcer) add(ids []int, topics []string) {
	a.mu.Lock()
	if len(a.ids)+len(ids) > maxUnannounced {
		a.mu.Unlock()
		a.m.LiveDropped.WithLabelValues(string(live.EventReceived)).Add(float64(len(ids)))
		return
	}
	a.ids = append(a.ids, ids...)
	a.topics = append(a.topics, topics...)
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

func (a *announcer) run() {
	defer close(a.done)
	for {
		select {
		case <-a.signal:
			a.flush()
		case <-a.quit:
			a.flush()
			return
		}
	}
}

func (a *announcer) flush() {
	a.mu.Lock()
	ids, topics := a.ids, a.topics
	a.ids, a.topics = nil, nil
	a.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.hub.Publish(ctx, live.Message{Kind: live.EventReceived, IDs: ids, Keys: topics}); err != nil {
		a.log.Warn("publishing received events to other instances", "err", err)
	}
}

// write stores batch and rejects in one transaction of its own and returns
// one result per job, in order.
func (c *committer) write(batch []*job, rejects []store.NewDelivery) ([]result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.txTime)
	defer cancel()
	if c.db.Postgres() {
		return c.store(ctx, nil, batch, rejects)
	}
	tx, err := c.db.Write.BeginTx(ctx, nil)
	if err != nil {
		c.noteFailure()
		return nil, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return c.store(ctx, tx, batch, rejects)
}

// store stores batch and rejects durably — in tx, which it commits, or on
// PostgreSQL (tx nil) in one statement — and returns one result per job,
// in order.
func (c *committer) store(ctx context.Context, tx *sql.Tx, batch []*job, rejects []store.NewDelivery) ([]result, error) {
	now := c.now().UTC()

	// Fold repeated deliveries of one event id into one row.
	index := make(map[string]int, len(batch))
	events := make([]store.NewEvent, 0, len(batch))
	for _, j := range batch {
		if i, ok := index[j.event.EventID]; ok {
			events[i].Deliveries++
			continue
		}
		index[j.event.EventID] = len(events)
		ev := j.event
		ev.Deliveries = 1
		events = append(events, ev)
	}

	deliveries := make([]store.NewDelivery, 0, len(batch)+len(rejects))
	for _, j := range batch {
		d := j.delivery
		d.StatusCode = 200
		d.LatencyMS = msSince(j.arrived)
		deliveries = append(deliveries, d)
	}
	results := make([]result, len(batch))
	if tx == nil {
		links := make([]string, len(deliveries), len(deliveries)+len(rejects))
		for i, j := range batch {
			links[i] = j.event.EventID
		}
		deliveries = append(deliveries, rejects...)
		links = append(links, make([]string, len(rejects))...)
		stored, err := c.w.StoreGroup(ctx, now, events, deliveries, links)
		if err != nil {
			c.noteFailure()
			return nil, err
		}
		firstSeen := map[string]bool{}
		for i, j := range batch {
			s := stored[index[j.event.EventID]]
			results[i] = result{stored: s, duplicate: !s.New || firstSeen[j.event.EventID]}
			firstSeen[j.event.EventID] = true
		}
		c.noteSuccess()
		return results, nil
	}

	stored, err := c.w.InsertEvents(ctx, tx, now, events)
	if err != nil {
		c.noteFailure()
		return nil, err
	}
	byID := make(map[string]store.StoredEvent, len(stored))
	for _, s := range stored {
		byID[s.EventID] = s
	}
	firstSeen := map[string]bool{}
	for i, j := range batch {
		s := byID[j.event.EventID]
		dup := !s.New || firstSeen[j.event.EventID]
		firstSeen[j.event.EventID] = true
		results[i] = result{stored: s, duplicate: dup}
		deliveries[i].WebhookEventID = s.ID
		deliveries[i].Outcome = "accepted"
		if dup {
			deliveries[i].Outcome = "duplicate"
		}
	}
	deliveries = append(deliveries, rejects...)
	if err := c.w.InsertDeliveries(ctx, tx, deliveries); err != nil {
		c.noteFailure()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		c.noteFailure()
		return nil, fmt.Errorf("committing: %w", err)
	}
	c.noteSuccess()
	return results, nil
}

func (c *committer) noteSuccess() {
	t := time.Now()
	c.lastOK.Store(&t)
}

func (c *committer) noteFailure() {
	t := time.Now()
	c.lastErr.Store(&t)
}

// healthy reports whether the last commit attempt succeeded.
func (c *committer) healthy() bool {
	e := c.lastErr.Load()
	if e == nil {
		return true
	}
	ok := c.lastOK.Load()
	return ok != nil && ok.After(*e)
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
