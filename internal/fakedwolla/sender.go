package fakedwolla

import (
	"bytes"
	"container/heap"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// jobKind says why a delivery is made.
type jobKind int

const (
	jobFirst     jobKind = iota // the first delivery of a webhook
	jobRetry                    // an automatic retry on Dwolla's schedule
	jobManual                   // a POST /webhooks/{id}/retries
	jobDuplicate                // a second copy of the first delivery
)

// job is one planned delivery.
type job struct {
	w    *webhook
	kind jobKind
	due  time.Time
	seq  int64
}

// jobQueue is a min-heap of jobs by due time, then creation order.
type jobQueue []job

func (q jobQueue) Len() int { return len(q) }
func (q jobQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q jobQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *jobQueue) Push(x any)   { *q = append(*q, x.(job)) }
func (q *jobQueue) Pop() any {
	old := *q
	n := len(old)
	j := old[n-1]
	*q = old[:n-1]
	return j
}

// enqueue plans a delivery. Called with mu held.
func (f *Fake) enqueue(j job) {
	f.seq++
	j.seq = f.seq
	heap.Push(&f.queue, j)
	if j.kind != jobRetry {
		f.pending++
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// dispatch hands due jobs to at most MaxConcurrency deliveries at once.
func (f *Fake) dispatch() {
	defer close(f.done)
	sem := make(chan struct{}, f.opts.MaxConcurrency)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		// Wait for the deliveries in flight.
		for i := 0; i < cap(sem); i++ {
			sem <- struct{}{}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		f.mu.Lock()
		var next *job
		wait := time.Hour
		if len(f.queue) > 0 {
			if d := time.Until(f.queue[0].due); d <= 0 {
				j := heap.Pop(&f.queue).(job)
				if j.kind != jobRetry {
					f.pending--
				}
				f.inflight++
				next = &j
			} else {
				wait = d
			}
		}
		f.mu.Unlock()
		if next != nil {
			select {
			case sem <- struct{}{}:
			case <-f.stop:
				f.mu.Lock()
				f.inflight--
				f.mu.Unlock()
				return
			}
			go func(j job) {
				defer func() { <-sem }()
				f.deliver(ctx, j)
			}(*next)
			continue
		}
		timer.Reset(wait)
		select {
		case <-f.stop:
			return
		case <-f.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// NewWebhookRequest builds the POST that Dwolla's sender makes: the body
// as is, Content-Type application/json, User-Agent dwolla-webhooks/1.1,
// X-Dwolla-Topic and the HMAC-SHA256 signature of the exact body.
func NewWebhookRequest(ctx context.Context, target, secret, topic string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", dwolla.UserAgent)
	req.Header.Set(dwolla.TopicHeader, topic)
	req.Header.Set(dwolla.SignatureHeader, dwolla.Sign([]byte(secret), body))
	return req, nil
}

func recordedHeaders(req *http.Request) []dwolla.Header {
	return []dwolla.Header{
		{Name: "Content-Type", Value: req.Header.Get("Content-Type")},
		{Name: "Content-Length", Value: strconv.FormatInt(req.ContentLength, 10)},
		{Name: "User-Agent", Value: req.Header.Get("User-Agent")},
		{Name: dwolla.TopicHeader, Value: req.Header.Get(dwolla.TopicHeader)},
		{Name: dwolla.SignatureHeader, Value: req.Header.Get(dwolla.SignatureHeader)},
	}
}

// deliver makes one delivery of j and records its attempt.
func (f *Fake) deliver(ctx context.Context, j job) {
	w := j.w
	f.mu.Lock()
	s := w.sub
	skip := s.deleted || (s.paused && j.kind != jobManual)
	target, secret := s.url, s.secret
	drop := j.kind == jobFirst && w.dropFirst
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if skip {
		return
	}
	req, err := NewWebhookRequest(ctx, target, secret, w.event.Topic, w.event.Body)
	if err != nil {
		f.log.Error("fake dwolla cannot build a webhook request", "webhook", w.id, "error", err)
		return
	}
	attempt := dwolla.WebhookAttempt{
		ID: f.noiseID(),
		Request: dwolla.WebhookRequest{
			Timestamp: time.Now().UTC(), URL: target, Headers: recordedHeaders(req), Body: string(w.event.Body),
		},
	}
	status := 0
	if drop {
		// Lost on the way: recorded like a transport error, with no response.
	} else if resp, err := f.hc.Do(req); err != nil {
		f.log.Debug("fake dwolla delivery failed in transport", "webhook", w.id, "topic", w.event.Topic, "error", err)
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status = resp.StatusCode
		// Dwolla records the answer without its headers or body.
		attempt.Response = &dwolla.WebhookResponse{Timestamp: time.Now().UTC(), Headers: []dwolla.Header{}, StatusCode: status, Body: ""}
	}
	ok := status > 0 && status < 300
	now := time.Now()

	f.mu.Lock()
	defer f.mu.Unlock()
	if s.deleted {
		return
	}
	w.attempts = append(w.attempts, attempt)
	f.stats.Attempts++
	switch {
	case drop:
		f.stats.Dropped++
		f.dropped = append(f.dropped, w.id)
	case j.kind == jobDuplicate:
		f.stats.Duplicates++
	}
	if ok {
		f.stats.Delivered++
		s.consecutiveFailures = 0
		s.lastSuccess = now
		return
	}
	f.stats.Failed++
	s.consecutiveFailures++
	// Dwolla's sender requeues transport errors and answers ≥ 400 only;
	// a 3xx fails for good. Manual retries and duplicates are one-offs.
	if (status == 0 || status >= 400) && (j.kind == jobFirst || j.kind == jobRetry) && w.nextRetry < len(RetrySchedule) {
		due := w.created.Add(f.scaled(RetrySchedule[w.nextRetry]))
		w.nextRetry++
		f.enqueue(job{w: w, kind: jobRetry, due: due})
	}
	since := s.lastSuccess
	if since.IsZero() {
		since = s.created
	}
	if !s.paused && s.consecutiveFailures >= f.opts.AutoPauseFailures && now.Sub(since) >= f.scaled(f.opts.AutoPauseAfter) {
		s.paused = true
		f.stats.AutoPaused++
		f.log.Warn("fake dwolla auto-paused a failing webhook subscription",
			"subscription", s.id, "consecutive_failures", s.consecutiveFailures)
	}
}
