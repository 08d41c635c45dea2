package graph

import (
	"context"
	"strconv"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/job"
	"github.com/hooklens/hooklens/ent/webhookevent"
	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Page sizes. A connection asked for without first or last gets
// defaultPage items; nobody gets more than maxPage at once.
const (
	defaultPage = 50
	maxPage     = 1000
)

// pageSize applies the page-size rules to a connection's first/last.
func pageSize(first, last *int) (*int, *int, error) {
	for _, n := range []*int{first, last} {
		if n != nil && (*n < 0 || *n > maxPage) {
			return nil, nil, usererr.New(usererr.Invalid, "first and last must be between 0 and %d", maxPage)
		}
	}
	if first == nil && last == nil {
		n := defaultPage
		first = &n
	}
	return first, last, nil
}

func topicModel(t dwolla.Topic, known bool) *model.Topic {
	mt := &model.Topic{
		Name: t.Name, Resource: t.Resource, Family: t.Family, Description: t.Description,
		Terminal: t.Terminal, Known: known,
	}
	if t.Outcome != dwolla.OutcomeNone {
		o := string(t.Outcome)
		mt.Outcome = &o
	}
	return mt
}

// filterByKey returns the ids of m whose parallel key is wanted.
func filterByKey(m live.Message, want map[string]bool) []int {
	var ids []int
	for i, id := range m.IDs {
		if i < len(m.Keys) && want[m.Keys[i]] {
			ids = append(ids, id)
		}
	}
	return ids
}

func (r *Resolver) systemStatus(ctx context.Context) (*model.SystemStatus, error) {
	s, err := r.Pipeline.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := &model.SystemStatus{
		Breaker: s.Breaker, QueueDepth: s.QueueDepth, Processing: s.Processing, DeadLettered: s.DeadLettered,
		OldestQueuedAt: s.OldestQueued, OldestQueuedAgeSeconds: s.OldestAge.Seconds(),
		WorkersBusy: s.WorkersBusy, Workers: s.Workers,
		EventsInPerSecond: s.InPerSecond, EventsOutPerSecond: s.OutPerSecond,
		MeasuredAt: s.MeasuredAt, Instance: r.Instance, SchedulerLeader: r.Leader == nil || r.Leader(),
		LiveSubscribers: r.Hub.Subscribers(),
	}
	return out, nil
}

// streamEvents feeds a subscription with the events of kind (received or
// processed), filtered by topic, loading each batch once.
func (r *Resolver) streamEvents(ctx context.Context, kind live.Kind, topics []string) <-chan *ent.WebhookEvent {
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	sub := r.Hub.Subscribe(ctx, 256, kind)
	out := make(chan *ent.WebhookEvent, 64)
	go func() {
		defer close(out)
		for m := range sub.C {
			ids := m.IDs
			if len(want) > 0 {
				ids = filterByKey(m, want)
			}
			if len(ids) == 0 {
				continue
			}
			evs, err := r.Client.WebhookEvent.Query().
				Where(webhookevent.IDIn(ids...)).
				Order(ent.Asc(webhookevent.FieldID)).
				All(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.Log.Warn("loading events for a subscriber", "err", err)
				}
				continue
			}
			for _, ev := range evs {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func jobEnded(j *ent.Job) bool {
	return j.Status != job.StatusRunning && j.Status != job.StatusPending
}

func containsID(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func describeReplay(n int) string {
	if n == 1 {
		return "replay 1 event"
	}
	return "replay " + strconv.Itoa(n) + " events"
}
