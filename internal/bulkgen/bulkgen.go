// Package bulkgen fills a database with millions of realistic, already
// processed events — their deliveries (duplicates and rejections included)
// and the rollups that count them — fast enough to benchmark analytics over
// ten million events in minutes: COPY on PostgreSQL, large multi-row inserts
// in few transactions on SQLite.
//
// Events follow internal/simulate's Dwolla lifecycles (customers, funding
// sources, transfers with their failures and late returns, mass payments),
// started over the span with a weekday and time-of-day rhythm, each event
// delivered after a realistic lag. The rollups are computed with the same
// counting rules as internal/rollup's rebuild, so a rebuild over generated
// data changes nothing.
//
// It writes rows directly, bypassing the receiver and the pipeline, and
// moves the delivery watermark past what it wrote: it must never run
// against a database that is receiving traffic, and refuses one whose
// deliveries are not all counted yet.
package bulkgen

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

// Options shape a generated data set.
type Options struct {
	// Events is roughly how many events to write (default 100,000); the
	// actual count depends on the draw and is in Result.
	Events int
	// From and To bound the receipt times (default: the 30 days to now).
	From, To time.Time
	// Seed names the data set (same seed, same options: same events).
	Seed uint64
	// DuplicateShare is the share of webhook events delivered again later
	// (default 0.03); RejectShare the rejected deliveries per event
	// (default 0.004, a quarter of them bad signatures); SyncShare the share
	// imported from the Events API instead (default 0.01);
	// DeadLetterShare the share dead-lettered (default 0.0005). A negative
	// share means none.
	DuplicateShare, RejectShare, SyncShare, DeadLetterShare float64
	// ChunkSize is how many events are written at a time (default 50,000).
	ChunkSize int
	// Progress, when set, is called after each chunk with the events
	// written so far and the expected total.
	Progress func(done, total int)
	// Log receives a line per chunk at debug level.
	Log *slog.Logger
}

