package rollup_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

var topics = []string{"customer_created", "customer_transfer_created", "customer_transfer_completed", "customer_suspended"}

// seed stores events spread over a few hours before base, with their
// deliveries: every event delivered once, every fifth twice, plus
// rejections. It returns the number of deliveries by outcome.
func seed(t *testing.T, db *store.DB, base time.Time, n int) map[string]int {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		at := base.Add(-3 * time.Hour).Add(time.Duration(i) * 83 * time.Second).Add(time.Duration(i%7) * time.Millisecond)
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		ev := store.NewEvent{
			EventID: fmt.Sprintf("ev-%04d", i), Topic: topics[i%len(topics)], TopicKnown: true,
			CreatedAt: at.Add(-1500 * time.Millisecond), Body: []byte("{}"), BodySHA256: "x", BodySize: 2, Deliveries: 1,
		}
		if i%11 == 0 {
			ev.Source, ev.Deliveries = "sync", 0
		}
		stored, err := db.InsertEvents(ctx, tx, at, []store.NewEvent{ev})
		require.NoError(t, err)
		var ds []store.NewDelivery
		if ev.Source != "sync" {
			ds = append(ds, store.NewDelivery{ReceivedAt: at, Outcome: "accepted", StatusCode: 200, WebhookEventID: stored[0].ID})
			counts["accepted"]++
		}
		if i%5 == 0 {
			ds = append(ds, store.NewDelivery{ReceivedAt: at.Add(40 * time.Second), Outcome: "duplicate", StatusCode: 200, WebhookEventID: stored[0].ID})
			counts["duplicate"]++
		}
		if i%6 == 0 {
			outcome := "bad_signature"
			if i%12 == 0 {
				outcome = "malformed"
			}
			ds = append(ds, store.NewDelivery{ReceivedAt: at.Add(3 * time.Second), Outcome: outcome, StatusCode: 401})
			counts[outcome]++
		}
		require.NoError(t, db.InsertDeliveries(ctx, tx, ds))
		require.NoError(t, tx.Commit())
	}
	return counts
}

// failing dead-letters customer_suspended events after one retry.
type failing struct{}

func (failing) Name() string { return "failing" }
func (failing) Apply(_ context.Context, _ *sql.Tx, evs []*pipeline.Event, _ time.Time) (func(context.Context), error) {
	for _, ev := range evs {
		if ev.Topic == "customer_suspended" {
			return nil, errors.New("planned failure")
		}
	}
	return nil, nil
}

// process runs a pipeline until no event is queued or processing.
func process(t *testing.T, db *store.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := pipeline.New(db, live.NewHub("test"), metrics.New(), slogDiscard(), "test", pipeline.Options{
		Workers: 1, MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, PollInterval: 5 * time.Millisecond,
	}, failing{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'queued'").Scan(&n))
		return n == 0
	}, 20*time.Second, 10*time.Millisecond)
	cancel()
	wg.Wait()
}

// snapshot renders every rollup row, for comparisons.
func snapshot(t *testing.T, db *store.DB) []snapRow {
	t.Helper()
	cols := rollup.Columns()
	rows, err := db.Read.Query("SELECT granularity, bucket, topic, " + strings.Join(cols, ", ") +
		" FROM metric_rollups ORDER BY granularity, bucket, topic")
	require.NoError(t, err)
	defer rows.Close()
	var out []snapRow
	for rows.Next() {
		var g, topic string
		var bucket any
		vals := make([]float64, len(cols))
		dest := []any{&g, &bucket, &topic}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		require.NoError(t, rows.Scan(dest...))
		b, err := store.ScanTime(bucket)
		require.NoError(t, err)
		// Sums of latencies are floats added in another order: round them.
		out = append(out, snapRow{fmt.Sprintf("%s %s %q", g, b.Format(time.RFC3339), topic), vals})
	}
	require.NoError(t, rows.Err())
	return out
}

// sums adds a counter over the day rows.
func sums(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range []string{"received", "received_sync", "deliveries", "duplicates", "rejected", "bad_signature", "processed", "dead_lettered", "retried"} {
		var n sql.NullInt64
		require.NoError(t, db.Read.QueryRow("SELECT SUM("+c+") FROM metric_rollups WHERE granularity = 'day'").Scan(&n))
		out[c] = int(n.Int64)
	}
	return out
}

