package journey

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Status is where an instance stands.
type Status string

// The statuses of an instance. Completed and failed are final for a given
// set of events; the other three are open and change with time or with new
// events (an abandoned instance that receives an event is active again).
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusStuck     Status = "stuck"
	StatusAbandoned Status = "abandoned"
)

// Ended reports whether s is completed or failed.
func (s Status) Ended() bool { return s == StatusCompleted || s == StatusFailed }

// State is an instance's state, computed by Evaluate from its events. It is
// plain data with stable JSON names so the pipeline can store it (the
// timeline column) and GraphQL can serve it.
type State struct {
	// Definition and Version identify the rules that produced the state.
	Definition string `json:"definition"`
	Version    int    `json:"version"`
	// Key is the correlation key: a customer id or a resource id.
	Key string `json:"key"`
	// Status is active, completed, failed, stuck or abandoned.
	Status Status `json:"status"`
	// Excluded is set when the events show that the instance belongs to
	// another journey (a business customer seen by the personal journey).
	// The pipeline should drop or hide excluded instances; Funnel skips them.
	Excluded bool `json:"excluded,omitempty"`
	// ExcludedBy is the topic that excluded it.
	ExcludedBy string `json:"excludedBy,omitempty"`
	// CurrentStep is the step the instance is at: the last one entered,
	// which after a loop may lie behind FurthestStep.
	CurrentStep     string `json:"currentStep,omitempty"`
	CurrentStepName string `json:"currentStepName,omitempty"`
	// FurthestStep is the furthest step reached along the lifecycle.
	FurthestStep string `json:"furthestStep,omitempty"`
	// Progress is the percentage of the path actually taken that is done,
	// 100 on success; see docs/journeys.md for the formula.
	Progress float64 `json:"progress"`
	// StartedAt is the created time of the earliest event.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// LastEventAt is the created time of the latest event.
	LastEventAt time.Time `json:"lastEventAt,omitzero"`
	// LastProgressAt is when a step was last entered; the stuck clock runs
	// from here.
	LastProgressAt time.Time `json:"lastProgressAt,omitzero"`
	// EndedAt is the created time of the event that ended the journey.
	EndedAt time.Time `json:"endedAt,omitzero"`
	// Duration runs from StartedAt to EndedAt; zero while open.
	Duration Duration `json:"duration,omitzero"`
	// EndEventID and EndTopic name the event that ended the journey.
	EndEventID string `json:"endEventId,omitempty"`
	EndTopic   string `json:"endTopic,omitempty"`
	// Outcome says how an ended journey ended, finer than its status:
	// completed, or for a failed one cancelled, failed, returned (failed
	// after it completed: a late ACH return), creation_failed, suspended,
	// deactivated, removed, unverified or max_attempts. See
	// OutcomeOf. Empty while the journey is open.
	Outcome Outcome `json:"outcome,omitempty"`
	// StartUnseen is set when the definition's first step was never seen
	// (its event missing, or not delivered yet): the journey is known to
	// have started, but not when, so its duration is unknown and it is
	// left out of time statistics (and counted as left out).
	StartUnseen bool `json:"startUnseen,omitempty"`
	// FailedAfterSuccess marks a journey that completed and then failed,
	// such as a transfer returned after it cleared.
	FailedAfterSuccess bool `json:"failedAfterSuccess,omitempty"`
	// StuckAt is when an open instance is (or became) stuck if nothing
	// happens: the last progress plus the next step's limit. Zero when no
	// limit applies or the journey ended.
	StuckAt time.Time `json:"stuckAt,omitzero"`
	// AbandonAt is when an open instance is (or was) abandoned if nothing
	// happens: the last event plus the abandonment horizon.
	AbandonAt time.Time `json:"abandonAt,omitzero"`
	// NextCheckAt is the next time the status changes if no event arrives
	// (StuckAt or AbandonAt, whichever is next after now); zero when
	// nothing will change. A sweeper re-evaluates instances that are due.
	NextCheckAt time.Time `json:"nextCheckAt,omitzero"`
	// EventCount is the number of distinct events in the instance.
	EventCount int `json:"eventCount"`
	// CustomerIDs are the customers its events name, sorted; a transfer
	// names both sender and receiver.
	CustomerIDs []string `json:"customerIds,omitempty"`
	// Steps is the timeline: every step of the definition, in order.
	Steps []StepState `json:"steps"`
	// Unexpected lists events that did not fit the path, with the reason.
	Unexpected []UnexpectedEvent `json:"unexpected,omitempty"`
	// Notes say notable things in words.
	Notes []string `json:"notes,omitempty"`
}

