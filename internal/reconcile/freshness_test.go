package reconcile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An event received a moment after the reconciliation read the clock (another
// instance's clock, or a commit racing the read) must not have waited "-1s".
func TestFreshnessNeverReportsANegativeWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := freshness(now.Add(1500*time.Millisecond), now)
	require.Equal(t, "oldest queued event waited 0s", c.Note)
	require.InDelta(t, 1, c.Score, 1e-9)

	c = freshness(now.Add(-90*time.Second), now)
	require.Equal(t, "oldest queued event waited 1m30s", c.Note)
}