func TestAggregatorCountsDeliveriesOnce(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		counts := seed(t, db, now, 40)
		reg := prometheus.NewRegistry()
		agg := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour, BatchSize: 7, Registerer: reg})
		n, err := agg.Flush(ctx)
		require.NoError(t, err)
		total := counts["accepted"] + counts["duplicate"] + counts["bad_signature"] + counts["malformed"]
		require.Equal(t, total, n)
		mfs, err := reg.Gather()
		require.NoError(t, err)
		require.Len(t, mfs, 2)
		require.Equal(t, "hooklens_rollup_deliveries_counted_total", mfs[0].GetName())
		require.Equal(t, float64(total), mfs[0].GetMetric()[0].GetCounter().GetValue())

		got := sums(t, db)
		require.Equal(t, counts["accepted"]+counts["duplicate"], got["deliveries"])
		require.Equal(t, counts["duplicate"], got["duplicates"])
		require.Equal(t, counts["bad_signature"]+counts["malformed"], got["rejected"])
		require.Equal(t, counts["bad_signature"], got["bad_signature"])

		// Nothing twice.
		n, err = agg.Flush(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, got, sums(t, db))

		// Rejections count under topic "", the rest under their event's topic.
		var rejectedElsewhere, acceptedUnnamed int
		require.NoError(t, db.Read.QueryRow("SELECT COALESCE(SUM(rejected), 0) FROM metric_rollups WHERE topic <> ''").Scan(&rejectedElsewhere))
		require.NoError(t, db.Read.QueryRow("SELECT COALESCE(SUM(deliveries), 0) FROM metric_rollups WHERE topic = ''").Scan(&acceptedUnnamed))
		require.Zero(t, rejectedElsewhere)
		require.Zero(t, acceptedUnnamed)

		w, err := agg.Watermark(ctx)
		require.NoError(t, err)
		require.False(t, w.IsZero())
		back, err := rollup.ParseWatermark(w.String())
		require.NoError(t, err)
		require.Equal(t, w, back)
	})
}

func TestAggregatorWaitsForTheMargin(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, db.InsertDeliveries(ctx, tx, []store.NewDelivery{
			{ReceivedAt: now.Add(-time.Minute), Outcome: "bad_signature", StatusCode: 401},
			{ReceivedAt: now.Add(-time.Second), Outcome: "bad_signature", StatusCode: 401},
		}))
		require.NoError(t, tx.Commit())
		clock := now
		agg := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: 30 * time.Second, Now: func() time.Time { return clock }})
		n, err := agg.Flush(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "only the delivery older than the margin")
		clock = now.Add(time.Minute)
		n, err = agg.Flush(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, 2, sums(t, db)["bad_signature"])
	})
}

// On PostgreSQL a delivery's id and time are taken before its commit, so a
// delivery committed late can sort before one already counted; the margin
// is what keeps it from being skipped.
func TestAggregatorMarginCoversLateCommits(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "postgres")
	ctx := context.Background()
	now := time.Now().UTC()
	slow, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, db.InsertDeliveries(ctx, slow, []store.NewDelivery{{ReceivedAt: now, Outcome: "malformed", StatusCode: 400}}))
	fast, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, db.InsertDeliveries(ctx, fast, []store.NewDelivery{{ReceivedAt: now.Add(time.Millisecond), Outcome: "malformed", StatusCode: 400}}))
	require.NoError(t, fast.Commit())

	clock := now.Add(2 * time.Second) // the slow transaction is still within its commit timeout
	agg := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: 10 * time.Second, Now: func() time.Time { return clock }})
	n, err := agg.Flush(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing younger than the margin is counted")

	require.NoError(t, slow.Commit())
	clock = now.Add(20 * time.Second)
	n, err = agg.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, sums(t, db)["rejected"])
}

func TestConcurrentAggregatorsCountOnce(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		counts := seed(t, db, time.Now().UTC(), 60)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				agg := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour, BatchSize: 5})
				_, err := agg.Flush(context.Background())
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		got := sums(t, db)
		require.Equal(t, counts["accepted"]+counts["duplicate"], got["deliveries"])
		require.Equal(t, counts["bad_signature"]+counts["malformed"], got["rejected"])
	})
}

