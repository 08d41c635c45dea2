package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Outcome is what became of one scheduled request.
type Outcome uint8

// Outcomes of a request. Every scheduled request ends in exactly one.
const (
	// CutOff: never sent (the run was interrupted first).
	CutOff Outcome = iota
	// Acked: answered 200 {"received":true}.
	Acked
	// Rejected: answered with anything else.
	Rejected
	// Failed: the connection failed before an answer.
	Failed
	// TimedOut: no answer within the request timeout.
	TimedOut
)

// LoadOptions tune Send.
type LoadOptions struct {
	// URL is the webhook receiver.
	URL string
	// MaxInFlight caps concurrent requests: the Dwolla profile's 10, or a
	// generous cap for the steady profile (default 2048) that only binds
	// when the server stalls; waits for a slot are counted.
	MaxInFlight int
	// Timeout bounds each request (default 10 s, Dwolla's window).
	Timeout time.Duration
	// Progress receives a line a second; nil for none.
	Progress io.Writer
	// Label names the run in progress lines.
	Label string
}

// LoadResult is the client's side of a run: the ledger of requests and the
// latencies, all measured from each request's scheduled time.
type LoadResult struct {
	Scheduled  int         `json:"scheduled"`
	Sent       int         `json:"sent"`
	Acked      int         `json:"acknowledged"`
	Duplicates int         `json:"acknowledgedAsDuplicate"`
	Rejected   int         `json:"rejected"`
	Errors     int         `json:"errors"`
	Timeouts   int         `json:"timeouts"`
	CutOff     int         `json:"cutOff"`
	ByStatus   map[int]int `json:"rejectedByStatus,omitempty"`
	// OfferedRate is the scheduled rate (requests/s).
	OfferedRate float64 `json:"offeredRate"`
	// Throughput is acknowledged requests per second from the start to the
	// last answer.
	Throughput float64 `json:"throughput"`
	ElapsedS   float64 `json:"elapsedSeconds"`
	Ack        Stats   `json:"ackLatencyMs"`
	// AckRepeats is the ack latency of the requests that repeat an earlier
	// event (their own tail: a repeat may wait on the first delivery's row).
	AckRepeats Stats    `json:"ackLatencyRepeatsMs"`
	SendLag    Stats    `json:"sendLagMs"`
	Generator  GenCheck `json:"generator"`
	// FirstErrors keeps a few error texts for the report.
	FirstErrors []string `json:"firstErrors,omitempty"`

	outcomes []Outcome
	dup      []bool
}

// GenCheck says whether the generator kept its schedule. Dispatch lag is
// the generator's own delay in dispatching a request: from its scheduled
// instant (or, if later, from when the dispatcher got free of the request
// before) to its dispatch. Cap waits are requests that found every
// in-flight slot busy; under the Dwolla profile that wait is the traffic's
// and counts in the request's latency, not as generator lag.
type GenCheck struct {
	DispatchLag Stats `json:"dispatchLagMs"`
	CapWaits    int   `json:"capWaits"`
	MaxInFlight int   `json:"maxInFlight"`
	// Lagging is true when the generator itself fell behind (dispatch p99
	// over 5 ms), or when the steady profile's cap was hit: then it was the
	// bottleneck and the run understates what the server can do.
	Lagging bool   `json:"lagging"`
	Reason  string `json:"reason,omitempty"`
}

// Balanced reports whether the request ledger balances:
// scheduled = sent + cut off, sent = acknowledged + rejected + errors + timeouts.
func (r *LoadResult) Balanced() bool {
	return r.Scheduled == r.Sent+r.CutOff && r.Sent == r.Acked+r.Rejected+r.Errors+r.Timeouts
}

