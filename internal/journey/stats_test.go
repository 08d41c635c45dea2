package journey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFunnel(t *testing.T) {
	t.Parallel()
	def := builtin(t, "transfer")
	now := t0.Add(40 * dy)
	eval := func(key string, steps ...at) State { return Evaluate(def, script(key, steps...), now) }
	states := []State{
		eval("a", at{"transfer_created", 0}, at{"transfer_completed", dy}),
		eval("b", at{"transfer_created", 0}, at{"transfer_completed", 2 * dy}),
		eval("c", at{"transfer_created", 0}, at{"transfer_completed", 4 * dy}),
		eval("d", at{"transfer_created", 0}, at{"transfer_completed", 10 * dy}), // over the 7d limit
		eval("e", at{"transfer_completed", 3 * dy}),                             // created missed
		eval("f", at{"transfer_created", 0}, at{"transfer_failed", 2 * dy}),
		eval("g", at{"transfer_created", 0}),                               // abandoned
		eval("h", at{"transfer_created", 32 * dy}),                         // stuck
		eval("i", at{"transfer_created", 39 * dy}),                         // active
		eval("j", at{"transfer_created", 0}, at{"transfer_cancelled", hr}), // failed
	}
	excluded := Evaluate(builtin(t, "bank_instant_verification"),
		script("x", at{"funding_source_added", 0}, at{"microdeposits_added", 0}, at{"funding_source_verified", dy}), now)
	require.True(t, excluded.Excluded)
	states = append(states, excluded)

	s := Funnel(states)
	require.Equal(t, "transfer", s.Definition)
	require.Equal(t, 10, s.Instances)
	require.Equal(t, 1, s.Excluded)
	require.Equal(t, map[Status]int{StatusCompleted: 5, StatusFailed: 2, StatusAbandoned: 1, StatusStuck: 1, StatusActive: 1}, s.ByStatus)

	created, completed := s.Steps[0], s.Steps[1]
	require.Equal(t, StepStats{
		Key: "created", Name: "Created", Reached: 9, ReachRate: 0.9, Missed: 1,
		DroppedOff: 3, DropOffRate: 0.3333, Waiting: 2,
	}, created)
	// Times to complete after creation: 1d 2d 4d 10d; nearest-rank median 2d.
	require.Equal(t, StepStats{
		Key: "completed", Name: "Completed", Reached: 5, ReachRate: 0.5, OverLimit: 1,
		MedianSincePrevious: Duration(2 * dy),
	}, completed)
	// Completion durations: 1d 2d 4d 10d; e (its created event never
	// seen) took an unknown time, not 0 s, and is left out and counted.
	require.Equal(t, DurationStats{Count: 4, Avg: Duration(17 * dy / 4), P50: Duration(2 * dy), P90: Duration(10 * dy), Unknown: 1}, s.Completion)
	require.Equal(t, map[Outcome]int{OutcomeCompleted: 5, OutcomeFailed: 1, OutcomeCancelled: 1}, s.ByOutcome)
}

func TestFunnelEmpty(t *testing.T) {
	t.Parallel()
	s := Funnel(nil)
	require.Zero(t, s.Instances)
	require.Len(t, s.ByStatus, 5)
	require.Equal(t, DurationStats{}, s.Completion)
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []int
		p    float64
		want int
	}{
		{[]int{5}, 50, 5},
		{[]int{1, 2}, 50, 1},
		{[]int{3, 1, 2}, 50, 2},
		{[]int{1, 2, 3, 4}, 50, 2},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10},
		{[]int{4, 1}, 100, 4},
	}
	for _, tt := range tests {
		ds := make([]time.Duration, len(tt.in))
		for i, v := range tt.in {
			ds[i] = time.Duration(v)
		}
		require.Equal(t, time.Duration(tt.want), percentile(ds, tt.p), "%v p%v", tt.in, tt.p)
	}
}
