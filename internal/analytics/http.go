package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hooklens/hooklens/internal/usererr"
	"github.com/hooklens/hooklens/internal/web"
)

// Handler serves the analytics REST API. Mount it behind authentication;
// every endpoint is a read (viewers may use them).
//
//	GET /api/analytics/overview        Overview
//	GET /api/analytics/events          EventStats
//	GET /api/analytics/journeys        JourneySummary
//	GET /api/analytics/anomalies       AnomalySummary
//	GET /api/analytics/reconciliation  ReconciliationSummary
//	GET /api/analytics/export          Export, streamed
//
// Query parameters mirror the GraphQL filters; unknown parameters are
// refused (400), so a typo never silently widens a query. Lists repeat the
// parameter or separate values with commas. Times are RFC 3339 or a date
// (2026-11-29, UTC midnight); range=24h (or 7d, 90m) sets from to that
// long before to.
type Handler struct {
	s   *Service
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler returns the REST API over s.
func NewHandler(s *Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{s: s, log: log, mux: http.NewServeMux()}
	h.mux.Handle("/api/analytics/overview", h.get(h.overview))
	h.mux.Handle("/api/analytics/events", h.get(h.events))
	h.mux.Handle("/api/analytics/journeys", h.get(h.journeys))
	h.mux.Handle("/api/analytics/anomalies", h.get(h.anomalies))
	h.mux.Handle("/api/analytics/reconciliation", h.get(h.reconciliation))
	h.mux.Handle("/api/analytics/export", h.get(h.export))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		web.Error(w, r, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return h
}

// ServeHTTP routes /api/analytics/….
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) get(fn func(w http.ResponseWriter, r *http.Request, q *params) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			web.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
			return
		}
		q := &params{v: r.URL.Query(), seen: map[string]bool{}, now: h.s.now().UTC()}
		if err := fn(w, r, q); err != nil {
			h.fail(w, r, err)
		}
	})
}

// fail maps an error to the one REST error shape: user errors are shown,
// anything else is logged and masked.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ue, ok := usererr.As(err); ok {
		status, code := http.StatusBadRequest, "bad_request"
		switch ue.Kind {
		case usererr.NotFound:
			status, code = http.StatusNotFound, "not_found"
		case usererr.Forbidden:
			status, code = http.StatusForbidden, "forbidden"
		case usererr.Unavailable:
			status, code = http.StatusServiceUnavailable, "unavailable"
		}
		web.Error(w, r, status, code, ue.Message)
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	h.log.Error("analytics request failed", "err", err, "path", r.URL.Path, "request_id", web.RequestID(r.Context()))
	web.Error(w, r, http.StatusInternalServerError, "internal", "internal error")
}

// params reads query parameters, remembering which were used so unknown
// ones can be refused.
type params struct {
	v    url.Values
	seen map[string]bool
	now  time.Time
	err  error
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// raw returns the values of the first of names present.
func (p *params) raw(names ...string) (string, []string) {
	for _, n := range names {
		p.seen[n] = true
	}
	for _, n := range names {
		if vs, ok := p.v[n]; ok {
			return n, vs
		}
	}
	return "", nil
}

func (p *params) str(names ...string) string {
	_, vs := p.raw(names...)
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[len(vs)-1])
}

func (p *params) list(names ...string) []string {
	_, vs := p.raw(names...)
	var out []string
	for _, v := range vs {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func (p *params) time(names ...string) time.Time {
	name, vs := p.raw(names...)
	if len(vs) == 0 || strings.TrimSpace(vs[len(vs)-1]) == "" {
		return time.Time{}
	}
	s := strings.TrimSpace(vs[len(vs)-1])
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC()
	}
	p.fail(usererr.Field(name, "%s must be an RFC 3339 time or a date (YYYY-MM-DD)", name))
	return time.Time{}
}

func (p *params) int(names ...string) int {
	name, vs := p.raw(names...)
	if len(vs) == 0 {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(vs[len(vs)-1]))
	if err != nil {
		p.fail(usererr.Field(name, "%s must be a whole number", name))
	}
	return n
}

func (p *params) bool(names ...string) bool {
	name, vs := p.raw(names...)
	if len(vs) == 0 {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(vs[len(vs)-1]))
	if err != nil {
		p.fail(usererr.Field(name, "%s must be true or false", name))
	}
	return b
}

// window reads from, to and range.
func (p *params) window(fromNames, toNames []string) (time.Time, time.Time) {
	from, to := p.time(fromNames...), p.time(toNames...)
	if r := p.str("range"); r != "" {
		d, err := parseRange(r)
		if err != nil {
			p.fail(usererr.Field("range", "range must be a duration such as 90m, 24h or 7d"))
			return from, to
		}
		if !from.IsZero() {
			p.fail(usererr.Field("range", "give range or from, not both"))
		}
		if to.IsZero() {
			to = p.now
		}
		from = to.Add(-d)
	}
	return from, to
}

func parseRange(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("bad range %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad range %q", s)
	}
	return d, nil
}

// done returns the first parsing error, or an error naming an unknown
// parameter.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	for name := range p.v {
		if !p.seen[name] {
			return usererr.Field(name, "unknown parameter %q", name)
		}
	}
	return nil
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, q *params) error {
	from, to := q.window([]string{"from"}, []string{"to"})
	gran := q.str("granularity")
	if err := q.done(); err != nil {
		return err
	}
	o, err := h.s.Overview(r.Context(), from, to, gran)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, o)
	return nil
}

