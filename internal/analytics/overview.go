package analytics

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Overview is the dashboard's summary of a window. Counts over the window
// come from the rollups; Journeys, Anomalies and Queue are the state now.
// Every Figure and Measure carries the previous window of equal length.
type Overview struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	PreviousFrom time.Time `json:"previousFrom"`
	Granularity  string    `json:"granularity"`

	// Events counts distinct events received (webhooks and imports), by
	// first receipt; EventsFromSync those imported from the Events API.
	Events         Figure `json:"events"`
	EventsFromSync Figure `json:"eventsFromSync"`
	// EventsPerMinute is Events over the window's minutes.
	EventsPerMinute Figure `json:"eventsPerMinute"`

	// Deliveries counts accepted webhook deliveries, duplicates included;
	// UniqueDeliveries the first delivery of an event, DuplicateDeliveries
	// the deliveries of an event already stored. Those are Redeliveries
	// (Dwolla sending again an event that came by webhook) and
	// DeliveriesAfterImport (the first webhook of an event a sync or
	// reconciliation imported before it, see CountDuplicates).
	// DuplicateRate is Redeliveries' share of Deliveries.
	Deliveries            Figure  `json:"deliveries"`
	UniqueDeliveries      Figure  `json:"uniqueDeliveries"`
	DuplicateDeliveries   Figure  `json:"duplicateDeliveries"`
	Redeliveries          Figure  `json:"redeliveries"`
	DeliveriesAfterImport Figure  `json:"deliveriesAfterImport"`
	DuplicateRate         Measure `json:"duplicateRate"`
	// RejectedDeliveries were refused (bad signature, malformed, too large,
	// …); BadSignatures are those with a bad or missing signature.
	// RejectionRate is their share of every delivery.
	RejectedDeliveries Figure  `json:"rejectedDeliveries"`
	BadSignatures      Figure  `json:"badSignatures"`
	RejectionRate      Measure `json:"rejectionRate"`

	// Processed counts events processed (first time; replays are not
	// counted again); Waiting those received in the window and still queued
	// or being processed; DeadLettered those dead-lettered now.
	Processed    Figure `json:"processed"`
	Waiting      Figure `json:"waiting"`
	DeadLettered Figure `json:"deadLettered"`
	// FailedAttempts counts processing attempts that failed (each retry and
	// each move to the dead letter); Retries those retried.
	FailedAttempts Figure `json:"failedAttempts"`
	Retries        Figure `json:"retries"`
	// ProcessingSuccessRate is Processed ÷ (Processed + events
	// dead-lettered without ever being processed); ProcessingFailureRate
	// its complement. Events still waiting count in neither.
	ProcessingSuccessRate Measure `json:"processingSuccessRate"`
	ProcessingFailureRate Measure `json:"processingFailureRate"`

	// ProcessingLatency is receipt → first processed; DeliveryLag is
	// Dwolla's created → our receipt (webhooks only).
	ProcessingLatency Latency `json:"processingLatency"`
	DeliveryLag       Latency `json:"deliveryLag"`

	// BusinessRates are the failure rates of Dwolla's business flows, from
	// topic outcomes.
	BusinessRates []BusinessRate `json:"businessRates"`
	// ByTopic and ByResourceType break Events down, largest first.
	ByTopic        []TopicStats        `json:"byTopic"`
	ByResourceType []ResourceBreakdown `json:"byResourceType"`
	// Series is the window at Granularity.
	Series []SeriesPoint `json:"series"`

	Journeys  JourneyCounts `json:"journeys"`
	Anomalies AnomalyCounts `json:"anomalies"`
	Queue     QueueState    `json:"queue"`
}

// BusinessRate is one business flow's attempts and failures.
type BusinessRate struct {
	// Family is the topic family (transfer, bank_transfer, microdeposits,
	// customer_verification, …).
	Family string `json:"family"`
	// Created counts the flow's openings (its *_created and *_added
	// topics); Succeeded and Failed its success and failure outcomes.
	Created   Figure `json:"created"`
	Succeeded Figure `json:"succeeded"`
	Failed    Figure `json:"failed"`
	// FailureRate is Failed ÷ Created ("transfers failed vs created");
	// OutcomeFailureRate is Failed ÷ (Succeeded + Failed), the share of
	// finished flows that failed. A failure may belong to a flow opened
	// before the window, so FailureRate is a rate, not a proportion.
	FailureRate        Measure `json:"failureRate"`
	OutcomeFailureRate Measure `json:"outcomeFailureRate"`
}

