package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/web"
)

// TestInstrumentHTTPBehindAccessLog: behind the access log, as the server
// stacks them, the two share one status recorder and still count every
// status right, and a request on a series already used looks no label up
// again. Not parallel, since allocations are counted process-wide.
func TestInstrumentHTTPBehindAccessLog(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := web.AccessLog(log)(m.InstrumentHTTP(mux))
	serve := func(target string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, nil))
		return w.Code
	}
	require.Equal(t, http.StatusOK, serve("/hook"))
	require.Equal(t, http.StatusServiceUnavailable, serve("/hook?fail=1"))
	require.Equal(t, http.StatusOK, serve("/hook"))

	want := `
# HELP hooklens_http_requests_total HTTP requests answered, by route pattern, method and status code (websocket upgrades count as 101).
# TYPE hooklens_http_requests_total counter
hooklens_http_requests_total{code="200",method="POST",route="POST /hook"} 2
hooklens_http_requests_total{code="503",method="POST",route="POST /hook"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "hooklens_http_requests_total"))

	if raceEnabled {
		return // the race detector changes allocation counts
	}
	req := httptest.NewRequest(http.MethodPost, "/hook", nil)
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	require.LessOrEqual(t, allocs, 3.0, "one recorder, the mux's own work; 8 before they shared it and cached series")
}
