package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
)

// recorder is a stage that counts how often each event was processed and
// fails events on demand.
type recorder struct {
	mu       sync.Mutex
	seen     map[string]int
	inFlight map[string]bool
	overlap  atomic.Int32
	failIf   func(ev *pipeline.Event) error
	delay    time.Duration
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]int{}, inFlight: map[string]bool{}}
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Apply(ctx context.Context, tx *sql.Tx, events []*pipeline.Event, now time.Time) (func(context.Context), error) {
	r.mu.Lock()
	for _, ev := range events {
		if r.inFlight[ev.EventID] {
			r.overlap.Add(1)
		}
		r.inFlight[ev.EventID] = true
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		for _, ev := range events {
			delete(r.inFlight, ev.EventID)
		}
		r.mu.Unlock()
	}()
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if r.failIf != nil {
		for _, ev := range events {
			if err := r.failIf(ev); err != nil {
				return nil, err
			}
		}
	}
	return func(context.Context) {
		// Runs only after a successful commit: count then.
		r.mu.Lock()
		for _, ev := range events {
			r.seen[ev.EventID]++
		}
		r.mu.Unlock()
	}, nil
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

type bundle struct {
	db  *store.DB
	hub *live.Hub
	m   *metrics.Metrics
}

func setup(t *testing.T, db *store.DB) *bundle {
	return &bundle{db: db, hub: live.NewHub("test"), m: metrics.New()}
}

func (b *bundle) pipeline(t *testing.T, name string, opts pipeline.Options, stages ...pipeline.Stage) *pipeline.Pipeline {
	p := pipeline.New(b.db, b.hub, b.m, apptest.Logger(t), name, opts, stages...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func insert(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	evs := make([]store.NewEvent, len(ids))
	for i, id := range ids {
		evs[i] = store.NewEvent{
			EventID: id, Topic: "customer_transfer_created", TopicKnown: true, ResourceType: "transfer",
			ResourceID: "r-" + id, CreatedAt: time.Now().Add(-2 * time.Second), Source: "webhook",
			Body: []byte(`{}`), BodySHA256: "x", BodySize: 2, Deliveries: 1,
		}
	}
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = db.InsertEvents(ctx, tx, time.Now(), evs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

func states(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	rows, err := db.Read.Query("SELECT processing_state, COUNT(*) FROM webhook_events GROUP BY processing_state")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	return out
}

func rollupSum(t *testing.T, db *store.DB, col string) int {
	t.Helper()
	var n sql.NullInt64
	require.NoError(t, db.Read.QueryRow("SELECT SUM("+col+") FROM metric_rollups WHERE granularity = 'minute'").Scan(&n))
	return int(n.Int64)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

func TestProcessesEveryEventOnce(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		rec := newRecorder()
		b.pipeline(t, "a", pipeline.Options{BatchSize: 25, PollInterval: 20 * time.Millisecond}, rec)
		insert(t, db, ids("e", 500)...)
		require.Eventually(t, func() bool { return states(t, db)["processed"] == 500 }, 20*time.Second, 20*time.Millisecond)
		for id, n := range rec.counts() {
			require.Equal(t, 1, n, id)
		}
		require.Len(t, rec.counts(), 500)
		require.Zero(t, rec.overlap.Load())
		// The rollups counted each event once, with a latency for each.
		require.Equal(t, 500, rollupSum(t, db, "received"))
		require.Equal(t, 500, rollupSum(t, db, "processed"))
		require.Equal(t, 500, rollupSum(t, db, "proc_count"))
		require.Equal(t, 500, rollupSum(t, db, "lag_count"))
		var hours, days int
		require.NoError(t, db.Read.QueryRow("SELECT SUM(processed) FROM metric_rollups WHERE granularity = 'hour'").Scan(&hours))
		require.NoError(t, db.Read.QueryRow("SELECT SUM(processed) FROM metric_rollups WHERE granularity = 'day'").Scan(&days))
		require.Equal(t, 500, hours)
		require.Equal(t, 500, days)
	})
}

func TestRetriesThenDeadLetters(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		rec := newRecorder()
		var mu sync.Mutex
		attempts := map[int]bool{}
		rec.failIf = func(ev *pipeline.Event) error {
			switch ev.EventID {
			case "poison":
				// Within one attempt, a failing batch is re-run event by event,
				// so the stage may see the same attempt twice.
				mu.Lock()
				attempts[ev.Attempts] = true
				mu.Unlock()
				return errors.New("cannot process this one")
			case "flaky":
				if ev.Attempts < 3 {
					return errors.New("not yet")
				}
			}
			return nil
		}
		p := b.pipeline(t, "a", pipeline.Options{
			MaxAttempts: 4, BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
			PollInterval: 10 * time.Millisecond, BatchSize: 10,
		}, rec)
		insert(t, db, append(ids("ok", 30), "poison", "flaky")...)
		require.Eventually(t, func() bool {
			s := states(t, db)
			return s["processed"] == 31 && s["failed"] == 1
		}, 20*time.Second, 20*time.Millisecond)
		mu.Lock()
		require.Equal(t, map[int]bool{1: true, 2: true, 3: true, 4: true}, attempts, "the poison event was tried exactly MaxAttempts times")
		mu.Unlock()
		var lastErr string
		var tries int
		require.NoError(t, db.Read.QueryRow("SELECT last_error, attempts FROM webhook_events WHERE event_id = 'poison'").Scan(&lastErr, &tries))
		require.Contains(t, lastErr, "cannot process this one")
		require.Equal(t, 4, tries)
		require.Equal(t, 1, rec.counts()["flaky"])
		require.Equal(t, 1, rollupSum(t, db, "dead_lettered"))
		require.GreaterOrEqual(t, rollupSum(t, db, "retried"), 3+2)
		st, err := p.Status(context.Background())
		require.NoError(t, err)
		require.Equal(t, "closed", st.Breaker, "a bad event does not trip the breaker")
	})
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		insert(t, db, ids("l", 20)...)
		// A worker claims the events and dies without a word.
		_, err := db.Write.Exec(db.Rebind(`UPDATE webhook_events SET processing_state = 'processing',
			locked_until = ?, locked_by = 'dead-worker', attempts = 1`), time.Now().UTC().Add(300*time.Millisecond))
		require.NoError(t, err)
		b := setup(t, db)
		rec := newRecorder()
		b.pipeline(t, "b", pipeline.Options{PollInterval: 20 * time.Millisecond}, rec)
		time.Sleep(100 * time.Millisecond)
		require.Empty(t, rec.counts(), "a live lease is respected")
		require.Eventually(t, func() bool { return states(t, db)["processed"] == 20 }, 10*time.Second, 20*time.Millisecond)
		for _, n := range rec.counts() {
			require.Equal(t, 1, n)
		}
		// The dead worker cannot write its results any more.
		res, err := db.Write.Exec("UPDATE webhook_events SET processing_state = 'processed' WHERE locked_by = 'dead-worker' AND processing_state = 'processing'")
		require.NoError(t, err)
		n, _ := res.RowsAffected()
		require.Zero(t, n)
	})
}