func (o *Options) defaults(now time.Time) error {
	if o.Events == 0 {
		o.Events = 100_000
	}
	if o.Events < 0 {
		return errors.New("bulkgen: Events must be positive")
	}
	if o.To.IsZero() {
		o.To = now
	}
	if o.From.IsZero() {
		o.From = o.To.AddDate(0, 0, -30)
	}
	o.From, o.To = o.From.UTC().Truncate(time.Microsecond), o.To.UTC().Truncate(time.Microsecond)
	if !o.From.Before(o.To) {
		return errors.New("bulkgen: From must be before To")
	}
	share := func(p *float64, def float64) {
		switch {
		case *p == 0:
			*p = def
		case *p < 0:
			*p = 0
		}
	}
	share(&o.DuplicateShare, 0.03)
	share(&o.RejectShare, 0.004)
	share(&o.SyncShare, 0.01)
	share(&o.DeadLetterShare, 0.0005)
	if o.ChunkSize <= 0 {
		o.ChunkSize = 50_000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Result says what was written.
type Result struct {
	Events, Deliveries, RollupRows int
	From, To                       time.Time
	Duration                       time.Duration
}

// EventsPerSecond is the write rate of events.
func (r Result) EventsPerSecond() float64 { return float64(r.Events) / r.Duration.Seconds() }

// item is one row to emit, in receipt order: an event, or a delivery that
// is not an event's first (a duplicate or a rejection).
type item struct {
	at  time.Time
	seq int64
	ev  *event
	dl  *delivery
}

type event struct {
	id            int64
	eventID       string
	topic         string
	resourceType  string
	resourceID    string
	customerID    string
	correlationID string
	created       time.Time
	body          []byte
	sha           string
	source        string
	deliveries    int
	deadLetter    bool
	procMS        float64
}

type delivery struct {
	outcome string
	eventID string
	topic   string
	dbID    int64 // the event's row id; 0 for rejections
	body    int
	sha     string
}

type itemHeap []item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *itemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// rhythm is the relative traffic at t: busier on weekdays and in the US
// afternoon, with a mean of about 1 over a week.
func rhythm(t time.Time) float64 {
	day := 1.0
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		day = 0.45
	}
	h := float64(t.Hour()) + float64(t.Minute())/60
	return day * (1 + 0.6*math.Cos(2*math.Pi*(h-18)/24)) / 0.843
}

const rhythmMax = 1.6 / 0.843

// warmUp is how long before From lifecycles start.
const warmUp = 7 * 24 * time.Hour

// planner draws lifecycles and turns them into items in receipt order.
type planner struct {
	o       Options
	g       *simulate.Generator
	rnd     *rand.Rand
	heap    itemHeap
	seq     int64
	nextID  int64
	clock   time.Time // the next lifecycle's start
	rate    float64   // lifecycle starts per second at rhythm 1
	kinds   map[string]string
	stopped bool
}

func newPlanner(o Options, firstID int64) (*planner, error) {
	g, err := simulate.NewGenerator(simulate.Config{Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	p := &planner{o: o, g: g, rnd: rand.New(rand.NewPCG(o.Seed, 0xb01c)), nextID: firstID, kinds: map[string]string{}}
	// Calibrate on a dry run: start up to 20,000 lifecycles over the warm-up and
	// the span at a trial rate, count their events that land in the span,
	// and scale the rate so the span receives about o.Events. Lifecycles
	// last days, so a weekend span still sees the week's transfers clear.
	cal, err := simulate.NewGenerator(simulate.Config{Seed: o.Seed ^ 0xca1})
	if err != nil {
		return nil, err
	}
	var weight float64 // ∫ rhythm dt over warm-up and span, in seconds
	for t := o.From.Add(-warmUp); t.Before(o.To); t = t.Add(time.Minute) {
		weight += rhythm(t) * math.Min(60, o.To.Sub(t).Seconds())
	}
	trial := float64(min(max(o.Events/2, 2000), 20_000))
	p.rate = trial / weight
	p.clock = o.From.Add(-warmUp)
	landed := 0
	for p.advance(); p.clock.Before(o.To); p.advance() {
		for _, e := range cal.Next().Events {
			if at := p.clock.Add(e.Offset); !at.Before(o.From) && at.Before(o.To) {
				landed++
			}
		}
	}
	p.rate *= float64(o.Events) / float64(max(landed, 1))
	// Start a week early so that lifecycles in flight at From contribute,
	// as in a system that was already running.
	p.clock = o.From.Add(-warmUp)
	p.advance()
	return p, nil
}

// advance draws the next lifecycle start (thinning a Poisson process by
// the rhythm).
func (p *planner) advance() {
	for {
		p.clock = p.clock.Add(time.Duration(p.rnd.ExpFloat64() / (p.rate * rhythmMax) * float64(time.Second)))
		if p.rnd.Float64()*rhythmMax <= rhythm(p.clock) {
			return
		}
	}
}

func (p *planner) push(at time.Time, ev *event, dl *delivery) {
	p.seq++
	heap.Push(&p.heap, item{at: at.Truncate(time.Microsecond), seq: p.seq, ev: ev, dl: dl})
}

// lag draws a delivery lag: log-normal around 400 ms, and now and then a
// Dwolla retry minutes to an hour later.
func (p *planner) lag() time.Duration {
	if p.rnd.Float64() < 0.005 {
		return time.Minute + time.Duration(p.rnd.Float64()*float64(time.Hour))
	}
	return time.Duration(400 * math.Exp(0.9*p.rnd.NormFloat64()) * float64(time.Millisecond))
}

// resourceType derives the stored resource type of a resource kind the
// way the receiver does, by parsing one rendered body per kind.
func (p *planner) resourceType(kind string, body []byte) string {
	if t, ok := p.kinds[kind]; ok {
		return t
	}
	t := ""
	if ev, err := dwolla.ParseEvent(body); err == nil {
		t = ev.ResourceType
	}
	p.kinds[kind] = t
	return t
}

// start plans one lifecycle beginning at p.clock.
func (p *planner) start() error {
	lc := p.g.Next()
	if len(lc.Events) == 0 || p.clock.Add(lc.Events[len(lc.Events)-1].Offset).Add(2*time.Hour).Before(p.o.From) {
		return nil // over before the span: not worth rendering
	}
	rendered, err := p.g.Render(lc, p.clock)
	if err != nil {
		return err
	}
	for i, r := range rendered {
		pl := lc.Events[i]
		ev := &event{
			eventID: r.ID, topic: r.Topic, resourceID: strings.ToLower(r.ResourceID),
			customerID: strings.ToLower(pl.CustomerID), correlationID: pl.CorrelationID,
			created: r.Created, body: r.Body, source: "webhook", deliveries: 1,
			resourceType: p.resourceType(pl.Resource.Kind, r.Body),
		}
		received := r.Created.Add(p.lag())
		if p.rnd.Float64() < p.o.SyncShare {
			// Missed by webhooks, imported by a sync a while later.
			ev.source, ev.deliveries = "sync", 0
			received = r.Created.Add(time.Duration(5+p.rnd.IntN(120)) * time.Minute)
		}
		if received.Before(p.o.From) || !received.Before(p.o.To) {
			continue
		}
		ev.deadLetter = p.rnd.Float64() < p.o.DeadLetterShare
		ev.procMS = 30 * math.Exp(0.8*p.rnd.NormFloat64())
		if p.rnd.Float64() < 0.002 {
			ev.procMS += 1000 + 20000*p.rnd.Float64() // a slow batch or a retry
		}
		p.push(received, ev, nil)
	}
	return nil
}

// next returns the next item in receipt order, or false at the end.
func (p *planner) next() (item, bool, error) {
	for {
		// Plan lifecycles until none could still emit before the earliest
		// pending item.
		for !p.stopped && (p.heap.Len() == 0 || p.clock.Before(p.heap[0].at)) {
			if !p.clock.Before(p.o.To) {
				p.stopped = true
				break
			}
			if err := p.start(); err != nil {
				return item{}, false, err
			}
			p.advance()
		}
		if p.heap.Len() == 0 {
			return item{}, false, nil
		}
		it := heap.Pop(&p.heap).(item)
		if it.ev != nil {
			ev := it.ev
			p.nextID++
			ev.id = p.nextID
			sum := sha256.Sum256(ev.body)
			sha := hex.EncodeToString(sum[:])
			ev.sha = sha
			if ev.source == "webhook" {
				if p.rnd.Float64() < p.o.DuplicateShare {
					// Dwolla redelivers when an acknowledgement was slow.
					ev.deliveries++
					at := it.at.Add(time.Duration(30+p.rnd.IntN(1200)) * time.Second)
					if at.Before(p.o.To) {
						p.push(at, nil, &delivery{outcome: "duplicate", eventID: ev.eventID, topic: ev.topic, dbID: ev.id, body: len(ev.body), sha: sha})
					} else {
						ev.deliveries--
					}
				}
				if p.rnd.Float64() < p.o.RejectShare {
					outcome := "malformed"
					if p.rnd.IntN(4) == 0 {
						outcome = "bad_signature"
					}
					at := it.at.Add(time.Duration(p.rnd.IntN(60_000)) * time.Millisecond)
					if at.Before(p.o.To) {
						p.push(at, nil, &delivery{outcome: outcome, body: len(ev.body), sha: sha})
					}
				}
			}
		}
		return it, true, nil
	}
}
