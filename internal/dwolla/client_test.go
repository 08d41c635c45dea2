package dwolla_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
)

const (
	testKey    = "test-key"
	testSecret = "test-secret-never-shown"
)

// logWriter sends logs to t.Log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testBundle struct {
	fake   *fakedwolla.Server
	client *dwolla.Client
}

// setup starts a fake Dwolla and a client for it; edit adjusts the
// client's options.
func setup(t *testing.T, fopts fakedwolla.Options, edit func(*dwolla.ClientOptions)) *testBundle {
	t.Helper()
	fopts.Key, fopts.Secret = testKey, testSecret
	fopts.Logger = testLogger(t)
	if fopts.Seed == 0 {
		fopts.Seed = 7
	}
	fake, err := fakedwolla.NewServer("", fopts)
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	copts := dwolla.ClientOptions{
		BaseURL: fake.URL, Key: testKey, Secret: testSecret,
		BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond,
		RequestTimeout: 5 * time.Second, MaxRetryTime: 10 * time.Second,
		Logger: testLogger(t), Seed: 1,
	}
	if edit != nil {
		edit(&copts)
	}
	c, err := dwolla.NewClient(copts)
	require.NoError(t, err)
	return &testBundle{fake: fake, client: c}
}

func countRequests(f *fakedwolla.Server, method, path string, status int) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == method && r.Path == path && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

func emitN(t *testing.T, f *fakedwolla.Server, n int) []*fakedwolla.Event {
	t.Helper()
	out := make([]*fakedwolla.Event, 0, n)
	for i := 0; i < n; i++ {
		ev, err := f.Emit("customer_created", fakedwolla.Resource("customers", fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1)))
		require.NoError(t, err)
		out = append(out, ev)
	}
	return out
}

func TestBaseURLFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, want string
		err       bool
	}{
		{"", dwolla.SandboxURL, false},
		{"sandbox", dwolla.SandboxURL, false},
		{"Production", dwolla.ProductionURL, false},
		{"staging", "", true},
	} {
		got, err := dwolla.BaseURLFor(tc.env)
		if tc.err {
			require.Error(t, err, tc.env)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: "https://user:pw@example.com"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "pw")
}

func TestClientPagesThroughEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, fakedwolla.Options{}, nil)
	ctx := context.Background()
	emitted := emitN(t, b.fake, 120)

	page, err := b.client.ListEvents(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 120, page.Total)
	require.Len(t, page.Events, dwolla.DefaultPageSize)
	require.Contains(t, page.Links, "next")
	require.NotContains(t, page.Links, "prev")
	// Newest first, raw bytes as emitted, parsed with ParseEvent.
	require.Equal(t, emitted[119].ID, page.Events[0].Event.ID)
	require.JSONEq(t, string(emitted[119].Body), string(page.Events[0].Raw))
	require.NoError(t, page.Events[0].Err)

	var ids []string
	for ev, err := range b.client.EventsSince(ctx, time.Time{}, 7) {
		require.NoError(t, err)
		ids = append(ids, ev.Event.ID)
	}
	require.Len(t, ids, 120)
	for i, id := range ids {
		require.Equal(t, emitted[119-i].ID, id)
	}
	require.Equal(t, 18, countRequests(b.fake, http.MethodGet, "/events", http.StatusOK)-1)

	// Stopping at a time: only events at or after it.
	since := emitted[100].Created
	n := 0
	for ev, err := range b.client.EventsSince(ctx, since, 7) {
		require.NoError(t, err)
		require.False(t, ev.Event.Created.Before(since))
		n++
	}
	require.GreaterOrEqual(t, n, 19)

	got, err := b.client.GetEvent(ctx, emitted[3].ID)
	require.NoError(t, err)
	require.Equal(t, emitted[3].ID, got.Event.ID)
	require.Equal(t, string(emitted[3].Body), string(got.Raw))
}

func TestClientTypedErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, fakedwolla.Options{}, nil)
	ctx := context.Background()

	_, err := b.client.GetEvent(ctx, "00000000-0000-4000-8000-000000000000")
	var apiErr *dwolla.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
	require.Equal(t, "NotFound", apiErr.Code)
	require.Equal(t, "Application event not found.", apiErr.Message)
	require.True(t, apiErr.NotFound())
	require.NotEmpty(t, apiErr.RequestID)

	_, err = b.client.CreateWebhookSubscription(ctx, "https://example.com/hook", strings.Repeat("s", 129))
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "ValidationError", apiErr.Code)
	require.Len(t, apiErr.Errors, 1)
	require.Equal(t, "/secret", apiErr.Errors[0].Path)
	require.Equal(t, "InvalidFormat", apiErr.Errors[0].Code)

	_, err = b.client.CreateWebhookSubscription(ctx, "not a url", "s")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "/url", apiErr.Errors[0].Path)

	for i := 0; i < 10; i++ {
		_, err := b.client.CreateWebhookSubscription(ctx, "https://example.com/hook", "s")
		require.NoError(t, err)
	}
	_, err = b.client.CreateWebhookSubscription(ctx, "https://example.com/hook", "s")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.Status)
	require.Equal(t, "MaxNumberOfResources", apiErr.Code)

	// Bad credentials: the OAuth error form, and the secret is nowhere.
	bad, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: b.fake.URL, Key: testKey, Secret: "wrong-" + testSecret})
	require.NoError(t, err)
	_, err = bad.ListEvents(ctx, 0, 0)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.Status)
	require.Equal(t, "invalid_client", apiErr.Code)
	require.NotContains(t, err.Error(), testSecret)
	require.NotContains(t, err.Error(), testKey)

	none, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: b.fake.URL})
	require.NoError(t, err)
	_, err = none.ListEvents(ctx, 0, 0)
	require.ErrorIs(t, err, dwolla.ErrNoCredentials)
}

func TestClientHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, fakedwolla.Options{}, nil)
	ctx := context.Background()
	_, err := b.client.Token(ctx)
	require.NoError(t, err)

	b.fake.FailNext(http.StatusTooManyRequests, 1, time.Second)
	start := time.Now()
	_, err = b.client.ListEvents(ctx, 0, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the client must wait Retry-After, not its 1ms backoff")
	require.Equal(t, 1, countRequests(b.fake, http.MethodGet, "/events", http.StatusTooManyRequests))
	require.Equal(t, 1, countRequests(b.fake, http.MethodGet, "/events", http.StatusOK))

	// A Retry-After beyond the time budget fails at once with the 429.
	short := setup(t, fakedwolla.Options{}, func(o *dwolla.ClientOptions) { o.MaxRetryTime = 500 * time.Millisecond })
	short.fake.FailNext(http.StatusTooManyRequests, 1, 5*time.Second)
	start = time.Now()
	_, err = short.client.ListEvents(ctx, 0, 0)
	var apiErr *dwolla.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusTooManyRequests, apiErr.Status)
	require.Equal(t, 5*time.Second, apiErr.RetryAfter)
	require.True(t, apiErr.Temporary())
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestClientRetriesServerErrorBursts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var changes []string
	b := setup(t, fakedwolla.Options{}, func(o *dwolla.ClientOptions) {
		o.BreakerFailures = 6
		o.BreakerCooldown = 200 * time.Millisecond
		o.OnBreakerChange = func(from, to dwolla.BreakerState) {
			mu.Lock()
			changes = append(changes, string(from)+">"+string(to))
			mu.Unlock()
		}
	})
	ctx := context.Background()
	_, err := b.client.Token(ctx)
	require.NoError(t, err)

	// A burst shorter than the attempts is ridden out.
	b.fake.FailNext(http.StatusInternalServerError, 3, 0)
	_, err = b.client.ListWebhookSubscriptions(ctx)
	require.NoError(t, err)
	require.Equal(t, dwolla.BreakerClosed, b.client.BreakerState())

	// A longer one fails with the last answer, typed.
	b.fake.FailNext(http.StatusInternalServerError, 4, 0)
	_, err = b.client.ListWebhookSubscriptions(ctx)
	var apiErr *dwolla.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "ServerError", apiErr.Code)

	// Non-idempotent POSTs are never repeated after a 5xx.
	b.fake.FailNext(http.StatusInternalServerError, 1, 0)
	_, err = b.client.CreateWebhookSubscription(ctx, "https://example.com/hook", "s")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 1, countRequests(b.fake, http.MethodPost, "/webhook-subscriptions", 0))

	// Six consecutive failed attempts (4 + 1 so far) open the circuit:
	// then calls fail without a request.
	b.fake.FailNext(http.StatusInternalServerError, 1, 0)
	_, err = b.client.ListWebhookSubscriptions(ctx)
	require.ErrorIs(t, err, dwolla.ErrCircuitOpen)
	require.Equal(t, dwolla.BreakerOpen, b.client.BreakerState())
	before := len(b.fake.Requests())
	_, err = b.client.ListWebhookSubscriptions(ctx)
	require.ErrorIs(t, err, dwolla.ErrCircuitOpen)
	require.Equal(t, before, len(b.fake.Requests()))

	// After the cooldown one probe closes it again.
	require.Eventually(t, func() bool { return b.client.BreakerState() == dwolla.BreakerHalfOpen }, 10*time.Second, 10*time.Millisecond,
		"the circuit did not half-open after its cooldown")
	_, err = b.client.ListWebhookSubscriptions(ctx)
	require.NoError(t, err)
	require.Equal(t, dwolla.BreakerClosed, b.client.BreakerState())
	mu.Lock()
	require.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, changes)
	mu.Unlock()
}

