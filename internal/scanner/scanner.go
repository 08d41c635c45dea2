// Package scanner runs anomaly detection: every minute it builds the
// detectors' input from the metric rollups (volumes per topic family,
// business outcomes, deliveries, duplicates, signature failures,
// processing errors, delivery lag) and the stuck journeys, runs
// anomaly.Detector, steps anomaly.Lifecycle over the anomalies stored,
// persists what changed — one open anomaly per key, open → acknowledged →
// resolved, automatic resolution once quiet — and publishes the changes
// live. People acknowledge and resolve anomalies through it too.
//
// The detectors are pure (internal/anomaly); this package is their
// runtime. It keeps the series of the detectors' four-week look-back in
// memory and re-reads only the last few hours each minute, so a scan costs
// a few thousand rows. It must run on one instance at a time (the
// scheduler's leader); two scanners would not corrupt anything — writes are
// serialised and keep one open anomaly per key — but would count minutes
// twice.
package scanner

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Options tune a Scanner.
type Options struct {
	// Config parameterises the detectors (default anomaly.DefaultConfig).
	Config *anomaly.Config
	// Lifecycle sets the automatic transitions (zero fields: defaults —
	// resolve after 15 quiet minutes, escalate after two hours).
	Lifecycle anomaly.LifecycleConfig
	// Location is the business's time zone, which shapes daily and weekly
	// seasonality (default UTC).
	Location *time.Location
	// Settle is how long after a minute ends it is first evaluated, so its
	// deliveries have reached the rollups (default 60 s: the delivery
	// aggregator's 30 s margin and its run interval).
	Settle time.Duration
	// Refresh is how far back each scan re-reads the rollups, catching
	// events processed late (default 2 h).
	Refresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Registerer receives the scanner's metrics (pass the app's registry).
	Registerer prometheus.Registerer
}

// Scanner is the anomaly runtime. It is safe for concurrent use; scans
// run one at a time.
type Scanner struct {
	db   *store.DB
	hub  *live.Hub
	log  *slog.Logger
	det  *anomaly.Detector
	life anomaly.Lifecycle
	opts Options
	m    *scanMetrics

	mu       sync.Mutex // one scan at a time; guards the fields below
	ser      *series
	lookback int // minutes
	lastEnd  time.Time
	minutes  map[int64]int // minutes with a finding, per anomaly id
}

