package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/internal/fakedwolla"
)

// Sink takes the simulator's events.
type Sink interface {
	// Send hands over one event; it may deliver it later.
	Send(ctx context.Context, ev Event) error
	// Close waits for what was handed over, until ctx ends.
	Close(ctx context.Context) error
	// Counts reports what the sink has done so far.
	Counts() SinkCounts
}

// SinkCounts are a sink's counters.
type SinkCounts struct {
	Sent      int64 // events handed to the sink
	Delivered int64 // deliveries answered < 300 (or events published)
	Failed    int64 // failed attempts (transport error or ≥ 300)
	Retrying  int64 // deliveries waiting for a retry
	GaveUp    int64 // events never delivered
}

// HTTPSink sends signed webhooks straight to a receiver, like Dwolla's
// sender: at most 10 at once, a 10-second timeout, success below 300, and
// failures (transport or ≥ 400) retried on Dwolla's schedule compressed
// like the stream (BusinessDayLength per 24 h).
type HTTPSink struct {
	target, secret string
	client         *http.Client
	compress       func(time.Duration) time.Duration
	log            *slog.Logger

	queue   chan delivery
	wg      sync.WaitGroup // workers
	retries sync.WaitGroup // timers waiting to requeue
	stop    chan struct{}
	closed  atomic.Bool
	counts  struct{ sent, delivered, failed, retrying, gaveUp atomic.Int64 }
}

type delivery struct {
	ev      Event
	attempt int
	first   time.Time
}

// HTTPSinkOptions configure an HTTPSink.
type HTTPSinkOptions struct {
	// Target is the receiver's URL; Secret signs the bodies.
	Target, Secret string
	// Concurrency caps deliveries in flight (10, as Dwolla).
	Concurrency int
	// Timeout bounds one delivery (10s, as Dwolla).
	Timeout time.Duration
	// BusinessDayLength compresses the retry schedule (2s per 24 h;
	// negative: no retries).
	BusinessDayLength time.Duration
	// Client overrides the HTTP client (redirects are never followed).
	Client *http.Client
	Logger *slog.Logger
}

// NewHTTPSink starts an HTTPSink's workers.
func NewHTTPSink(opts HTTPSinkOptions) (*HTTPSink, error) {
	if opts.Target == "" || opts.Secret == "" {
		return nil, errors.New("a webhook sink needs a target URL and a secret")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.BusinessDayLength == 0 {
		opts.BusinessDayLength = 2 * time.Second
	}
	c := &http.Client{Timeout: opts.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Concurrency}}
	if opts.Client != nil {
		cc := *opts.Client
		c = &cc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bdl := opts.BusinessDayLength
	s := &HTTPSink{
		target: opts.Target, secret: opts.Secret, client: c, log: log,
		compress: func(d time.Duration) time.Duration {
			return time.Duration(float64(d) * float64(bdl) / float64(BusinessDay))
		},
		queue: make(chan delivery, opts.Concurrency),
		stop:  make(chan struct{}),
	}
	if bdl < 0 {
		s.compress = nil
	}
	for i := 0; i < opts.Concurrency; i++ {
		s.wg.Add(1)
		go s.work()
	}
	return s, nil
}

// Send queues ev, waiting while all workers are busy (so a slow receiver
// slows the simulator rather than growing a backlog). It must not be called
// concurrently with Close.
func (s *HTTPSink) Send(ctx context.Context, ev Event) error {
	if s.closed.Load() {
		return errors.New("the webhook sink is closed")
	}
	d := delivery{ev: ev, first: time.Now()}
	select {
	case s.queue <- d:
	default:
		select {
		case s.queue <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.counts.sent.Add(1)
	return nil
}

func (s *HTTPSink) work() {
	defer s.wg.Done()
	for d := range s.queue {
		s.deliver(d)
	}
}

func (s *HTTPSink) deliver(d delivery) {
	req, err := fakedwolla.NewWebhookRequest(context.Background(), s.target, s.secret, d.ev.Topic, d.ev.Body)
	if err != nil {
		s.counts.gaveUp.Add(1)
		s.log.Error("cannot build a webhook request", "error", err)
		return
	}
	status := 0
	resp, err := s.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status = resp.StatusCode
	}
	if status > 0 && status < 300 {
		s.counts.delivered.Add(1)
		return
	}
	s.counts.failed.Add(1)
	s.log.Debug("webhook delivery failed", "event", d.ev.ID, "topic", d.ev.Topic, "status", status, "error", err)
	// As Dwolla's sender: a 3xx fails for good; transport errors and ≥ 400
	// are retried on the schedule, counted from the first attempt.
	if s.compress == nil || (status >= 300 && status < 400) || d.attempt >= len(fakedwolla.RetrySchedule) || s.closed.Load() {
		s.counts.gaveUp.Add(1)
		return
	}
	wait := time.Until(d.first.Add(s.compress(fakedwolla.RetrySchedule[d.attempt])))
	d.attempt++
	s.counts.retrying.Add(1)
	s.retries.Add(1)
	go func() {
		defer s.retries.Done()
		defer s.counts.retrying.Add(-1)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.stop:
			s.counts.gaveUp.Add(1)
			return
		}
		select {
		case s.queue <- d:
		case <-s.stop:
			s.counts.gaveUp.Add(1)
		}
	}()
}

// Close stops taking events, abandons pending retries and waits for the
// deliveries in flight.
func (s *HTTPSink) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	s.retries.Wait()
	close(s.queue)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for webhook deliveries: %w", ctx.Err())
	}
}