// TopicStats is one topic's traffic in a window.
type TopicStats struct {
	Topic    string `json:"topic"`
	Family   string `json:"family"`
	Resource string `json:"resource"`
	// Outcome is success, failure or "" (a step or notice).
	Outcome string `json:"outcome"`
	// Known is false for topics outside hooklens' catalogue.
	Known bool `json:"known"`
	// Events, with its change against the previous window: the trend.
	Events Figure `json:"events"`
	// Share is this topic's part of all events in the window (0–1).
	Share          float64  `json:"share"`
	Deliveries     int64    `json:"deliveries"`
	Duplicates     int64    `json:"duplicates"`
	Processed      int64    `json:"processed"`
	DeadLettered   int64    `json:"deadLettered"`
	FailedAttempts int64    `json:"failedAttempts"`
	AvgProcMS      *float64 `json:"avgProcMs"`
	P95ProcMS      *float64 `json:"p95ProcMs"`
	// Series is events per point of the window's series (eventStats only).
	Series []int64 `json:"series,omitempty"`
}

// ResourceBreakdown is the events about one kind of resource, from the
// catalogue's resource of each topic ("unknown" for topics it lacks).
type ResourceBreakdown struct {
	ResourceType string  `json:"resourceType"`
	Events       Figure  `json:"events"`
	Share        float64 `json:"share"`
}

// SeriesPoint is one period of a series, starting at Time.
type SeriesPoint struct {
	Time           time.Time `json:"time"`
	Events         int64     `json:"events"`
	Deliveries     int64     `json:"deliveries"`
	Duplicates     int64     `json:"duplicates"`
	Rejected       int64     `json:"rejected"`
	Processed      int64     `json:"processed"`
	FailedAttempts int64     `json:"failedAttempts"`
	DeadLettered   int64     `json:"deadLettered"`
	AvgProcMS      *float64  `json:"avgProcMs"`
	P95ProcMS      *float64  `json:"p95ProcMs"`
}

// JourneyCounts are the journeys open now.
type JourneyCounts struct {
	Active int64 `json:"active"`
	Stuck  int64 `json:"stuck"`
}

// AnomalyCounts are the anomalies not resolved now, by status and
// severity.
type AnomalyCounts struct {
	Open         int64 `json:"open"`
	Acknowledged int64 `json:"acknowledged"`
	Critical     int64 `json:"critical"`
	Warning      int64 `json:"warning"`
	Info         int64 `json:"info"`
}

// QueueState is the processing queue now.
type QueueState struct {
	Depth            int64      `json:"depth"`
	Processing       int64      `json:"processing"`
	OldestQueuedAt   *time.Time `json:"oldestQueuedAt"`
	OldestAgeSeconds float64    `json:"oldestAgeSeconds"`
}

