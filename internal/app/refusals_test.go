package app_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
)

// TestCountedRejectionsReachTheRollups: rejections past the recorded
// sample are only counted (issue 20 item 4); the counts still reach the
// rollups, so rejection figures and the signature-failure detector see the
// whole flood.
func TestCountedRejectionsReachTheRollups(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	const flood = 60
	for range flood {
		resp := s.DeliverSigned(eventBody("forged", "customer_created"), "00", nil)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, resp.StatusCode)
	}
	rejected := func() int {
		var n sql.NullInt64
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT SUM(rejected) FROM metric_rollups WHERE granularity = 'minute'").Scan(&n))
		return int(n.Int64)
	}
	// The delivery aggregator counts recorded rows only half a minute
	// after they arrive, so what the rollups gain now is the counted rest.
	before := rejected()
	s.App.FlushRefusals(context.Background(), time.Now().Add(2*time.Minute))
	counted := rejected() - before
	require.Positive(t, counted)
	// Recorded rows are written behind the answers; wait for them all.
	require.Eventually(t, func() bool {
		var recorded int
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_event_id IS NULL").Scan(&recorded))
		return recorded+counted == flood
	}, 10*time.Second, 20*time.Millisecond, "every rejection is either recorded or counted in the rollups, once")
}
