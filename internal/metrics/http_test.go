package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/metrics"
)

func TestInstrumentHTTP(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.PathValue("id")))
	})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/silent", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := m.InstrumentHTTP(mux)

	serve := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	for _, id := range []string{"1", "2", "3"} {
		require.Equal(t, http.StatusOK, serve(http.MethodGet, "/things/"+id).Code)
	}
	require.Equal(t, http.StatusTeapot, serve("BREW", "/teapot").Code)
	serve(http.MethodPost, "/silent")
	require.Equal(t, http.StatusNotFound, serve(http.MethodGet, "/nowhere/at/all").Code)
	require.Panics(t, func() { serve(http.MethodGet, "/boom") }, "the panic goes on to the recovering middleware")

	want := `
# HELP hooklens_http_requests_total HTTP requests answered, by route pattern, method and status code (websocket upgrades count as 101).
# TYPE hooklens_http_requests_total counter
hooklens_http_requests_total{code="200",method="GET",route="GET /things/{id}"} 3
hooklens_http_requests_total{code="200",method="POST",route="/silent"} 1
hooklens_http_requests_total{code="404",method="GET",route="unmatched"} 1
hooklens_http_requests_total{code="418",method="other",route="/teapot"} 1
hooklens_http_requests_total{code="500",method="GET",route="/boom"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "hooklens_http_requests_total"))
	require.Equal(t, 5, testutil.CollectAndCount(m.Registry, "hooklens_http_request_seconds"), "one series per route")
}
