//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// graphql runs query with token against s and decodes the answer.
func (s *server) graphql(t *testing.T, token, query string) (int, map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.url("/graphql"), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// TestHardening runs issue 20's findings against the real binary: a
// request smuggled behind a Content-Length + Transfer-Encoding request is
// never processed, connections over the per-source cap get 503 at accept
// while other sources are served, and a GraphQL request asking for 1,250
// pages of bodies is refused up front, with a log line.
func TestHardening(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{databaseURL: filepath.Join(t.TempDir(), "hooklens.db"), env: map[string]string{
		"HOOKLENS_SOURCE_CONNECTIONS": "20",
	}})
	s.start()
	admin := s.adminToken()

	t.Run("smuggling", func(t *testing.T) {
		smuggledBody := eventBody("smuggled-1")
		smuggled := "POST /api/webhooks/dwolla/v2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			dwolla.SignatureHeader + ": " + dwolla.Sign([]byte(s.secret), smuggledBody) + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(smuggledBody)) + "\r\n\r\n" + string(smuggledBody)
		outer := "0\r\n\r\n" + smuggled
		conn, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(outer))+
			"\r\nTransfer-Encoding: chunked\r\n\r\n"+outer)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.True(t, resp.Close, "Connection: close")
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		require.Empty(t, string(rest), "no second answer: the connection was closed")
		_, out := s.graphql(t, admin, `{ events(where: {eventID: "smuggled-1"}) { totalCount } }`)
		require.Equal(t, map[string]any{"events": map[string]any{"totalCount": float64(0)}}, out["data"])
	})

	t.Run("connections per source", func(t *testing.T) {
		get := func(source string) (net.Conn, int) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", s.addr)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return c, resp.StatusCode
		}
		for i := range 20 {
			_, code := get("127.0.0.2")
			require.Equal(t, http.StatusOK, code, "idle connection %d", i)
		}
		_, code := get("127.0.0.2")
		require.Equal(t, http.StatusServiceUnavailable, code)
		// Deliveries from elsewhere are served meanwhile.
		status, _, _, err := s.deliver(eventBody("conn-cap-1"), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		resp, err := client.Get(s.url("/metrics"))
		require.NoError(t, err)
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(metrics), `hooklens_connections_refused_total{scope="source"} 1`)
	})

	t.Run("graphql cost", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range 1250 {
			fmt.Fprintf(&b, " a%d: events(first: 1000) { edges { node { rawBody } } }", i)
		}
		b.WriteString(" }")
		_, out := s.graphql(t, admin, b.String())
		errs, _ := out["errors"].([]any)
		require.Len(t, errs, 1, "%v", out)
		require.Equal(t, "COST_LIMIT_EXCEEDED", errs[0].(map[string]any)["extensions"].(map[string]any)["code"])
		require.Eventually(t, func() bool { return strings.Contains(s.logs(), "graphql request refused") }, 5*time.Second, 50*time.Millisecond)
	})
}
