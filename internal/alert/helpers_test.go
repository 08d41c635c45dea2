package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/usererr"
)

// t0 is the start of every test's story.
var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fakeFacts is the server's state as a test wants it.
type fakeFacts struct {
	mu     sync.Mutex
	status pipeline.Status
	sub    alert.SubscriptionState
	err    error
	calls  int
}

func (f *fakeFacts) PipelineStatus(context.Context) (pipeline.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.status, f.err
}

func (f *fakeFacts) Subscription(context.Context) (alert.SubscriptionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sub, f.err
}

func (f *fakeFacts) set(fn func(s *pipeline.Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.status)
}

// identitySealer stores values as they are, like vault without keys.
type identitySealer struct{}

func (identitySealer) Seal(plain []byte) (string, []byte, error) { return "identity", plain, nil }

func (identitySealer) Open(encoding string, stored []byte) ([]byte, error) {
	if encoding != "identity" {
		return nil, errors.New("unknown encoding")
	}
	return stored, nil
}

// clock is a settable time for person-driven changes.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// request is one request the receiver got.
type request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a local HTTP server that records requests and answers with
// the statuses of respond (by request number, from 1).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int) (status int, body string, delay time.Duration)
}

func newReceiver(t *testing.T) *receiver {
	rx := &receiver{respond: func(int) (int, string, time.Duration) { return http.StatusOK, "ok", 0 }}
	rx.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rx.mu.Lock()
		rx.reqs = append(rx.reqs, request{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		n, respond := len(rx.reqs), rx.respond
		rx.mu.Unlock()
		status, text, delay := respond(n)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(rx.Close)
	return rx
}

func (rx *receiver) requests() []request {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]request(nil), rx.reqs...)
}

// payloads decodes the generic payloads received.
func (rx *receiver) payloads(t *testing.T) []alert.Payload {
	t.Helper()
	var out []alert.Payload
	for _, r := range rx.requests() {
		var p alert.Payload
		require.NoError(t, json.Unmarshal(r.Body, &p), "body: %s", r.Body)
		out = append(out, p)
	}
	return out
}

func (rx *receiver) setRespond(fn func(n int) (int, string, time.Duration)) {
	rx.mu.Lock()
	rx.respond = fn
	rx.mu.Unlock()
}

// testBundle is a service on a real database, with fakes for the rest.
type testBundle struct {
	db    *store.DB
	svc   *alert.Service
	facts *fakeFacts
	hub   *live.Hub
	clock *clock
	rx    *receiver
	reg   *prometheus.Registry
	logs  *syncBuffer // everything the service logged
}

type setupOptions struct {
	opts alert.Options
}

func setup(t *testing.T, db *store.DB, so ...setupOptions) *testBundle {
	t.Helper()
	b := &testBundle{db: db, facts: &fakeFacts{}, hub: live.NewHub("test"), clock: &clock{t: t0},
		rx: newReceiver(t), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	b.facts.status.Breaker = "closed"
	opts := alert.Options{BaseURL: "https://hooklens.example.com/", Timeout: 2 * time.Second,
		Backoff: 10 * time.Millisecond, Registerer: b.reg, Now: b.clock.Now}
	if len(so) > 0 {
		o := so[0].opts
		if o.Timeout != 0 {
			opts.Timeout = o.Timeout
		}
		if o.Attempts != 0 {
			opts.Attempts = o.Attempts
		}
		opts.AllowedHosts = o.AllowedHosts
	}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, b.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := alert.New(db, b.facts, identitySealer{}, b.hub, log, opts)
	require.NoError(t, err)
	b.svc = svc
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	})
	return b
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// webhook creates a generic webhook channel to the receiver.
func (b *testBundle) webhook(t *testing.T, name, secret string) *ent.AlertChannel {
	t.Helper()
	ch, err := b.svc.CreateChannel(context.Background(), alert.NewChannel{Name: name, Kind: "webhook", URL: b.rx.URL + "/hook", Secret: secret})
	require.NoError(t, err)
	return ch
}

// rule creates a rule on the given channels.
func (b *testBundle) rule(t *testing.T, in alert.NewRule, channels ...*ent.AlertChannel) *ent.AlertRule {
	t.Helper()
	for _, ch := range channels {
		in.ChannelIDs = append(in.ChannelIDs, ch.ID)
	}
	if in.Name == "" {
		in.Name = in.Key
	}
	r, err := b.svc.CreateRule(context.Background(), in)
	require.NoError(t, err)
	return r
}

// evaluate runs an evaluation at at, failing the test on error.
func (b *testBundle) evaluate(t *testing.T, at time.Time) alert.Summary {
	t.Helper()
	b.clock.Set(at)
	sum, err := b.svc.Evaluate(context.Background(), at)
	require.NoError(t, err)
	return sum
}

// alerts returns every alert of a rule, oldest first.
func (b *testBundle) alerts(t *testing.T, ruleKey string) []*ent.Alert {
	t.Helper()
	var out []*ent.Alert
	all, err := b.db.Client.Alert.Query().Order(ent.Asc("id")).All(context.Background())
	require.NoError(t, err)
	for _, a := range all {
		if a.RuleKey == ruleKey {
			out = append(out, a)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func minutes(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// requireField checks err is a user error about field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	ue, ok := usererr.As(err)
	require.True(t, ok, "not a user error: %v", err)
	require.Equal(t, usererr.Invalid, ue.Kind, "%v", err)
	require.Equal(t, field, ue.Field, "%v", err)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// liveEvents reads an alert's live messages until n transitions (fired,
// renotified, resolved…) have arrived, then whatever else is queued. It
// returns the transitions in order and how many "notified" messages (the
// log has new deliveries) came with them.
func liveEvents(t *testing.T, sub *live.Subscription, n int, alertID int) (events []string, notified int) {
	t.Helper()
	read := func(m live.Message) {
		require.Equal(t, []int{alertID}, m.IDs)
		var d struct{ Event string }
		require.NoError(t, json.Unmarshal(m.Data, &d))
		if d.Event == "notified" {
			notified++
		} else {
			events = append(events, d.Event)
		}
	}
	for len(events) < n {
		select {
		case m := <-sub.C:
			read(m)
		case <-time.After(5 * time.Second):
			t.Fatalf("no live message after %v", events)
		}
	}
	for {
		select {
		case m := <-sub.C:
			read(m)
		case <-time.After(100 * time.Millisecond):
			return events, notified
		}
	}
}
