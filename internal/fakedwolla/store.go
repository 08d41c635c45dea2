package fakedwolla

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// subscription is a webhook subscription and its webhooks.
type subscription struct {
	id      string
	url     string
	secret  string
	paused  bool
	created time.Time
	// consecutiveFailures and lastSuccess drive auto-pause.
	consecutiveFailures int
	lastSuccess         time.Time
	webhooks            []*webhook // in creation order
	deleted             bool
}

// webhook is one event's delivery record for one subscription.
type webhook struct {
	id      string
	sub     *subscription
	event   *Event
	created time.Time // real time, the base of the retry schedule
	// nextRetry indexes RetrySchedule: the next automatic retry.
	nextRetry int
	attempts  []dwolla.WebhookAttempt
	retries   []dwolla.WebhookRetry
	// dropFirst marks the first delivery as lost (Faults.DropFirst).
	dropFirst bool
}

// ErrUnknownTopic is returned by Emit for a topic outside Dwolla's catalogue.
var ErrUnknownTopic = errors.New("topic is not in Dwolla's catalogue")

// Emit creates an event now about the given links, stores it in the
// Events API and queues it for every subscription. links holds one
// Resource and, for a Customer's event, one Customer; a customer resource
// is its own customer link, as in Dwolla's customer_created.
func (f *Fake) Emit(topic string, links ...Ref) (*Event, error) {
	spec := EventSpec{ID: f.newID(), Topic: topic, Created: f.now()}
	for _, l := range links {
		switch l.Rel {
		case "customer":
			spec.CustomerID = l.ID
		case "resource", "":
			spec.Resource = l
		default:
			return nil, fmt.Errorf("emitting %s: link %q is not resource or customer", topic, l.Rel)
		}
	}
	if spec.CustomerID == "" && spec.Resource.Kind == "customers" {
		spec.CustomerID = spec.Resource.ID
	}
	if !dwolla.KnownTopic(topic) {
		return nil, fmt.Errorf("emitting %q: %w", topic, ErrUnknownTopic)
	}
	return f.EmitSpec(spec)
}

// EmitSpec creates the event spec describes (a zero ID or Created is
// filled in) and publishes it.
func (f *Fake) EmitSpec(spec EventSpec) (*Event, error) {
	if spec.ID == "" {
		spec.ID = f.newID()
	}
	if spec.Created.IsZero() {
		spec.Created = f.now()
	}
	body, err := EventBody(f.opts.BaseURL, f.opts.AccountID, spec)
	if err != nil {
		return nil, err
	}
	return f.Publish(body)
}

// ErrDuplicateEvent is returned by Publish for an event id already held.
var ErrDuplicateEvent = errors.New("an event with this id exists")

// Publish takes a complete event body (the simulator's, byte for byte),
// stores it in the Events API and queues one webhook per subscription.
func (f *Fake) Publish(body []byte) (*Event, error) {
	parsed, err := dwolla.ParseEvent(body)
	if err != nil {
		return nil, fmt.Errorf("publishing an event: %w", err)
	}
	ev := &Event{Event: *parsed, Body: append([]byte(nil), body...)}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errors.New("publishing an event: the fake is closed")
	}
	if _, ok := f.eventIdx[ev.ID]; ok {
		return nil, fmt.Errorf("publishing event %s: %w", ev.ID, ErrDuplicateEvent)
	}
	f.seq++
	ev.seq = f.seq
	f.insertEvent(ev)
	f.stats.Events++
	for _, s := range f.subs {
		f.newWebhook(s, ev, now)
	}
	return ev, nil
}

// insertEvent keeps f.events sorted by (Created, seq); events mostly
// arrive in order, so the search starts from the end.
func (f *Fake) insertEvent(ev *Event) {
	i := len(f.events)
	for i > 0 && eventBefore(ev, f.events[i-1]) {
		i--
	}
	f.events = append(f.events, nil)
	copy(f.events[i+1:], f.events[i:])
	f.events[i] = ev
	f.eventIdx[ev.ID] = ev
}

func eventBefore(a, b *Event) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.seq < b.seq
}

// newWebhook records ev for s and, unless s is paused, queues its first
// delivery (and maybe a duplicate). Called with mu held.
func (f *Fake) newWebhook(s *subscription, ev *Event, now time.Time) {
	w := &webhook{id: f.newID(), sub: s, event: ev, created: now}
	s.webhooks = append(s.webhooks, w)
	f.webhooks[w.id] = w
	f.stats.Webhooks++
	if s.paused {
		// Recorded with no attempts; Dwolla does not send these on unpause.
		return
	}
	w.dropFirst = f.faults.chance(f.opts.Faults.DropFirst)
	due := now
	if f.opts.ShuffleWindow > 0 {
		due = due.Add(f.faults.jitter(f.opts.ShuffleWindow))
	}
	f.enqueue(job{w: w, kind: jobFirst, due: due})
	if !w.dropFirst && f.faults.chance(f.opts.Faults.Duplicate) {
		f.enqueue(job{w: w, kind: jobDuplicate, due: due.Add(f.faults.jitter(4*f.opts.ShuffleWindow + time.Millisecond))})
	}
}

// subscriptionLimit is Dwolla's cap on subscriptions.
func (f *Fake) subscriptionLimit() int {
	if f.opts.Production {
		return 5
	}
	return 10
}

func (f *Fake) findSub(id string) *subscription {
	for _, s := range f.subs {
		if s.id == id {
			return s
		}
	}
	return nil
}

// visibleEvents lists the events within the 30-day window, newest first.
// Called with mu held.
func (f *Fake) visibleEvents(now time.Time) []*Event {
	cutoff := now.Add(-dwolla.EventRetention)
	out := make([]*Event, 0, len(f.events))
	for i := len(f.events) - 1; i >= 0; i-- {
		ev := f.events[i]
		if ev.Created.Before(cutoff) {
			break
		}
		out = append(out, ev)
	}
	return out
}

// filterWebhooks lists s's webhooks newest first, filtered as GET
// /webhook-subscriptions/{id}/webhooks filters them. Called with mu held.
func filterWebhooks(s *subscription, now time.Time, start, end time.Time, resourceID string) []*webhook {
	cutoff := now.Add(-dwolla.EventRetention)
	resourceID = strings.ToLower(resourceID)
	var out []*webhook
	for i := len(s.webhooks) - 1; i >= 0; i-- {
		w := s.webhooks[i]
		if w.created.Before(cutoff) {
			break
		}
		c := w.created.UTC()
		day := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
		if !start.IsZero() && day.Before(start) {
			continue
		}
		if !end.IsZero() && day.After(end) {
			continue
		}
		if resourceID != "" && w.event.ResourceID != resourceID {
			continue
		}
		out = append(out, w)
	}
	return out
}

// sortedWebhooks is a stable order for inspection results.
func sortedWebhooks(ws []*webhook) []*webhook {
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].created.Before(ws[j].created) })
	return ws
}
