package money

import (
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/web"
)

// AmountView is a count and an amount, in cents and as a decimal string.
type AmountView struct {
	Count  int    `json:"count"`
	Cents  int64  `json:"cents"`
	Amount string `json:"amount"`
}

func viewOf(a Amounts) AmountView {
	return AmountView{Count: a.Count, Cents: a.Cents, Amount: Dollars(a.Cents)}
}

// BucketView is one step of the series.
type BucketView struct {
	Start    time.Time             `json:"start"`
	ByStatus map[string]AmountView `json:"byStatus"`
}

// ReturnCodeView is one ACH return code's failures.
type ReturnCodeView struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Count       int    `json:"count"`
	Late        int    `json:"late"`
	Amount      string `json:"amount"`
	Cents       int64  `json:"cents"`
}

// View is the JSON shape of Figures.
type View struct {
	From        time.Time             `json:"from"`
	To          time.Time             `json:"to"`
	Currency    string                `json:"currency"`
	Total       AmountView            `json:"total"`
	ByStatus    map[string]AmountView `json:"byStatus"`
	InFlight    AmountView            `json:"inFlight"`
	Failed      AmountView            `json:"failed"`
	Returned    AmountView            `json:"returned"`
	LateReturns AmountView            `json:"lateReturns"`
	Mean        string                `json:"mean"`
	P50         string                `json:"p50"`
	P90         string                `json:"p90"`
	P99         string                `json:"p99"`
	Series      []BucketView          `json:"series"`
	ReturnCodes []ReturnCodeView      `json:"returnCodes"`
	Enriched    int                   `json:"enriched"`
	Unfetched   int                   `json:"unfetched"`
}

// View renders f for JSON.
func (f *Figures) View() View {
	v := View{From: f.From, To: f.To, Currency: f.Currency, Total: viewOf(f.Total), ByStatus: map[string]AmountView{},
		InFlight: viewOf(f.InFlight), Failed: viewOf(f.Failed), Returned: viewOf(f.Returned), LateReturns: viewOf(f.LateReturns),
		Mean: Dollars(int64(f.MeanCents + 0.5)), P50: Dollars(f.P50Cents), P90: Dollars(f.P90Cents), P99: Dollars(f.P99Cents),
		Series: []BucketView{}, ReturnCodes: []ReturnCodeView{}, Enriched: f.Enriched, Unfetched: f.Unfetched}
	for s, a := range f.ByStatus {
		v.ByStatus[s] = viewOf(a)
	}
	for _, b := range f.Series {
		bv := BucketView{Start: b.Start, ByStatus: map[string]AmountView{}}
		for s, a := range b.ByStatus {
			bv.ByStatus[s] = viewOf(a)
		}
		v.Series = append(v.Series, bv)
	}
	for _, rc := range f.ReturnCodes {
		v.ReturnCodes = append(v.ReturnCodes, ReturnCodeView{Code: rc.Code, Description: rc.Description, Count: rc.Count,
			Late: rc.Late, Amount: Dollars(rc.Cents), Cents: rc.Cents})
	}
	return v
}

// Handler serves the money figures over REST (mount it behind
// authentication; viewers may read):
//
//	GET /api/money?from=&to=&bucket=&customer=          the figures as JSON
//	GET /api/money/export?format=csv|json&(same filters) the series, one row per bucket and status
//
// from and to are RFC 3339 (default: the last 24 hours), bucket a Go
// duration (default 1h).
type Handler struct {
	db  *ent.Client
	log *slog.Logger
	now func() time.Time
}

// NewHandler returns the money REST API over db.
func NewHandler(db *ent.Client, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{db: db, log: log, now: time.Now}
}

// ParseQuery reads from, to, bucket and customer from URL parameters.
func ParseQuery(get func(string) string, now time.Time) (Query, error) {
	q := Query{To: now, Bucket: time.Hour, CustomerID: get("customer")}
	if v := get("to"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, errBadParam("to must be an RFC 3339 time")
		}
		q.To = t
	}
	q.From = q.To.Add(-24 * time.Hour)
	if v := get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, errBadParam("from must be an RFC 3339 time")
		}
		q.From = t
	}
	if v := get("bucket"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return q, errBadParam("bucket must be a duration of at least 1m")
		}
		q.Bucket = d
	}
	return q, nil
}

