// Package live fans out what happens in hooklens (events received and
// processed, journeys updated, progress of long jobs) to GraphQL
// subscriptions. On PostgreSQL a bridge carries every message to the other
// instances with LISTEN/NOTIFY, so a subscriber sees work done anywhere.
//
// Messages are small: ids and keys, never payloads. Subscribers load what
// they show. Publishing never blocks on a slow subscriber; a full
// subscriber buffer drops the message and counts it.
package live

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Kind names what a message is about.
type Kind string

// Message kinds.
const (
	EventReceived  Kind = "event.received"
	EventProcessed Kind = "event.processed"
	JourneyUpdated Kind = "journey.updated"
	JourneyStuck   Kind = "journey.stuck"
	JobProgress    Kind = "job.progress"
	AnomalyChanged Kind = "anomaly.changed"
	AlertFired     Kind = "alert.fired"
	StatusChanged  Kind = "status.changed"
	// DefinitionsChanged tells every instance to reload journey definitions.
	DefinitionsChanged Kind = "definitions.changed"
	// SyncProgress carries a sync run's id when its counters change.
	SyncProgress Kind = "sync.progress"
	// ReconcileProgress carries a reconciliation run's id when it changes.
	ReconcileProgress Kind = "reconcile.progress"
)

// Message is what the hub carries. IDs are entity ids; Keys, when set, run
// parallel to IDs (an event's topic, a journey's definition) so subscribers
// can filter without loading anything.
type Message struct {
	Kind   Kind            `json:"k"`
	IDs    []int           `json:"i,omitempty"`
	Keys   []string        `json:"s,omitempty"`
	Data   json.RawMessage `json:"d,omitempty"`
	Origin string          `json:"o,omitempty"`
}

// Bridge carries messages between instances.
type Bridge interface {
	Send(ctx context.Context, m Message) error
}

// Hub is the in-process fan-out.
type Hub struct {
	instance string
	mu       sync.RWMutex
	subs     map[*Subscription]struct{}
	bridge   atomic.Pointer[bridgeBox]
	dropped  atomic.Int64
	// OnDrop, when set, is called for each message dropped on a full buffer.
	OnDrop func(Kind)
}

type bridgeBox struct{ b Bridge }

// NewHub returns a hub for the instance with the given id.
func NewHub(instance string) *Hub {
	return &Hub{instance: instance, subs: map[*Subscription]struct{}{}}
}

// Instance is this process' id, carried in messages it originates.
func (h *Hub) Instance() string { return h.instance }

// SetBridge connects the hub to other instances.
func (h *Hub) SetBridge(b Bridge) { h.bridge.Store(&bridgeBox{b}) }

// Subscription receives messages of the kinds it asked for.
type Subscription struct {
	C     <-chan Message
	c     chan Message
	kinds map[Kind]bool
}

// Subscribe registers a subscriber for kinds until ctx ends; then its
// channel is closed.
func (h *Hub) Subscribe(ctx context.Context, buffer int, kinds ...Kind) *Subscription {
	if buffer <= 0 {
		buffer = 256
	}
	c := make(chan Message, buffer)
	s := &Subscription{C: c, c: c, kinds: map[Kind]bool{}}
	for _, k := range kinds {
		s.kinds[k] = true
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, s)
		close(s.c)
		h.mu.Unlock()
	}()
	return s
}

// Subscribers counts current subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Dropped counts messages dropped on full subscriber buffers.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Publish delivers m to local subscribers and, through the bridge, to other
// instances. Bridge errors are returned but local delivery has happened.
func (h *Hub) Publish(ctx context.Context, m Message) error {
	m.Origin = h.instance
	h.Dispatch(m)
	if box := h.bridge.Load(); box != nil && box.b != nil {
		return box.b.Send(ctx, m)
	}
	return nil
}

// Dispatch delivers m to local subscribers only. Bridges call it for
// messages from other instances.
func (h *Hub) Dispatch(m Message) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if !s.kinds[m.Kind] {
			continue
		}
		select {
		case s.c <- m:
		default:
			h.dropped.Add(1)
			if h.OnDrop != nil {
				h.OnDrop(m.Kind)
			}
		}
	}
}
