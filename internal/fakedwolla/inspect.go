package fakedwolla

import (
	"context"
	"errors"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Stats count what the fake has done.
type Stats struct {
	Events         int // events published
	Webhooks       int // webhook records (events × subscriptions)
	Attempts       int // delivery attempts recorded
	Delivered      int // attempts answered < 300
	Failed         int // attempts that failed (dropped included)
	Dropped        int // first deliveries dropped on purpose
	Duplicates     int // duplicate deliveries made
	ManualRetries  int // POST /webhooks/{id}/retries accepted
	AutoPaused     int // subscriptions auto-paused
	InjectedErrors int // API answers replaced by an injected 429/500
	Queued         int // deliveries waiting, scheduled retries included
	InFlight       int // deliveries being made
}

// Stats returns the counters now.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Queued = len(f.queue)
	s.InFlight = f.inflight
	return s
}

// Events returns every published event, oldest first.
func (f *Fake) Events() []*Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Event(nil), f.events...)
}

// Event returns one published event.
func (f *Fake) Event(id string) (*Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev, ok := f.eventIdx[id]
	return ev, ok
}

// Subscriptions returns the subscriptions as the API shows them.
func (f *Fake) Subscriptions() []dwolla.WebhookSubscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]dwolla.WebhookSubscription, 0, len(f.subs))
	for _, s := range f.subs {
		out = append(out, f.subscriptionView(s))
	}
	return out
}

var (
	errInvalidSecret    = errors.New("a webhook secret must be 1 to 128 characters")
	errMaxSubscriptions = errors.New("max number of subscriptions reached")
)

// Subscribe creates a subscription directly (as POST
// /webhook-subscriptions would, limits included) and returns its id.
func (f *Fake) Subscribe(url, secret string) (string, error) {
	if secret == "" || len(secret) > dwolla.MaxSecretLength {
		return "", errInvalidSecret
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) >= f.subscriptionLimit() {
		return "", errMaxSubscriptions
	}
	s := &subscription{id: f.newID(), url: url, secret: secret, created: time.Now()}
	f.subs = append(f.subs, s)
	return s.id, nil
}

// Webhooks returns a subscription's webhooks, oldest first, as the API
// shows them.
func (f *Fake) Webhooks(subscriptionID string) []dwolla.Webhook {
	return f.webhooksWhere(subscriptionID, func(*webhook) bool { return true })
}

// Undelivered returns the webhooks of a subscription that no attempt has
// delivered yet: failed ones, dropped ones and never-sent ones.
func (f *Fake) Undelivered(subscriptionID string) []dwolla.Webhook {
	return f.webhooksWhere(subscriptionID, func(w *webhook) bool { return !f.webhookView(w).Delivered() })
}

// NeverSent returns the webhooks with no attempt: recorded while the
// subscription was paused (or, before WaitIdle, still queued).
func (f *Fake) NeverSent(subscriptionID string) []dwolla.Webhook {
	return f.webhooksWhere(subscriptionID, func(w *webhook) bool { return len(w.attempts) == 0 })
}

// Dropped returns the ids of webhooks whose first delivery was dropped by
// Faults.DropFirst (they may have been delivered since).
func (f *Fake) Dropped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dropped...)
}

// DroppedEvents returns the ids of the events whose first delivery to any
// subscription was dropped.
func (f *Fake) DroppedEvents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, id := range f.dropped {
		if w, ok := f.webhooks[id]; ok && !seen[w.event.ID] {
			seen[w.event.ID] = true
			out = append(out, w.event.ID)
		}
	}
	return out
}

func (f *Fake) webhooksWhere(subscriptionID string, keep func(*webhook) bool) []dwolla.Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.findSub(subscriptionID)
	if s == nil {
		return nil
	}
	var out []dwolla.Webhook
	for _, w := range sortedWebhooks(append([]*webhook(nil), s.webhooks...)) {
		if keep(w) {
			out = append(out, f.webhookView(w))
		}
	}
	return out
}

// Requests returns the API requests answered so far, in order.
func (f *Fake) Requests() []RequestRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RequestRecord(nil), f.requests...)
}

// Idle reports whether no delivery is in flight or due now; scheduled
// automatic retries do not count.
func (f *Fake) Idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending == 0 && f.inflight == 0
}

// WaitIdle waits until Idle, or ctx ends.
func (f *Fake) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !f.Idle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
