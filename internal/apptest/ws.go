package apptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// WS is a graphql-transport-ws (or legacy graphql-ws) client on gorilla's
// websocket, independent of the server's websocket library.
type WS struct {
	t    testing.TB
	conn *websocket.Conn
	sub  string // subprotocol
	srv  *Server
}

// Message is one protocol message.
type Message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// DialWS opens a websocket to /graphql speaking subprotocol, with extra
// request headers (Cookie, Origin), and sends connection_init with
// initPayload. It returns the connection and the server's first answer to
// the init (connection_ack, or an error).
func (s *Server) DialWS(subprotocol string, headers http.Header, initPayload map[string]any) (*WS, *Message, error) {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/graphql"
	d := websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(u, headers)
	if err != nil {
		if resp != nil {
			return nil, nil, fmt.Errorf("dial: %w (status %d)", err, resp.StatusCode)
		}
		return nil, nil, err
	}
	w := &WS{t: s.T, conn: conn, sub: subprotocol, srv: s}
	s.T.Cleanup(func() { conn.Close() })
	payload, _ := json.Marshal(initPayload)
	if err := conn.WriteJSON(Message{Type: "connection_init", Payload: payload}); err != nil {
		return nil, nil, err
	}
	for {
		m, err := w.Next(5 * time.Second)
		if err != nil {
			return w, nil, err
		}
		if m.Type == "ka" || m.Type == "ping" {
			continue
		}
		return w, m, nil
	}
}

// Subscribe starts a subscription with id.
func (w *WS) Subscribe(id, query string, vars map[string]any) {
	w.t.Helper()
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(w.t, err)
	typ := "subscribe"
	if w.sub == "graphql-ws" {
		typ = "start"
	}
	require.NoError(w.t, w.conn.WriteJSON(Message{ID: id, Type: typ, Payload: payload}))
}

// SubscribeWait starts a subscription like Subscribe and waits (up to 10 s)
// until the server has registered it with its live hub, so that what the
// test does next is seen by it. The protocol does not acknowledge a
// subscribe; this replaces guessing with a sleep.
func (w *WS) SubscribeWait(id, query string, vars map[string]any) {
	w.t.Helper()
	hub := w.srv.App.Hub
	before := hub.Subscribers()
	w.Subscribe(id, query, vars)
	require.Eventually(w.t, func() bool { return hub.Subscribers() > before }, 10*time.Second, 5*time.Millisecond,
		"the server did not register subscription %q", id)
}

// Next reads the next message within d, answering pings.
func (w *WS) Next(d time.Duration) (*Message, error) {
	for {
		_ = w.conn.SetReadDeadline(time.Now().Add(d))
		var m Message
		if err := w.conn.ReadJSON(&m); err != nil {
			return nil, err
		}
		if m.Type == "ping" {
			_ = w.conn.WriteJSON(Message{Type: "pong"})
			continue
		}
		return &m, nil
	}
}

// NextData reads until a data message for a subscription arrives and
// decodes its payload's data into v.
func (w *WS) NextData(d time.Duration, v any) *Message {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := w.Next(time.Until(deadline))
		require.NoError(w.t, err)
		switch m.Type {
		case "ka", "pong", "complete":
			// Keep-alives, and the end of another subscription on this
			// connection.
			continue
		case "next", "data":
			var p struct {
				Data   json.RawMessage `json:"data"`
				Errors []any           `json:"errors"`
			}
			require.NoError(w.t, json.Unmarshal(m.Payload, &p))
			require.Empty(w.t, p.Errors)
			if v != nil {
				require.NoError(w.t, json.Unmarshal(p.Data, v))
			}
			return m
		default:
			w.t.Fatalf("unexpected websocket message %s: %s", m.Type, m.Payload)
		}
	}
}

// Close closes the connection.
func (w *WS) Close() { _ = w.conn.Close() }

// CloseError returns the close code when the connection was closed by the
// server while reading.
func CloseError(err error) int {
	if ce, ok := err.(*websocket.CloseError); ok {
		return ce.Code
	}
	return 0
}