// New returns a Scanner.
func New(db *store.DB, hub *live.Hub, log *slog.Logger, opts Options) (*Scanner, error) {
	cfg := anomaly.DefaultConfig()
	if opts.Config != nil {
		cfg = *opts.Config
	}
	det, err := anomaly.New(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Settle <= 0 {
		opts.Settle = time.Minute
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 2 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newScanMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Scanner{
		db: db, hub: hub, log: log, det: det, life: anomaly.NewLifecycle(opts.Lifecycle), opts: opts, m: m,
		lookback: int(det.Config().Lookback() / time.Minute), minutes: map[int64]int{},
	}, nil
}

// Result is what one scan found and changed.
type Result struct {
	// Minute is the minute evaluated (Input.End).
	Minute time.Time
	// Findings are the detectors' verdicts, info included.
	Findings []anomaly.Finding
	// Opened, Escalated and Resolved list the ids of anomalies that changed;
	// Active counts the anomalies open or acknowledged afterwards.
	Opened, Escalated, Resolved []int
	Active                      int
	// Skipped is true when the minute was already evaluated.
	Skipped bool
}

// Scan evaluates the latest settled minute: the one that ended at least
// Settle ago.
func (sc *Scanner) Scan(ctx context.Context) (Result, error) {
	now := sc.opts.Now().UTC()
	end := now.Add(-sc.opts.Settle).Truncate(time.Minute).Add(-time.Minute)
	return sc.ScanMinute(ctx, end)
}

// ScanMinute evaluates minute end (the start of the last minute of the
// series). Minutes are expected in increasing order; a minute already
// evaluated is skipped.
func (sc *Scanner) ScanMinute(ctx context.Context, end time.Time) (res Result, err error) {
	start := time.Now()
	defer func() { sc.m.observe(start, err) }()
	end = end.UTC().Truncate(time.Minute)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	res.Minute = end
	if !end.After(sc.lastEnd) {
		res.Skipped = true
		return res, nil
	}
	if err := sc.refresh(ctx, end); err != nil {
		return res, err
	}
	stuck, err := sc.stuckGauge(ctx, end)
	if err != nil {
		return res, err
	}
	history, err := sc.historyStart(ctx, end)
	if err != nil {
		return res, err
	}
	in := sc.ser.input(stuck, history, sc.opts.Location)
	res.Findings = sc.det.Detect(in)
	if err := sc.apply(ctx, end, res.Findings, &res); err != nil {
		return res, err
	}
	sc.lastEnd = end
	return res, nil
}

// Input returns what the detectors would see for minute end, without
// detecting or persisting anything: for diagnostics and tests. It shares
// the scan's cache, so call it with the minutes a scan would use.
func (sc *Scanner) Input(ctx context.Context, end time.Time) (*anomaly.Input, error) {
	end = end.UTC().Truncate(time.Minute)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if err := sc.refresh(ctx, end); err != nil {
		return nil, err
	}
	stuck, err := sc.stuckGauge(ctx, end)
	if err != nil {
		return nil, err
	}
	history, err := sc.historyStart(ctx, end)
	if err != nil {
		return nil, err
	}
	return sc.ser.input(stuck, history, sc.opts.Location), nil
}

// refresh brings the series window to end: a full load the first time (or
// after a long pause), else a roll forward and a re-read of the last
// Refresh.
func (sc *Scanner) refresh(ctx context.Context, end time.Time) error {
	s := sc.ser
	if s == nil || !s.valid || end.Before(s.end) || int(end.Sub(s.end)/time.Minute) >= sc.lookback {
		s = newSeries(sc.lookback)
		s.end = end
		sc.ser = s
		first := end.Add(-time.Duration(sc.lookback-1) * time.Minute)
		sc.log.Info("loading the anomaly detectors' history", "minutes", sc.lookback, "from", first)
		if err := s.load(ctx, sc.db, first); err != nil {
			sc.ser = nil
			return err
		}
		s.valid = true
		return nil
	}
	prev := s.end
	s.advance(end)
	from := end.Add(-sc.opts.Refresh + time.Minute)
	if next := prev.Add(time.Minute); next.Before(from) {
		from = next
	}
	s.clearFrom(from)
	if err := s.load(ctx, sc.db, from); err != nil {
		s.valid = false
		return err
	}
	return nil
}

// stuckGauge is the number of journeys stuck at the end of each minute of
// the window, reconstructed from the journeys stuck now and when they
// became stuck. Journeys that were stuck and moved on are no longer
// known, so the gauge's past undercounts; its recent rise — what the
// detector tests — is exact.
func (sc *Scanner) stuckGauge(ctx context.Context, end time.Time) ([]float64, error) {
	rows, err := sc.db.Read.QueryContext(ctx, "SELECT stuck_since FROM journey_instances WHERE status = 'stuck' AND stuck_since IS NOT NULL")
	if err != nil {
		return nil, fmt.Errorf("reading stuck journeys: %w", err)
	}
	defer rows.Close()
	n := sc.lookback
	g := make([]float64, n)
	first := end.Add(-time.Duration(n-1) * time.Minute)
	base := 0.0
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading stuck journeys: %w", err)
		}
		t, err := store.ScanTime(v)
		if err != nil {
			return nil, err
		}
		m := t.Truncate(time.Minute)
		switch {
		case m.Before(first):
			base++
		case !m.After(end):
			g[int(m.Sub(first)/time.Minute)]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading stuck journeys: %w", err)
	}
	acc := base
	for i := range g {
		acc += g[i]
		g[i] = acc
	}
	return g, nil
}

// historyStart is the first minute with rollups: a system that has
// collected for two days gets the short-history baselines, not a baseline
// of zeros.
func (sc *Scanner) historyStart(ctx context.Context, end time.Time) (time.Time, error) {
	var v any
	if err := sc.db.Read.QueryRowContext(ctx, "SELECT MIN(bucket) FROM metric_rollups WHERE granularity = 'minute'").Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("reading the first rollup: %w", err)
	}
	t, err := store.ScanTime(v)
	if err != nil {
		return time.Time{}, err
	}
	if t.IsZero() {
		return end, nil
	}
	return t, nil
}

