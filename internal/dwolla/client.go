package dwolla

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Dwolla API hosts (REFERENCE.md §4).
const (
	SandboxURL    = "https://api-sandbox.dwolla.com"
	ProductionURL = "https://api.dwolla.com"
)

// MediaType is Dwolla's HAL media type: the Accept header of every request,
// and the Content-Type of every answer.
const MediaType = "application/vnd.dwolla.v1.hal+json"

// BaseURLFor maps DWOLLA_ENV (sandbox or production) to the API host.
func BaseURLFor(env string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "", "sandbox":
		return SandboxURL, nil
	case "production", "prod":
		return ProductionURL, nil
	}
	return "", fmt.Errorf("dwolla environment must be sandbox or production")
}

// ClientOptions configure a Client. Zero values take the documented defaults.
type ClientOptions struct {
	// Env is sandbox (the default) or production; BaseURL wins when set.
	Env string
	// BaseURL is an explicit API root such as a fake's URL (DWOLLA_API_URL).
	BaseURL string
	// Key and Secret are the application's client credentials. They are
	// sent only to POST /token and never appear in errors or logs.
	Key, Secret string
	// HTTPClient makes the requests (default: a client without a timeout;
	// RequestTimeout bounds each attempt instead). Redirects are not followed.
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt, reading the answer included (30s).
	RequestTimeout time.Duration
	// MaxAttempts bounds the tries of one call, the first included (4).
	MaxAttempts int
	// MaxRetryTime bounds the whole call with its retries and waits (1m).
	MaxRetryTime time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter: attempt n waits a random time in [0, min(max, base·2ⁿ)]
	// (500ms, 30s). A Retry-After answer replaces the jitter.
	BackoffBase, BackoffMax time.Duration
	// TokenRefreshMargin renews the access token this long before it
	// expires (60s, as Dwolla's Node SDK does).
	TokenRefreshMargin time.Duration
	// BreakerFailures is how many consecutive failed attempts (transport
	// errors, timeouts, 5xx) open the circuit (5).
	BreakerFailures uint32
	// BreakerCooldown is how long the circuit stays open before one probe
	// is let through (30s).
	BreakerCooldown time.Duration
	// OnBreakerChange, when set, is told every circuit state change (for
	// metrics and logs).
	OnBreakerChange func(from, to BreakerState)
	// Logger receives retry and breaker notices (default: discard).
	Logger *slog.Logger
	// Seed makes the backoff jitter reproducible in tests (0: random).
	Seed uint64
}

// BreakerState is the circuit breaker's state, for metrics and status pages.
type BreakerState string

// Circuit breaker states.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerHalfOpen BreakerState = "half-open"
	BreakerOpen     BreakerState = "open"
)

func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// ErrCircuitOpen is returned without calling Dwolla while the circuit
// breaker is open (or half-open and already probing).
var ErrCircuitOpen = errors.New("dwolla API circuit breaker is open")

// ErrNoCredentials is returned when the client has no key or secret.
var ErrNoCredentials = errors.New("dwolla API key and secret are not configured")