// Overview summarises [from, to) (see NewWindow for the defaults and
// rounding) at granularity ("" for automatic).
func (s *Service) Overview(ctx context.Context, from, to time.Time, granularity string) (*Overview, error) {
	start := time.Now()
	defer func() { s.m.observe("overview", start) }()
	now := s.now().UTC()
	w, err := NewWindow(from, to, granularity, now)
	if err != nil {
		return nil, err
	}
	var cur, prev *windowData
	var afterImport, afterImportPrev int
	o := &Overview{From: w.From, To: w.To, PreviousFrom: w.PreviousFrom, Granularity: w.Granularity}
	err = s.parallel(ctx,
		func() (err error) {
			cur, err = s.collect(ctx, w, collectOptions{series: true})
			return err
		},
		func() (err error) {
			prev, err = s.collect(ctx, w.previous(), collectOptions{})
			return err
		},
		func() (err error) { afterImport, err = CountAfterImport(ctx, s.db, w.From, w.To); return err },
		func() (err error) {
			afterImportPrev, err = CountAfterImport(ctx, s.db, w.PreviousFrom, w.From)
			return err
		},
		func() (err error) { o.Journeys, err = s.journeyCounts(ctx); return err },
		func() (err error) { o.Anomalies, err = s.anomalyCounts(ctx); return err },
		func() (err error) { o.Queue, err = s.queueState(ctx, now); return err },
	)
	if err != nil {
		return nil, err
	}
	events := func(name string) bool { return name != "" }
	c, p := cur.total(events), prev.total(events)
	all, allPrev := cur.total(nil), prev.total(nil)
	f := func(get func(t *tally) int64) Figure { return figure(float64(get(c)), float64(get(p))) }
	fAll := func(get func(t *tally) int64) Figure { return figure(float64(get(all)), float64(get(allPrev))) }

	o.Events = f((*tally).events)
	o.EventsFromSync = f(func(t *tally) int64 { return t.d.ReceivedSync })
	minutes := w.Duration().Minutes()
	o.EventsPerMinute = figure(float64(c.events())/minutes, float64(p.events())/minutes)

	o.Deliveries = fAll(func(t *tally) int64 { return t.d.Deliveries })
	o.DuplicateDeliveries = fAll(func(t *tally) int64 { return t.d.Duplicates })
	o.UniqueDeliveries = fAll(func(t *tally) int64 { return t.d.Deliveries - t.d.Duplicates })
	// The rollups count the duplicates; the split by cause reads the
	// period's duplicate deliveries (one definition: CountDuplicates).
	redelivered := max(all.d.Duplicates-int64(afterImport), 0)
	redeliveredPrev := max(allPrev.d.Duplicates-int64(afterImportPrev), 0)
	o.Redeliveries = figure(float64(redelivered), float64(redeliveredPrev))
	o.DeliveriesAfterImport = figure(float64(afterImport), float64(afterImportPrev))
	o.DuplicateRate = rate(float64(redelivered), float64(all.d.Deliveries), float64(redeliveredPrev), float64(allPrev.d.Deliveries))
	o.RejectedDeliveries = fAll(func(t *tally) int64 { return t.d.Rejected })
	o.BadSignatures = fAll(func(t *tally) int64 { return t.d.BadSignature })
	o.RejectionRate = rate(float64(all.d.Rejected), float64(all.d.Deliveries+all.d.Rejected),
		float64(allPrev.d.Rejected), float64(allPrev.d.Deliveries+allPrev.d.Rejected))

	o.Processed = f(func(t *tally) int64 { return t.d.Processed })
	o.Waiting = f(func(t *tally) int64 { return t.waiting })
	o.DeadLettered = f(func(t *tally) int64 { return t.dead })
	o.FailedAttempts = f(func(t *tally) int64 { return t.d.Retried + t.d.DeadLettered })
	o.Retries = f(func(t *tally) int64 { return t.d.Retried })
	o.ProcessingSuccessRate = rate(float64(c.d.Processed), float64(c.d.Processed+c.deadUnrolled),
		float64(p.d.Processed), float64(p.d.Processed+p.deadUnrolled))
	o.ProcessingFailureRate = rate(float64(c.deadUnrolled), float64(c.d.Processed+c.deadUnrolled),
		float64(p.deadUnrolled), float64(p.d.Processed+p.deadUnrolled))
	o.ProcessingLatency = latency(procHistogram(&c.d), procHistogram(&p.d))
	o.DeliveryLag = latency(lagHistogram(&c.d), lagHistogram(&p.d))

	o.BusinessRates = businessRates(cur, prev)
	o.ByTopic = topicStats(cur, prev, nil, nil)
	o.ByResourceType = resourceBreakdown(cur, prev)
	o.Series = seriesPoints(w, cur)
	return o, nil
}

// familyTopics are the topics of one business flow.
type familyTopics struct {
	name                      string
	created, success, failure map[string]bool
}