type errBadParam string

func (e errBadParam) Error() string { return string(e) }

// ServeHTTP answers /api/money and /api/money/export.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		web.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	q, err := ParseQuery(r.URL.Query().Get, h.now().UTC())
	if err != nil {
		web.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f, err := Compute(r.Context(), h.db, q)
	if err != nil {
		if _, ok := err.(windowError); ok {
			web.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		h.log.Error("computing money figures", "error", err)
		web.Error(w, r, http.StatusInternalServerError, "internal", "could not compute the money figures")
		return
	}
	switch r.URL.Path {
	case "/api/money", "/api/money/":
		web.JSON(w, http.StatusOK, f.View())
	case "/api/money/export":
		h.export(w, r, f)
	default:
		web.Error(w, r, http.StatusNotFound, "not_found", "no such endpoint")
	}
}

// export writes the series, one row per bucket and status.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, f *Figures) {
	type row struct {
		Start  time.Time `json:"start"`
		Status string    `json:"status"`
		Count  int       `json:"count"`
		Amount string    `json:"amount"`
	}
	var rows []row
	for _, b := range f.Series {
		statuses := make([]string, 0, len(b.ByStatus))
		for s := range b.ByStatus {
			statuses = append(statuses, s)
		}
		sort.Strings(statuses)
		for _, s := range statuses {
			rows = append(rows, row{Start: b.Start, Status: s, Count: b.ByStatus[s].Count, Amount: Dollars(b.ByStatus[s].Cents)})
		}
	}
	switch r.URL.Query().Get("format") {
	case "", "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="hooklens-money.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"bucket_start", "status", "count", "amount_" + f.Currency})
		for _, x := range rows {
			_ = cw.Write([]string{x.Start.UTC().Format(time.RFC3339), x.Status, strconv.Itoa(x.Count), x.Amount})
		}
		cw.Flush()
	case "json":
		if rows == nil {
			rows = []row{}
		}
		web.JSON(w, http.StatusOK, rows)
	default:
		web.Error(w, r, http.StatusBadRequest, "bad_request", "format must be csv or json")
	}
}

// Collector exposes the last 24 hours' figures to Prometheus, computed by
// Compute at most every 15 seconds.
type Collector struct {
	db  *ent.Client
	now func() time.Time

	mu     sync.Mutex
	cached *Figures
	at     time.Time

	inFlight, volume, count, returns *prometheus.Desc
}

// NewCollector returns the money collector.
func NewCollector(db *ent.Client) *Collector {
	return &Collector{db: db, now: time.Now,
		inFlight: prometheus.NewDesc("hooklens_money_in_flight_cents", "Amount of enriched transfers pending now, in cents.", nil, nil),
		volume:   prometheus.NewDesc("hooklens_money_volume_24h_cents", "Amount of enriched transfers created in the last 24 hours, by status, in cents.", []string{"status"}, nil),
		count:    prometheus.NewDesc("hooklens_money_transfers_24h", "Enriched transfers created in the last 24 hours, by status.", []string{"status"}, nil),
		returns:  prometheus.NewDesc("hooklens_money_returns_24h", "Transfers of the last 24 hours failed by an ACH return, by return code.", []string{"code"}, nil),
	}
}

// Describe sends the metrics' descriptions.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inFlight
	ch <- c.volume
	ch <- c.count
	ch <- c.returns
}

// Collect computes (or reuses) the figures and sends them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cached == nil || now.Sub(c.at) > 15*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f, err := Compute(ctx, c.db, Query{From: now.Add(-24 * time.Hour), To: now, Bucket: 24 * time.Hour})
		cancel()
		if err != nil {
			return
		}
		c.cached, c.at = f, now
	}
	f := c.cached
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(f.InFlight.Cents))
	for _, s := range []string{"pending", "processed", "failed", "cancelled"} {
		ch <- prometheus.MustNewConstMetric(c.volume, prometheus.GaugeValue, float64(f.ByStatus[s].Cents), s)
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(f.ByStatus[s].Count), s)
	}
	for _, rc := range f.ReturnCodes {
		ch <- prometheus.MustNewConstMetric(c.returns, prometheus.GaugeValue, float64(rc.Count), rc.Code)
	}
}
