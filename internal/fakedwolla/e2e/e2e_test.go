// Package e2e_test runs the fake Dwolla against a real hooklens server: the
// fake's sender delivers to hooklens' receiver and the API client drives
// reconciliation. It lives apart from fakedwolla's own tests so that they
// never wait on the whole server to build.
package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

// stored returns hooklens' events: event id → delivery count.
func stored(t *testing.T, srv *apptest.Server) map[string]int {
	t.Helper()
	rows, err := srv.App.DB.Client.WebhookEvent.Query().All(context.Background())
	require.NoError(t, err)
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		_, dup := out[r.EventID]
		require.False(t, dup, "event %s stored twice", r.EventID)
		out[r.EventID] = r.DeliveryCount
	}
	return out
}

func TestFakeDeliversToHooklensExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := apptest.Start(t, "sqlite", apptest.Options{})
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{
		Key: "k", Secret: "s", Seed: 2024, ShuffleWindow: 30 * time.Millisecond,
		Faults: fakedwolla.Faults{Duplicate: 0.3, DropFirst: 0.15},
		Logger: apptest.Logger(t),
	})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	client, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: fake.URL, Key: "k", Secret: "s", Logger: apptest.Logger(t)})
	require.NoError(t, err)
	subID, err := client.CreateWebhookSubscription(ctx, srv.URL+"/api/webhooks/dwolla/v2", apptest.Secret)
	require.NoError(t, err)

	topics := []string{"customer_created", "customer_verified", "customer_funding_source_added",
		"customer_transfer_created", "customer_transfer_completed", "transfer_created"}
	emitted := map[string]bool{}
	for i := 0; i < 150; i++ {
		topic := topics[i%len(topics)]
		links := []fakedwolla.Ref{fakedwolla.Resource("transfers", fmt.Sprintf("%08x-1111-4111-8111-111111111111", i))}
		if topic != "transfer_created" {
			links = append(links, fakedwolla.Customer("0bfc9a0b-e87e-426f-abc3-40714fcfa8ae"))
		}
		ev, err := fake.Emit(topic, links...)
		require.NoError(t, err)
		emitted[ev.ID] = true
	}
	require.NoError(t, fake.WaitIdle(ctx))
	st := fake.Stats()
	require.Positive(t, st.Duplicates)
	dropped := fake.DroppedEvents()
	require.NotEmpty(t, dropped)

	// Everything but the dropped first deliveries arrived, each event once.
	got := stored(t, srv)
	require.Len(t, got, 150-len(dropped))
	for _, id := range dropped {
		require.NotContains(t, got, id)
	}

	// Reconciliation: the lost ones show up as failed attempts in the API…
	var failed []dwolla.Webhook
	for w, err := range client.Webhooks(ctx, subID, dwolla.WebhookListOptions{Limit: 40}) {
		require.NoError(t, err)
		if !w.Delivered() {
			require.Len(t, w.Attempts, 1)
			require.Nil(t, w.Attempts[0].Response)
			failed = append(failed, w)
		}
	}
	require.Len(t, failed, len(dropped))
	// …and a retry delivers them.
	for _, w := range failed {
		require.Contains(t, dropped, w.EventID)
		_, err := client.RetryWebhook(ctx, w.ID)
		require.NoError(t, err)
	}
	require.NoError(t, fake.WaitIdle(ctx))

	got = stored(t, srv)
	require.Len(t, got, 150)
	deliveries := 0
	for id, n := range got {
		require.True(t, emitted[id], "unexpected event %s", id)
		deliveries += n
	}
	require.Equal(t, fake.Stats().Delivered, deliveries, "every accepted delivery is counted on its one event")
	for w, err := range client.Webhooks(ctx, subID, dwolla.WebhookListOptions{}) {
		require.NoError(t, err)
		require.True(t, w.Delivered(), "webhook %s", w.ID)
	}
}

// TestSimulatedTrafficThroughFakeReachesHooklens runs the simulator into the
// fake, which delivers (shuffled, with duplicates) to hooklens: every event
// in the fake's Events API is stored once, and the client can page the
// Events API back to reconcile.
func TestSimulatedTrafficThroughFakeReachesHooklens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := apptest.Start(t, "sqlite", apptest.Options{})
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{
		Key: "k", Secret: "s", Seed: 11, Faults: fakedwolla.Faults{Duplicate: 0.2},
		// On a loaded machine hooklens may answer a delivery 503; Dwolla's
		// retries (15 minutes later) then run in a quarter of a second.
		TimeScale: 3600,
		Logger:    apptest.Logger(t),
	})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	_, err = fake.Subscribe(srv.URL+"/api/webhooks/dwolla/v2", apptest.Secret)
	require.NoError(t, err)
	g, err := simulate.NewGenerator(simulate.Config{Seed: 11, BaseURL: fake.URL, AccountID: fake.AccountID()})
	require.NoError(t, err)
	st, err := simulate.Run(ctx, g, simulate.RunOptions{
		Stream:   simulate.StreamOptions{Rate: 300, BusinessDayLength: 100 * time.Millisecond},
		Duration: time.Second, Sink: simulate.NewFakeSink(fake.Fake),
	})
	require.NoError(t, err)
	require.Greater(t, st.Events, int64(200))
	require.NoError(t, fake.WaitIdle(ctx))
	require.Eventually(t, func() bool { return len(stored(t, srv)) == int(st.Events) }, 60*time.Second, 50*time.Millisecond)

	got := stored(t, srv)
	require.Len(t, got, int(st.Events))
	client, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: fake.URL, Key: "k", Secret: "s"})
	require.NoError(t, err)
	n := 0
	for ev, err := range client.EventsSince(ctx, time.Now().Add(-time.Hour), 100) {
		require.NoError(t, err)
		require.NoError(t, ev.Err)
		require.True(t, dwolla.KnownTopic(ev.Event.Topic))
		require.Contains(t, got, ev.Event.ID)
		n++
	}
	require.Equal(t, len(got), n)
}
