package simulate

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// StreamOptions shape a Stream.
type StreamOptions struct {
	// Rate is events per second of stream time (default 100).
	Rate float64
	// BusinessDayLength is how long a Dwolla business day takes in stream
	// time: the time compression (default 2s, so a 3–4 day ACH debit
	// clears in 6–8 s).
	BusinessDayLength time.Duration
	// Start is the stream's clock at its first event (default: now).
	Start time.Time
	// DuplicateShare is the share of events delivered a second time, as
	// Dwolla sometimes does (0 to 1).
	DuplicateShare float64
	// Shuffle draws each event at random among the next Shuffle due ones,
	// since Dwolla does not keep order (0 or 1: in order).
	Shuffle int
}

// pending is one planned event waiting for its time.
type pending struct {
	due time.Time
	seq int64
	p   Planned
}

type pendingQueue []pending

func (q pendingQueue) Len() int { return len(q) }
func (q pendingQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q pendingQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pendingQueue) Push(x any)   { *q = append(*q, x.(pending)) }
func (q *pendingQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Stream interleaves many lifecycles into one stream of events at a
// steady rate: it starts a new lifecycle whenever no planned event is due,
// and plays each one's events at its compressed offsets. Event times are
// the stream's clock, so created timestamps advance by 1/Rate per event.
// A Stream is not safe for concurrent use.
type Stream struct {
	g     *Generator
	opts  StreamOptions
	rnd   *rand.Rand
	queue pendingQueue
	seq   int64
	n     int64 // events produced
	clock time.Time
	// recent events, for duplicates.
	recent []Event
	// Lifecycles counts the lifecycles started.
	Lifecycles int
}

// Stream returns a stream of g's lifecycles.
func (g *Generator) Stream(opts StreamOptions) (*Stream, error) {
	if opts.Rate <= 0 {
		opts.Rate = 100
	}
	if opts.BusinessDayLength <= 0 {
		opts.BusinessDayLength = 2 * time.Second
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	if opts.DuplicateShare < 0 || opts.DuplicateShare > 1 {
		return nil, fmt.Errorf("the duplicate share must be between 0 and 1")
	}
	g.mu.Lock()
	seed := g.rnd.Uint64()
	g.mu.Unlock()
	return &Stream{g: g, opts: opts, rnd: rand.New(rand.NewPCG(seed, seed>>1)), clock: opts.Start}, nil
}

// compress maps Dwolla time to stream time.
func (s *Stream) compress(d time.Duration) time.Duration {
	return time.Duration(float64(d) * float64(s.opts.BusinessDayLength) / float64(BusinessDay))
}

// Clock is the stream time of the next event.
func (s *Stream) Clock() time.Time {
	return s.opts.Start.Add(time.Duration(math.Round(float64(s.n) * float64(time.Second) / s.opts.Rate)))
}

// Next returns the next event.
func (s *Stream) Next() (Event, error) {
	now := s.Clock()
	s.n++
	if len(s.recent) > 0 && s.opts.DuplicateShare > 0 && s.rnd.Float64() < s.opts.DuplicateShare {
		ev := s.recent[s.rnd.IntN(len(s.recent))]
		ev.Duplicate = true
		return ev, nil
	}
	for len(s.queue) == 0 || s.queue[0].due.After(now) {
		lc := s.g.Next()
		s.Lifecycles++
		for _, p := range lc.Events {
			s.seq++
			heap.Push(&s.queue, pending{due: now.Add(s.compress(p.Offset)), seq: s.seq, p: p})
		}
	}
	next := heap.Pop(&s.queue).(pending)
	if s.opts.Shuffle > 1 {
		// Draw among the next due events instead of the first.
		cands := []pending{next}
		for len(cands) < s.opts.Shuffle && len(s.queue) > 0 && !s.queue[0].due.After(now) {
			cands = append(cands, heap.Pop(&s.queue).(pending))
		}
		i := s.rnd.IntN(len(cands))
		next = cands[i]
		for j, c := range cands {
			if j != i {
				heap.Push(&s.queue, c)
			}
		}
	}
	ev, err := s.g.render(next.p, now)
	if err != nil {
		return Event{}, err
	}
	if s.opts.DuplicateShare > 0 {
		if len(s.recent) < 64 {
			s.recent = append(s.recent, ev)
		} else {
			s.recent[s.rnd.IntN(len(s.recent))] = ev
		}
	}
	return ev, nil
}

// Take returns the next n events.
func (s *Stream) Take(n int) ([]Event, error) {
	out := make([]Event, 0, n)
	for i := 0; i < n; i++ {
		ev, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// Pending is the number of planned events not yet produced.
func (s *Stream) Pending() int { return len(s.queue) }

// Payload is a signed webhook ready to send.
type Payload struct {
	Event
	// Signature is the X-Request-Signature-SHA-256 value.
	Signature string
	// At is when the event is due, at the stream's rate.
	At time.Time
}

// Payloads returns the next n webhooks of a fresh stream signed with
// secret, spaced at opts.Rate with opts.DuplicateShare repeats: what a
// load generator sends.
func (g *Generator) Payloads(n int, secret string, opts StreamOptions) ([]Payload, error) {
	s, err := g.Stream(opts)
	if err != nil {
		return nil, err
	}
	out := make([]Payload, 0, n)
	for i := 0; i < n; i++ {
		at := s.Clock()
		ev, err := s.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, Payload{Event: ev, Signature: dwolla.Sign([]byte(secret), ev.Body), At: at})
	}
	return out, nil
}
