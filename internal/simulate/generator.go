package simulate

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
)

// BusinessDay is how long one business day lasts in a lifecycle's offsets.
// Weekends are not modelled: offsets count business time only.
const BusinessDay = 24 * time.Hour

// Planned is one event of a lifecycle before it is rendered.
type Planned struct {
	// Offset is Dwolla time since the lifecycle's first event.
	Offset        time.Duration
	Topic         string
	Resource      fakedwolla.Ref
	CustomerID    string
	CorrelationID string
}

// Lifecycle is one journey's events in order: a customer's verification, a
// bank's, a transfer's or a mass payment's.
type Lifecycle struct {
	// Kind is personal, business, funding, transfer:<kind> or masspayment.
	Kind string
	// Outcome says how it ends (verified, failed, late-failure, …); a
	// personal path lists its steps (retry>kba>kba-fail>document-approved).
	Outcome string
	// ReturnCode is the ACH return of a failed transfer (R01, …).
	ReturnCode string
	Events     []Planned
}

// Duration is the Dwolla time from the first event to the last.
func (l Lifecycle) Duration() time.Duration {
	if len(l.Events) == 0 {
		return 0
	}
	return l.Events[len(l.Events)-1].Offset
}

// Event is a rendered event: its body exactly as Dwolla would send it.
type Event struct {
	ID         string
	Topic      string
	ResourceID string
	Created    time.Time
	Body       []byte
	// Duplicate marks a repeated delivery of an event already produced.
	Duplicate bool
}

// Config configures a Generator.
type Config struct {
	// Seed names the run: the same seed gives the same lifecycles and ids.
	Seed uint64
	// BaseURL is the API root in event links (default: Dwolla's sandbox).
	BaseURL string
	// AccountID is the master account (default: drawn from the seed).
	AccountID string
	// Mix weighs journeys and outcomes (default: DefaultMix).
	Mix Mix
	// CorrelationShare is the share of transfers created with a
	// correlationId (default 0.3; negative: none).
	CorrelationShare float64
}

// Generator draws lifecycles and renders their events. It is safe for
// concurrent use, but a seeded run repeats only when used from one
// goroutine.
type Generator struct {
	cfg Config
	mu  sync.Mutex
	rnd *rand.Rand
	n   int // lifecycles drawn, for correlation ids
}

// NewGenerator checks cfg and returns a Generator.
func NewGenerator(cfg Config) (*Generator, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = dwolla.SandboxURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix()
	}
	if err := cfg.Mix.Validate(); err != nil {
		return nil, err
	}
	if cfg.CorrelationShare == 0 {
		cfg.CorrelationShare = 0.3
	}
	g := &Generator{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xd3011a))}
	if g.cfg.AccountID == "" {
		g.cfg.AccountID = fakedwolla.UUID(g.rnd)
	}
	return g, nil
}

// AccountID is the master account the events belong to.
func (g *Generator) AccountID() string { return g.cfg.AccountID }

// planner accumulates one lifecycle's events. Called with g.mu held.
type planner struct {
	g   *Generator
	at  time.Duration
	lc  Lifecycle
	rnd *rand.Rand
}

func (g *Generator) plan(kind string) *planner {
	return &planner{g: g, rnd: g.rnd, lc: Lifecycle{Kind: kind}}
}

func (p *planner) id() string { return fakedwolla.UUID(p.rnd) }

// after moves the clock by a random time in [lo, hi].
func (p *planner) after(lo, hi time.Duration) *planner {
	if hi > lo {
		p.at += lo + time.Duration(p.rnd.Int64N(int64(hi-lo)+1))
	} else {
		p.at += lo
	}
	return p
}

// soon is the gap between events of one API call: milliseconds.
func (p *planner) soon() *planner { return p.after(5*time.Millisecond, 900*time.Millisecond) }

// days is a gap of lo to hi business days.
func (p *planner) days(lo, hi float64) *planner {
	return p.after(time.Duration(lo*float64(BusinessDay)), time.Duration(hi*float64(BusinessDay)))
}

// userAction is the time a person takes to act: minutes to hours.
func (p *planner) userAction() *planner { return p.after(3*time.Minute, 6*time.Hour) }

func (p *planner) emit(topic string, res fakedwolla.Ref, customer string) {
	p.lc.Events = append(p.lc.Events, Planned{Offset: p.at, Topic: topic, Resource: res, CustomerID: customer})
}

func (p *planner) chance(x float64) bool { return p.rnd.Float64() < x }

func (p *planner) done(outcome string) Lifecycle {
	p.lc.Outcome = outcome
	sort.SliceStable(p.lc.Events, func(i, j int) bool { return p.lc.Events[i].Offset < p.lc.Events[j].Offset })
	return p.lc
}

// Next draws a lifecycle by the mix.
func (g *Generator) Next() Lifecycle {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	switch g.cfg.Mix.pick(g.rnd, "") {
	case "personal":
		return g.randomPersonal()
	case "business":
		return g.business(g.cfg.Mix.pick(g.rnd, "business"), 1+g.rnd.IntN(3))
	case "funding":
		return g.funding(g.cfg.Mix.pick(g.rnd, "funding"))
	case "masspayment":
		return g.massPayment(g.cfg.Mix.pick(g.rnd, "masspayment"), 2+g.rnd.IntN(6), g.rnd.IntN(2) == 0)
	}
	outcome := TransferOutcome(g.cfg.Mix.pick(g.rnd, "transfer"))
	kinds := transferKinds
	switch outcome {
	case TransferCreationFailed:
		kinds = filterKinds(func(k TransferKind) bool { return k.pushLeg >= 0 })
	case TransferCancelled:
		kinds = filterKinds(func(k TransferKind) bool { return k.cancellable })
	}
	lc, _ := g.transfer(kinds[g.rnd.IntN(len(kinds))], outcome, "")
	return lc
}

func filterKinds(keep func(TransferKind) bool) []TransferKind {
	var out []TransferKind
	for _, k := range transferKinds {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

// Render gives the lifecycle's events ids and bodies, created at start
// plus their offsets.
func (g *Generator) Render(lc Lifecycle, start time.Time) ([]Event, error) {
	out := make([]Event, 0, len(lc.Events))
	for _, p := range lc.Events {
		ev, err := g.render(p, start.Add(p.Offset))
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// render makes one event created at t.
func (g *Generator) render(p Planned, t time.Time) (Event, error) {
	g.mu.Lock()
	id := fakedwolla.UUID(g.rnd)
	g.mu.Unlock()
	t = t.UTC().Truncate(time.Millisecond)
	body, err := fakedwolla.EventBody(g.cfg.BaseURL, g.cfg.AccountID, fakedwolla.EventSpec{
		ID: id, Topic: p.Topic, Resource: p.Resource, CustomerID: p.CustomerID,
		CorrelationID: p.CorrelationID, Created: t,
	})
	if err != nil {
		return Event{}, fmt.Errorf("rendering %s: %w", p.Topic, err)
	}
	return Event{ID: id, Topic: p.Topic, ResourceID: p.Resource.ID, Created: t, Body: body}, nil
}
