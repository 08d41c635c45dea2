package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/graph"
	"github.com/hooklens/hooklens/internal/apptest"
)

func eventBody(id, topic string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"topic":%q,"created":"2024-03-01T12:00:00.000Z","resourceId":"11111111-2222-3333-4444-555555555555",`+
		`"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/customers/11111111-2222-3333-4444-555555555555"},`+
		`"customer":{"href":"https://api-sandbox.dwolla.com/customers/11111111-2222-3333-4444-555555555555"}}}`, id, topic)
}

func deliver(t *testing.T, s *apptest.Server, id string) {
	t.Helper()
	resp := s.Deliver(eventBody(id, "customer_created"))
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// postGraphQL sends a raw GraphQL request body and decodes the answer.
func postGraphQL(t *testing.T, s *apptest.Server, token string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), "body: %s", out)
	return resp.StatusCode, resp.Header, m
}

func firstError(t *testing.T, m map[string]any) (string, string) {
	t.Helper()
	errs, ok := m["errors"].([]any)
	require.True(t, ok && len(errs) > 0, "no errors in %v", m)
	e := errs[0].(map[string]any)
	ext, _ := e["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return e["message"].(string), code
}

// Mistakes in arguments — a cursor, a time or an id that does not decode —
// are the caller's: BAD_USER_INPUT with the reason, not a masked INTERNAL.
func TestUndecodableArgumentsAreBadUserInput(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	for _, tc := range []struct {
		name, query, reason string
	}{
		{"cursor", `{ events(first: 2, after: "bm90IGEgY3Vyc29y") { totalCount } }`, "cannot decode cursor"},
		{"truncated cursor", `{ events(first: 2, after: "gqJpZM0") { totalCount } }`, "cannot decode cursor"},
		{"time", `{ events(first: 2, where: {receivedAtGTE: "yesterday"}) { totalCount } }`, `"yesterday" is not an RFC 3339 time`},
		{"node id", `{ node(id: "abc") { id } }`, `"abc" is not a valid id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.GraphQL(s.Viewer, tc.query, nil)
			require.NotEmpty(t, r.Errors, "%s", r.Data)
			require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"], "%+v", r.Errors)
			require.Contains(t, r.Errors[0].Message, tc.reason)
			require.NotContains(t, r.Errors[0].Message, "internal error")
		})
	}
}

// An introspection client without credentials gets a GraphQL answer it can
// read, with the 401 status and the WWW-Authenticate challenge kept.
func TestUnauthenticatedAnswerIsGraphQLShaped(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	introspection := `query IntrospectionQuery { __schema { queryType { name } types { name } } }`
	for _, token := range []string{"", "hl_not-a-real-token"} {
		status, h, m := postGraphQL(t, s, token, map[string]any{"query": introspection, "operationName": "IntrospectionQuery"})
		require.Equal(t, http.StatusUnauthorized, status)
		require.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
		require.Contains(t, h.Get("Content-Type"), "application/json")
		msg, code := firstError(t, m)
		require.Equal(t, "UNAUTHENTICATED", code)
		require.NotEmpty(t, msg)
		require.NotContains(t, m, "error", "not the REST error shape")
	}
}

var fixedWidthTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)

// Every Time leaves the API in one fixed-width form, so times sort as text.
func TestTimesHaveOneFixedWidth(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	deliver(t, s, "7b0a3e2c-0000-4000-8000-000000000001")
	var out struct {
		Events struct {
			Edges []struct {
				Node struct {
					CreatedAt  string `json:"createdAt"`
					ReceivedAt string `json:"receivedAt"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"events"`
	}
	s.MustGraphQL(`{ events(first: 1) { edges { node { createdAt receivedAt } } } }`, nil, &out)
	require.Len(t, out.Events.Edges, 1)
	n := out.Events.Edges[0].Node
	require.Equal(t, "2024-03-01T12:00:00.000000000Z", n.CreatedAt, "whole milliseconds keep all nine digits")
	require.Regexp(t, fixedWidthTime, n.ReceivedAt)
	// An input time with any number of digits is read.
	var filtered struct {
		Events struct {
			TotalCount int `json:"totalCount"`
		} `json:"events"`
	}
	s.MustGraphQL(`query($t: Time!) { events(where: {createdAtGTE: $t}) { totalCount } }`, map[string]any{"t": "2024-03-01T12:00:00Z"}, &filtered)
	require.Equal(t, 1, filtered.Events.TotalCount)
}

// Automatic persisted queries: an unknown hash is asked for, a known one
// runs without the query text.
func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	query := `{ viewer { name role } }`
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}

	_, _, m := postGraphQL(t, s, s.Viewer, map[string]any{"extensions": ext})
	_, code := firstError(t, m)
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", code)

	status, _, m := postGraphQL(t, s, s.Viewer, map[string]any{"query": query, "extensions": ext})
	require.Equal(t, http.StatusOK, status, "%v", m)
	require.Nil(t, m["errors"])

	status, _, m = postGraphQL(t, s, s.Viewer, map[string]any{"extensions": ext})
	require.Equal(t, http.StatusOK, status, "%v", m)
	require.Nil(t, m["errors"])
	require.NotNil(t, m["data"].(map[string]any)["viewer"])
}

// A subscription over server-sent events, for clients and proxies without
// websockets.
func TestSubscriptionOverServerSentEvents(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	body := `{"query":"subscription { eventReceived { eventID topic } }"}`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/graphql", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/event-stream")

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	const id = "7b0a3e2c-0000-4000-8000-000000000002"
	// Deliver until the subscription (registered asynchronously) sees one.
	delivered := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, "data:") && strings.Contains(l, "eventReceived") {
				require.Contains(t, l, "customer_created")
				return
			}
		case <-tick.C:
			if delivered < 20 {
				deliver(t, s, fmt.Sprintf("%s%d", id[:len(id)-2], 10+delivered))
				delivered++
			}
		case <-ctx.Done():
			t.Fatal("no event arrived over the event stream")
		}
	}
}