// Counts reports the sink's counters.
func (s *HTTPSink) Counts() SinkCounts {
	return SinkCounts{
		Sent: s.counts.sent.Load(), Delivered: s.counts.delivered.Load(), Failed: s.counts.failed.Load(),
		Retrying: s.counts.retrying.Load(), GaveUp: s.counts.gaveUp.Load(),
	}
}

// FakeSink publishes events into a fake Dwolla, which stores them in its
// Events API and delivers them to its subscribers with its own sender
// (duplicates, shuffling and faults included). Duplicate events are
// skipped: the fake makes its own.
type FakeSink struct {
	fake   *fakedwolla.Fake
	counts struct{ published, failed atomic.Int64 }
}

// NewFakeSink returns a sink into fake.
func NewFakeSink(fake *fakedwolla.Fake) *FakeSink { return &FakeSink{fake: fake} }

// Send publishes ev.
func (s *FakeSink) Send(_ context.Context, ev Event) error {
	if ev.Duplicate {
		return nil
	}
	if _, err := s.fake.Publish(ev.Body); err != nil {
		s.counts.failed.Add(1)
		return err
	}
	s.counts.published.Add(1)
	return nil
}

// Close waits until the fake has made the deliveries due now.
func (s *FakeSink) Close(ctx context.Context) error { return s.fake.WaitIdle(ctx) }

// Counts reports the events published and the fake's deliveries: its
// successful and failed attempts, and the retries it has scheduled.
func (s *FakeSink) Counts() SinkCounts {
	st := s.fake.Stats()
	return SinkCounts{
		Sent: s.counts.published.Load(), Delivered: int64(st.Delivered), Failed: int64(st.Failed),
		Retrying: int64(st.Queued), GaveUp: s.counts.failed.Load(),
	}
}

// RunOptions configure Run.
type RunOptions struct {
	// Stream sets the rate, compression and duplicates; its Start is now.
	Stream StreamOptions
	// Duration bounds the run (0: until ctx ends).
	Duration time.Duration
	// Sink takes the events.
	Sink Sink
	// Progress, when set, gets a status line every ProgressEvery (1s)
	// and a summary at the end.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Tick is how often events are released (50ms): Dwolla sends in
	// bursts, so each tick's events go out together.
	Tick time.Duration
}

// RunStats summarise a run.
type RunStats struct {
	Events     int64
	Duplicates int64
	Lifecycles int
	Elapsed    time.Duration
	Sink       SinkCounts
}

// Run plays g's stream in real time into opts.Sink until the duration
// passes or ctx ends, then closes the sink.
func Run(ctx context.Context, g *Generator, opts RunOptions) (RunStats, error) {
	if opts.Sink == nil {
		return RunStats{}, errors.New("a run needs a sink")
	}
	if opts.Tick <= 0 {
		opts.Tick = 50 * time.Millisecond
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = time.Second
	}
	start := time.Now()
	opts.Stream.Start = start
	s, err := g.Stream(opts.Stream)
	if err != nil {
		return RunStats{}, err
	}
	rate := s.opts.Rate
	var st RunStats
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	tick := time.NewTicker(opts.Tick)
	defer tick.Stop()
	lastReport, lastEvents := start, int64(0)
	report := func(final bool) {
		if opts.Progress == nil {
			return
		}
		now := time.Now()
		c := opts.Sink.Counts()
		cur := float64(st.Events-lastEvents) / now.Sub(lastReport).Seconds()
		if final {
			cur = float64(st.Events) / now.Sub(start).Seconds()
		}
		label := "simulate"
		if final {
			label = "simulate done"
		}
		fmt.Fprintf(opts.Progress, "%s: %6.1fs  events %d (%.1f/s)  duplicates %d  journeys %d  delivered %d  failed %d  retrying %d  gave up %d\n",
			label, now.Sub(start).Seconds(), st.Events, cur, st.Duplicates, s.Lifecycles, c.Delivered, c.Failed, c.Retrying, c.GaveUp)
		lastReport, lastEvents = now, st.Events
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			want := int64(now.Sub(start).Seconds() * rate)
			for st.Events < want {
				ev, err := s.Next()
				if err != nil {
					runErr = err
					break loop
				}
				if err := opts.Sink.Send(ctx, ev); err != nil {
					if ctx.Err() == nil {
						runErr = fmt.Errorf("sending event %s: %w", ev.ID, err)
					}
					break loop
				}
				st.Events++
				if ev.Duplicate {
					st.Duplicates++
				}
			}
			if now.Sub(lastReport) >= opts.ProgressEvery {
				report(false)
			}
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := opts.Sink.Close(cctx); err != nil && runErr == nil {
		runErr = err
	}
	st.Elapsed = time.Since(start)
	st.Lifecycles = s.Lifecycles
	st.Sink = opts.Sink.Counts()
	report(true)
	return st, runErr
}
