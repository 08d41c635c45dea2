package analytics_test

import (
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/bulkgen"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// The analytics benchmarks run over a generated data set. They only run
// with -bench, and size themselves from the environment:
//
//	HOOKLENS_BENCH_EVENTS    events to generate over 30 days (default 200000)
//	HOOKLENS_BENCH_SQLITE    a SQLite file to keep the data set in (reused when it holds one)
//	HOOKLENS_BENCH_POSTGRES  a PostgreSQL database URL to keep it in (likewise)
//
// Without the last two each run generates into fresh test databases.
//
//	HOOKLENS_BENCH_EVENTS=10000000 HOOKLENS_BENCH_SQLITE=/tmp/bench.db \
//	HOOKLENS_BENCH_POSTGRES=postgres://…/bench go test -run '^$' -bench . -benchtime 50x ./internal/analytics/

const benchMetaKey = "bench.dataset"

type benchSet struct {
	db   *store.DB
	svc  *analytics.Service
	to   time.Time
	rows int
}

var (
	benchMu   sync.Mutex
	benchSets = map[string]*benchSet{}
)

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("HOOKLENS_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// dataset opens (and if need be generates) the data set of kind.
func dataset(b *testing.B, kind string) *benchSet {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchSets[kind]; ok {
		return s
	}
	ctx := context.Background()
	env := map[string]string{"sqlite": "HOOKLENS_BENCH_SQLITE", "postgres": "HOOKLENS_BENCH_POSTGRES"}[kind]
	var db *store.DB
	if u := os.Getenv(env); u != "" {
		var err error
		if db, err = store.Open(ctx, u, store.Options{}); err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
	} else {
		if kind == "postgres" && os.Getenv("TEST_DATABASE_URL") == "" {
			b.Skip("TEST_DATABASE_URL is not set")
		}
		db = dbtest.Open(b, kind)
	}
	n := benchEvents()
	want := strconv.Itoa(n)
	if have, err := db.Meta(ctx, benchMetaKey); err != nil || have == "" {
		// A data set made with `hooklens rollup generate` has no marker:
		// take it as it is, ending with its last event.
		var n int
		var last any
		if err := db.Read.QueryRow("SELECT COUNT(*), MAX(received_at) FROM webhook_events").Scan(&n, &last); err == nil && n > 0 {
			t, err := store.ScanTime(last)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.SetMeta(ctx, benchMetaKey, strconv.Itoa(n)+" "+t.Add(time.Second).Format(time.RFC3339Nano)); err != nil {
				b.Fatal(err)
			}
			want = strconv.Itoa(n)
		}
	}
	if have, err := db.Meta(ctx, benchMetaKey); err != nil || have == "" {
		b.Logf("%s: generating %d events over 30 days…", kind, n)
		res, err := bulkgen.Generate(ctx, db, bulkgen.Options{Events: n, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d events, %d deliveries, %d rollup rows in %s (%.0f events/s)",
			kind, res.Events, res.Deliveries, res.RollupRows, res.Duration.Round(time.Second), res.EventsPerSecond())
		if err := db.SetMeta(ctx, benchMetaKey, want+" "+res.To.Format(time.RFC3339Nano)); err != nil {
			b.Fatal(err)
		}
	}
	meta, _ := db.Meta(ctx, benchMetaKey)
	var to time.Time
	if _, ts, ok := strings.Cut(meta, " "); ok {
		to, _ = time.Parse(time.RFC3339Nano, ts)
	}
	var rows int
	if err := db.Read.QueryRow("SELECT COUNT(*) FROM webhook_events").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d events in the data set", kind, rows)
	// The data set ends when it was generated; query as of then.
	svc, err := analytics.New(db, analytics.Options{Now: func() time.Time { return to }})
	if err != nil {
		b.Fatal(err)
	}
	s := &benchSet{db: db, svc: svc, to: to, rows: rows}
	benchSets[kind] = s
	return s
}

// BenchmarkAnalytics measures Overview and EventStats over several
// ranges, and exports (reporting rows per second), on each database.
func BenchmarkAnalytics(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := dataset(b, kind)
			ctx := context.Background()
			for _, r := range []struct {
				name string
				span time.Duration
			}{{"1h", time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}} {
				b.Run("overview-"+r.name, func(b *testing.B) {
					var lat latencies
					for b.Loop() {
						start := time.Now()
						if _, err := s.svc.Overview(ctx, s.to.Add(-r.span), s.to, ""); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					lat.report(b)
				})
			}
			for _, r := range []struct {
				name string
				f    analytics.EventFilter
			}{
				{"24h-all", analytics.EventFilter{From: s.to.Add(-24 * time.Hour), To: s.to}},
				{"7d-prefix", analytics.EventFilter{From: s.to.Add(-7 * 24 * time.Hour), To: s.to, TopicPrefix: "customer_transfer_"}},
				{"30d-family", analytics.EventFilter{From: s.to.Add(-30 * 24 * time.Hour), To: s.to, Families: []string{"transfer", "bank_transfer"}}},
			} {
				b.Run("eventStats-"+r.name, func(b *testing.B) {
					var lat latencies
					for b.Loop() {
						start := time.Now()
						if _, err := s.svc.EventStats(ctx, r.f); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					lat.report(b)
				})
			}
			// Exports stream the last day's events (about a thirtieth of
			// the data set).
			for _, format := range []string{analytics.FormatCSV, analytics.FormatNDJSON} {
				for _, payload := range []bool{false, true} {
					name := "export-" + format
					if payload {
						name += "+payload"
					}
					b.Run(name, func(b *testing.B) {
						req := analytics.ExportRequest{Type: analytics.ExportEvents, Format: format, IncludePayload: payload,
							Events: analytics.EventExportFilter{From: s.to.Add(-24 * time.Hour), To: s.to}}
						rows := 0
						start := time.Now()
						for b.Loop() {
							n, err := s.svc.Export(ctx, io.Discard, req, nil)
							if err != nil {
								b.Fatal(err)
							}
							rows += n
						}
						b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
						b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
					})
				}
			}
		})
	}
}

// latencies reports the median and the 99th percentile of the calls, more
// telling than the mean on a shared machine.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l[min(len(l)-1, len(l)*99/100)].Microseconds())/1000, "p99-ms")
}