func TestReplayDoesNotDoubleCount(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		rec := newRecorder()
		p := b.pipeline(t, "a", pipeline.Options{PollInterval: 20 * time.Millisecond}, rec)
		insert(t, db, ids("r", 50)...)
		require.Eventually(t, func() bool { return states(t, db)["processed"] == 50 }, 10*time.Second, 20*time.Millisecond)

		var rowIDs []int
		rows, err := db.Read.Query("SELECT id FROM webhook_events ORDER BY id")
		require.NoError(t, err)
		for rows.Next() {
			var id int
			require.NoError(t, rows.Scan(&id))
			rowIDs = append(rowIDs, id)
		}
		rows.Close()

		prog := &progress{}
		res, err := p.BulkReplay(context.Background(), len(rowIDs), func(ctx context.Context, after, limit int) ([]int, error) {
			var out []int
			for _, id := range rowIDs {
				if id > after && len(out) < limit {
					out = append(out, id)
				}
			}
			return out, nil
		}, prog)
		require.NoError(t, err)
		require.Equal(t, 50, res["replayed"])
		require.Equal(t, 50, prog.done)
		for _, n := range rec.counts() {
			require.Equal(t, 2, n, "every event was processed again")
		}
		require.Equal(t, 50, rollupSum(t, db, "received"), "but counted once")
		require.Equal(t, 50, rollupSum(t, db, "processed"))
	})
}

type progress struct {
	mu                 sync.Mutex
	total, done, fails int
}

func (p *progress) SetTotal(n int) { p.mu.Lock(); p.total = n; p.mu.Unlock() }
func (p *progress) Add(done, failed int) {
	p.mu.Lock()
	p.done += done
	p.fails += failed
	p.mu.Unlock()
}
func (p *progress) Stage(string) {}

// TestBreakerPausesWorkers: a stage that finds the database unavailable
// opens the breaker; workers pause; when it recovers, everything is
// processed.
func TestBreakerPausesWorkers(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	b := setup(t, db)
	rec := newRecorder()
	var down atomic.Bool
	down.Store(true)
	rec.failIf = func(*pipeline.Event) error {
		if down.Load() {
			return fmt.Errorf("simulated outage: %w", context.DeadlineExceeded)
		}
		return nil
	}
	p := b.pipeline(t, "a", pipeline.Options{PollInterval: 10 * time.Millisecond, BatchSize: 1, MaxAttempts: 50,
		BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}, rec)
	insert(t, db, ids("b", 10)...)
	require.Eventually(t, func() bool { return p.BreakerState() == "open" }, 10*time.Second, 10*time.Millisecond)
	down.Store(false)
	require.Eventually(t, func() bool { return states(t, db)["processed"] == 10 }, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, "closed", p.BreakerState())
}

// TestTwoPipelinesShareOneQueue runs two pipelines (as two instances would)
// on one PostgreSQL database: every event is processed exactly once and
// never by both at the same time.
func TestTwoPipelinesShareOneQueue(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "postgres")
	other, err := store.Open(context.Background(), db.URL, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	rec := newRecorder()
	rec.delay = time.Millisecond
	setup(t, db).pipeline(t, "one", pipeline.Options{Workers: 3, BatchSize: 20, PollInterval: 5 * time.Millisecond}, rec)
	setup(t, other).pipeline(t, "two", pipeline.Options{Workers: 3, BatchSize: 20, PollInterval: 5 * time.Millisecond}, rec)
	for i := 0; i < 10; i++ {
		insert(t, db, ids(fmt.Sprintf("s%d", i), 200)...)
	}
	require.Eventually(t, func() bool { return states(t, db)["processed"] == 2000 }, 60*time.Second, 50*time.Millisecond)
	counts := rec.counts()
	require.Len(t, counts, 2000)
	for id, n := range counts {
		require.Equal(t, 1, n, id)
	}
	require.Zero(t, rec.overlap.Load())
	var byWorker int
	require.NoError(t, db.Read.QueryRow("SELECT COUNT(DISTINCT locked_by) FROM webhook_events").Scan(&byWorker))
	require.Equal(t, 2000, rollupSum(t, db, "processed"))
}
