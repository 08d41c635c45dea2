package bulkgen_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/bulkgen"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

// snapshot renders the rollups, latency sums rounded (float sums depend on
// the order of addition).
func snapshot(t *testing.T, db *store.DB) []snapRow {
	t.Helper()
	cols := rollup.Columns()
	rows, err := db.Read.Query("SELECT granularity, bucket, topic, " + strings.Join(cols, ", ") + " FROM metric_rollups ORDER BY granularity, bucket, topic")
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
		out = append(out, snapRow{fmt.Sprintf("%s %s %q", g, b.Format(time.RFC3339), topic), vals})
	}
	require.NoError(t, rows.Err())
	return out
}

func TestGeneratedRollupsMatchTheRows(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		to := time.Now().UTC()
		from := to.Add(-36 * time.Hour)
		indexes := func() []string {
			if db.Postgres() {
				return nil
			}
			rows, err := db.Read.Query("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
			require.NoError(t, err)
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				require.NoError(t, rows.Scan(&s))
				out = append(out, s)
			}
			return out
		}
		before := indexes()
		var progress int
		res, err := bulkgen.Generate(ctx, db, bulkgen.Options{Events: 5000, From: from, To: to, Seed: 42, ChunkSize: 1000,
			DuplicateShare: 0.05, RejectShare: 0.01, DeadLetterShare: 0.002,
			Progress: func(done, _ int) { progress = done }})
		require.NoError(t, err)
		require.InDelta(t, 5000, res.Events, 1000)
		require.Equal(t, res.Events, progress)
		require.Equal(t, before, indexes(), "the indexes dropped for the load are back")
		t.Logf("%d events, %d deliveries, %d rollup rows in %s (%.0f events/s)", res.Events, res.Deliveries, res.RollupRows, res.Duration, res.EventsPerSecond())

		var events, deliveries, dups, failed int
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*), COALESCE(SUM(delivery_count), 0), (SELECT COUNT(*) FROM event_queue WHERE state = 'failed') FROM webhook_events").Scan(&events, &dups, &failed))
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM webhook_deliveries").Scan(&deliveries))
		require.Equal(t, res.Events, events)
		require.Equal(t, res.Deliveries, deliveries)
		require.Positive(t, failed)

		// Every delivery is counted: the aggregator finds nothing new.
		n, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Hour}).Flush(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		// The overview agrees with the rows.
		svc, err := analytics.New(db, analytics.Options{})
		require.NoError(t, err)
		o, err := svc.Overview(ctx, from, to, "")
		require.NoError(t, err)
		require.Equal(t, float64(events), o.Events.Value)
		require.Equal(t, float64(failed), o.DeadLettered.Value)
		var accepted, dup int
		require.NoError(t, db.Read.QueryRow("SELECT SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END) FROM webhook_deliveries").Scan(&accepted, &dup))
		require.Equal(t, float64(accepted+dup), o.Deliveries.Value)
		require.Equal(t, float64(dup), o.DuplicateDeliveries.Value)
		require.Equal(t, dups-events+countSync(t, db), dup, "delivery counts match the duplicate rows")

		// A rebuild from the rows gives the same rollups.
		rollups := snapshot(t, db)
		_, err = rollup.Rebuild(ctx, db, rollup.RebuildOptions{})
		require.NoError(t, err)
		requireSameRollups(t, rollups, snapshot(t, db))

		// The application's own inserts do not collide with generated ids.
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = db.InsertEvents(ctx, tx, time.Now(), []store.NewEvent{{EventID: "after-bulk", Topic: "customer_created", CreatedAt: time.Now(), Body: []byte("{}"), BodySHA256: "x", BodySize: 2, Deliveries: 1}})
		require.NoError(t, err)
		require.NoError(t, tx.Commit())

		// A second run is refused while deliveries are not counted.
		tx, err = db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, db.InsertDeliveries(ctx, tx, []store.NewDelivery{{ReceivedAt: time.Now(), Outcome: "malformed", StatusCode: 400}}))
		require.NoError(t, tx.Commit())
		_, err = bulkgen.Generate(ctx, db, bulkgen.Options{Events: 10})
		require.ErrorContains(t, err, "not yet counted")
	})
}

func countSync(t *testing.T, db *store.DB) int {
	var n int
	require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM webhook_events WHERE source = 'sync'").Scan(&n))
	return n
}

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

// BenchmarkGenerate writes b.N × 1000 events, to measure the write rate:
// go test -run '^$' -bench Generate -benchtime 300x ./internal/bulkgen/
func BenchmarkGenerate(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := dbtest.Open(b, kind)
			b.ResetTimer()
			res, err := bulkgen.Generate(context.Background(), db, bulkgen.Options{Events: b.N * 1000, Seed: 3})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.EventsPerSecond(), "events/s")
		})
	}
}
