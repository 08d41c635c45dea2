// Package ingest is the webhook receiver: it screens each delivery's
// source (allow-list and rate limits, before the body is read), checks the
// size and signature, parses the event, stores it exactly once — sealed
// when encryption keys are set — and answers 2xx only after the event is
// durable. Rejected deliveries are answered at once and recorded without
// their bodies.
//
// It must never answer 2xx for an event that is not committed, never store
// an event whose signature did not verify, and never log a body, a
// signature or a secret.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/netguard"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
	"github.com/hooklens/hooklens/internal/web"
)

// Path is where Dwolla delivers webhooks.
const Path = "/api/webhooks/dwolla/v2"

// Options configure a Receiver.
type Options struct {
	// Verifier checks signatures; without secrets every delivery gets 503.
	Verifier *dwolla.Verifier
	// MaxBodyBytes caps a delivery's body (413 beyond).
	MaxBodyBytes int64
	// Timeout bounds the wait for the durable commit (503 beyond). It must
	// stay well inside Dwolla's 10-second window.
	Timeout time.Duration
	// Writers is the number of concurrent group-commit writers (1 on SQLite).
	Writers int
	// MaxBatch caps the deliveries committed in one transaction.
	MaxBatch int
	// QueueSize caps deliveries waiting for a writer (503 beyond).
	QueueSize int
	// Guard screens each delivery's source before its body is read: the
	// allow-list (403) and the rate limits (429 with Retry-After). Rejected
	// deliveries are charged to their source. Nil admits everything.
	Guard *netguard.Guard
	// RefusalSample is how many rejected deliveries per source, outcome and
	// minute are recorded as rows (DefaultRefusalSample when zero; negative
	// records every one). The rest are counted: see TakeRefusals.
	RefusalSample int
	// Vault seals bodies before they are stored (the SHA-256 and size stay
	// those of the raw body). Nil stores bodies as received.
	Vault *vault.Keyring
	// Now is the clock deliveries and events are stamped with (default
	// time.Now); latencies and timeouts are measured on the wall clock.
	Now func() time.Time
}

// Receiver is the http.Handler for Path.
type Receiver struct {
	opts Options
	c    *committer
	m    *metrics.Metrics
	log  *slog.Logger
	// series holds each outcome's outcomeSeries.
	series   sync.Map
	refusals refusals
}

// NewReceiver returns a receiver storing into db. Call Start before serving
// and Close after the HTTP server has stopped.
func NewReceiver(db *store.DB, hub *live.Hub, m *metrics.Metrics, log *slog.Logger, opts Options) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Writers <= 0 {
		opts.Writers = 1
		if db.Postgres() {
			opts.Writers = 2
		}
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefusalSample == 0 {
		opts.RefusalSample = DefaultRefusalSample
	}
	c := newCommitter(db, hub, m, log, opts.Writers, opts.MaxBatch, opts.QueueSize, opts.Timeout)
	c.now = opts.Now
	return &Receiver{opts: opts, c: c, m: m, log: log, refusals: refusals{sample: opts.RefusalSample}}
}

// Start starts the writers.
func (r *Receiver) Start() { r.c.start() }

// Close commits what is queued and stops the writers.
func (r *Receiver) Close(ctx context.Context) error { return r.c.close(ctx) }

// Response is the JSON body of a 200.
type Response struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate"`
	EventID   string `json:"eventId"`
}

// ServeHTTP receives one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
		r.receive(w, req)
	case http.MethodGet, http.MethodHead:
		r.health(w, req)
	default:
		w.Header().Set("Allow", "POST, GET, HEAD")
		web.Error(w, req, http.StatusMethodNotAllowed, "method_not_allowed", "deliver webhooks with POST")
	}
}

// Health is the JSON body of GET Path.
type Health struct {
	Status           string `json:"status"`
	SecretConfigured bool   `json:"secretConfigured"`
	Storage          string `json:"storage"`
	MaxBodyBytes     int64  `json:"maxBodyBytes"`
}

func (r *Receiver) health(w http.ResponseWriter, req *http.Request) {
	h := Health{Status: "ok", SecretConfigured: r.opts.Verifier.Configured(), Storage: "ok", MaxBodyBytes: r.opts.MaxBodyBytes}
	status := http.StatusOK
	if !r.c.healthy() {
		h.Storage, h.Status, status = "failing", "degraded", http.StatusServiceUnavailable
	}
	if !h.SecretConfigured {
		h.Status, status = "not_configured", http.StatusServiceUnavailable
	}
	web.JSON(w, status, h)
}

