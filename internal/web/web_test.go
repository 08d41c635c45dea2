package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/web"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	get := func(publicURL, host string) http.Header {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
		web.SecurityHeaders(publicURL)(ok).ServeHTTP(w, r)
		return w.Header()
	}
	connectSrc := func(h http.Header) string {
		for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "connect-src ") {
				return d
			}
		}
		return ""
	}

	// Behind https: HSTS, and websockets only to our own wss origin.
	h := get("https://hooks.example.com", "hooks.example.com")
	require.Equal(t, "max-age=31536000", h.Get("Strict-Transport-Security"))
	require.Equal(t, "connect-src 'self' wss://hooks.example.com", connectSrc(h))

	// Plain http: no HSTS (browsers ignore it there); our host's ws origins only.
	h = get("", "127.0.0.1:8080")
	require.Empty(t, h.Get("Strict-Transport-Security"))
	require.Equal(t, "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080", connectSrc(h))
	require.NotContains(t, h.Get("Content-Security-Policy"), "ws: ")
	h = get("http://hooklens.internal:8080", "10.0.0.5:8080")
	require.Equal(t, "connect-src 'self' ws://hooklens.internal:8080 wss://hooklens.internal:8080", connectSrc(h))

	// A host that is not plainly a host name is never echoed.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://x/", nil)
	r.Host = "evil.example; script-src *"
	web.SecurityHeaders("")(ok).ServeHTTP(w, r)
	require.Equal(t, "connect-src 'self'", connectSrc(w.Header()))
}

// TestAmbiguousFramingClosesConnection sends, on one raw TCP connection, a
// request carrying both Content-Length and Transfer-Encoding: chunked whose
// chunked body ends early, followed by a smuggled request; RFC 9112 §6.3
// says the server must close the connection after answering the first, so
// the smuggled one must never reach a handler.
func TestAmbiguousFramingClosesConnection(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(web.CloseAmbiguousFraming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	body := "0\r\n\r\n" + smuggled
	_, err = io.WriteString(conn, "POST /first HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: "+strconv.Itoa(len(body))+"\r\nTransfer-Encoding: chunked\r\n\r\n"+body)
	require.NoError(t, err)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, resp.Close, "the answer announces Connection: close")
	// The server closes: the stream ends without a second response.
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Empty(t, string(rest))

	mu.Lock()
	require.Equal(t, []string{"/first"}, seen)
	mu.Unlock()

	// A request framed by Content-Length alone keeps its connection.
	conn2, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn2.Close()
	_, err = io.WriteString(conn2, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn2.SetReadDeadline(time.Now().Add(5*time.Second)))
	br2 := bufio.NewReader(conn2)
	for range 2 {
		resp, err := http.ReadResponse(br2, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.False(t, resp.Close)
	}
}