// standalone serves the GraphQL handler alone with short keep-alive and
// init timeouts, so the websocket conventions are observed in milliseconds.
func standalone(t *testing.T) (*apptest.Server, string) {
	t.Helper()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	a := s.App
	h := graph.NewHandler(&graph.Resolver{
		Client: a.DB.Client, DB: a.DB, Hub: a.Hub, Auth: a.Auth, Log: apptest.Logger(t),
		Pipeline: a.Pipeline, Tracker: a.Tracker, Recon: a.Recon, Jobs: a.Jobs, Alerts: a.Alerts,
	}, graph.HandlerOptions{Authenticator: a.Authn, KeepAlive: 100 * time.Millisecond, InitTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return s, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, u, protocol string, header http.Header) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(u, header)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
}

type wsMessage struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Both websocket protocols keep an idle connection alive: graphql-ws with
// "ka" messages, graphql-transport-ws with pings (answered or not).
func TestWebsocketKeepAlive(t *testing.T) {
	t.Parallel()
	s, u := standalone(t)
	for _, tc := range []struct{ protocol, keepAlive string }{
		{"graphql-transport-ws", "ping"},
		{"graphql-ws", "ka"},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			c := dial(t, u, tc.protocol, nil)
			require.NoError(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + s.Viewer}}))
			seen := 0
			deadline := time.Now().Add(5 * time.Second)
			for seen < 3 {
				require.NoError(t, c.SetReadDeadline(deadline))
				var m wsMessage
				require.NoError(t, c.ReadJSON(&m), "an idle connection must get %q", tc.keepAlive)
				if m.Type == tc.keepAlive {
					seen++ // never answered: a client that does not pong is not cut off
				}
			}
		})
	}
}

// A graphql-transport-ws connection that never sends connection_init is
// closed with 4408, as the protocol says.
func TestWebsocketInitTimeoutCloses4408(t *testing.T) {
	t.Parallel()
	_, u := standalone(t)
	c := dial(t, u, "graphql-transport-ws", nil)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		_, _, err := c.ReadMessage()
		if err != nil {
			require.Equal(t, graph.CloseInitTimeout, apptest.CloseError(err), "%v", err)
			return
		}
	}
}

// A websocket from a foreign origin is refused with one structured answer.
func TestWebsocketForeignOriginRefused(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/graphql", http.Header{"Origin": {"https://evil.example"}})
	require.Error(t, err)
	require.NotNil(t, resp)
	defer resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	raw, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(raw), "forbidden_origin")
}

// A graceful shutdown tells subscribers it is going away (1001) instead of
// dropping them (1006), so they reconnect at once.
func TestShutdownClosesWebsockets1001(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.App.Serve(ctx, ln) }()

	c := dial(t, "ws://"+ln.Addr().String()+"/graphql", "graphql-transport-ws", nil)
	require.NoError(t, c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + s.Viewer}}))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	var ack wsMessage
	require.NoError(t, c.ReadJSON(&ack))
	require.Equal(t, "connection_ack", ack.Type)

	cancel()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	for {
		_, _, err := c.ReadMessage()
		if err != nil {
			require.Equal(t, graph.CloseGoingAway, apptest.CloseError(err), "%v", err)
			break
		}
	}
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not shut down")
	}
}

// A client that lists text/event-stream after JSON in Accept (urql does,
// for incremental delivery) gets a plain JSON answer: streams are for
// clients that prefer them. Answering every dashboard query as a stream
// made urql abort the streams it no longer needed, as page errors.
func TestJSONFirstAcceptGetsJSON(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed")
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, resp.Header.Get("Content-Type"), "text/event-stream")
	require.Contains(t, resp.Header.Get("Content-Type"), "json")
}