// Note returns the notes as one line, for a single text column.
func (s State) Note() string { return strings.Join(s.Notes, "; ") }

// StepState is one step of the timeline.
type StepState struct {
	// Key, Name and Optional repeat the definition's step.
	Key      string `json:"key"`
	Name     string `json:"name"`
	Optional bool   `json:"optional,omitempty"`
	// Reached reports whether an event of the step was seen on the path.
	Reached bool `json:"reached"`
	// Missed marks a required step whose event was never seen although a
	// later step was reached: the event is missing or not yet delivered.
	Missed bool `json:"missed,omitempty"`
	// ReachedAt is when the step was first reached, by EventID with Topic.
	ReachedAt time.Time `json:"reachedAt,omitzero"`
	EventID   string    `json:"eventId,omitempty"`
	Topic     string    `json:"topic,omitempty"`
	// SincePrevious is the time from the previous step entered on the path
	// to ReachedAt; SinceStart is the time from StartedAt.
	SincePrevious Duration `json:"sincePrevious"`
	SinceStart    Duration `json:"sinceStart"`
	// Limit is the step's time limit (Step.Within); WithinLimit reports
	// whether SincePrevious kept to it (always true without a limit).
	Limit       Duration `json:"limit,omitzero"`
	WithinLimit bool     `json:"withinLimit"`
	// Visits counts how often the path entered the step (more than one
	// after a loop); LastVisitAt is the latest entry.
	Visits      int       `json:"visits,omitempty"`
	LastVisitAt time.Time `json:"lastVisitAt,omitzero"`
}

