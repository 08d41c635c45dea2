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
	rows, err := db.Read.Query("SELECT state, COUNT(*) FROM event_queue GROUP BY state")
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
		// The recorder counts after each commit, a moment after the queue
		// shows the events processed.
		require.Eventually(t, func() bool { return len(rec.counts()) == 500 }, 10*time.Second, 10*time.Millisecond)
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
		entries, err := db.QueueEntries(context.Background(), []int{rowID(t, db, "poison")})
		require.NoError(t, err)
		for _, e := range entries {
			lastErr, tries = e.LastError, e.Attempts
			require.Equal(t, "failed", e.State)
		}
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

// TestCrashedWorkerReleasesEvents: a worker that claimed events and died
// (its transaction rolled back, its PostgreSQL connection gone) leaves
// them to the others; while its transaction lives, they are skipped.
func TestCrashedWorkerReleasesEvents(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert(t, db, ids("l", 20)...)
		if db.Postgres() {
			// Another instance holds the events in an open transaction.
			other, err := store.Open(ctx, db.URL, store.Options{MaxConns: 2})
			require.NoError(t, err)
			defer other.Close()
			conn, err := other.Write.Conn(ctx)
			require.NoError(t, err)
			tx, err := conn.BeginTx(ctx, nil)
			require.NoError(t, err)
			held, err := other.ClaimDue(ctx, tx, time.Now().Add(time.Second), 100)
			require.NoError(t, err)
			require.Len(t, held, 20)
			var pid int
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))

			b := setup(t, db)
			rec := newRecorder()
			p := b.pipeline(t, "b", pipeline.Options{PollInterval: 20 * time.Millisecond}, rec)
			// A round of this pipeline finds nothing it may take.
			require.Eventually(t, func() bool {
				n, err := p.Round(ctx)
				return err == nil && n == 0
			}, 10*time.Second, 20*time.Millisecond)
			require.Empty(t, rec.counts(), "events another transaction holds are skipped")
			// The holder dies: its connection ends, its locks with it.
			_, err = db.Write.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid)
			require.NoError(t, err)
			_ = tx.Rollback()
			_ = conn.Close()
			require.Eventually(t, func() bool { return states(t, db)["processed"] == 20 }, 10*time.Second, 20*time.Millisecond)
			for _, n := range rec.counts() {
				require.Equal(t, 1, n)
			}
			return
		}
		// SQLite: a worker that claimed and crashed mid-batch rolled back;
		// nothing it did stays, and no attempt was spent.
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		held, err := db.ClaimDue(ctx, tx, time.Now().Add(time.Second), 100)
		require.NoError(t, err)
		require.Len(t, held, 20)
		require.NoError(t, tx.Rollback())
		b := setup(t, db)
		rec := newRecorder()
		b.pipeline(t, "b", pipeline.Options{PollInterval: 20 * time.Millisecond}, rec)
		require.Eventually(t, func() bool { return states(t, db)["processed"] == 20 }, 10*time.Second, 20*time.Millisecond)
		entries, err := db.QueueEntries(ctx, []int{rowID(t, db, "l-0000")})
		require.NoError(t, err)
		for _, e := range entries {
			require.Equal(t, 1, e.Attempts, "the crashed attempt was not counted")
		}
	})
}

func rowID(t *testing.T, db *store.DB, eventID string) int {
	t.Helper()
	var id int
	require.NoError(t, db.Read.QueryRow(db.Rebind("SELECT id FROM webhook_events WHERE event_id = ?"), eventID).Scan(&id))
	return id
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
		// The recorder counts after each commit, a moment after the queue
		// shows the events processed.
		require.Eventually(t, func() bool {
			for _, n := range rec.counts() {
				if n < 2 {
					return false
				}
			}
			return true
		}, 10*time.Second, 10*time.Millisecond)
		for _, n := range rec.counts() {
			require.Equal(t, 2, n, "every event was processed again, once")
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
	require.Eventually(t, func() bool { return len(rec.counts()) == 2000 }, 10*time.Second, 10*time.Millisecond)
	counts := rec.counts()
	require.Len(t, counts, 2000)
	for id, n := range counts {
		require.Equal(t, 1, n, id)
	}
	require.Zero(t, rec.overlap.Load())
	require.Equal(t, 2000, rollupSum(t, db, "processed"))
}

// TestImplausibleCreatedIsLeftOutOfTheLag: a signed event whose created
// time is absurd is processed and counted, but not in the delivery lag
// (issue 20 item 12: one such event made a day's average lag 321 days).
func TestImplausibleCreatedIsLeftOutOfTheLag(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		var evs []store.NewEvent
		for i, created := range []time.Time{now.Add(-2 * time.Second), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
			evs = append(evs, store.NewEvent{EventID: fmt.Sprintf("abs-%d", i), Topic: "customer_created", TopicKnown: true,
				CreatedAt: created, Source: "webhook", Body: []byte(`{}`), BodySHA256: "x", BodySize: 2, Deliveries: 1})
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = db.InsertEvents(ctx, tx, now, evs)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		p := setup(t, db).pipeline(t, "a", pipeline.Options{PollInterval: 10 * time.Millisecond}, newRecorder())
		_ = p
		require.Eventually(t, func() bool { return states(t, db)["processed"] == 3 }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, 3, rollupSum(t, db, "processed"))
		require.Equal(t, 1, rollupSum(t, db, "lag_count"), "only the plausible created time counts in the lag")
		var sum sql.NullFloat64
		require.NoError(t, db.Read.QueryRow("SELECT SUM(lag_sum_ms) FROM metric_rollups WHERE granularity = 'minute'").Scan(&sum))
		require.Less(t, sum.Float64, 60_000.0)
	})
}