func (h *Handler) eventFilter(q *params) EventFilter {
	from, to := q.window([]string{"from", "receivedAtGTE"}, []string{"to", "receivedAtLT"})
	return EventFilter{
		From: from, To: to,
		Topics:      q.list("topic", "topicIn"),
		TopicPrefix: q.str("topicPrefix", "topicHasPrefix"),
		Families:    q.list("family"),
		Granularity: q.str("granularity"),
	}
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request, q *params) error {
	f := h.eventFilter(q)
	if err := q.done(); err != nil {
		return err
	}
	st, err := h.s.EventStats(r.Context(), f)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, st)
	return nil
}

func (h *Handler) journeyFilter(q *params) JourneyFilter {
	from, to := q.window([]string{"from", "startedAtGTE"}, []string{"to", "startedAtLT"})
	return JourneyFilter{
		From: from, To: to,
		Definitions: q.list("definition", "definitionKey", "definitionKeyIn"),
		Statuses:    q.list("status", "statusIn"),
		CustomerID:  q.str("customerID", "customerId"),
		Limit:       q.int("limit"),
	}
}

func (h *Handler) journeys(w http.ResponseWriter, r *http.Request, q *params) error {
	f := h.journeyFilter(q)
	if err := q.done(); err != nil {
		return err
	}
	js, err := h.s.JourneySummary(r.Context(), f)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, js)
	return nil
}

func (h *Handler) anomalies(w http.ResponseWriter, r *http.Request, q *params) error {
	from, to := q.window([]string{"from", "firstSeenAtGTE"}, []string{"to", "firstSeenAtLT"})
	f := AnomalyFilter{
		From: from, To: to,
		Statuses:   q.list("status", "statusIn"),
		Severities: q.list("severity", "severityIn"),
		Types:      q.list("type", "typeIn"),
		Limit:      q.int("limit"),
	}
	if err := q.done(); err != nil {
		return err
	}
	as, err := h.s.AnomalySummary(r.Context(), f)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, as)
	return nil
}

func (h *Handler) reconciliation(w http.ResponseWriter, r *http.Request, q *params) error {
	f := ReconciliationFilter{
		Statuses: q.list("status", "statusIn"),
		Kinds:    q.list("kind", "kindIn"),
		Limit:    q.int("limit"),
	}
	if err := q.done(); err != nil {
		return err
	}
	rs, err := h.s.ReconciliationSummary(r.Context(), f)
	if err != nil {
		return err
	}
	web.JSON(w, http.StatusOK, rs)
	return nil
}

// exportWriteWindow is how long each page of an export may take to reach
// the client; the deadline moves with every page, so an export outlives
// the server's WriteTimeout as long as it keeps moving.
const exportWriteWindow = time.Minute

func (h *Handler) export(w http.ResponseWriter, r *http.Request, q *params) error {
	req := ExportRequest{
		Type:   q.str("type"),
		Format: q.str("format"),
		Limit:  q.int("limit"),
	}
	if req.Format == "" {
		req.Format = FormatCSV
	}
	if req.Type == "" {
		req.Type = ExportEvents
	}
	if q.str("csvSafe") == "false" {
		req.Unsafe = true
	}
	if req.Type == ExportJourneys {
		req.Journeys = h.journeyFilter(q)
		req.Journeys.Limit = 0
	} else {
		from, to := q.window([]string{"from", "receivedAtGTE"}, []string{"to", "receivedAtLT"})
		req.Events = EventExportFilter{
			From: from, To: to,
			CreatedFrom:   q.time("createdFrom", "createdAtGTE"),
			CreatedTo:     q.time("createdTo", "createdAtLT"),
			Topics:        q.list("topic", "topicIn"),
			TopicPrefix:   q.str("topicPrefix", "topicHasPrefix"),
			Families:      q.list("family"),
			ResourceType:  q.str("resourceType"),
			ResourceID:    q.str("resourceID", "resourceId"),
			CustomerID:    q.str("customerID", "customerId"),
			CorrelationID: q.str("correlationID", "correlationId"),
			States:        q.list("processingState", "state", "processingStateIn"),
			Sources:       q.list("source", "sourceIn"),
		}
		req.IncludePayload = q.bool("includePayload", "payload")
	}
	if err := q.done(); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", req.ContentType())
	hd.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", req.Filename(h.s.now())))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
	flush := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
		if err := rc.Flush(); err != nil && err != http.ErrNotSupported {
			return err
		}
		return nil
	}
	start := time.Now()
	n, err := h.s.Export(r.Context(), w, req, flush)
	if err != nil {
		// The status is sent: abort the connection so the client sees a
		// broken download, never a short file that looks complete.
		if r.Context().Err() == nil && !isClientGone(err) {
			h.log.Error("export failed mid-stream", "err", err, "rows", n, "request_id", web.RequestID(r.Context()))
		}
		panic(http.ErrAbortHandler)
	}
	h.log.Debug("export finished", "type", req.Type, "format", req.Format, "rows", n, "duration", time.Since(start))
	return nil
}

func isClientGone(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
