package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/predicate"
	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/store"
)

// queueLoader caches, for one GraphQL operation, the processing state of
// the events it returns. A page of events primes it with one query (see
// primeQueue), so the processing fields of fifty rows cost one statement,
// not fifty.
type queueLoader struct {
	mu      sync.Mutex
	entries map[int]store.QueueEntry
}

type queueLoaderKey struct{}

// withQueueLoader gives each operation its own loader.
func withQueueLoader(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, queueLoaderKey{}, &queueLoader{entries: map[int]store.QueueEntry{}}))
}

// primeQueue loads the processing state of events in one query.
func primeQueue(ctx context.Context, db *store.DB, events []*ent.WebhookEvent) error {
	l, _ := ctx.Value(queueLoaderKey{}).(*queueLoader)
	if l == nil || len(events) == 0 {
		return nil
	}
	ids := make([]int, 0, len(events))
	l.mu.Lock()
	for _, ev := range events {
		if _, ok := l.entries[ev.ID]; !ok {
			ids = append(ids, ev.ID)
		}
	}
	l.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	got, err := db.QueueEntries(ctx, ids)
	if err != nil {
		return err
	}
	l.mu.Lock()
	for id, e := range got {
		l.entries[id] = e
	}
	l.mu.Unlock()
	return nil
}

// queueEntry is the processing state of ev, from the operation's loader
// when it has it.
func queueEntry(ctx context.Context, db *store.DB, ev *ent.WebhookEvent) (store.QueueEntry, error) {
	l, _ := ctx.Value(queueLoaderKey{}).(*queueLoader)
	if l != nil {
		l.mu.Lock()
		e, ok := l.entries[ev.ID]
		l.mu.Unlock()
		if ok {
			return e, nil
		}
	}
	got, err := db.QueueEntries(ctx, []int{ev.ID})
	if err != nil {
		return store.QueueEntry{}, err
	}
	e := got[ev.ID]
	if e.DueAt.IsZero() {
		e.DueAt = ev.ReceivedAt
	}
	if l != nil {
		l.mu.Lock()
		l.entries[ev.ID] = e
		l.mu.Unlock()
	}
	return e, nil
}

// statePredicate filters events on their processing state.
func statePredicate(states ...model.WebhookEventProcessingState) predicate.WebhookEvent {
	ss := make([]string, len(states))
	for i, s := range states {
		ss[i] = string(s)
	}
	return predicate.WebhookEvent(store.EventsInState(ss...))
}
