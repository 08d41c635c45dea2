package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckLedger covers the verdicts that void a run.
func TestCheckLedger(t *testing.T) {
	t.Parallel()
	row := eventRow{deliveries: 1, state: "processed"}
	tests := []struct {
		name     string
		events   map[string]*sentEvent
		rows     map[string]eventRow
		total    int
		fresh    bool
		balanced bool
		lost     int
		unacked  int
	}{
		{"all acknowledged and stored",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}, "b": {acked: true, ackedCount: 1}},
			map[string]eventRow{"a": row, "b": row}, 2, true, true, 0, 0},
		{"an acknowledged event is missing",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}, "b": {acked: true, ackedCount: 1}},
			map[string]eventRow{"a": row}, 1, true, false, 1, 0},
		{"stored after a timeout: explained",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}, "b": {unresolved: true}},
			map[string]eventRow{"a": row, "b": row}, 2, true, true, 0, 1},
		{"stored but never sent unanswered: unexplained",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}, "b": {}},
			map[string]eventRow{"a": row, "b": row}, 2, true, false, 0, 1},
		{"a fresh database holds a row nobody sent",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}},
			map[string]eventRow{"a": row}, 2, true, false, 0, 0},
		{"a shared database may hold others' rows",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 1}},
			map[string]eventRow{"a": row}, 2, false, true, 0, 0},
		{"fewer deliveries stored than acknowledged",
			map[string]*sentEvent{"a": {acked: true, ackedCount: 2}},
			map[string]eventRow{"a": row}, 1, true, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := checkLedger(tc.events, tc.rows, tc.total, tc.fresh, true)
			require.Equal(t, tc.balanced, l.Balanced, l.Reason)
			require.Equal(t, tc.lost, l.Lost)
			require.Equal(t, tc.unacked, l.StoredUnacked)
			if !tc.balanced {
				require.NotEmpty(t, l.Reason)
			}
		})
	}
	t.Run("an unbalanced request ledger voids the run", func(t *testing.T) {
		t.Parallel()
		l := checkLedger(map[string]*sentEvent{"a": {acked: true, ackedCount: 1}}, map[string]eventRow{"a": row}, 1, true, false)
		require.False(t, l.Balanced)
	})
}

// TestEndToEnd reads receipt → processed of acknowledged, processed events.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := map[string]*sentEvent{"a": {acked: true}, "b": {acked: true}, "c": {acked: true}, "d": {unresolved: true}}
	rows := map[string]eventRow{
		"a": {state: "processed", received: t0, processed: t0.Add(40 * time.Millisecond), batchMS: 10},
		"b": {state: "processed", received: t0, processed: t0.Add(80 * time.Millisecond), batchMS: 10},
		"c": {state: "queued", received: t0},
		"d": {state: "processed", received: t0, processed: t0.Add(time.Hour)},
	}
	e := endToEnd(events, rows)
	require.Equal(t, 2, e.Processed)
	require.Equal(t, 1, e.NotProcessed)
	require.Equal(t, 80.0, e.Latency.Max)
	require.Equal(t, 90.0, e.Committed.Max)
}
