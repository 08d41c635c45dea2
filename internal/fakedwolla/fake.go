package fakedwolla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Options configure a Fake. Zero values take Dwolla's behaviour.
type Options struct {
	// Key and Secret are the client credentials POST /token accepts.
	Key, Secret string
	// BaseURL is the API root written into links (default: the server's
	// own URL under NewServer, else https://api-sandbox.dwolla.com).
	BaseURL string
	// AccountID is the master account's id (default: a seeded UUID).
	AccountID string
	// Production limits subscriptions to 5 instead of the sandbox's 10.
	Production bool
	// TokenTTL is the lifetime of issued access tokens (1h, as Dwolla).
	TokenTTL time.Duration
	// TimeScale compresses Dwolla's clocks: the retry schedule and the
	// auto-pause day run TimeScale times faster than real time (1: real
	// time; 3600: an hour a second, so 72 h of retries take 72 s).
	TimeScale float64
	// Seed makes every random choice reproducible (ids, faults, shuffling).
	Seed uint64
	// Faults are injected failures; see Faults.
	Faults Faults
	// DeliveryTimeout is the sender's wait for an answer (10s, as Dwolla).
	DeliveryTimeout time.Duration
	// MaxConcurrency caps deliveries in flight (10, as Dwolla).
	MaxConcurrency int
	// ShuffleWindow delays each first delivery by a random time up to it,
	// so events close together arrive in any order (default 20ms; negative
	// turns shuffling off).
	ShuffleWindow time.Duration
	// AutoPauseFailures and AutoPauseAfter set when a failing subscription
	// is paused: that many consecutive failures and that long (scaled)
	// since its last success (400 and 24h, as Dwolla).
	AutoPauseFailures int
	AutoPauseAfter    time.Duration
	// HTTPClient sends webhooks (default: one with DeliveryTimeout that
	// never follows redirects).
	HTTPClient *http.Client
	// Logger receives notices (default: discard). Bodies, signatures and
	// secrets are never logged.
	Logger *slog.Logger
	// Now is Dwolla's clock for events and resources created by API calls
	// (default time.Now); a demo sets it back to replay a day of history.
	Now func() time.Time
}

// Faults are failures injected on purpose. Rates are shares in [0, 1].
type Faults struct {
	// DropFirst is the share of webhooks whose first delivery is "lost":
	// the attempt is recorded as failed in transport, nothing is sent, and
	// the retry schedule (or a POST …/retries) delivers it later.
	DropFirst float64
	// Duplicate is the share of webhooks delivered twice.
	Duplicate float64
	// API429 and API500 are the chances that an API request starts a
	// burst of BurstLength answers of 429 (with Retry-After) or 500.
	API429, API500 float64
	// BurstLength is the number of requests a burst fails (default 3).
	BurstLength int
	// RetryAfter is the Retry-After of 429 answers (default 1s).
	RetryAfter time.Duration
	// Slow is the share of API answers delayed by SlowDelay (default 2s).
	Slow      float64
	SlowDelay time.Duration
}

// Validate reports rates outside [0, 1] and negative durations.
func (f Faults) Validate() error {
	var errs []error
	for name, r := range map[string]float64{"drop-first": f.DropFirst, "duplicate": f.Duplicate, "429": f.API429, "500": f.API500, "slow": f.Slow} {
		if r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("fault rate %s must be between 0 and 1", name))
		}
	}
	if f.BurstLength < 0 || f.RetryAfter < 0 || f.SlowDelay < 0 {
		errs = append(errs, fmt.Errorf("fault burst length and delays must not be negative"))
	}
	return errors.Join(errs...)
}

// RetrySchedule is Dwolla's retry schedule: offsets from the event's
// creation of the 8 retries after the first attempt (REFERENCE.md §1).
var RetrySchedule = [...]time.Duration{
	15 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour,
	12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour,
}

// Fake is an in-memory Dwolla: an http.Handler for the API and a webhook
// sender. Create it with New or NewServer and Close it when done.
type Fake struct {
	opts Options
	log  *slog.Logger
	hc   *http.Client

	// Separate seeded streams keep a seeded run's choices repeatable even
	// though deliveries and API calls draw from theirs concurrently: ids of
	// events, subscriptions and webhooks; delivery faults and shuffling
	// (drawn in publish order); API faults; and ids nobody depends on
	// (attempts, request ids, tokens).
	ids, faults, apiFaults, noise *stream

	// res holds customers, funding sources and transfers, under its own
	// lock (taken before mu, never after).
	res resources

	mu       sync.Mutex
	seq      int64
	tokens   map[string]time.Time
	events   []*Event // ascending by (Created, seq)
	eventIdx map[string]*Event
	subs     []*subscription // in creation order
	webhooks map[string]*webhook
	idem     map[string]idemEntry
	burst    burst
	failNext []forcedFailure
	requests []RequestRecord
	dropped  []string // webhook ids whose first delivery was dropped
	stats    Stats

	// sender state, under mu
	queue    jobQueue
	pending  int // queued jobs that are due now (not scheduled retries)
	inflight int
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	closed   bool
}

