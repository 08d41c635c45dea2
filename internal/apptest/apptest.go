// Package apptest runs a whole hooklens server for tests: a real database
// (SQLite or PostgreSQL, from dbtest), the real HTTP stack on a loopback
// port, an admin and a viewer token, and helpers to deliver signed
// webhooks, run GraphQL and open websocket subscriptions.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/app"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
)

// Secret is the webhook secret test servers accept.
const Secret = "test-webhook-secret"

// Server is a running test server.
type Server struct {
	T      testing.TB
	App    *app.App
	HTTP   *httptest.Server
	URL    string
	Admin  string // admin bearer token
	Viewer string // viewer bearer token
	Client *http.Client
}

// Options adjust the server's configuration before it starts.
type Options struct {
	// DatabaseURL overrides the fresh database of the requested kind.
	DatabaseURL string
	// Configure edits the configuration.
	Configure func(*config.Config)
	// Now is the server's clock (app.Options.Now; default time.Now), a
	// Clock's Now for a test that moves time itself.
	Now func() time.Time
}

// Config returns the configuration tests start from: everything default
// but the database and the webhook secret.
func Config(t testing.TB, databaseURL string) config.Config {
	t.Helper()
	cfg, err := (&config.Loader{}).Load(func(key string) (string, bool) {
		switch key {
		case "DATABASE_URL":
			return databaseURL, true
		case "DWOLLA_WEBHOOK_SECRET":
			return Secret, true
		case "HOOKLENS_SHUTDOWN_GRACE":
			return "5s", true
		}
		return "", false
	})
	require.NoError(t, err)
	return cfg
}

// Logger sends logs to t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Start runs a server on a fresh database of kind ("sqlite" or "postgres").
func Start(t testing.TB, kind string, opts Options) *Server {
	t.Helper()
	u := opts.DatabaseURL
	if u == "" {
		u = dbtest.URL(t, kind)
	}
	cfg := Config(t, u)
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, Logger(t), app.Options{Now: opts.Now})
	require.NoError(t, err)
	a.Start(ctx)
	srv := httptest.NewServer(a.Handler())
	s := &Server{T: t, App: a, HTTP: srv, URL: srv.URL, Client: srv.Client()}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(cctx)
	})
	s.Admin, _, err = a.Auth.CreateToken(ctx, "test admin", auth.RoleAdmin, nil)
	require.NoError(t, err)
	s.Viewer, _, err = a.Auth.CreateToken(ctx, "test viewer", auth.RoleViewer, nil)
	require.NoError(t, err)
	return s
}

// Deliver posts body signed with Secret, as Dwolla would.
func (s *Server) Deliver(body []byte) *http.Response {
	s.T.Helper()
	return s.DeliverSigned(body, dwolla.Sign([]byte(Secret), body), nil)
}

// DeliverSigned posts body with the given signature and extra headers.
func (s *Server) DeliverSigned(body []byte, signature string, headers map[string]string) *http.Response {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/webhooks/dwolla/v2", bytes.NewReader(body))
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", dwolla.UserAgent)
	if signature != "" {
		req.Header.Set(dwolla.SignatureHeader, signature)
	}
	var probe struct {
		Topic string `json:"topic"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.Topic != "" {
		req.Header.Set(dwolla.TopicHeader, probe.Topic)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	require.NoError(s.T, err)
	return resp
}

// GraphQLResponse is a decoded GraphQL answer.
type GraphQLResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// GraphQL runs query with vars as token ("" for none).
func (s *Server) GraphQL(token, query string, vars map[string]any) GraphQLResponse {
	s.T.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(s.T, err)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client.Do(req)
	require.NoError(s.T, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.T, err)
	out := GraphQLResponse{Status: resp.StatusCode}
	if resp.Header.Get("Content-Type") != "" && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		_ = json.Unmarshal(raw, &out)
	}
	return out
}

// MustGraphQL runs query as the admin and decodes data into v, failing on
// any error.
func (s *Server) MustGraphQL(query string, vars map[string]any, v any) {
	s.T.Helper()
	r := s.GraphQL(s.Admin, query, vars)
	require.Equal(s.T, http.StatusOK, r.Status, "errors: %+v", r.Errors)
	require.Empty(s.T, r.Errors)
	if v != nil {
		require.NoError(s.T, json.Unmarshal(r.Data, v))
	}
}

// ReadJSON decodes and closes a response body.
func ReadJSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v), "body: %s", raw)
}
