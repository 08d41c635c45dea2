package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// ClosedOptions tune SendClosed.
type ClosedOptions struct {
	// URL is the webhook receiver.
	URL string
	// Connections is how many connections send at once; each sends its
	// next request as soon as its previous one is answered.
	Connections int
	// MaxDuration bounds the run (0: until every request is sent); the
	// requests not sent by then are counted as cut off.
	MaxDuration time.Duration
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Progress receives a line a second; nil for none.
	Progress io.Writer
	// Label names the run in progress lines.
	Label string
}

// SendClosed sends reqs in a closed loop: opts.Connections senders, each
// taking the next request in order as soon as its previous one is
// answered, until every request is sent or MaxDuration passes. Request
// times (Request.At) are ignored; latency runs from sending to the
// answer. The result's ledger is a LoadResult's: scheduled = sent + cut
// off, sent = acknowledged + rejected + errors + timeouts.
func SendClosed(ctx context.Context, reqs []Request, opts ClosedOptions) (*LoadResult, error) {
	if len(reqs) == 0 {
		return nil, errors.New("no requests to send")
	}
	if opts.Connections <= 0 {
		return nil, errors.New("a closed loop needs at least one connection")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.Connections,
		MaxIdleConnsPerHost: opts.Connections,
		MaxConnsPerHost:     opts.Connections,
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
	lat := make([]time.Duration, n)
	status := make([]int, n)
	var next, nAcked, nFailed atomic.Int64
	var errMu sync.Mutex
	keepErr := func(s string) {
		errMu.Lock()
		if len(res.FirstErrors) < 5 {
			res.FirstErrors = append(res.FirstErrors, s)
		}
		errMu.Unlock()
	}
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if opts.MaxDuration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, opts.MaxDuration)
	}
	defer cancel()

	start := time.Now()
	var lastMu sync.Mutex
	var last time.Duration
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
				fmt.Fprintf(opts.Progress, "bench %s: %3.0fs sent %d acked %d not acked %d\n",
					opts.Label, time.Since(start).Seconds(), min(next.Load(), int64(n)), nAcked.Load(), nFailed.Load())
			}
		}
	}()

	var wg sync.WaitGroup
	for c := 0; c < opts.Connections; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				r := reqs[i]
				t1 := time.Now()
				req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, opts.URL, bytes.NewReader(r.Body))
				if err != nil {
					res.outcomes[i] = Failed
					continue
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
				lat[i] = time.Since(t1)
				lastMu.Lock()
				last = max(last, time.Since(start))
				lastMu.Unlock()
				switch {
				case err != nil:
					var ne net.Error
					if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
						res.outcomes[i] = TimedOut
					} else {
						res.outcomes[i] = Failed
					}
					nFailed.Add(1)
					keepErr(err.Error())
				case resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"received":true`)):
					res.outcomes[i] = Acked
					res.dup[i] = bytes.Contains(body, []byte(`"duplicate":true`))
					nAcked.Add(1)
				default:
					res.outcomes[i] = Rejected
					status[i] = resp.StatusCode
					nFailed.Add(1)
					keepErr(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body)))
				}
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone

	var acked []time.Duration
	for i := range reqs {
		switch res.outcomes[i] {
		case CutOff:
			res.CutOff++
			continue
		case Acked:
			res.Acked++
			if res.dup[i] {
				res.Duplicates++
			}
			acked = append(acked, lat[i])
		case Rejected:
			res.Rejected++
			res.ByStatus[status[i]]++
		case Failed:
			res.Errors++
		case TimedOut:
			res.Timeouts++
		}
		res.Sent++
	}
	res.ElapsedS = last.Seconds()
	if res.ElapsedS > 0 {
		res.Throughput = float64(res.Acked) / res.ElapsedS
	}
	res.Ack = statsOf(acked)
	res.Generator.MaxInFlight = opts.Connections
	return res, nil
}
