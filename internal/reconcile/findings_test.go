package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/reconcile"
	"github.com/hooklens/hooklens/internal/rollup"
)

// graceService is a reconcile.Service with the given grace period.
func (b *bundle) graceService(t *testing.T, grace time.Duration) *reconcile.Service {
	return reconcile.New(b.s.App.DB, b.s.App.Hub, b.s.App.Tracker, nil, apptest.Logger(t), reconcile.Options{
		Client: b.s.App.Dwolla, WebhookURL: b.s.URL + "/api/webhooks/dwolla/v2", Wake: b.s.App.Pipeline.Wake, Grace: grace,
	})
}

func findings(t *testing.T, b *bundle, kind reconciliationfinding.Kind) (open, resolved []*ent.ReconciliationFinding) {
	t.Helper()
	all, err := b.s.App.DB.Client.ReconciliationFinding.Query().Where(reconciliationfinding.KindEQ(kind)).All(context.Background())
	require.NoError(t, err)
	for _, f := range all {
		if f.Status == reconciliationfinding.StatusOpen {
			open = append(open, f)
		} else {
			resolved = append(resolved, f)
		}
	}
	return open, resolved
}

func setPaused(t *testing.T, b *bundle, paused bool) {
	t.Helper()
	for _, sub := range b.fake.Subscriptions() {
		_, err := b.s.App.Dwolla.SetWebhookSubscriptionPaused(context.Background(), sub.ID, paused)
		require.NoError(t, err)
	}
}

// A paused subscription is a critical finding that caps the score below
// degraded; once unpaused, the next run resolves it. The webhooks Dwolla
// never sent meanwhile are findings too, resolved once redelivered.
func TestSubscriptionPausedResolvesWhenUnpaused(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{})
			ctx := context.Background()
			setPaused(t, b, true)
			emit(t, b.fake, 5, "p")
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))

			rec, err := b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			open, _ := findings(t, b, reconciliationfinding.KindSubscriptionPaused)
			require.Len(t, open, 1)
			require.Less(t, *rec.HealthScore, reconcile.DegradedBelow, "a paused subscription is an outage")
			open, _ = findings(t, b, reconciliationfinding.KindNeverSent)
			require.Len(t, open, 5)

			setPaused(t, b, false)
			rec, err = b.service(t, true).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			open, resolved := findings(t, b, reconciliationfinding.KindSubscriptionPaused)
			require.Empty(t, open, "unpaused: the finding resolved itself")
			require.Len(t, resolved, 1)
			require.True(t, resolved[0].AutoResolved)
			require.Equal(t, 5, rec.RedeliveryRequested)

			require.NoError(t, b.fake.WaitIdle(wctx))
			_, err = b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			open, resolved = findings(t, b, reconciliationfinding.KindNeverSent)
			require.Empty(t, open, "redelivered: resolved")
			require.Len(t, resolved, 5)
		})
	}
}

// Webhooks still on their way are not "never sent": a webhook is judged
// only once its event is older than the grace period, as a missing event
// is.
func TestWebhooksInFlightAreNotFindings(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{})
			ctx := context.Background()
			// A slow path to hooklens: deliveries wait at a gate, so Dwolla
			// has recorded no attempt yet when reconciliation lists them.
			gate := make(chan struct{})
			var once sync.Once
			open := func() { once.Do(func() { close(gate) }) }
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-gate
				body, _ := io.ReadAll(r.Body)
				resp := b.s.DeliverSigned(body, r.Header.Get(dwolla.SignatureHeader), nil)
				defer resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
			}))
			t.Cleanup(slow.Close)
			t.Cleanup(open) // before slow.Close, which waits for its requests
			for _, sub := range b.fake.Subscriptions() {
				_, err := b.s.App.Dwolla.DeleteWebhookSubscription(ctx, sub.ID)
				require.NoError(t, err)
			}
			_, err := b.fake.Subscribe(slow.URL, apptest.Secret)
			require.NoError(t, err)
			emit(t, b.fake, 6, "f")

			svc := reconcile.New(b.s.App.DB, b.s.App.Hub, b.s.App.Tracker, nil, apptest.Logger(t), reconcile.Options{
				Client: b.s.App.Dwolla, WebhookURL: slow.URL, Wake: b.s.App.Pipeline.Wake, Grace: time.Minute,
			})
			rec, err := svc.Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.Zero(t, rec.NeverSent, "in flight, not never sent")
			require.Zero(t, rec.FailedDeliveries)
			require.Zero(t, rec.Missing, "in flight, not missing")
			n, err := b.s.App.DB.Client.ReconciliationFinding.Query().Count(ctx)
			require.NoError(t, err)
			require.Zero(t, n)
			open()
		})
	}
}