// Acknowledge marks an open anomaly as seen by by; it stays acknowledged
// until it resolves. Acknowledging an acknowledged anomaly changes nothing.
func (sc *Scanner) Acknowledge(ctx context.Context, id int, by string) (*ent.Anomaly, error) {
	now := sc.opts.Now().UTC()
	res, err := sc.db.Write.ExecContext(ctx, sc.db.Rebind(`UPDATE anomalies SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?
		WHERE id = ? AND status = 'open'`), now, by, id)
	if err != nil {
		return nil, fmt.Errorf("acknowledging anomaly %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		status, err := sc.status(ctx, id)
		if err != nil {
			return nil, err
		}
		if status == "resolved" {
			return nil, usererr.New(usererr.Conflict, "anomaly %d is already resolved", id)
		}
		return sc.get(ctx, id)
	}
	sc.m.changes.WithLabelValues("acknowledged").Inc()
	a, err := sc.get(ctx, id)
	if err == nil {
		sc.publish(ctx, []int{id}, []string{a.Key})
	}
	return a, err
}

// Resolve closes an open or acknowledged anomaly by hand, with a note. If
// its signal persists, the next scan opens a new anomaly for the key;
// acknowledge instead to keep one episode.
func (sc *Scanner) Resolve(ctx context.Context, id int, by, note string) (*ent.Anomaly, error) {
	now := sc.opts.Now().UTC()
	res, err := sc.db.Write.ExecContext(ctx, sc.db.Rebind(`UPDATE anomalies SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution_note = ?
		WHERE id = ? AND status IN ('open', 'acknowledged')`), now, by, note, id)
	if err != nil {
		return nil, fmt.Errorf("resolving anomaly %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := sc.status(ctx, id); err != nil {
			return nil, err
		}
		return nil, usererr.New(usererr.Conflict, "anomaly %d is already resolved", id)
	}
	sc.m.changes.WithLabelValues("resolved_manually").Inc()
	a, err := sc.get(ctx, id)
	if err == nil {
		sc.publish(ctx, []int{id}, []string{a.Key})
	}
	return a, err
}

// get reads an anomaly through ent (the writer on SQLite sees the change
// just made).
func (sc *Scanner) get(ctx context.Context, id int) (*ent.Anomaly, error) {
	a, err := sc.db.Client.Anomaly.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading anomaly %d: %w", id, err)
	}
	return a, nil
}

func (sc *Scanner) status(ctx context.Context, id int) (string, error) {
	var status string
	err := sc.db.Write.QueryRowContext(ctx, sc.db.Rebind("SELECT status FROM anomalies WHERE id = ?"), id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", usererr.New(usererr.NotFound, "no anomaly %d", id)
	}
	if err != nil {
		return "", fmt.Errorf("reading anomaly %d: %w", id, err)
	}
	return status, nil
}

// publish tells subscribers which anomalies changed; keys carry their
// type:subject keys when known.
func (sc *Scanner) publish(ctx context.Context, ids []int, keys []string) {
	if sc.hub == nil || len(ids) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := sc.hub.Publish(pctx, live.Message{Kind: live.AnomalyChanged, IDs: ids, Keys: keys}); err != nil {
		sc.log.Warn("publishing anomaly changes", "err", err)
	}
}