// Send sends reqs on their schedule, open loop: each leaves at its time
// whether or not earlier ones were answered, and its latency is counted
// from that time. profileCap says whether MaxInFlight is part of the
// traffic (the Dwolla profile) rather than a generator limit.
func Send(ctx context.Context, reqs []Request, opts LoadOptions, profileCap bool) (*LoadResult, error) {
	if len(reqs) == 0 {
		return nil, errors.New("no requests to send")
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 2048
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.MaxInFlight,
		MaxIdleConnsPerHost: opts.MaxInFlight,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	n := len(reqs)
	res := &LoadResult{Scheduled: n, ByStatus: map[int]int{}, outcomes: make([]Outcome, n), dup: make([]bool, n)}
	// Offsets from start, in nanoseconds; -1 when not reached.
	sent := make([]int64, n)
	done := make([]int64, n)
	dispatch := make([]int64, n)
	status := make([]int, n)
	var errMu sync.Mutex
	var inflight, nSent, nAcked, nRejected, nFailed atomic.Int64
	win := &window{}
	sem := make(chan struct{}, opts.MaxInFlight)
	var wg sync.WaitGroup

	start := time.Now()
	span := reqs[n-1].At
	if span > 0 {
		res.OfferedRate = float64(n-1) / span.Seconds()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if opts.Progress == nil {
			<-stopProgress
			return
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-tick.C:
				p99, lag := win.drain()
				fmt.Fprintf(opts.Progress, "bench %s: %3.0fs sent %d acked %d rejected %d failed %d in flight %d  last second p99 %.1f ms, dispatch lag max %.1f ms\n",
					opts.Label, time.Since(start).Seconds(), nSent.Load(), nAcked.Load(), nRejected.Load(), nFailed.Load(),
					inflight.Load(), ms(p99), ms(lag))
			}
		}
	}()

	send := func(i int) {
		defer wg.Done()
		defer func() { <-sem; inflight.Add(-1) }()
		r := reqs[i]
		t1 := time.Since(start)
		sent[i] = int64(t1)
		nSent.Add(1)
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, opts.URL, bytes.NewReader(r.Body))
		if err != nil {
			res.outcomes[i] = Failed
			done[i] = int64(time.Since(start))
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", dwolla.UserAgent)
		req.Header.Set(dwolla.TopicHeader, r.Topic)
		req.Header.Set(dwolla.SignatureHeader, r.Signature)
		resp, err := client.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t2 := time.Since(start)
		done[i] = int64(t2)
		switch {
		case err != nil:
			var ne net.Error
			if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
				res.outcomes[i] = TimedOut
			} else {
				res.outcomes[i] = Failed
			}
			nFailed.Add(1)
			errMu.Lock()
			if len(res.FirstErrors) < 5 {
				res.FirstErrors = append(res.FirstErrors, err.Error())
			}
			errMu.Unlock()
		case resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"received":true`)):
			res.outcomes[i] = Acked
			res.dup[i] = bytes.Contains(body, []byte(`"duplicate":true`))
			nAcked.Add(1)
			win.add(time.Duration(t2) - r.At)
		default:
			res.outcomes[i] = Rejected
			status[i] = resp.StatusCode
			nRejected.Add(1)
			errMu.Lock()
			if len(res.FirstErrors) < 5 {
				res.FirstErrors = append(res.FirstErrors, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body)))
			}
			errMu.Unlock()
		}
	}

	for i := range reqs {
		sent[i], done[i], dispatch[i] = -1, -1, -1
	}
	cutAt := n
	// slotFree is when the dispatcher last got a slot after waiting for
	// one. Its own lag for a request runs from the later of the request's
	// time and slotFree: time blocked on a busy in-flight slot (the
	// server's slowness under a capped profile) is not the generator's.
	var slotFree time.Duration
dispatchLoop:
	for i := range reqs {
		if d := time.Until(start.Add(reqs[i].At)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				cutAt = i
				break dispatchLoop
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			cutAt = i
			break
		}
		lag := time.Since(start) - max(reqs[i].At, slotFree)
		dispatch[i] = int64(lag)
		win.lag(lag)
		select {
		case sem <- struct{}{}:
		default:
			res.Generator.CapWaits++
			select {
			case sem <- struct{}{}:
				slotFree = time.Since(start)
			case <-ctx.Done():
				cutAt = i
				break dispatchLoop
			}
		}
		inflight.Add(1)
		wg.Add(1)
		go send(i)
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone

	var acked, repeats, lags, sendLags []time.Duration
	var last int64
	for i := range reqs {
		if i >= cutAt {
			res.CutOff++
			continue
		}
		res.Sent++
		last = max(last, done[i])
		lags = append(lags, time.Duration(dispatch[i]))
		sendLags = append(sendLags, time.Duration(sent[i])-reqs[i].At)
		switch res.outcomes[i] {
		case Acked:
			res.Acked++
			if res.dup[i] {
				res.Duplicates++
			}
			acked = append(acked, time.Duration(done[i])-reqs[i].At)
			if reqs[i].Duplicate {
				repeats = append(repeats, time.Duration(done[i])-reqs[i].At)
			}
		case Rejected:
			res.Rejected++
			res.ByStatus[status[i]]++
		case Failed:
			res.Errors++
		case TimedOut:
			res.Timeouts++
		}
	}
	res.ElapsedS = time.Duration(last).Seconds()
	if res.ElapsedS > 0 {
		res.Throughput = float64(res.Acked) / res.ElapsedS
	}
	res.Ack = statsOf(acked)
	res.AckRepeats = statsOf(repeats)
	res.SendLag = statsOf(sendLags)
	res.Generator.DispatchLag = statsOf(lags)
	res.Generator.MaxInFlight = opts.MaxInFlight
	switch {
	case res.Generator.DispatchLag.P99 > 5:
		res.Generator.Lagging = true
		res.Generator.Reason = fmt.Sprintf("dispatch lag p99 %.1f ms: the generator could not keep its schedule", res.Generator.DispatchLag.P99)
	case !profileCap && res.Generator.CapWaits > 0:
		res.Generator.Lagging = true
		res.Generator.Reason = fmt.Sprintf("%d requests waited for one of the %d in-flight slots", res.Generator.CapWaits, opts.MaxInFlight)
	}
	return res, nil
}

// window collects the last second's latencies for the progress line.
type window struct {
	mu     sync.Mutex
	lat    []time.Duration
	maxLag time.Duration
}

func (w *window) add(d time.Duration) {
	w.mu.Lock()
	w.lat = append(w.lat, d)
	w.mu.Unlock()
}

func (w *window) lag(d time.Duration) {
	w.mu.Lock()
	w.maxLag = max(w.maxLag, d)
	w.mu.Unlock()
}

func (w *window) drain() (p99, lag time.Duration) {
	w.mu.Lock()
	lat := w.lat
	w.lat, lag, w.maxLag = nil, w.maxLag, 0
	w.mu.Unlock()
	if len(lat) == 0 {
		return 0, lag
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[rank(len(lat), 0.99)], lag
}

// Stats are latency percentiles in milliseconds (nearest rank, exact over
// every sample).
type Stats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

func statsOf(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	n := len(ds)
	return Stats{
		Count: n,
		P50:   ms(ds[rank(n, 0.50)]), P90: ms(ds[rank(n, 0.90)]), P99: ms(ds[rank(n, 0.99)]),
		P999: ms(ds[rank(n, 0.999)]), Max: ms(ds[n-1]), Mean: ms(sum / time.Duration(n)),
	}
}

// rank is the nearest-rank index of quantile q among n sorted samples.
func rank(n int, q float64) int {
	i := int(q*float64(n)+0.999999) - 1
	return min(max(i, 0), n-1)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