// Each failure the health score must show puts it below degraded on its
// own: thirty stuck journeys, ten dead-lettered events, and an instance
// rejecting every delivery for its signature (a wrong secret).
func TestHealthScoreFallsBelowDegraded(t *testing.T) {
	t.Parallel()
	type failure struct {
		name  string
		apply func(t *testing.T, b *bundle)
	}
	exec := func(t *testing.T, b *bundle, q string, args ...any) {
		t.Helper()
		_, err := b.s.App.DB.Write.ExecContext(context.Background(), b.s.App.DB.Rebind(q), args...)
		require.NoError(t, err)
	}
	failures := []failure{
		{"stuck journeys", func(t *testing.T, b *bundle) {
			exec(t, b, `UPDATE journey_instances SET status = 'stuck', stuck_since = ? WHERE id IN
				(SELECT id FROM journey_instances ORDER BY id LIMIT 30)`, time.Now().UTC())
		}},
		{"dead letters", func(t *testing.T, b *bundle) {
			exec(t, b, `UPDATE event_queue SET state = 'failed', last_error = 'boom' WHERE webhook_event_id IN
				(SELECT id FROM webhook_events ORDER BY id LIMIT 10)`)
		}},
		{"bad signatures", func(t *testing.T, b *bundle) {
			for i := 0; i < 20; i++ {
				body := []byte(fmt.Sprintf(`{"id":"bad%05d-0000-4000-8000-000000000000","topic":"customer_created","timestamp":"2026-12-01T00:00:00Z","_links":{}}`, i))
				resp := b.s.DeliverSigned(body, dwolla.Sign([]byte("the-old-secret"), body), nil)
				resp.Body.Close()
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			}
		}},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, "sqlite", fakedwolla.Faults{})
			ctx := context.Background()
			// A healthy feed of forty transfers, each its own journey.
			emit(t, b.fake, 40, "h")
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))
			waitProcessed(t, b, 40)
			rec, err := b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.GreaterOrEqual(t, *rec.HealthScore, 95.0, "healthy before")

			f.apply(t, b)
			rec, err = b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.Less(t, *rec.HealthScore, reconcile.DegradedBelow, "components: %v", rec.Components)
		})
	}
}

