package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/simulate"
)

// TestSendClosed drives a closed loop of 8 connections against a server
// that counts how many requests it holds at once: never more than the
// connections, every request sent once and answered, and the ledger
// balances.
func TestSendClosed(t *testing.T) {
	t.Parallel()
	var inFlight, peak, served atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		seen[r.Header.Get("X-Request-Signature-SHA-256")]++
		mu.Unlock()
		k := served.Add(1)
		time.Sleep(time.Millisecond)
		if k%50 == 0 {
			http.Error(w, "nope", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	defer srv.Close()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 5})
	require.NoError(t, err)
	reqs, err := bench.Plan(g, "s", bench.Traffic{Rate: 1000, Duration: 300 * time.Millisecond}, 5)
	require.NoError(t, err)
	require.Len(t, reqs, 300)
	res, err := bench.SendClosed(context.Background(), reqs, bench.ClosedOptions{URL: srv.URL, Connections: 8})
	require.NoError(t, err)
	require.True(t, res.Balanced())
	require.Equal(t, 300, res.Sent)
	require.Zero(t, res.CutOff)
	require.Equal(t, 6, res.Rejected, "every 50th answer was a 503")
	require.Equal(t, 6, res.ByStatus[http.StatusServiceUnavailable])
	require.Equal(t, 294, res.Acked)
	require.Equal(t, 294, res.Ack.Count)
	require.LessOrEqual(t, peak.Load(), int64(8), "a closed loop never has more requests out than connections")
	require.Len(t, seen, 300, "each request sent exactly once")
	require.Positive(t, res.Throughput)
}

// TestSendClosedBounded stops a closed loop at its duration bound and
// counts the requests never sent as cut off.
func TestSendClosedBounded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	defer srv.Close()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 6})
	require.NoError(t, err)
	reqs, err := bench.Plan(g, "s", bench.Traffic{Rate: 1000, Duration: 2 * time.Second}, 6)
	require.NoError(t, err)
	res, err := bench.SendClosed(context.Background(), reqs, bench.ClosedOptions{URL: srv.URL, Connections: 2, MaxDuration: 200 * time.Millisecond})
	require.NoError(t, err)
	require.True(t, res.Balanced())
	// 2 connections × 20 ms each: about 20 requests in 200 ms, far from 2,000.
	require.Positive(t, res.Acked)
	require.Positive(t, res.CutOff)
	require.Equal(t, 2000, res.Sent+res.CutOff)
	require.Equal(t, res.Sent, res.Acked)
}

// TestRatios checks the hooklens ÷ ceiling arithmetic and the median over
// pairs, including an incomplete pair (ignored) and a zero ceiling figure.
func TestRatios(t *testing.T) {
	t.Parallel()
	runs := []bench.ClosedRun{
		{System: bench.SystemHooklens, Pair: 1, RequestsPerS: 900, CPUPerWebhookUS: 600, BytesPerEvent: 3000},
		{System: bench.SystemCeiling, Pair: 1, RequestsPerS: 1200, CPUPerWebhookUS: 200, BytesPerEvent: 1000},
		{System: bench.SystemHooklens, Pair: 2, RequestsPerS: 1000, CPUPerWebhookUS: 500, BytesPerEvent: 2000},
		{System: bench.SystemCeiling, Pair: 2, RequestsPerS: 1000, CPUPerWebhookUS: 250, BytesPerEvent: 1000},
		{System: bench.SystemHooklens, Pair: 3, RequestsPerS: 800, CPUPerWebhookUS: 800, BytesPerEvent: 1500},
		{System: bench.SystemCeiling, Pair: 3, RequestsPerS: 1000, CPUPerWebhookUS: 200, BytesPerEvent: 0},
		{System: bench.SystemHooklens, Pair: 4, RequestsPerS: 1, CPUPerWebhookUS: 1, BytesPerEvent: 1},
	}
	pairs, med := bench.Ratios(runs)
	require.Len(t, pairs, 3)
	require.InDelta(t, 0.75, pairs[0].RequestsPerS, 1e-9)
	require.InDelta(t, 3.0, pairs[0].CPUPerWebhook, 1e-9)
	require.InDelta(t, 3.0, pairs[0].BytesPerEvent, 1e-9)
	require.InDelta(t, 1.0, pairs[1].RequestsPerS, 1e-9)
	require.InDelta(t, 2.0, pairs[1].CPUPerWebhook, 1e-9)
	require.Zero(t, pairs[2].BytesPerEvent, "a zero ceiling figure gives no ratio")
	require.InDelta(t, 0.8, med.RequestsPerS, 1e-9)  // 0.75, 0.8, 1.0
	require.InDelta(t, 3.0, med.CPUPerWebhook, 1e-9) // 2, 3, 4
	require.InDelta(t, 2.0, med.BytesPerEvent, 1e-9) // 0, 2, 3

	_, med = bench.Ratios(runs[:4])
	require.InDelta(t, 0.875, med.RequestsPerS, 1e-9, "the median of two is their mean")
	_, med = bench.Ratios(nil)
	require.Zero(t, med.RequestsPerS)
}

// TestBytesOnDisk measures a database before and after writing 2,000 rows
// of 1 KiB: on SQLite the file plus its WAL, on PostgreSQL every table of
// the database after VACUUM.
func TestBytesOnDisk(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, kind)
			ctx := context.Background()
			_, err := db.Write.ExecContext(ctx, "CREATE TABLE bulk_bytes (id INTEGER PRIMARY KEY, body TEXT)")
			require.NoError(t, err)
			before, err := bench.BytesOnDisk(ctx, db.URL)
			require.NoError(t, err)
			require.Positive(t, before)
			tx, err := db.Write.BeginTx(ctx, nil)
			require.NoError(t, err)
			// Incompressible-enough text, so TOAST compression cannot hide it.
			for i := 0; i < 2000; i++ {
				body := make([]byte, 1024)
				for j := range body {
					body[j] = byte('a' + (i*7919+j*31+j*j)%26)
				}
				_, err := tx.ExecContext(ctx, db.Rebind("INSERT INTO bulk_bytes (id, body) VALUES (?, ?)"), i, string(body))
				require.NoError(t, err)
			}
			require.NoError(t, tx.Commit())
			after, err := bench.BytesOnDisk(ctx, db.URL)
			require.NoError(t, err)
			grown := after - before
			require.GreaterOrEqual(t, grown, int64(2000*1024), "at least the bodies")
			require.Less(t, grown, int64(4*2000*1024), "not wildly more")
			if kind == "sqlite" {
				_, err := db.Write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
				require.NoError(t, err)
				again, err := bench.BytesOnDisk(ctx, db.URL)
				require.NoError(t, err)
				require.GreaterOrEqual(t, again, int64(2000*1024), "the rows moved from the WAL to the file")
			}
		})
	}
}
