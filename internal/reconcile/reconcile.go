// Package reconcile keeps hooklens complete and honest about it. Sync
// imports events hooklens lacks from Dwolla's Events API. Reconciliation
// compares hooklens with Dwolla (events Dwolla has that hooklens does not,
// webhooks that failed or were never sent, a paused subscription) and with
// itself (events stuck or dead-lettered, journeys that contradict their
// events), records findings, and scores the feed's health.
//
// It never duplicates an event — imports use the same exactly-once insert
// as the receiver — and never asks Dwolla to redeliver unless configured
// to.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
)

// ErrNotConfigured means the Dwolla API credentials are not set.
var ErrNotConfigured = errors.New("Dwolla API credentials are not configured: set DWOLLA_KEY and DWOLLA_SECRET")

// Sealer stores bodies (encrypted when keys are configured).
type Sealer func(body []byte) (encoding string, stored []byte, err error)

// Options configure a Service.
type Options struct {
	// Client talks to Dwolla; nil when no credentials are configured (then
	// only the local consistency checks run).
	Client *dwolla.Client
	// WebhookURL identifies our subscription among the account's.
	WebhookURL string
	// AutoRedeliver asks Dwolla to redeliver failed and never-sent webhooks.
	AutoRedeliver bool
	// Seal encodes imported bodies for storage (default: as they are).
	Seal Sealer
	// Wake tells the pipeline new events are queued.
	Wake func()
	// Now is the clock.
	Now func() time.Time
	// Grace is how old an event must be before its absence counts as
	// missing: a delivery may be in flight (default 5 minutes).
	Grace time.Duration
	// StuckAfter is how long an event may stay queued before it is a
	// finding (default 10 minutes).
	StuckAfter time.Duration
}

// Service runs syncs and reconciliations.
type Service struct {
	db      *store.DB
	hub     *live.Hub
	tracker *tracker.Tracker
	log     *slog.Logger
	opts    Options

	syncRuns      *prometheus.CounterVec
	reconcileRuns *prometheus.CounterVec
	imported      *prometheus.CounterVec
	stored        *prometheus.CounterVec
}

// New returns a Service. m may be nil in tests.
func New(db *store.DB, hub *live.Hub, tr *tracker.Tracker, m *metrics.Metrics, log *slog.Logger, opts Options) *Service {
	if opts.Seal == nil {
		opts.Seal = func(b []byte) (string, []byte, error) { return "identity", b, nil }
	}
	if opts.Wake == nil {
		opts.Wake = func() {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Minute
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = 10 * time.Minute
	}
	s := &Service{db: db, hub: hub, tracker: tr, log: log, opts: opts}
	s.syncRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "sync_runs_total",
		Help: "Imports from Dwolla's Events API, by result (succeeded, failed, cancelled, interrupted).",
	}, []string{"result"})
	s.reconcileRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "reconciliation_runs_total",
		Help: "Reconciliation runs, by result.",
	}, []string{"result"})
	s.imported = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "events_imported_total",
		Help: "Events imported from Dwolla's Events API that no webhook had brought, by source (sync, reconcile).",
	}, []string{"source"})
	if m != nil {
		m.Registry.MustRegister(s.syncRuns, s.reconcileRuns, s.imported, newHealthCollector(s))
		s.stored = m.EventsStored
	}
	return s
}

// Configured reports whether Dwolla's API can be used.
func (s *Service) Configured() bool { return s.opts.Client != nil }

// Client returns the Dwolla client (nil when not configured).
func (s *Service) Client() *dwolla.Client { return s.opts.Client }

// Progress is what long runs report.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

// NopProgress discards progress.
type NopProgress struct{}

// SetTotal implements Progress.
func (NopProgress) SetTotal(int) {}

// Add implements Progress.
func (NopProgress) Add(int, int) {}

// Stage implements Progress.
func (NopProgress) Stage(string) {}

func (s *Service) publish(ctx context.Context, kind live.Kind, id int) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.hub.Publish(pctx, live.Message{Kind: kind, IDs: []int{id}}); err != nil {
		s.log.Warn("publishing progress", "err", err)
	}
}

// importEvents stores the events hooklens lacks (source sync or reconcile)
// and returns how many were new and which ids they got.
func (s *Service) importEvents(ctx context.Context, source string, evs []dwolla.APIEvent) (imported []store.StoredEvent, present int, err error) {
	if len(evs) == 0 {
		return nil, 0, nil
	}
	rows := make([]store.NewEvent, 0, len(evs))
	topics := map[string]string{}
	seen := map[string]bool{}
	for _, ae := range evs {
		ev := ae.Event
		if ev == nil || seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		enc, body, err := s.opts.Seal(ae.Raw)
		if err != nil {
			return nil, 0, fmt.Errorf("sealing body: %w", err)
		}
		rows = append(rows, store.NewEvent{
			EventID: ev.ID, Topic: ev.Topic, TopicKnown: dwolla.KnownTopic(ev.Topic),
			ResourceType: ev.ResourceType, ResourceID: ev.ResourceID, CustomerID: ev.CustomerID,
			AccountID: ev.AccountID, CorrelationID: ev.CorrelationID, CreatedAt: ev.Created,
			Source: source, Body: body, BodyEncoding: enc, BodySHA256: sha256Hex(ae.Raw), BodySize: len(ae.Raw),
		})
		topics[ev.ID] = ev.Topic
	}
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("beginning import: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stored, err := s.db.InsertEvents(ctx, tx, s.opts.Now(), rows)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("committing import: %w", err)
	}
	msg := live.Message{Kind: live.EventReceived}
	for _, st := range stored {
		if st.New {
			imported = append(imported, st)
			msg.IDs = append(msg.IDs, st.ID)
			msg.Keys = append(msg.Keys, topics[st.EventID])
		} else {
			present++
		}
	}
	if len(imported) > 0 {
		s.imported.WithLabelValues(source).Add(float64(len(imported)))
		if s.stored != nil {
			s.stored.WithLabelValues(source).Add(float64(len(imported)))
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := s.hub.Publish(pctx, msg); err != nil {
			s.log.Warn("publishing imported events", "err", err)
		}
		cancel()
		s.opts.Wake()
	}
	return imported, present, nil
}
