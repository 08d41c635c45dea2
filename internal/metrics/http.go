package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/web"
)

// httpMetrics count and time HTTP requests by the route that served them.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route
	// counters and timers keep the series already used, by their labels:
	// WithLabelValues validates and hashes every label on every call,
	// which a request need not pay once its series exists. Routes are the
	// mux's patterns and methods and codes few, so both stay small.
	counters sync.Map // requestSeries → prometheus.Counter
	timers   sync.Map // route → prometheus.Observer
}

type requestSeries struct {
	route, method string
	code          int
}

func (h *httpMetrics) counter(route, method string, code int) prometheus.Counter {
	key := requestSeries{route, method, code}
	if c, ok := h.counters.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c := h.requests.WithLabelValues(route, method, strconv.Itoa(code))
	h.counters.Store(key, c)
	return c
}

func (h *httpMetrics) timer(route string) prometheus.Observer {
	if o, ok := h.timers.Load(route); ok {
		return o.(prometheus.Observer)
	}
	o := h.duration.WithLabelValues(route)
	h.timers.Store(route, o)
	return o
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code (websocket upgrades count as 101).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_seconds",
			Help:    "Time to answer an HTTP request, by route pattern (websocket connections are not timed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	reg.MustRegister(h.requests, h.duration)
	return h
}

// InstrumentHTTP counts and times the requests mux serves. It must wrap the
// http.ServeMux itself, with no middleware in between that copies the
// request: the route is the pattern the mux matched (Request.Pattern), so
// the labels stay few whatever paths clients ask for.
func (m *Metrics) InstrumentHTTP(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := web.Record(w)
		websocket := web.IsWebsocket(r)
		defer func() {
			status := rec.Status
			v := recover()
			switch {
			case v != nil:
				status = http.StatusInternalServerError // Recover, outside, answers 500
			case status == 0 && websocket:
				status = http.StatusSwitchingProtocols // hijacked
			case status == 0:
				status = http.StatusOK // nothing written: net/http sends 200
			}
			route := routeLabel(r.Pattern)
			m.http.counter(route, methodLabel(r.Method), status).Inc()
			if !websocket || status != http.StatusSwitchingProtocols {
				m.http.timer(route).Observe(time.Since(start).Seconds())
			}
			if v != nil {
				panic(v)
			}
		}()
		mux.ServeHTTP(rec, r)
	})
}

func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// methodLabel keeps the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