// UnexpectedEvent is an event that did not fit the path. It is recorded, not
// dropped, so that odd data stays visible.
type UnexpectedEvent struct {
	// EventID, Topic and At (its created time) identify the event;
	// Reason says why it did not fit.
	EventID string    `json:"eventId"`
	Topic   string    `json:"topic"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

// topicRole says what a topic means to one definition.
type topicRole struct {
	step    int // index of the step it completes, or -1
	success bool
	failure bool
	exclude bool
	start   bool
}

type plan struct {
	def   *Definition
	roles map[string]topicRole
}

// compile indexes a definition's topics. It tolerates invalid definitions
// (the first step listing a topic wins) because Evaluate must not panic on
// a custom definition someone saved without validating.
func compile(def *Definition) plan {
	p := plan{def: def, roles: make(map[string]topicRole, 24)}
	get := func(t string) topicRole {
		if r, ok := p.roles[t]; ok {
			return r
		}
		return topicRole{step: -1}
	}
	for i, s := range def.Steps {
		for _, t := range s.Topics {
			r := get(t)
			if r.step < 0 {
				r.step = i
			}
			p.roles[t] = r
		}
	}
	for _, t := range def.SuccessTopics {
		r := get(t)
		r.success = true
		p.roles[t] = r
	}
	for _, t := range def.FailureTopics {
		r := get(t)
		r.failure = !r.success
		p.roles[t] = r
	}
	for _, t := range def.ExcludeTopics {
		r := get(t)
		r.exclude = r.step < 0 && !r.success && !r.failure
		p.roles[t] = r
	}
	for t, r := range p.roles {
		r.start = (def.Start.AnyTopic && !r.exclude) || (!r.exclude && contains(def.Start.Topics, t))
		p.roles[t] = r
	}
	return p
}

// rank orders events that share a created time: Dwolla often stamps a whole
// leg with one millisecond, and lifecycle order is the only sensible order
// among them. Failures rank last, so a tie between success and failure
// resolves to the failure.
func (p plan) rank(r topicRole) int {
	n := len(p.def.Steps)
	switch {
	case r.step >= 0:
		return r.step
	case r.success:
		return n
	case r.failure:
		return n + 1
	default:
		return n + 2
	}
}

type item struct {
	ev   Event
	role topicRole
	rank int
	key  string
	ok   bool // has a key
	has  bool // topic is part of the definition
}

func compareItems(a, b item) int {
	if c := a.ev.Created.Compare(b.ev.Created); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rank, b.rank); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ev.ID, b.ev.ID); c != 0 {
		return c
	}
	// Same id, different content (a capture slip or a bad replay): order
	// the copies by content so the choice between them never depends on
	// arrival.
	if c := cmp.Compare(a.ev.Topic, b.ev.Topic); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ev.ResourceID, b.ev.ResourceID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ev.ResourceType, b.ev.ResourceType); c != 0 {
		return c
	}
	return cmp.Compare(a.ev.CustomerID, b.ev.CustomerID)
}

// Evaluate computes the state of one instance of def from its events as of
// now. It is a function of the set of events: any arrival order and any
// number of redeliveries give the same State. Pass every stored event the
// router assigned to the instance's key, not only those that arrived after
// it opened; events that do not belong (another topic, another key) are
// reported as unexpected rather than ignored.
func Evaluate(def Definition, events []Event, now time.Time) State {
	e := evaluation{def: &def, plan: compile(&def), cur: -1, furthest: -1, endIdx: -1}
	e.st = State{Definition: def.Key, Version: def.Version, Steps: make([]StepState, len(def.Steps))}
	for i, s := range def.Steps {
		e.st.Steps[i] = StepState{Key: s.Key, Name: s.Name, Optional: s.Optional, Limit: s.Within, WithinLimit: true}
	}
	e.collect(events)
	if len(e.mine) == 0 {
		e.st.Status = StatusActive
		e.notes = append(e.notes, "no event belongs to this journey")
	} else {
		e.summarise()
		e.outcome()
		e.path()
		e.describe()
		e.progress()
		e.status(now)
	}
	e.st.Notes = e.notes
	e.finishUnexpected()
	return e.st
}

// evaluation is the working state of one Evaluate call.
type evaluation struct {
	def  *Definition
	plan plan
	st   State
	// mine are the instance's events, one per id, in created order.
	mine  []item
	notes []string

	// The outcome: the event that ended the journey, the first success,
	// the index in mine where the path ends, and what was said about it.
	end, success *item
	endIdx       int
	outcomeNotes []string

	// The path: the current and furthest step, when a step was last
	// entered, and whether any event may open the journey.
	cur, furthest int
	lastProgress  time.Time
	opened        bool
}

// collect keeps one copy per event id and splits the instance's events from
// those that do not belong. Sorting by (id, content) before keeping the
// first copy makes the choice among conflicting copies independent of
// arrival; conflicting copies are noted.
func (e *evaluation) collect(events []Event) {
	items := make([]item, 0, len(events))
	for _, ev := range events {
		// Times by instant only: a location or a monotonic reading must not
		// make two copies of an event differ.
		ev.Created = ev.Created.UTC()
		r, has := e.plan.roles[ev.Topic]
		if !has {
			r = topicRole{step: -1}
		}
		k, ok := e.def.Correlation.correlationKey(ev)
		items = append(items, item{ev: ev, role: r, rank: e.plan.rank(r), key: k, ok: ok, has: has})
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.ev.ID, b.ev.ID); c != 0 {
			return c
		}
		return compareItems(a, b)
	})
	uniq := items[:0]
	noted := ""
	for _, it := range items {
		if len(uniq) > 0 && it.ev.ID == uniq[len(uniq)-1].ev.ID {
			kept := uniq[len(uniq)-1].ev
			if !sameEvent(it.ev, kept) && noted != it.ev.ID {
				noted = it.ev.ID
				e.notes = append(e.notes, fmt.Sprintf("event %s was recorded with differing content; used the copy with topic %s created %s",
					it.ev.ID, kept.Topic, stamp(kept.Created)))
			}
			continue
		}
		uniq = append(uniq, it)
	}

	// The instance key: the key most of its events share (ties to the
	// smallest), so one stray event cannot hijack the instance.
	e.st.Key = chooseKey(uniq)
	for _, it := range uniq {
		switch {
		case !it.has:
			e.unexpected(it, "topic is not part of this journey")
		case !it.ok:
			e.unexpected(it, "has no "+keyName(e.def.Correlation)+" this journey can key on")
		case it.key != e.st.Key:
			e.unexpected(it, "belongs to instance "+it.key)
		default:
			e.mine = append(e.mine, it)
		}
	}
	slices.SortFunc(e.mine, compareItems)
}

// summarise records what the events say regardless of the path: times,
// customers, whether any may open the journey, exclusion.
func (e *evaluation) summarise() {
	st := &e.st
	st.EventCount = len(e.mine)
	st.StartedAt = e.mine[0].ev.Created
	st.LastEventAt = e.mine[len(e.mine)-1].ev.Created
	customers := map[string]bool{}
	for _, it := range e.mine {
		if it.ev.CustomerID != "" && !customers[it.ev.CustomerID] {
			customers[it.ev.CustomerID] = true
			st.CustomerIDs = append(st.CustomerIDs, it.ev.CustomerID)
		}
		e.opened = e.opened || it.role.start
		if it.role.exclude && !st.Excluded {
			st.Excluded, st.ExcludedBy = true, it.ev.Topic
		}
	}
	slices.Sort(st.CustomerIDs)
}

// outcome finds how the journey ended. The first success or failure ends
// the path. A failure after a success undoes it unless the definition says
// success is final; a success after a failure never undoes the failure.
func (e *evaluation) outcome() {
	noted := map[string]bool{}
	for i := range e.mine {
		it := &e.mine[i]
		switch {
		case !it.role.success && !it.role.failure:
			continue
		case e.end == nil:
			e.end, e.endIdx = it, i
			if it.role.success {
				e.success = it
			}
		case e.end.role.success && it.role.failure:
			if noted[it.ev.Topic] {
				continue
			}
			noted[it.ev.Topic] = true
			after := Duration(it.ev.Created.Sub(e.success.ev.Created))
			if e.def.SuccessIsFinal {
				e.outcomeNotes = append(e.outcomeNotes, fmt.Sprintf("%s %s after completion; the journey stays completed", it.ev.Topic, after))
				continue
			}
			e.end = it
			e.st.FailedAfterSuccess = true
			e.outcomeNotes = append(e.outcomeNotes, fmt.Sprintf("failed after completing: %s %s after completion%s",
				it.ev.Topic, after, lateHint(it.ev.Topic)))
		case e.end.role.failure && it.role.success:
			e.unexpected(*it, "success after the journey had failed ("+e.end.ev.Topic+"); it stays failed")
		case e.end.role.failure && it.role.failure && it.ev.Topic != e.end.ev.Topic && !noted[it.ev.Topic]:
			noted[it.ev.Topic] = true
			e.outcomeNotes = append(e.outcomeNotes, fmt.Sprintf("then %s %s later", it.ev.Topic,
				Duration(it.ev.Created.Sub(e.end.ev.Created))))
		}
	}
}

// path walks the step events in created order up to the end of the path.
func (e *evaluation) path() {
	for i := range e.mine {
		it := &e.mine[i]
		si := it.role.step
		if si < 0 {
			continue
		}
		s := &e.st.Steps[si]
		if e.endIdx >= 0 && i > e.endIdx {
			// Outcome events past the end were judged by outcome.
			if !s.Reached && !it.role.success {
				e.unexpected(*it, "arrived after the journey ended ("+e.mine[e.endIdx].ev.Topic+")")
			}
			continue
		}
		repeatable := e.def.Steps[si].Repeatable
		switch {
		case !s.Reached && (si > e.cur || repeatable):
			e.enter(si, it, true)
		case !s.Reached:
			e.unexpected(*it, fmt.Sprintf("out of lifecycle order: step %q came after step %q", s.Key, e.def.Steps[e.cur].Key))
		case si == e.cur:
			// The same milestone again: a sender/receiver twin or a
			// repeated status. It carries no new information.
		case si > e.cur || repeatable:
			e.enter(si, it, false)
		default:
			// An earlier, non-repeatable milestone reported again after
			// the path moved on: also no new information.
		}
	}
	if e.cur >= 0 {
		e.st.CurrentStep, e.st.CurrentStepName = e.def.Steps[e.cur].Key, e.def.Steps[e.cur].Name
		e.st.FurthestStep = e.def.Steps[e.furthest].Key
	}
	e.st.LastProgressAt = e.lastProgress

	// Required steps skipped on the way to the furthest step.
	for i := 0; i < e.furthest; i++ {
		s := &e.st.Steps[i]
		if !s.Reached && !e.def.Steps[i].Optional {
			s.Missed = true
		}
	}
}

// enter moves the path to step i with it; first marks the step's first
// visit, which is when its timeline entry is filled in.
func (e *evaluation) enter(i int, it *item, first bool) {
	s := &e.st.Steps[i]
	at := it.ev.Created
	if first {
		s.Reached, s.ReachedAt, s.EventID, s.Topic = true, at, it.ev.ID, it.ev.Topic
		s.SinceStart = Duration(at.Sub(e.st.StartedAt))
		if e.cur >= 0 {
			s.SincePrevious = Duration(at.Sub(e.lastProgress))
		}
		s.WithinLimit = s.Limit <= 0 || e.cur < 0 || s.SincePrevious <= s.Limit
	}
	s.Visits++
	s.LastVisitAt = at
	e.cur = i
	e.furthest = max(e.furthest, i)
	e.lastProgress = at
}

// describe adds the notes about the path and its end.
func (e *evaluation) describe() {
	for _, s := range e.st.Steps {
		if s.Missed {
			e.notes = append(e.notes, fmt.Sprintf("never saw step %q (its event is missing or not yet delivered)", s.Key))
		}
	}
	for _, s := range e.st.Steps {
		if s.Visits > 1 {
			e.notes = append(e.notes, fmt.Sprintf("step %q entered %d times (loop)", s.Key, s.Visits))
		}
	}
	e.notes = append(e.notes, e.outcomeNotes...)
	if !e.opened {
		e.notes = append(e.notes, "no event here may open this journey, so the router would not have opened it")
	}
	if e.st.Excluded {
		e.notes = append(e.notes, "belongs to another journey: saw "+e.st.ExcludedBy)
	}
}

// progress is the share of the path taken that is done: steps on it so far
// (reached, or required and evidently passed) over those plus the required
// steps still ahead. Optional steps count once taken, so taking one never
// lowers the figure, and loops do not either, since it is measured at the
// furthest step.
func (e *evaluation) progress() {
	done, ahead := 0, 0
	for i, s := range e.st.Steps {
		switch {
		case i <= e.furthest && (s.Reached || s.Missed):
			done++
		case i > e.furthest && !e.def.Steps[i].Optional:
			ahead++
		}
	}
	if done > 0 {
		e.st.Progress = math.Round(1000*float64(done)/float64(done+ahead)) / 10
	}
}

// status sets the status and the times that go with it.
func (e *evaluation) status(now time.Time) {
	st := &e.st
	if e.end == nil {
		st.Progress = min(st.Progress, 99)
		e.openStatus(now)
		return
	}
	st.EndedAt, st.EndEventID, st.EndTopic = e.end.ev.Created, e.end.ev.ID, e.end.ev.Topic
	st.Duration = Duration(e.end.ev.Created.Sub(st.StartedAt))
	if e.end.role.success {
		st.Status, st.Progress = StatusCompleted, 100
	} else {
		st.Status = StatusFailed
	}
	st.Outcome = OutcomeOf(st.EndTopic, e.end.role.success, st.FailedAfterSuccess)
	st.StartUnseen = len(st.Steps) > 0 && !st.Steps[0].Reached
}

// DurationKnown reports whether the journey ended and its start was seen,
// so Duration is its true length. (A journey that began and ended with one
// event took 0 s, which is a known duration.)
func (s State) DurationKnown() bool { return s.Status.Ended() && !s.StartUnseen }

func (e *evaluation) unexpected(it item, reason string) {
	e.st.Unexpected = append(e.st.Unexpected, UnexpectedEvent{EventID: it.ev.ID, Topic: it.ev.Topic, At: it.ev.Created, Reason: reason})
}

// finishUnexpected orders the unexpected events by time and says how many
// there are.
func (e *evaluation) finishUnexpected() {
	st := &e.st
	slices.SortFunc(st.Unexpected, func(a, b UnexpectedEvent) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.EventID, b.EventID)
	})
	if n := len(st.Unexpected); n > 0 {
		st.Notes = append(st.Notes, fmt.Sprintf("%d event(s) did not fit the path (see unexpected)", n))
	}
}

// openStatus decides active, stuck or abandoned for an unfinished instance.
func (e *evaluation) openStatus(now time.Time) {
	st, def := &e.st, e.def
	if def.AbandonAfter > 0 {
		st.AbandonAt = st.LastEventAt.Add(time.Duration(def.AbandonAfter))
	}
	since := st.LastProgressAt
	if since.IsZero() {
		since = st.StartedAt
	}
	if limit := nextLimit(def, e.cur); limit > 0 {
		st.StuckAt = since.Add(limit)
	}
	switch {
	case !st.AbandonAt.IsZero() && now.After(st.AbandonAt):
		st.Status = StatusAbandoned
		e.notes = append(e.notes, fmt.Sprintf("abandoned: no event for %s (horizon %s)",
			Duration(now.Sub(st.LastEventAt).Truncate(time.Second)), def.AbandonAfter))
	case !st.StuckAt.IsZero() && now.After(st.StuckAt):
		st.Status = StatusStuck
		where := "the start"
		if st.CurrentStep != "" {
			where = fmt.Sprintf("step %q", st.CurrentStep)
		}
		e.notes = append(e.notes, fmt.Sprintf("stuck: no progress for %s since %s; the next step was due within %s",
			Duration(now.Sub(since).Truncate(time.Second)), where, Duration(st.StuckAt.Sub(since))))
		st.NextCheckAt = st.AbandonAt
	default:
		st.Status = StatusActive
		for _, t := range []time.Time{st.StuckAt, st.AbandonAt} {
			if !t.IsZero() && !t.Before(now) && (st.NextCheckAt.IsZero() || t.Before(st.NextCheckAt)) {
				st.NextCheckAt = t
			}
		}
	}
}

// nextLimit is how long the instance may wait at step cur before it is
// stuck: the most generous limit among the steps it could reach next (every
// step ahead up to and including the next required one, and, inside a loop,
// the repeatable steps it could loop back to). Taking the most generous
// means an instance is stuck only when every way forward is overdue.
func nextLimit(def *Definition, cur int) time.Duration {
	var limit Duration
	for j := cur + 1; j < len(def.Steps); j++ {
		limit = max(limit, def.Steps[j].Within)
		if !def.Steps[j].Optional {
			break
		}
	}
	for j := cur; j >= 0 && def.Steps[j].Repeatable; j-- {
		limit = max(limit, def.Steps[j].Within)
	}
	return time.Duration(limit)
}

func chooseKey(items []item) string {
	counts := map[string]int{}
	for _, it := range items {
		if it.has && it.ok {
			counts[it.key]++
		}
	}
	best, n := "", 0
	for k, c := range counts {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best
}

func keyName(c Correlation) string {
	if c.By == ByCustomer {
		return "customer id"
	}
	if len(c.ResourceTypes) > 0 {
		return "resource id of type " + strings.Join(c.ResourceTypes, "/")
	}
	return "resource id"
}

// lateHint explains a failure after success in Dwolla's terms.
func lateHint(topic string) string {
	t, _ := dwolla.LookupTopic(topic)
	switch t.Family {
	case "transfer", "bank_transfer":
		if strings.HasSuffix(topic, "_failed") {
			return " (a late ACH return)"
		}
	case "customer_verification":
		return " (the customer's status changed after verification)"
	}
	return ""
}

// sameEvent compares two copies of an event; times by instant, since a
// location or monotonic reading is not content.
func sameEvent(a, b Event) bool {
	return a.ID == b.ID && a.Topic == b.Topic && a.Created.Equal(b.Created) && a.ResourceID == b.ResourceID &&
		a.ResourceType == b.ResourceType && a.CustomerID == b.CustomerID
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