// New returns a Fake and starts its sender.
func New(opts Options) (*Fake, error) {
	if err := opts.Faults.Validate(); err != nil {
		return nil, err
	}
	if opts.BaseURL == "" {
		opts.BaseURL = dwolla.SandboxURL
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.DeliveryTimeout <= 0 {
		opts.DeliveryTimeout = 10 * time.Second
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = 10
	}
	if opts.ShuffleWindow == 0 {
		opts.ShuffleWindow = 20 * time.Millisecond
	}
	if opts.AutoPauseFailures <= 0 {
		opts.AutoPauseFailures = 400
	}
	if opts.AutoPauseAfter <= 0 {
		opts.AutoPauseAfter = 24 * time.Hour
	}
	if opts.Faults.BurstLength <= 0 {
		opts.Faults.BurstLength = 3
	}
	if opts.Faults.RetryAfter <= 0 {
		opts.Faults.RetryAfter = time.Second
	}
	if opts.Faults.SlowDelay <= 0 {
		opts.Faults.SlowDelay = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:   opts.DeliveryTimeout,
			Transport: &http.Transport{MaxIdleConnsPerHost: opts.MaxConcurrency, IdleConnTimeout: 30 * time.Second},
		}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f := &Fake{
		opts: opts, log: log, hc: &c,
		ids:       newStream(opts.Seed, 1),
		faults:    newStream(opts.Seed, 2),
		apiFaults: newStream(opts.Seed, 3),
		noise:     newStream(opts.Seed, 4),
		tokens:    map[string]time.Time{},
		eventIdx:  map[string]*Event{},
		webhooks:  map[string]*webhook{},
		idem:      map[string]idemEntry{},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if f.opts.AccountID == "" {
		f.opts.AccountID = f.newID()
	}
	f.initResources()
	go f.dispatch()
	return f, nil
}

// Close stops the sender and waits for deliveries in flight.
func (f *Fake) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	<-f.done
}

// BaseURL is the API root the fake writes into links.
func (f *Fake) BaseURL() string { return f.opts.BaseURL }

// AccountID is the master account's id.
func (f *Fake) AccountID() string { return f.opts.AccountID }

// Server is a Fake serving HTTP on a loopback (or given) address.
type Server struct {
	*Fake
	// URL is the server's root, also the fake's BaseURL.
	URL  string
	srv  *http.Server
	errc chan error
}

// NewServer listens on addr (default 127.0.0.1:0, a free port), makes a
// Fake whose links point at it and serves it until Close.
func NewServer(addr string, opts Options) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	u := "http://" + ln.Addr().String()
	if opts.BaseURL == "" {
		opts.BaseURL = u
	}
	f, err := New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Fake: f, URL: u, errc: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelWarn),
	}
	go func() { s.errc <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops serving, then stops the sender.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.Fake.Close()
}

// Done reports the serving error, if serving stops on its own.
func (s *Server) Done() <-chan error { return s.errc }

// stream is a seeded random source safe for concurrent use.
type stream struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newStream(seed, n uint64) *stream {
	return &stream{r: rand.New(rand.NewPCG(seed, n*0x9e3779b97f4a7c15))}
}

func (s *stream) uuid() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uuidFrom(s.r)
}

// chance draws a Bernoulli(p).
func (s *stream) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Float64() < p
}

// jitter draws a duration in [0, d).
func (s *stream) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.r.Int64N(int64(d)))
}

// newID returns a seeded UUID for an event, subscription or webhook.
func (f *Fake) newID() string { return f.ids.uuid() }

// noiseID returns a UUID whose value nothing depends on.
func (f *Fake) noiseID() string { return f.noise.uuid() }

// UUID returns a random UUID (v4 layout) drawn from r, so seeded runs
// repeat their ids.
func UUID(r *rand.Rand) string { return uuidFrom(r) }

func uuidFrom(r *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}

// scaled converts a Dwolla duration into real time under TimeScale.
func (f *Fake) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / f.opts.TimeScale)
}
