package scanner_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/scanner"
	"github.com/hooklens/hooklens/internal/store"
)

// BenchmarkScan runs the anomaly scanner minute after minute over a data
// set made by `hooklens rollup generate` (set HOOKLENS_BENCH_SQLITE and/or
// HOOKLENS_BENCH_POSTGRES, as for the analytics benchmarks). It reports
// the cold load of the four-week history once, then the cost of each
// scan. Scans store the anomalies they find in that database.
func BenchmarkScan(b *testing.B) {
	for _, c := range []struct{ kind, env string }{{"sqlite", "HOOKLENS_BENCH_SQLITE"}, {"postgres", "HOOKLENS_BENCH_POSTGRES"}} {
		b.Run(c.kind, func(b *testing.B) {
			u := os.Getenv(c.env)
			if u == "" {
				b.Skipf("%s is not set", c.env)
			}
			ctx := context.Background()
			db, err := store.Open(ctx, u, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var last any
			if err := db.Read.QueryRow("SELECT MAX(bucket) FROM metric_rollups WHERE granularity = 'minute'").Scan(&last); err != nil {
				b.Fatal(err)
			}
			end, err := store.ScanTime(last)
			if err != nil || end.IsZero() {
				b.Fatalf("no rollups in %s (%v)", c.env, err)
			}
			sc, err := scanner.New(db, nil, nil, scanner.Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Start far enough back to have a minute per iteration.
			m := end.Add(-time.Duration(b.N+1) * time.Minute)
			start := time.Now()
			if _, err := sc.ScanMinute(ctx, m); err != nil {
				b.Fatal(err)
			}
			cold := time.Since(start)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m = m.Add(time.Minute)
				if _, err := sc.ScanMinute(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cold.Milliseconds()), "cold-load-ms")
		})
	}
}