// Client talks to Dwolla's API with an application (client-credentials)
// token: events, webhook subscriptions, webhooks and their retries.
// It is safe for concurrent use.
type Client struct {
	base    *url.URL
	opts    ClientOptions
	hc      *http.Client
	log     *slog.Logger
	breaker *gobreaker.CircuitBreaker[*http.Response]

	tokMu  sync.Mutex
	tok    string
	tokExp time.Time

	rndMu sync.Mutex
	rnd   *rand.Rand

	// now and sleep are swapped by tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewClient checks opts and returns a Client. It makes no request.
func NewClient(opts ClientOptions) (*Client, error) {
	raw := opts.BaseURL
	if raw == "" {
		var err error
		if raw, err = BaseURLFor(opts.Env); err != nil {
			return nil, err
		}
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil {
		return nil, fmt.Errorf("dwolla API URL must be an absolute http(s) URL without credentials")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.MaxRetryTime <= 0 {
		opts.MaxRetryTime = time.Minute
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 500 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.TokenRefreshMargin <= 0 {
		opts.TokenRefreshMargin = time.Minute
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Transport: http.DefaultTransport}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	// A redirect would carry the bearer token to wherever it points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	c := &Client{
		base: base, opts: opts, hc: hc, log: log,
		rnd:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:   time.Now,
		sleep: sleepCtx,
	}
	failures := opts.BreakerFailures
	c.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        "dwolla-api",
		MaxRequests: 1,
		Timeout:     opts.BreakerCooldown,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		IsExcluded: func(err error) bool {
			// The caller giving up says nothing about Dwolla's health.
			return errors.Is(err, context.Canceled)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			c.log.Warn("dwolla API circuit breaker changed state", "from", breakerState(from), "to", breakerState(to))
			if opts.OnBreakerChange != nil {
				opts.OnBreakerChange(breakerState(from), breakerState(to))
			}
		},
	})
	return c, nil
}

// BaseURL is the API root the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// BreakerState is the circuit breaker's current state.
func (c *Client) BreakerState() BreakerState { return breakerState(c.breaker.State()) }

// BreakerCounts are the breaker's counters in its current generation.
type BreakerCounts struct {
	Requests             uint32
	TotalSuccesses       uint32
	TotalFailures        uint32
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// BreakerCounts returns the breaker's counters.
func (c *Client) BreakerCounts() BreakerCounts {
	n := c.breaker.Counts()
	return BreakerCounts{n.Requests, n.TotalSuccesses, n.TotalFailures, n.ConsecutiveSuccesses, n.ConsecutiveFailures}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one logical API call.
type request struct {
	method string
	// path is relative to the base URL (with a leading slash) and may
	// carry a query.
	path string
	body any
	// form is the url-encoded body of POST /token.
	form url.Values
	// retrySafe marks a POST that may be repeated: Dwolla performs it at
	// most once whatever the number of tries (token, webhook retry).
	retrySafe bool
	// idempotencyKey is sent as Idempotency-Key on POSTs.
	idempotencyKey string
	// token sends client credentials (Basic) instead of a bearer token.
	token bool
}

// response is what a call returns: the final answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do runs req with the token, retries and circuit breaker, decoding a
// non-2xx answer into *APIError. out, when non-nil, receives the JSON body.
func (c *Client) do(ctx context.Context, req request, out any) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.MaxRetryTime)
	defer cancel()
	op := req.method + " " + stripQuery(req.path)
	idempotent := req.method == http.MethodGet || req.method == http.MethodDelete || req.method == http.MethodHead || req.retrySafe
	renewed := false
	var lastErr error
	for attempt := 0; attempt < c.opts.MaxAttempts; attempt++ {
		var authz string
		if req.token {
			authz = "Basic " + basicAuth(c.opts.Key, c.opts.Secret)
		} else {
			tok, err := c.token(ctx)
			if err != nil {
				return nil, err
			}
			authz = "Bearer " + tok
		}
		resp, err := c.attempt(ctx, req, authz)
		var wait time.Duration
		switch {
		case errors.Is(err, ErrCircuitOpen):
			return nil, fmt.Errorf("dwolla %s: %w", op, err)
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("dwolla %s: %w", op, errors.Join(ctx.Err(), err))
			}
			lastErr = fmt.Errorf("dwolla %s: %w", op, err)
			if !idempotent {
				// The request may have been performed; repeating it is not ours to decide.
				return nil, lastErr
			}
		case resp.status >= 200 && resp.status < 300:
			if out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
				if err := json.Unmarshal(resp.body, out); err != nil {
					return resp, fmt.Errorf("dwolla %s: decoding the answer: %s", op, jsonErrorText(err))
				}
			}
			return resp, nil
		default:
			apiErr := decodeAPIError(resp, op)
			lastErr = apiErr
			switch {
			case resp.status == http.StatusUnauthorized && !req.token && !renewed &&
				(apiErr.Code == "ExpiredAccessToken" || apiErr.Code == "InvalidAccessToken"):
				// The token died before its announced expiry: renew once.
				renewed = true
				c.dropToken(authz)
				attempt--
				continue
			case resp.status == http.StatusTooManyRequests:
				// A 429 was refused before any work was done, so even a
				// create may be repeated.
				wait = apiErr.RetryAfter
			case resp.status >= 500 && idempotent:
			default:
				return resp, apiErr
			}
		}
		if attempt+1 >= c.opts.MaxAttempts {
			break
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			c.log.Warn("dwolla API call gives up: the next retry would pass the time budget", "op", op, "wait", wait)
			break
		}
		c.log.Info("dwolla API call will be retried", "op", op, "attempt", attempt+1, "wait", wait, "error", lastErr)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("dwolla %s: %w (last error: %w)", op, err, lastErr)
		}
	}
	return nil, lastErr
}

// attempt makes one HTTP round trip through the breaker.
func (c *Client) attempt(ctx context.Context, req request, authz string) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	var body io.Reader
	contentType := ""
	switch {
	case req.form != nil:
		body, contentType = strings.NewReader(req.form.Encode()), "application/x-www-form-urlencoded"
	case req.body != nil:
		raw, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body, contentType = bytes.NewReader(raw), MediaType
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, c.base.String()+req.path, body)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	hreq.Header.Set("Accept", MediaType)
	hreq.Header.Set("Authorization", authz)
	hreq.Header.Set("User-Agent", "hooklens-dwolla-client")
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	if req.idempotencyKey != "" {
		hreq.Header.Set("Idempotency-Key", req.idempotencyKey)
	}
	var out *response
	_, err = c.breaker.Execute(func() (*http.Response, error) {
		hresp, err := c.hc.Do(hreq)
		if err != nil {
			return nil, scrubURLError(err)
		}
		defer hresp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(hresp.Body, 32<<20))
		if err != nil {
			return nil, fmt.Errorf("reading the answer: %w", err)
		}
		out = &response{status: hresp.StatusCode, header: hresp.Header, body: raw}
		if hresp.StatusCode >= 500 {
			return nil, fmt.Errorf("status %d", hresp.StatusCode)
		}
		return nil, nil
	})
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return nil, ErrCircuitOpen
	case out != nil:
		// A 5xx counted against the breaker is still an answer to decode.
		return out, nil
	case err != nil && actx.Err() != nil && ctx.Err() == nil:
		return nil, fmt.Errorf("no answer within %s: %w", c.opts.RequestTimeout, err)
	}
	return out, err
}

// scrubURLError keeps the operation and cause of a *url.Error but drops
// the URL's query, which a caller might have filled with anything.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, stripQuery(ue.URL), ue.Err)
	}
	return err
}

func stripQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// backoff is the full-jitter wait before retry attempt+1.
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.opts.BackoffBase << min(attempt, 30)
	if ceiling <= 0 || ceiling > c.opts.BackoffMax {
		ceiling = c.opts.BackoffMax
	}
	c.rndMu.Lock()
	defer c.rndMu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(ceiling) + 1))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// pathEscape escapes an id for use as one path segment.
func pathEscape(id string) string { return url.PathEscape(id) }