// businessFamilies are the families with openings and failure outcomes, in
// the order the dashboard shows them.
var businessFamilies = func() []familyTopics {
	byName := map[string]*familyTopics{}
	for _, t := range dwolla.Topics() {
		f, ok := byName[t.Family]
		if !ok {
			f = &familyTopics{name: t.Family, created: map[string]bool{}, success: map[string]bool{}, failure: map[string]bool{}}
			byName[t.Family] = f
		}
		if strings.HasSuffix(t.Name, "_created") || strings.HasSuffix(t.Name, "_added") {
			f.created[t.Name] = true
		}
		switch t.Outcome {
		case dwolla.OutcomeSuccess:
			f.success[t.Name] = true
		case dwolla.OutcomeFailure:
			f.failure[t.Name] = true
		}
	}
	order := []string{"transfer", "bank_transfer", "mass_payment", "microdeposits", "funding_source", "customer_verification", "beneficial_owner"}
	var out []familyTopics
	for _, f := range byName {
		if len(f.created) > 0 && len(f.failure) > 0 {
			out = append(out, *f)
		}
	}
	rank := func(name string) int {
		if i := slices.Index(order, name); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := rank(out[i].name), rank(out[j].name); a != b {
			return a < b
		}
		return out[i].name < out[j].name
	})
	return out
}()

func businessRates(cur, prev *windowData) []BusinessRate {
	sum := func(wd *windowData, set map[string]bool) float64 {
		var n int64
		for topic := range set {
			if t, ok := wd.topics[topic]; ok {
				n += t.events()
			}
		}
		return float64(n)
	}
	out := make([]BusinessRate, 0, len(businessFamilies))
	for _, f := range businessFamilies {
		cc, pc := sum(cur, f.created), sum(prev, f.created)
		cs, ps := sum(cur, f.success), sum(prev, f.success)
		cf, pf := sum(cur, f.failure), sum(prev, f.failure)
		out = append(out, BusinessRate{
			Family:  f.name,
			Created: figure(cc, pc), Succeeded: figure(cs, ps), Failed: figure(cf, pf),
			FailureRate:        rate(cf, cc, pf, pc),
			OutcomeFailureRate: rate(cf, cs+cf, pf, ps+pf),
		})
	}
	return out
}

// topicStats lists the topics passing keep (all but "" when nil) that had
// events in either window, largest first. points, when set, are the
// series' point times for per-topic series.
func topicStats(cur, prev *windowData, keep func(string) bool, points []time.Time) []TopicStats {
	if keep == nil {
		keep = func(name string) bool { return name != "" }
	}
	names := map[string]bool{}
	for name := range cur.topics {
		names[name] = true
	}
	for name := range prev.topics {
		names[name] = true
	}
	var total int64
	for name := range names {
		if keep(name) {
			if t, ok := cur.topics[name]; ok {
				total += t.events()
			}
		}
	}
	var out []TopicStats
	for name := range names {
		if !keep(name) {
			continue
		}
		c, p := cur.topics[name], prev.topics[name]
		if c == nil {
			c = &tally{}
		}
		if p == nil {
			p = &tally{}
		}
		if c.events() == 0 && p.events() == 0 && c.d.Deliveries == 0 && p.d.Deliveries == 0 {
			continue
		}
		info, known := dwolla.LookupTopic(name)
		ts := TopicStats{
			Topic: name, Family: info.Family, Resource: info.Resource, Outcome: string(info.Outcome), Known: known,
			Events:     figure(float64(c.events()), float64(p.events())),
			Deliveries: c.d.Deliveries, Duplicates: c.d.Duplicates, Processed: c.d.Processed,
			DeadLettered: c.dead, FailedAttempts: c.d.Retried + c.d.DeadLettered,
			AvgProcMS: procHistogram(&c.d).avg(), P95ProcMS: procHistogram(&c.d).quantile(0.95),
		}
		if total > 0 {
			ts.Share = float64(c.events()) / float64(total)
		}
		if points != nil {
			ts.Series = make([]int64, len(points))
			for i, at := range points {
				ts.Series[i] = cur.topicPoints[name][at]
			}
		}
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events.Value != out[j].Events.Value {
			return out[i].Events.Value > out[j].Events.Value
		}
		return out[i].Topic < out[j].Topic
	})
	return out
}