func TestClientRenewsTokens(t *testing.T) {
	t.Parallel()
	// The token is renewed 2 s after it was issued: room for the first
	// three calls on a busy machine.
	b := setup(t, fakedwolla.Options{TokenTTL: 10 * time.Second}, func(o *dwolla.ClientOptions) {
		o.TokenRefreshMargin = 8 * time.Second
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := b.client.ListEvents(ctx, 0, 0)
		require.NoError(t, err)
	}
	require.Equal(t, 1, countRequests(b.fake, http.MethodPost, "/token", http.StatusOK))

	// Within the margin before expiry, a new token is fetched first.
	require.Eventually(t, func() bool {
		_, err := b.client.ListEvents(ctx, 0, 0)
		return err == nil && countRequests(b.fake, http.MethodPost, "/token", http.StatusOK) >= 2
	}, 10*time.Second, 50*time.Millisecond, "no new token within the margin before expiry")
	require.Equal(t, 2, countRequests(b.fake, http.MethodPost, "/token", http.StatusOK))
	require.Equal(t, 0, countRequests(b.fake, http.MethodGet, "/events", http.StatusUnauthorized))

	// A token that dies early gets one 401 ExpiredAccessToken and a renewal.
	b.fake.ExpireTokens()
	_, err := b.client.ListEvents(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 3, countRequests(b.fake, http.MethodPost, "/token", http.StatusOK))
	require.Equal(t, 1, countRequests(b.fake, http.MethodGet, "/events", http.StatusUnauthorized))
}

func TestClientSubscriptionsWebhooksAndRetries(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, http.StatusOK)
	b := setup(t, fakedwolla.Options{Faults: fakedwolla.Faults{DropFirst: 1}}, nil)
	ctx := context.Background()

	id, err := b.client.CreateWebhookSubscription(ctx, recv.URL, "hook-secret")
	require.NoError(t, err)
	list, err := b.client.ListWebhookSubscriptions(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, list.Total)
	require.Equal(t, id, list.Embedded.Subscriptions[0].ID)
	require.Contains(t, list.Embedded.Subscriptions[0].Links, "webhooks")

	emitted := emitN(t, b.fake, 30)
	require.NoError(t, b.fake.WaitIdle(ctx))
	require.Zero(t, recv.count(), "every first delivery was dropped")

	var undelivered []dwolla.Webhook
	for w, err := range b.client.Webhooks(ctx, id, dwolla.WebhookListOptions{Limit: 8}) {
		require.NoError(t, err)
		require.Len(t, w.Attempts, 1)
		require.Nil(t, w.Attempts[0].Response, "a lost delivery has no response")
		require.False(t, w.Delivered())
		undelivered = append(undelivered, w)
	}
	require.Len(t, undelivered, 30)

	// Filtering by resource and date.
	page, err := b.client.ListWebhooks(ctx, id, dwolla.WebhookListOptions{ResourceID: emitted[4].ResourceID, StartDate: time.Now(), EndDate: time.Now()})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	require.Equal(t, emitted[4].ID, page.Embedded.Webhooks[0].EventID)

	for _, w := range undelivered {
		rid, err := b.client.RetryWebhook(ctx, w.ID)
		require.NoError(t, err)
		require.NotEmpty(t, rid)
	}
	require.NoError(t, b.fake.WaitIdle(ctx))
	require.Equal(t, 30, recv.count())
	got, err := b.client.GetWebhook(ctx, undelivered[0].ID)
	require.NoError(t, err)
	require.True(t, got.Delivered())
	require.Len(t, got.Attempts, 2)
	retries, err := b.client.ListWebhookRetries(ctx, undelivered[0].ID)
	require.NoError(t, err)
	require.Equal(t, 1, retries.Total)

	sub, err := b.client.SetWebhookSubscriptionPaused(ctx, id, true)
	require.NoError(t, err)
	require.True(t, sub.Paused)
	sub, err = b.client.GetWebhookSubscription(ctx, id)
	require.NoError(t, err)
	require.True(t, sub.Paused)
	_, err = b.client.DeleteWebhookSubscription(ctx, id)
	require.NoError(t, err)
	_, err = b.client.GetWebhookSubscription(ctx, id)
	var apiErr *dwolla.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, apiErr.NotFound())
	_, err = b.client.GetWebhook(ctx, undelivered[0].ID)
	require.True(t, errors.As(err, &apiErr) && apiErr.NotFound(), "deleting a subscription erases its webhooks")
}

// receiver is a webhook endpoint that counts the deliveries it verifies.
type receiver struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	r := &receiver{}
	v := dwolla.NewVerifier("hook-secret")
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(req.Body)
		if v.Verify(body.Bytes(), req.Header.Get(dwolla.SignatureHeader)) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
