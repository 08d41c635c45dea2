package netguard_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/netguard"
)

// TestConnectionCaps is issue 20's finding 6: idle connections from two
// clients reached the file limit and slowed everyone. Connections over the
// per-source or the global cap get a 503 and are closed at accept; the
// caps and refusals are metrics.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	trusted, err := netguard.ParsePrefixes("127.0.0.9")
	require.NoError(t, err)
	lln := netguard.LimitListener(ln, netguard.ConnLimits{Max: 6, PerSource: 3, Exempt: netguard.PrefixSet(trusted), Registerer: reg})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })}
	go func() { _ = srv.Serve(lln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	// get sends one request on a new connection from source and returns the
	// connection (kept open) and the status it got.
	get := func(source string) (net.Conn, int) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c, resp.StatusCode
	}

	var first []net.Conn
	for range 3 {
		c, code := get("127.0.0.2")
		require.Equal(t, http.StatusOK, code)
		first = append(first, c)
	}
	_, code := get("127.0.0.2")
	require.Equal(t, http.StatusServiceUnavailable, code, "a fourth connection from one source")
	for range 3 {
		_, code := get("127.0.0.3")
		require.Equal(t, http.StatusOK, code, "another source is unaffected")
	}
	_, code = get("127.0.0.4")
	require.Equal(t, http.StatusServiceUnavailable, code, "six open: the global cap")
	require.Equal(t, 6.0, gauge(t, reg, "hooklens_connections_open", ""))
	require.Equal(t, 1.0, gauge(t, reg, "hooklens_connections_refused_total", "source"))
	require.Equal(t, 1.0, gauge(t, reg, "hooklens_connections_refused_total", "global"))

	// A closed connection gives its slot back.
	first[0].Close()
	require.Eventually(t, func() bool {
		_, code := get("127.0.0.4")
		return code == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
}

// gauge reads one sample of a gathered metric (scope "" for unlabelled).
func gauge(t *testing.T, reg *prometheus.Registry, name, scope string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "scope" {
					got = l.GetValue()
				}
			}
			if got != scope {
				continue
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