// rejection describes an answer that is not a 200.
type rejection struct {
	status  int
	outcome string
	code    string
	message string
}

// charged reports whether a rejection costs its source a token of the
// guard's per-source bucket: only what the sender got wrong does.
func (rej rejection) charged() bool {
	switch rej.outcome {
	case "bad_signature", "malformed", "too_large":
		return true
	}
	return false
}

func (r *Receiver) receive(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	d := store.NewDelivery{
		ReceivedAt:  r.opts.Now().UTC(),
		RemoteAddr:  web.ClientIP(req),
		TopicHeader: req.Header.Get(dwolla.TopicHeader),
		UserAgent:   req.UserAgent(),
		RequestID:   web.RequestID(req.Context()),
	}
	source := netguard.PeerAddr(req.RemoteAddr)
	// retryAfter overrides the default Retry-After of a 429 or 503.
	var retryAfter time.Duration
	reject := func(rej rejection) {
		d.Outcome, d.StatusCode, d.Reason = rej.outcome, rej.status, rej.message
		d.LatencyMS = msSince(arrived)
		// Refused before storage is attempted: sampled, so a flood cannot
		// grow the database. Unavailable deliveries are genuine ones the
		// database could not take; each is recorded.
		if rej.outcome == "unavailable" || r.refusals.record(refusalSource(req.RemoteAddr), rej.outcome, arrived) {
			r.c.record(d)
		}
		r.observe(rej.outcome, arrived)
		if rej.charged() {
			r.opts.Guard.Rejected(source)
		}
		if retryAfter > 0 {
			netguard.SetRetryAfter(w.Header(), retryAfter)
		} else if rej.status == http.StatusServiceUnavailable || rej.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		web.Error(w, req, rej.status, rej.code, rej.message)
	}

	switch v := r.opts.Guard.Admit(source); v.Outcome {
	case netguard.Forbidden:
		reject(rejection{http.StatusForbidden, "forbidden", "forbidden",
			"this address may not deliver webhooks (HOOKLENS_WEBHOOK_ALLOW)"})
		return
	case netguard.RateLimited:
		msg := "too many rejected deliveries from this address; retry later"
		if v.Scope == "global" {
			msg = "too many deliveries right now; retry later"
		}
		retryAfter = v.RetryAfter
		reject(rejection{http.StatusTooManyRequests, "rate_limited", "rate_limited", msg})
		return
	}

	if !r.opts.Verifier.Configured() {
		reject(rejection{http.StatusServiceUnavailable, "not_configured", "not_configured",
			"webhook secret is not configured: set DWOLLA_WEBHOOK_SECRET to the subscription's secret"})
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" && !isJSONContentType(ct) {
		reject(rejection{http.StatusUnsupportedMediaType, "malformed", "unsupported_media_type",
			"Content-Type must be application/json"})
		return
	}
	if req.ContentLength > r.opts.MaxBodyBytes {
		d.BodySize = int(min(req.ContentLength, int64(^uint32(0)>>1)))
		reject(rejection{http.StatusRequestEntityTooLarge, "too_large", "too_large",
			"body exceeds " + strconv.FormatInt(r.opts.MaxBodyBytes, 10) + " bytes"})
		return
	}
	body, err := readBody(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes), req.ContentLength)
	d.BodySize = len(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(rejection{http.StatusRequestEntityTooLarge, "too_large", "too_large",
				"body exceeds " + strconv.FormatInt(r.opts.MaxBodyBytes, 10) + " bytes"})
			return
		}
		reject(rejection{http.StatusBadRequest, "malformed", "unreadable_body", "could not read the request body"})
		return
	}
	sum := sha256.Sum256(body)
	d.BodySHA256 = hex.EncodeToString(sum[:])

	if err := r.opts.Verifier.Verify(body, req.Header.Get(signatureHeader)); err != nil {
		reject(rejection{http.StatusUnauthorized, "bad_signature", "bad_signature", err.Error()})
		return
	}
	// The global cap is spent only by deliveries that verify, so forged
	// floods cannot take genuine deliveries' budget.
	if v := r.opts.Guard.Verified(); v.Outcome != netguard.Admitted {
		retryAfter = v.RetryAfter
		reject(rejection{http.StatusTooManyRequests, "rate_limited", "rate_limited", "too many deliveries right now; retry later"})
		return
	}
	ev, err := dwolla.ParseEventAt(body, arrived)
	if err != nil {
		reject(rejection{http.StatusBadRequest, "malformed", "malformed_event", err.Error()})
		return
	}
	if ev.CreatedImplausible {
		r.log.Warn("webhook with an implausible created time", "event_id", ev.ID, "created", ev.Created,
			"reason", ev.CreatedImplausibleReason, "request_id", d.RequestID)
	}
	d.DwollaEventID = ev.ID
	encoding, stored, err := r.opts.Vault.Seal(body)
	if err != nil {
		r.log.Error("sealing a webhook body", "err", err, "request_id", d.RequestID)
		reject(rejection{http.StatusServiceUnavailable, "unavailable", "unavailable",
			"cannot store the event right now; retry later"})
		return
	}
	headerTopic := strings.TrimSpace(d.TopicHeader)
	if len(headerTopic) > 128 {
		headerTopic = headerTopic[:128]
	}
	j := &job{
		event: store.NewEvent{
			EventID:       ev.ID,
			Topic:         ev.Topic,
			HeaderTopic:   strings.ToValidUTF8(headerTopic, ""),
			TopicMismatch: headerTopic != "" && headerTopic != ev.Topic,
			TopicKnown:    dwolla.KnownTopic(ev.Topic),
			ResourceType:  ev.ResourceType,
			ResourceID:    ev.ResourceID,
			CustomerID:    ev.CustomerID,
			AccountID:     ev.AccountID,
			CorrelationID: ev.CorrelationID,
			CreatedAt:     ev.Created,
			Source:        "webhook",
			Body:          stored,
			BodyEncoding:  encoding,
			BodySHA256:    d.BodySHA256,
			BodySize:      len(body),
		},
		delivery: d,
		arrived:  arrived,
		done:     make(chan result, 1),
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.opts.Timeout)
	defer cancel()
	j.ctx = ctx
	if err := r.c.submit(j); err != nil {
		reject(rejection{http.StatusServiceUnavailable, "unavailable", "unavailable",
			"cannot store the event right now (" + err.Error() + "); retry later"})
		return
	}
	var res result
	select {
	case res = <-j.done:
	case <-ctx.Done():
		res = result{err: ctx.Err()}
	}
	if res.err != nil {
		if req.Context().Err() == nil {
			r.log.Warn("webhook not stored", "err", res.err, "event_id", ev.ID, "topic", ev.Topic,
				"request_id", d.RequestID)
		}
		reject(rejection{http.StatusServiceUnavailable, "unavailable", "unavailable",
			"the event could not be stored in time; it was not accepted, retry later"})
		return
	}
	outcome := "accepted"
	if res.duplicate {
		outcome = "duplicate"
	}
	r.observe(outcome, arrived)
	web.JSON(w, http.StatusOK, Response{Received: true, Duplicate: res.duplicate, EventID: ev.ID})
}

