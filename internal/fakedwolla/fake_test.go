package fakedwolla_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
)

const (
	key        = "fake-key"
	secret     = "fake-secret"
	hookSecret = "hook-secret"
)

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func newFake(t *testing.T, opts fakedwolla.Options) *fakedwolla.Server {
	t.Helper()
	opts.Key, opts.Secret = key, secret
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	opts.Logger = slog.New(slog.NewTextHandler(logWriter{t}, nil))
	f, err := fakedwolla.NewServer("", opts)
	require.NoError(t, err)
	t.Cleanup(f.Close)
	return f
}

// delivery is one webhook request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver records deliveries and answers with status().
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	got        []delivery
	status     atomic.Int32
	active     atomic.Int32
	maxActive  atomic.Int32
	holdOpenMS int
}

func newReceiver(t *testing.T, status int, hold time.Duration) *receiver {
	t.Helper()
	r := &receiver{holdOpenMS: int(hold / time.Millisecond)}
	r.status.Store(int32(status))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.active.Add(1)
		defer r.active.Add(-1)
		for {
			m := r.maxActive.Load()
			if n <= m || r.maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		body, _ := io.ReadAll(req.Body)
		time.Sleep(time.Duration(r.holdOpenMS) * time.Millisecond)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// api makes a raw API request with a fresh token (token "" for none).
func api(t *testing.T, f *fakedwolla.Server, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", dwolla.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", dwolla.MediaType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

func token(t *testing.T, f *fakedwolla.Server) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+"/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.SetBasicAuth(key, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.Equal(t, "bearer", tok.TokenType)
	require.Equal(t, 3600, tok.ExpiresIn)
	return tok.AccessToken
}

func TestEventBodyMatchesCaptures(t *testing.T) {
	t.Parallel()
	created := time.Date(2022, 1, 3, 19, 49, 55, 797_000_000, time.UTC)
	body, err := fakedwolla.EventBody(dwolla.SandboxURL, "ad5f2162-404a-4c4c-994e-6ab6c3a13254", fakedwolla.EventSpec{
		ID: "0e880839-8567-4401-b72f-ab8f74e8dd2d", Topic: "customer_transfer_completed",
		Resource:   fakedwolla.Resource("transfers", "8b4a1302-ce6c-ec11-813c-f6ddd36b41b8"),
		CustomerID: "1a640ca1-cdae-4f98-83a0-f6b89958ac49", Created: created,
	})
	require.NoError(t, err)
	// REFERENCE.md §2 Example B, key order included.
	require.Equal(t, `{"id":"0e880839-8567-4401-b72f-ab8f74e8dd2d","resourceId":"8b4a1302-ce6c-ec11-813c-f6ddd36b41b8",`+
		`"topic":"customer_transfer_completed","timestamp":"2022-01-03T19:49:55.797Z",`+
		`"_links":{"self":{"href":"https://api-sandbox.dwolla.com/events/0e880839-8567-4401-b72f-ab8f74e8dd2d"},`+
		`"account":{"href":"https://api-sandbox.dwolla.com/accounts/ad5f2162-404a-4c4c-994e-6ab6c3a13254"},`+
		`"resource":{"href":"https://api-sandbox.dwolla.com/transfers/8b4a1302-ce6c-ec11-813c-f6ddd36b41b8"},`+
		`"customer":{"href":"https://api-sandbox.dwolla.com/customers/1a640ca1-cdae-4f98-83a0-f6b89958ac49"}},`+
		`"created":"2022-01-03T19:49:55.797Z"}`, string(body))
	ev, err := dwolla.ParseEvent(body)
	require.NoError(t, err)
	require.Equal(t, "transfer", ev.ResourceType)
	require.Equal(t, "1a640ca1-cdae-4f98-83a0-f6b89958ac49", ev.CustomerID)
	require.Equal(t, created, ev.Created)
}

func TestWebhooksAreSignedLikeDwolla(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakedwolla.Options{})
	a := newReceiver(t, http.StatusOK, 20*time.Millisecond)
	b := newReceiver(t, http.StatusNoContent, 0)
	_, err := f.Subscribe(a.URL+"/hook", hookSecret)
	require.NoError(t, err)
	_, err = f.Subscribe(b.URL, "other-secret")
	require.NoError(t, err)

	emitted := map[string]*fakedwolla.Event{}
	for i := 0; i < 60; i++ {
		ev, err := f.Emit("customer_transfer_created", fakedwolla.Resource("transfers", fmt.Sprintf("%08d-aaaa-4aaa-8aaa-aaaaaaaaaaaa", i)),
			fakedwolla.Customer("0bfc9a0b-e87e-426f-abc3-40714fcfa8ae"))
		require.NoError(t, err)
		emitted[ev.ID] = ev
	}
	_, err = f.Emit("no_such_topic", fakedwolla.Resource("customers", "x"))
	require.ErrorIs(t, err, fakedwolla.ErrUnknownTopic)
	require.NoError(t, f.WaitIdle(context.Background()))

	for _, r := range []struct {
		recv   *receiver
		secret string
	}{{a, hookSecret}, {b, "other-secret"}} {
		got := r.recv.deliveries()
		require.Len(t, got, 60)
		seen := map[string]bool{}
		for _, d := range got {
			require.Equal(t, "application/json", d.header.Get("Content-Type"))
			require.Equal(t, "dwolla-webhooks/1.1", d.header.Get("User-Agent"))
			require.Equal(t, "customer_transfer_created", d.header.Get("X-Dwolla-Topic"))
			require.NoError(t, dwolla.NewVerifier(r.secret).Verify(d.body, d.header.Get(dwolla.SignatureHeader)))
			ev, err := dwolla.ParseEvent(d.body)
			require.NoError(t, err)
			require.Equal(t, string(emitted[ev.ID].Body), string(d.body))
			require.Equal(t, "0bfc9a0b-e87e-426f-abc3-40714fcfa8ae", ev.CustomerID)
			require.False(t, seen[ev.ID])
			seen[ev.ID] = true
		}
	}
	require.LessOrEqual(t, a.maxActive.Load(), int32(10), "Dwolla sends at most 10 at a time")
	require.Greater(t, a.maxActive.Load(), int32(1), "deliveries are concurrent")
	st := f.Stats()
	require.Equal(t, 60, st.Events)
	require.Equal(t, 120, st.Webhooks)
	require.Equal(t, 120, st.Delivered)
}

func TestAPIShapes(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakedwolla.Options{})
	tok := token(t, f)

	// No HAL Accept header: 406 InvalidVersion in the vnd.error profile.
	req, _ := http.NewRequest(http.MethodGet, f.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotAcceptable, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "vnd.error")
	require.JSONEq(t, `{"code":"InvalidVersion","message":"Missing or invalid API version."}`, string(raw))

	resp, raw = api(t, f, http.MethodGet, "/events", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, raw = api(t, f, http.MethodGet, "/events", "not-a-token", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.JSONEq(t, `{"code":"InvalidAccessToken","message":"Invalid access token."}`, string(raw))

	// Bad client credentials: OAuth's error form.
	req, _ = http.NewRequest(http.MethodPost, f.URL+"/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {key}, "client_secret": {"nope"},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.JSONEq(t, `{"error":"invalid_client"}`, string(raw))

	for i := 0; i < 30; i++ {
		_, err := f.Emit("customer_created", fakedwolla.Resource("customers", fmt.Sprintf("c%02d", i)))
		require.NoError(t, err)
	}
	resp, raw = api(t, f, http.MethodGet, "/events?limit=10&offset=10", tok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/vnd.dwolla.v1.hal+json; charset=UTF-8", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("X-Request-ID"))
	var page struct {
		Links    map[string]dwolla.Link `json:"_links"`
		Embedded struct {
			Events []json.RawMessage `json:"events"`
		} `json:"_embedded"`
		Total int `json:"total"`
	}
	require.NoError(t, json.Unmarshal(raw, &page))
	require.Equal(t, 30, page.Total)
	require.Len(t, page.Embedded.Events, 10)
	require.Equal(t, f.URL+"/events?limit=10&offset=20", page.Links["next"].Href)
	require.Equal(t, f.URL+"/events?limit=10&offset=0", page.Links["prev"].Href)
	require.Equal(t, f.URL+"/events?limit=10&offset=0", page.Links["first"].Href)
	require.Equal(t, f.URL+"/events?limit=10&offset=20", page.Links["last"].Href)
	require.Equal(t, f.URL+"/events?limit=10&offset=10", page.Links["self"].Href)
	require.Equal(t, dwolla.MediaType, page.Links["self"].Type)
	ev, err := dwolla.ParseEvent(page.Embedded.Events[0])
	require.NoError(t, err)
	require.Equal(t, "c19", ev.ResourceID, "newest first")

	resp, raw = api(t, f, http.MethodGet, "/events?limit=zero", tok, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(raw), `"path":"/limit"`)
	resp, raw = api(t, f, http.MethodGet, "/events/"+ev.ID, tok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, string(page.Embedded.Events[0]), string(raw))
	resp, raw = api(t, f, http.MethodGet, "/events/nope", tok, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.JSONEq(t, `{"code":"NotFound","message":"Application event not found."}`, string(raw))
	resp, _ = api(t, f, http.MethodDelete, "/events", tok, nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// Subscriptions: 201 + Location, empty body; the secret never comes back.
	resp, raw = api(t, f, http.MethodPost, "/webhook-subscriptions", tok, map[string]string{"url": "https://example.com/h", "secret": "s3cr3t"})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Empty(t, raw)
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, f.URL+"/webhook-subscriptions/"), loc)
	resp, raw = api(t, f, http.MethodGet, strings.TrimPrefix(loc, f.URL), tok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, string(raw), "s3cr3t")
	var sub map[string]any
	require.NoError(t, json.Unmarshal(raw, &sub))
	require.ElementsMatch(t, []string{"_links", "id", "url", "paused", "created"}, keys(sub))
	resp, raw = api(t, f, http.MethodPost, strings.TrimPrefix(loc, f.URL), tok, map[string]any{})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(raw), `"path":"/paused"`)
	resp, raw = api(t, f, http.MethodPost, "/webhook-subscriptions", tok, map[string]string{"url": "https://example.com/h"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(raw), `"code":"ValidationError"`)
	require.Contains(t, string(raw), `"path":"/secret"`)
	resp, _ = api(t, f, http.MethodGet, "/webhooks/nope", tok, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = api(t, f, http.MethodPost, "/webhooks/nope/retries", tok, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestProductionAllowsFiveSubscriptions(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakedwolla.Options{Production: true})
	tok := token(t, f)
	for i := 0; i < 5; i++ {
		resp, _ := api(t, f, http.MethodPost, "/webhook-subscriptions", tok, map[string]string{"url": "https://example.com/h", "secret": "s"})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	resp, raw := api(t, f, http.MethodPost, "/webhook-subscriptions", tok, map[string]string{"url": "https://example.com/h", "secret": "s"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(raw), "MaxNumberOfResources")
}

func TestRetriesFollowDwollasScheduleAndAutoPause(t *testing.T) {
	t.Parallel()
	// 24 h of Dwolla's time take about 86 ms here.
	f := newFake(t, fakedwolla.Options{TimeScale: 1_000_000, ShuffleWindow: -1})
	r := newReceiver(t, http.StatusInternalServerError, 0)
	id, err := f.Subscribe(r.URL, hookSecret)
	require.NoError(t, err)

	for i := 0; i < 50; i++ {
		_, err := f.Emit("customer_created", fakedwolla.Resource("customers", fmt.Sprintf("c%02d", i)))
		require.NoError(t, err)
	}
	// 50 webhooks × 9 attempts = 450 failures over 72 scaled hours: the
	// subscription passes 400 consecutive failures after a day without
	// success and is paused.
	require.Eventually(t, func() bool {
		for _, s := range f.Subscriptions() {
			if s.ID == id && s.Paused {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	st := f.Stats()
	require.Equal(t, 1, st.AutoPaused)
	require.GreaterOrEqual(t, st.Failed, 400)
	require.LessOrEqual(t, st.Failed, 450)
	for _, w := range f.Webhooks(id) {
		require.LessOrEqual(t, len(w.Attempts), 9, "first attempt + 8 retries at most")
		require.NotNil(t, w.Attempts[0].Response)
		require.Equal(t, http.StatusInternalServerError, w.Attempts[0].Response.StatusCode)
	}

	// While paused, webhooks are recorded and not sent.
	before := len(r.deliveries())
	paused, err := f.Emit("customer_verified", fakedwolla.Resource("customers", "c01"))
	require.NoError(t, err)
	require.NoError(t, f.WaitIdle(context.Background()))
	never := f.NeverSent(id)
	require.Len(t, never, 1)
	require.Equal(t, paused.ID, never[0].EventID)
	require.Empty(t, never[0].Attempts)

	// Unpausing does not send it; a retry does.
	r.status.Store(http.StatusOK)
	tok := token(t, f)
	resp, _ := api(t, f, http.MethodPost, "/webhook-subscriptions/"+id, tok, map[string]bool{"paused": false})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, f.WaitIdle(context.Background()))
	require.Len(t, f.NeverSent(id), 1)
	resp, _ = api(t, f, http.MethodPost, "/webhooks/"+never[0].ID+"/retries", tok, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NoError(t, f.WaitIdle(context.Background()))
	require.Empty(t, f.NeverSent(id))
	// The retry delivered it, once. (It need not be the last delivery: an
	// attempt of an earlier webhook that was in flight when the
	// subscription paused may land after it.)
	got := r.deliveries()
	require.GreaterOrEqual(t, len(got), before+1)
	sent := 0
	for _, d := range got {
		ev, err := dwolla.ParseEvent(d.body)
		require.NoError(t, err)
		if ev.ID == paused.ID {
			sent++
		}
	}
	require.Equal(t, 1, sent, "the paused event was delivered once, by the retry")
}

func TestRedirectsFailWithoutRetry(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakedwolla.Options{TimeScale: 1_000_000, ShuffleWindow: -1})
	r := newReceiver(t, http.StatusFound, 0)
	id, err := f.Subscribe(r.URL, hookSecret)
	require.NoError(t, err)
	_, err = f.Emit("customer_created", fakedwolla.Resource("customers", "c1"))
	require.NoError(t, err)
	require.NoError(t, f.WaitIdle(context.Background()))
	time.Sleep(300 * time.Millisecond) // 72 scaled hours
	ws := f.Webhooks(id)
	require.Len(t, ws, 1)
	require.Len(t, ws[0].Attempts, 1, "Dwolla's sender does not requeue a 3xx")
	require.Len(t, f.Undelivered(id), 1)
}

func TestFaultsAreSeeded(t *testing.T) {
	t.Parallel()
	run := func() []string {
		f := newFake(t, fakedwolla.Options{Seed: 99, Faults: fakedwolla.Faults{DropFirst: 0.3}})
		r := newReceiver(t, http.StatusOK, 0)
		_, err := f.Subscribe(r.URL, hookSecret)
		require.NoError(t, err)
		for i := 0; i < 40; i++ {
			_, err := f.Emit("customer_created", fakedwolla.Resource("customers", fmt.Sprintf("c%02d", i)))
			require.NoError(t, err)
		}
		require.NoError(t, f.WaitIdle(context.Background()))
		dropped := f.DroppedEvents()
		require.Len(t, r.deliveries(), 40-len(dropped))
		var topics []string
		for _, id := range dropped {
			ev, ok := f.Event(id)
			require.True(t, ok)
			topics = append(topics, ev.ResourceID)
		}
		return topics
	}
	a, b := run(), run()
	require.NotEmpty(t, a)
	require.ElementsMatch(t, a, b)
}

func TestAPIFaultBursts(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakedwolla.Options{Faults: fakedwolla.Faults{API500: 1, BurstLength: 2}})
	tok := token(t, f)
	for i := 0; i < 4; i++ {
		resp, raw := api(t, f, http.MethodGet, "/events", tok, nil)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Contains(t, string(raw), `"code":"ServerError"`)
	}
	require.Error(t, fakedwolla.Faults{DropFirst: 2}.Validate())
}