func waitProcessed(t *testing.T, b *bundle, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		var done int
		require.NoError(t, b.s.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM event_queue WHERE state = 'processed'`).Scan(&done))
		return done >= n
	}, 30*time.Second, 50*time.Millisecond)
}

// First webhooks of events a sync had already imported are not Dwolla
// redeliveries: they say nothing about our answers. With 120 such and 3
// real redeliveries, the duplicate rate is 3 of 123 and no finding blames
// slow answers; the run's statistics count both.
func TestDuplicatesAfterImportAreNotRedeliveries(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{})
			ctx := context.Background()
			setPaused(t, b, true)
			emit(t, b.fake, 120, "d")
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))
			svc := b.service(t, true)
			from := time.Now().Add(-time.Hour)
			sync, err := svc.Sync(ctx, reconcile.SyncOptions{Since: from, Trigger: "manual"}, nil)
			require.NoError(t, err)
			require.Equal(t, 120, sync.Imported)
			// Unpaused, the never-sent webhooks are redelivered on request:
			// each is the first webhook of an event imported already.
			setPaused(t, b, false)
			_, err = svc.Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.NoError(t, b.fake.WaitIdle(wctx))
			for _, ev := range b.fake.Events()[:3] {
				resp := b.s.Deliver(ev.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}

			d, err := analytics.CountDuplicates(ctx, b.s.App.DB, from, time.Now().Add(time.Minute))
			require.NoError(t, err)
			require.Equal(t, analytics.Duplicates{Accepted: 0, Duplicates: 123, AfterImport: 120, Redeliveries: 3}, d)
			require.InDelta(t, 3.0/123, d.RedeliveryRate(), 1e-9)

			rec, err := b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.Equal(t, float64(120), rec.Stats["deliveriesAfterImport"])
			require.Equal(t, float64(3), rec.Stats["redeliveries"])
			open, _ := findings(t, b, reconciliationfinding.KindDuplicateDeliveries)
			require.Empty(t, open, "3 redeliveries in 123 is no sign of slow answers")

			// The overview tells them apart too.
			_, err = rollup.NewAggregator(b.s.App.DB, nil, rollup.AggregatorOptions{Margin: -time.Second}).Flush(ctx)
			require.NoError(t, err)
			ov, err := b.s.App.Analytics.Overview(ctx, from, time.Now().Add(time.Minute), "")
			require.NoError(t, err)
			require.Equal(t, 123.0, ov.DuplicateDeliveries.Value)
			require.Equal(t, 3.0, ov.Redeliveries.Value)
			require.Equal(t, 120.0, ov.DeliveriesAfterImport.Value)
			require.NotNil(t, ov.DuplicateRate.Value)
			require.InDelta(t, 3.0/123, *ov.DuplicateRate.Value, 1e-9)
		})
	}
}

// Findings about local problems resolve once the problem ends: a dead
// letter replayed, a missing event stored. (A stuck event cannot be held
// here: the running pipeline reclaims it at once.)
func TestLocalFindingsResolveThemselves(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{})
			ctx := context.Background()
			emit(t, b.fake, 4, "l")
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))
			waitProcessed(t, b, 4)
			db := b.s.App.DB
			exec := func(q string, args ...any) {
				t.Helper()
				_, err := db.Write.ExecContext(ctx, db.Rebind(q), args...)
				require.NoError(t, err)
			}
			var dead string
			require.NoError(t, db.Read.QueryRow(`SELECT event_id FROM webhook_events ORDER BY id LIMIT 1`).Scan(&dead))
			exec(`UPDATE event_queue SET state = 'failed', last_error = 'boom' WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id = ?)`, dead)
			// A missing event reported by an earlier run, which has come since.
			_, err := db.Client.ReconciliationFinding.Create().SetKind(reconciliationfinding.KindMissingEvent).
				SetSubject(dead).SetDetail("missing").Save(ctx)
			require.NoError(t, err)

			svc := reconcile.New(db, b.s.App.Hub, b.s.App.Tracker, nil, apptest.Logger(t), reconcile.Options{
				Client: b.s.App.Dwolla, WebhookURL: b.s.URL + "/api/webhooks/dwolla/v2", Grace: time.Nanosecond, StuckAfter: time.Nanosecond,
			})
			_, err = svc.Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			open, _ := findings(t, b, reconciliationfinding.KindDeadLettered)
			require.Len(t, open, 1)
			open, resolved := findings(t, b, reconciliationfinding.KindMissingEvent)
			require.Empty(t, open, "the missing event is here: resolved")
			require.Len(t, resolved, 1)

			exec(`UPDATE event_queue SET state = 'processed' WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id = ?)`, dead)
			_, err = svc.Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			open, resolved = findings(t, b, reconciliationfinding.KindDeadLettered)
			require.Empty(t, open, "replayed: resolved")
			require.Len(t, resolved, 1)
			require.True(t, resolved[0].AutoResolved)
		})
	}
}

// A journey behind its events because the pipeline has not finished with
// them (a redelivery or import still queued) is not inconsistent: the
// check waits for the pipeline to pass the moment of the first check and
// reports only what still disagrees.
func TestJourneyCheckWaitsForThePipeline(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			ctx := context.Background()
			db := s.App.DB
			created := []byte(`{"id":"e0000000-0000-4000-8000-000000000001","topic":"customer_transfer_created","created":"2026-12-01T10:00:00.000Z",` +
				`"resourceId":"7f000000-0000-4000-8000-000000000001","_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/7f000000-0000-4000-8000-000000000001"}}}`)
			completed := []byte(`{"id":"e0000000-0000-4000-8000-000000000002","topic":"customer_transfer_completed","created":"2026-12-01T11:00:00.000Z",` +
				`"resourceId":"7f000000-0000-4000-8000-000000000001","_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/7f000000-0000-4000-8000-000000000001"}}}`)
			for _, body := range [][]byte{created, completed} {
				resp := s.Deliver(body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
			require.Eventually(t, func() bool {
				var n int
				require.NoError(t, db.Read.QueryRow(`SELECT COUNT(*) FROM event_queue WHERE state = 'processed'`).Scan(&n))
				return n == 2
			}, 30*time.Second, 20*time.Millisecond)
			// The completion is back in the queue, due in a few seconds (a
			// requested redelivery), and the journey stored before it.
			_, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE event_queue SET state = 'queued', due_at = ?
				WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id = 'e0000000-0000-4000-8000-000000000002')`), time.Now().UTC().Add(3*time.Second))
			require.NoError(t, err)
			_, err = db.Write.ExecContext(ctx, `UPDATE journey_instances SET status = 'active', event_count = 1, updated_at = CURRENT_TIMESTAMP`)
			require.NoError(t, err)

			svc := reconcile.New(db, s.App.Hub, s.App.Tracker, nil, apptest.Logger(t), reconcile.Options{Wake: s.App.Pipeline.Wake})
			rec, err := svc.Run(ctx, reconcile.RunOptions{Window: 30 * 24 * time.Hour}, nil)
			require.NoError(t, err)
			n, err := db.Client.ReconciliationFinding.Query().
				Where(reconciliationfinding.KindEQ(reconciliationfinding.KindJourneyInconsistent)).Count(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "the pipeline caught up: no false finding (stats %v)", rec.Stats)
			var status string
			require.NoError(t, db.Read.QueryRow(`SELECT status FROM journey_instances`).Scan(&status))
			require.Equal(t, "completed", status)

			// A journey that stays wrong once the pipeline is done is reported.
			_, err = db.Write.ExecContext(ctx, `UPDATE journey_instances SET status = 'active', event_count = 1, updated_at = CURRENT_TIMESTAMP`)
			require.NoError(t, err)
			_, err = svc.Run(ctx, reconcile.RunOptions{Window: 30 * 24 * time.Hour}, nil)
			require.NoError(t, err)
			n, err = db.Client.ReconciliationFinding.Query().
				Where(reconciliationfinding.KindEQ(reconciliationfinding.KindJourneyInconsistent)).Count(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		})
	}
}
