package reconcile_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/reconcile"
)

type bundle struct {
	fake *fakedwolla.Server
	s    *apptest.Server
}

// setup runs a fake Dwolla and a hooklens that uses it as its API, with
// hooklens subscribed to the fake's webhooks.
func setup(t *testing.T, kind string, faults fakedwolla.Faults) *bundle {
	t.Helper()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "app-key", Secret: "app-secret", Seed: 42, Faults: faults,
		Logger: apptest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	s := apptest.Start(t, kind, apptest.Options{Configure: func(c *config.Config) {
		c.DwollaAPIURL, c.DwollaKey, c.DwollaSecret = fake.URL, "app-key", "app-secret"
		c.SyncSchedule, c.ReconcileSchedule = "off", "off"
	}})
	_, err = fake.Subscribe(s.URL+"/api/webhooks/dwolla/v2", apptest.Secret)
	require.NoError(t, err)
	return &bundle{fake: fake, s: s}
}

// service is a reconcile.Service over the test server without the grace
// period, so events emitted a moment ago already count.
func (b *bundle) service(t *testing.T, autoRedeliver bool) *reconcile.Service {
	return reconcile.New(b.s.App.DB, b.s.App.Hub, b.s.App.Tracker, nil, apptest.Logger(t), reconcile.Options{
		Client: b.s.App.Dwolla, WebhookURL: b.s.URL + "/api/webhooks/dwolla/v2", AutoRedeliver: autoRedeliver,
		Wake: b.s.App.Pipeline.Wake, Grace: time.Nanosecond,
	})
}

func emit(t *testing.T, fake *fakedwolla.Server, n int, prefix string) {
	t.Helper()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%07d-0000-4000-8000-000000000000", prefix, i)
		_, err := fake.Emit("customer_transfer_created", fakedwolla.Resource("transfers", id), fakedwolla.Customer("c0000000-0000-4000-8000-000000000001"))
		require.NoError(t, err)
	}
}

// healthMetric is hooklens_health_score as the server exports it.
func healthMetric(t *testing.T, b *bundle) (float64, bool) {
	t.Helper()
	families, err := b.s.App.Metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "hooklens_health_score" {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func counts(t *testing.T, b *bundle) (total, bySync, byWebhook, byReconcile int) {
	t.Helper()
	require.NoError(t, b.s.App.DB.Read.QueryRow(`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN source = 'sync' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN source = 'webhook' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN source = 'reconcile' THEN 1 ELSE 0 END), 0) FROM webhook_events`).Scan(&total, &bySync, &byWebhook, &byReconcile))
	return
}

// With the fake dropping 5 % of first deliveries, reconciliation reports
// exactly those events missing, imports them, records the failed
// deliveries, and the health score reflects it; redelivery closes the gap.
func TestReconciliationFindsExactlyTheDroppedDeliveries(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{DropFirst: 0.05})
			ctx := context.Background()
			emit(t, b.fake, 400, "a")
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))
			require.NotEmpty(t, b.fake.DroppedEvents())
			// The ground truth is what the fake failed to deliver: the
			// dropped first deliveries, and on a loaded machine perhaps a
			// delivery hooklens answered 503 (Dwolla would retry it later).
			var dropped []string
			for _, sub := range b.fake.Subscriptions() {
				for _, wh := range b.fake.Undelivered(sub.ID) {
					dropped = append(dropped, wh.EventID)
				}
			}
			total, _, _, _ := counts(t, b)
			require.Equal(t, 400-len(dropped), total, "the undelivered events never arrived")

			_, scored := healthMetric(t, b)
			require.False(t, scored, "no health score is exported before the first reconciliation")

			rec, err := b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour, Trigger: "manual"}, nil)
			require.NoError(t, err)
			require.Equal(t, 400, rec.DwollaEvents)
			require.Equal(t, len(dropped), rec.Missing)
			require.Equal(t, len(dropped), rec.Imported)
			require.Equal(t, len(dropped), rec.FailedDeliveries)
			require.NotNil(t, rec.HealthScore)
			require.Less(t, *rec.HealthScore, 100.0)
			require.Greater(t, *rec.HealthScore, 50.0)
			score, scored := healthMetric(t, b)
			require.True(t, scored)
			require.Equal(t, *rec.HealthScore, score, "the server exports the run's score, whoever ran it")

			missing, err := b.s.App.DB.Client.ReconciliationFinding.Query().
				Where(reconciliationfinding.KindEQ(reconciliationfinding.KindMissingEvent)).All(ctx)
			require.NoError(t, err)
			var got []string
			for _, f := range missing {
				got = append(got, f.Subject)
				require.Equal(t, reconciliationfinding.StatusResolved, f.Status, "imported, so resolved")
			}
			sort.Strings(got)
			want := append([]string(nil), dropped...)
			sort.Strings(want)
			require.Equal(t, want, got, "exactly the dropped events were reported missing")
			total, _, _, byReconcile := counts(t, b)
			require.Equal(t, 400, total)
			require.Equal(t, len(dropped), byReconcile)

			// Redelivery: Dwolla sends the failed webhooks again; they are
			// duplicates now, and the next run sees the deliveries healed.
			rec, err = b.service(t, true).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.Equal(t, len(dropped), rec.RedeliveryRequested)
			require.Zero(t, rec.Missing)
			require.NoError(t, b.fake.WaitIdle(wctx))
			rec, err = b.service(t, false).Run(ctx, reconcile.RunOptions{Window: time.Hour}, nil)
			require.NoError(t, err)
			require.Zero(t, rec.FailedDeliveries)
			require.Equal(t, 100.0, *rec.HealthScore)
			score, _ = healthMetric(t, b)
			require.Equal(t, 100.0, score, "and then the latest run's")
			open, err := b.s.App.DB.Client.ReconciliationFinding.Query().
				Where(reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen)).Count(ctx)
			require.NoError(t, err)
			require.Zero(t, open, "the failed-delivery findings resolved themselves")
			total, _, _, _ = counts(t, b)
			require.Equal(t, 400, total, "redelivered events were not stored twice")
		})
	}
}

// A sync over many pages while live deliveries arrive: nothing duplicated,
// nothing missed.
func TestSyncWhileLiveDeliveriesArrive(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, fakedwolla.Faults{DropFirst: 0.1})
			ctx := context.Background()
			emit(t, b.fake, 500, "b")
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); emit(t, b.fake, 500, "c") }()
			run, err := b.service(t, false).Sync(ctx, reconcile.SyncOptions{Since: time.Now().Add(-time.Hour), Trigger: "manual"}, nil)
			require.NoError(t, err)
			wg.Wait()
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, b.fake.WaitIdle(wctx))
			// A second sync catches what the first began before.
			run2, err := b.service(t, false).Sync(ctx, reconcile.SyncOptions{Since: time.Now().Add(-time.Hour)}, nil)
			require.NoError(t, err)
			total, bySync, byWebhook, _ := counts(t, b)
			require.Equal(t, 1000, total, "every event, once")
			require.Equal(t, run.Imported+run2.Imported, bySync)
			require.Equal(t, 1000, bySync+byWebhook)
			require.GreaterOrEqual(t, run.Pages, 3, "paged")
			require.Equal(t, 1000, run2.Seen)
			require.Zero(t, run2.Errors)
		})
	}
}