func resourceOf(topic string) string {
	if t, ok := dwolla.LookupTopic(topic); ok {
		return t.Resource
	}
	return "unknown"
}

func resourceBreakdown(cur, prev *windowData) []ResourceBreakdown {
	c, p := map[string]int64{}, map[string]int64{}
	var total int64
	for name, t := range cur.topics {
		if name != "" {
			c[resourceOf(name)] += t.events()
			total += t.events()
		}
	}
	for name, t := range prev.topics {
		if name != "" {
			p[resourceOf(name)] += t.events()
		}
	}
	keys := map[string]bool{}
	for k := range c {
		keys[k] = true
	}
	for k := range p {
		keys[k] = true
	}
	var out []ResourceBreakdown
	for k := range keys {
		if c[k] == 0 && p[k] == 0 {
			continue
		}
		r := ResourceBreakdown{ResourceType: k, Events: figure(float64(c[k]), float64(p[k]))}
		if total > 0 {
			r.Share = float64(c[k]) / float64(total)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events.Value != out[j].Events.Value {
			return out[i].Events.Value > out[j].Events.Value
		}
		return out[i].ResourceType < out[j].ResourceType
	})
	return out
}

func seriesPoints(w Window, wd *windowData) []SeriesPoint {
	pts := w.points()
	out := make([]SeriesPoint, len(pts))
	for i, at := range pts {
		sp := SeriesPoint{Time: at}
		if t, ok := wd.points[at]; ok {
			sp.Events = t.events()
			sp.Deliveries, sp.Duplicates, sp.Rejected = t.d.Deliveries, t.d.Duplicates, t.d.Rejected
			sp.Processed, sp.FailedAttempts, sp.DeadLettered = t.d.Processed, t.d.Retried+t.d.DeadLettered, t.dead
			h := procHistogram(&t.d)
			sp.AvgProcMS, sp.P95ProcMS = h.avg(), h.quantile(0.95)
		}
		out[i] = sp
	}
	return out
}

// journeyCounts counts the open journeys (index on status).
func (s *Service) journeyCounts(ctx context.Context) (JourneyCounts, error) {
	var jc JourneyCounts
	rows, err := s.db.Read.QueryContext(ctx, "SELECT status, COUNT(*) FROM journey_instances WHERE status IN ('active', 'stuck') GROUP BY status")
	if err != nil {
		return jc, fmt.Errorf("counting journeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return jc, fmt.Errorf("counting journeys: %w", err)
		}
		if status == "active" {
			jc.Active = n
		} else {
			jc.Stuck = n
		}
	}
	return jc, rows.Err()
}

// anomalyCounts counts the anomalies not resolved.
func (s *Service) anomalyCounts(ctx context.Context) (AnomalyCounts, error) {
	var ac AnomalyCounts
	rows, err := s.db.Read.QueryContext(ctx, "SELECT status, severity, COUNT(*) FROM anomalies WHERE status IN ('open', 'acknowledged') GROUP BY status, severity")
	if err != nil {
		return ac, fmt.Errorf("counting anomalies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, severity string
		var n int64
		if err := rows.Scan(&status, &severity, &n); err != nil {
			return ac, fmt.Errorf("counting anomalies: %w", err)
		}
		if status == "open" {
			ac.Open += n
		} else {
			ac.Acknowledged += n
		}
		switch severity {
		case "critical":
			ac.Critical += n
		case "warning":
			ac.Warning += n
		default:
			ac.Info += n
		}
	}
	return ac, rows.Err()
}

// queueState reads the queue (internal/store's event_queue).
func (s *Service) queueState(ctx context.Context, now time.Time) (QueueState, error) {
	var q QueueState
	d, err := s.db.QueueDepth(ctx)
	if err != nil {
		return q, err
	}
	q.Depth = int64(d.Queued)
	if d.Queued > 0 && !d.OldestQueued.IsZero() {
		t := d.OldestQueued
		q.OldestQueuedAt = &t
		q.OldestAgeSeconds = max(now.Sub(t).Seconds(), 0)
	}
	return q, nil
}