func (r *Receiver) observe(outcome string, arrived time.Time) {
	s, ok := r.series.Load(outcome)
	if !ok {
		s, _ = r.series.LoadOrStore(outcome, outcomeSeries{
			delivered: r.m.Deliveries.WithLabelValues(outcome), ack: r.m.AckLatency.WithLabelValues(outcome)})
	}
	s.(outcomeSeries).delivered.Inc()
	s.(outcomeSeries).ack.Observe(time.Since(arrived).Seconds())
}

// outcomeSeries are an outcome's delivery counter and ack-latency
// histogram, kept so that a delivery does not look its label up twice.
type outcomeSeries struct {
	delivered prometheus.Counter
	ack       prometheus.Observer
}

// signatureHeader is dwolla.SignatureHeader in Go's canonical form, which
// a header lookup takes without allocating a canonical copy.
var signatureHeader = http.CanonicalHeaderKey(dwolla.SignatureHeader)

// readBody reads a request body to its end. When the sender declared the
// length (Dwolla does), the buffer is made that size at once, plus a byte
// to meet the end, instead of growing from 512 bytes as io.ReadAll does.
func readBody(rd io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 {
		return io.ReadAll(rd)
	}
	b := make([]byte, 0, declared+1)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case len(b) == cap(b): // longer than declared
			rest, err := io.ReadAll(rd)
			return append(b, rest...), err
		}
	}
}

func isJSONContentType(ct string) bool {
	if ct == "application/json" { // what Dwolla sends: no need to parse it
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" ||
		(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