func TestRebuildMatchesLiveCounting(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, time.Now().UTC(), 120)
		process(t, db)
		_, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour}).Flush(ctx)
		require.NoError(t, err)
		live := snapshot(t, db)
		got := sums(t, db)
		require.Equal(t, 90, got["received"], "dead-lettered events were never processed")
		require.Equal(t, 30, got["dead_lettered"])
		require.Equal(t, 30, got["retried"])
		require.Equal(t, 90, got["processed"])

		// Damage the rollups, then rebuild everything: the same rows again.
		_, err = db.Write.Exec("UPDATE metric_rollups SET received = received + 5, proc_b03 = 7")
		require.NoError(t, err)
		_, err = db.Write.Exec(db.Rebind("DELETE FROM metric_rollups WHERE granularity = 'minute' AND topic = ?"), topics[1])
		require.NoError(t, err)
		var prog progress
		res, err := rollup.Rebuild(ctx, db, rollup.RebuildOptions{Progress: &prog})
		require.NoError(t, err)
		require.Equal(t, 120, res.Events)
		require.Positive(t, res.Hours)
		require.Equal(t, res.Hours, prog.total)
		require.Equal(t, res.Hours, prog.done)
		requireSameRollups(t, live, snapshot(t, db))

		// Idempotent, and a partial rebuild leaves the rows as they are.
		_, err = rollup.Rebuild(ctx, db, rollup.RebuildOptions{Since: time.Now().Add(-time.Hour)})
		require.NoError(t, err)
		requireSameRollups(t, live, snapshot(t, db))

		// Deliveries past the watermark are left to the aggregator.
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, db.InsertDeliveries(ctx, tx, []store.NewDelivery{{ReceivedAt: time.Now().UTC(), Outcome: "too_large", StatusCode: 413}}))
		require.NoError(t, tx.Commit())
		_, err = rollup.Rebuild(ctx, db, rollup.RebuildOptions{})
		require.NoError(t, err)
		requireSameRollups(t, live, snapshot(t, db))
		n, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour}).Flush(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
}

type progress struct{ total, done int }

func (p *progress) SetTotal(n int)  { p.total = n }
func (p *progress) Add(done, _ int) { p.done += done }
func (p *progress) Stage(string)    {}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// snapRow is one rollup row: its key and its counters.
type snapRow struct {
	key  string
	vals []float64
}

// requireSameRollups compares snapshots: counts exactly, latency sums to a
// relative 1e-9 (float sums depend on the order of addition).
func requireSameRollups(t *testing.T, want, got []snapRow) {
	t.Helper()
	require.Equal(t, len(want), len(got), "rollup rows")
	for i := range want {
		require.Equal(t, want[i].key, got[i].key)
		for j, w := range want[i].vals {
			require.InDelta(t, w, got[i].vals[j], 1e-9*math.Max(1, math.Abs(w)), "%s column %d", want[i].key, j)
		}
	}
}

// Retention deletes old events but keeps their rollups: a rebuild must not
// wipe the history it can no longer recompute.
func TestRebuildKeepsRetainedHistory(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		seed(t, db, now, 120)
		process(t, db)
		_, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour}).Flush(ctx)
		require.NoError(t, err)
		before := snapshot(t, db)

		// What retention does: record the run, then delete old events with
		// their deliveries (mid-hour: the cutoff is no boundary).
		_, err = audit.New(db, slogDiscard()).Append(ctx, audit.Entry{Actor: "system", ActorKind: audit.KindSystem,
			Action: audit.ActionRetention, Target: "events up to the cutoff"})
		require.NoError(t, err)
		cutoff := now.Add(-3 * time.Hour).Add(70 * time.Minute)
		_, err = db.Write.Exec(db.Rebind("DELETE FROM webhook_deliveries WHERE received_at < ?"), cutoff)
		require.NoError(t, err)
		_, err = db.Write.Exec(db.Rebind("DELETE FROM webhook_events WHERE received_at < ?"), cutoff)
		require.NoError(t, err)

		res, err := rollup.Rebuild(ctx, db, rollup.RebuildOptions{Since: now.AddDate(0, 0, -2)})
		require.NoError(t, err)
		require.False(t, res.From.Before(cutoff), "starts after the oldest event left")
		requireSameRollups(t, before, snapshot(t, db))
	})
}
