package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/web"
)

// TestWithRequestID: a sane caller id is kept, anything else replaced by a
// fresh one; either is echoed and, with the client address, in the
// request's context.
func TestWithRequestID(t *testing.T) {
	t.Parallel()
	var gotID, gotAddr string
	h := web.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotID, gotAddr = web.RequestID(r.Context()), web.ClientAddr(r.Context())
	}))
	serve := func(callerID string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/x", nil)
		req.RemoteAddr = "198.51.100.7:4242"
		if callerID != "" {
			req.Header.Set("X-Request-ID", callerID)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	w := serve("dwolla-req.1_a")
	require.Equal(t, "dwolla-req.1_a", w.Header().Get("X-Request-ID"))
	require.Equal(t, "dwolla-req.1_a", gotID)
	require.Equal(t, "198.51.100.7", gotAddr)
	for _, bad := range []string{"", "has space", "<script>", string(bytes.Repeat([]byte("a"), 65))} {
		w = serve(bad)
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), gotID, "%q", bad)
		require.Equal(t, gotID, w.Header().Get("X-Request-ID"))
	}
	first := gotID
	serve("")
	require.NotEqual(t, first, gotID, "fresh ids differ")
	require.Empty(t, web.RequestID(context.Background()))
	require.Empty(t, web.ClientAddr(context.Background()))
}

// TestAccessLogLevels: a line per request at debug, 5xx at warn whatever
// the level, and nothing built for a line that is not written.
func TestAccessLogLevels(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	var buf bytes.Buffer
	serve := func(level slog.Level) {
		buf.Reset()
		h := web.WithRequestID(web.AccessLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))(next))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/webhooks/dwolla/v2?secret=1", nil))
	}
	serve(slog.LevelInfo)
	require.Empty(t, buf.String())
	serve(slog.LevelDebug)
	require.Contains(t, buf.String(), "level=DEBUG")
	require.Contains(t, buf.String(), "path=/api/webhooks/dwolla/v2 status=200")
	require.NotContains(t, buf.String(), "secret")
	status = http.StatusServiceUnavailable
	serve(slog.LevelInfo)
	require.Contains(t, buf.String(), "level=WARN")
	require.Contains(t, buf.String(), "status=503")
	require.Regexp(t, `request_id=[0-9a-f]{32}`, buf.String())
}

// TestRequestMiddlewareAllocations counts what the request id and access
// log cost a request whose access line is not written (every webhook at
// the default level): one context value and the request's copy, the id,
// its header, and one recorder. Before they were trimmed: 12. Not
// parallel, since allocations are counted process-wide.
func TestRequestMiddlewareAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := web.WithRequestID(web.AccessLog(quiet)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	req := httptest.NewRequest(http.MethodPost, "/api/webhooks/dwolla/v2", nil)
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	require.LessOrEqual(t, allocs, 6.0)
}

// TestRecordShares: a recorder that has recorded nothing is shared by the
// middlewares stacked on it; one that has is wrapped again.
func TestRecordShares(t *testing.T) {
	t.Parallel()
	outer := web.Record(httptest.NewRecorder())
	require.Same(t, outer, web.Record(outer))
	outer.WriteHeader(http.StatusTeapot)
	inner := web.Record(outer)
	require.NotSame(t, outer, inner)
	require.Equal(t, 0, inner.Status)
}
