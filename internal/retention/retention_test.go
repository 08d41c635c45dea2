package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/auditlog"
	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// seed stores n processed events received at, each with a delivery and a
// journey membership, plus n rejected deliveries at the same time.
func seed(t *testing.T, db *store.DB, prefix string, n int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	evs := make([]store.NewEvent, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		body := []byte(fmt.Sprintf(`{"id":%q}`, id))
		sum := sha256.Sum256(body)
		evs[i] = store.NewEvent{EventID: id, Topic: "customer_created", CreatedAt: at, Body: body,
			BodySHA256: hex.EncodeToString(sum[:]), BodySize: len(body), Deliveries: 1}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	stored, err := db.InsertEvents(ctx, tx, at, evs)
	require.NoError(t, err)
	var ds []store.NewDelivery
	for _, s := range stored {
		ds = append(ds, store.NewDelivery{ReceivedAt: at, Outcome: "accepted", StatusCode: 200, WebhookEventID: s.ID},
			store.NewDelivery{ReceivedAt: at, Outcome: "bad_signature", StatusCode: 401})
	}
	require.NoError(t, db.InsertDeliveries(ctx, tx, ds))
	require.NoError(t, tx.Commit())
	for _, s := range stored {
		_, err := db.Client.JourneyMembership.Create().SetDefinitionKey("transfer").SetCorrelationKey(s.EventID).
			SetWebhookEventID(s.ID).Save(ctx)
		require.NoError(t, err)
	}
	_, err = db.Write.Exec(db.Rebind("UPDATE event_queue SET state = 'processed' WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id LIKE ?)"), prefix+"-%")
	require.NoError(t, err)
}

func TestRetention(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		trail := audit.New(db, log)
		seed(t, db, "old", 30, time.Now().Add(-40*24*time.Hour))
		seed(t, db, "new", 10, time.Now().Add(-time.Hour))
		// One old event still waits for processing: it must stay.
		_, err := db.Write.Exec("UPDATE event_queue SET state = 'queued' WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id = 'old-0029')")
		require.NoError(t, err)

		off, err := New(db, trail, log, Options{}).Run(ctx)
		require.NoError(t, err)
		require.Zero(t, off.Events, "0 days keeps everything")

		res, err := New(db, trail, log, Options{Days: 30, BatchSize: 7}).Run(ctx)
		require.NoError(t, err)
		require.Equal(t, 29, res.Events)
		require.Equal(t, 29, res.Deliveries)
		require.Equal(t, 29, res.Memberships)
		require.Equal(t, 30, res.RejectedDeliveries)

		left, err := db.Client.WebhookEvent.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 11, left)
		n, err := db.Client.WebhookDelivery.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 10+1+10, n, "new deliveries, the queued event's, and new rejections remain")
		n, err = db.Client.JourneyMembership.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 11, n)

		// The audit trail explains the deletions: verification passes.
		rep, err := trail.Verify(ctx, audit.VerifyOptions{Bodies: true})
		require.NoError(t, err)
		require.True(t, rep.OK(), "%v", rep.Problems)
		require.Positive(t, rep.RetiredThrough)
		n, err = db.Client.AuditLog.Query().Where(auditlog.Action(audit.ActionRetention)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)

		// A second run finds nothing more.
		res, err = New(db, trail, log, Options{Days: 30}).Run(ctx)
		require.NoError(t, err)
		require.Zero(t, res.Events)
	})
}

// TestRejectedDeliveriesExpireByDefault: with events kept forever,
// rejected deliveries still expire after their own retention, so a forged
// flood cannot grow the database without bound; accepted deliveries and
// events stay.
func TestRejectedDeliveriesExpireByDefault(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		seed(t, db, "old", 10, time.Now().Add(-10*24*time.Hour))
		seed(t, db, "new", 10, time.Now().Add(-time.Hour))
		res, err := New(db, audit.New(db, log), log, Options{RejectedDays: 7}).Run(ctx)
		require.NoError(t, err)
		require.Equal(t, 10, res.RejectedDeliveries)
		require.Zero(t, res.Events)
		var rejected, accepted, events int
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_event_id IS NULL").Scan(&rejected))
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_event_id IS NOT NULL").Scan(&accepted))
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM webhook_events").Scan(&events))
		require.Equal(t, 10, rejected, "the recent rejections stay")
		require.Equal(t, 20, accepted)
		require.Equal(t, 20, events)
	})
}
