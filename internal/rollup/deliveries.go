package rollup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/store"
)

// DeliveriesWatermarkKey is the hooklens_meta key holding the position of
// the last delivery counted: its received_at and id.
const DeliveriesWatermarkKey = "rollup.deliveries.watermark"

// DefaultDeliveryMargin is how old a delivery must be before it is counted.
// It must exceed the ingest commit timeout (HOOKLENS_INGEST_TIMEOUT, 5 s by
// default) with room to spare: see Aggregator.
const DefaultDeliveryMargin = 30 * time.Second

// Watermark is the position of the last delivery added to the rollups, in
// (received_at, id) order. The zero Watermark is before every delivery.
type Watermark struct {
	ReceivedAt time.Time
	ID         int64
}

// IsZero reports whether nothing was counted yet.
func (w Watermark) IsZero() bool { return w.ReceivedAt.IsZero() && w.ID == 0 }

func (w Watermark) String() string {
	if w.IsZero() {
		return ""
	}
	return w.ReceivedAt.UTC().Format(time.RFC3339Nano) + " " + strconv.FormatInt(w.ID, 10)
}

// ParseWatermark reads a Watermark written by String.
func ParseWatermark(s string) (Watermark, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Watermark{}, nil
	}
	ts, id, ok := strings.Cut(s, " ")
	if !ok {
		return Watermark{}, fmt.Errorf("malformed delivery watermark %q", s)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Watermark{}, fmt.Errorf("malformed delivery watermark %q: %w", s, err)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Watermark{}, fmt.Errorf("malformed delivery watermark %q: %w", s, err)
	}
	return Watermark{ReceivedAt: t.UTC(), ID: n}, nil
}

// AggregatorOptions tune an Aggregator.
type AggregatorOptions struct {
	// Margin is how old a delivery must be before it is counted (default
	// DefaultDeliveryMargin). Tests set a negative margin to count
	// everything at once.
	Margin time.Duration
	// BatchSize caps the deliveries counted in one transaction (default
	// 10,000).
	BatchSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnFlush, when set, is told how many deliveries each transaction
	// counted and the watermark it reached.
	OnFlush func(n int, w Watermark)
	// Registerer, when set, receives hooklens_rollup_deliveries_counted_total
	// and hooklens_rollup_delivery_watermark_timestamp_seconds.
	Registerer prometheus.Registerer
}

// Aggregator adds webhook deliveries — accepted, duplicate and rejected —
// to the rollups, exactly once. The receiver does not count them itself:
// rejections are recorded best effort and must not slow it down.
//
// Exactly once rests on a watermark, the (received_at, id) of the last
// delivery counted, stored in hooklens_meta and moved in the same
// transaction that adds the counts. A delivery's received_at and id are
// assigned before its transaction commits, and on PostgreSQL concurrent
// writers commit out of order: a delivery with a smaller (received_at, id)
// can become visible after a larger one. So only deliveries older than
// Margin are counted — longer than any ingest transaction may take — and a
// row can no longer appear behind the watermark. Concurrent aggregators (two
// instances) serialise on the watermark row (SELECT … FOR UPDATE), so a
// delivery is never counted twice.
//
// Accepted and duplicate deliveries count for their event's topic,
// rejections for topic "" (their body is not trusted).
type Aggregator struct {
	db        *store.DB
	log       *slog.Logger
	opts      AggregatorOptions
	counted   prometheus.Counter
	watermark prometheus.Gauge
}

// NewAggregator returns an aggregator over db.
func NewAggregator(db *store.DB, log *slog.Logger, opts AggregatorOptions) *Aggregator {
	if opts.Margin == 0 {
		opts.Margin = DefaultDeliveryMargin
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Aggregator{db: db, log: log, opts: opts,
		counted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hooklens", Name: "rollup_deliveries_counted_total",
			Help: "Webhook deliveries (accepted, duplicate, rejected) added to the rollups by the delivery aggregator.",
		}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "hooklens", Name: "rollup_delivery_watermark_timestamp_seconds",
			Help: "Receipt time of the last delivery counted in the rollups (Unix seconds); deliveries after it are not in the figures yet.",
		}),
	}
	if opts.Registerer != nil {
		var err error
		if a.counted, err = register(opts.Registerer, a.counted); err != nil {
			log.Warn("registering the delivery aggregator's metrics", "err", err)
		}
		if a.watermark, err = register(opts.Registerer, a.watermark); err != nil {
			log.Warn("registering the delivery aggregator's metrics", "err", err)
		}
	}
	return a
}

// Flush counts every delivery older than the margin, a batch per
// transaction, and returns how many it counted.
func (a *Aggregator) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := a.step(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n < a.opts.BatchSize {
			return total, nil
		}
	}
}

// Run flushes every interval until ctx ends. Errors are logged and retried
// at the next tick.
func (a *Aggregator) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := a.Flush(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("counting deliveries into the rollups failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Watermark returns the committed watermark.
func (a *Aggregator) Watermark(ctx context.Context) (Watermark, error) {
	return ReadWatermark(ctx, a.db)
}

// ReadWatermark returns the committed delivery watermark of db.
func ReadWatermark(ctx context.Context, db *store.DB) (Watermark, error) {
	v, err := db.Meta(ctx, DeliveriesWatermarkKey)
	if errors.Is(err, sql.ErrNoRows) {
		return Watermark{}, nil
	}
	if err != nil {
		return Watermark{}, fmt.Errorf("reading the delivery watermark: %w", err)
	}
	return ParseWatermark(v)
}

// lockWatermark reads the watermark inside tx, locking its row on
// PostgreSQL so that a second aggregator waits and then sees the new value.
func lockWatermark(ctx context.Context, db *store.DB, tx *sql.Tx) (Watermark, error) {
	if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO hooklens_meta (key, value, updated_at) VALUES (?, '', ?)
		ON CONFLICT (key) DO NOTHING`), DeliveriesWatermarkKey, time.Now().UTC()); err != nil {
		return Watermark{}, fmt.Errorf("creating the delivery watermark: %w", err)
	}
	q := "SELECT value FROM hooklens_meta WHERE key = ?"
	if db.Postgres() {
		q += " FOR UPDATE"
	}
	var v string
	if err := tx.QueryRowContext(ctx, db.Rebind(q), DeliveriesWatermarkKey).Scan(&v); err != nil {
		return Watermark{}, fmt.Errorf("locking the delivery watermark: %w", err)
	}
	return ParseWatermark(v)
}

func setWatermark(ctx context.Context, db *store.DB, tx *sql.Tx, w Watermark) error {
	_, err := tx.ExecContext(ctx, db.Rebind("UPDATE hooklens_meta SET value = ?, updated_at = ? WHERE key = ?"),
		w.String(), time.Now().UTC(), DeliveriesWatermarkKey)
	if err != nil {
		return fmt.Errorf("moving the delivery watermark: %w", err)
	}
	return nil
}

// step counts one batch in one transaction.
func (a *Aggregator) step(ctx context.Context) (int, error) {
	cutoff := a.opts.Now().UTC().Add(-a.opts.Margin)
	tx, err := a.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	w, err := lockWatermark(ctx, a.db, tx)
	if err != nil {
		return 0, err
	}
	// Only deliveries after the watermark and older than the margin: none
	// of those can still be uncommitted.
	where, args := "d.received_at < ?", []any{cutoff}
	if !w.IsZero() {
		where += " AND d.received_at >= ? AND (d.received_at > ? OR d.id > ?)"
		args = append(args, w.ReceivedAt, w.ReceivedAt, w.ID)
	}
	b := NewBatch()
	last, n, err := addDeliveries(ctx, a.db, tx, b, where, args, a.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if err := Apply(ctx, a.db, tx, b); err != nil {
		return 0, err
	}
	if err := setWatermark(ctx, a.db, tx, last); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing delivery counts: %w", err)
	}
	a.counted.Add(float64(n))
	a.watermark.Set(float64(last.ReceivedAt.UnixNano()) / 1e9)
	if a.opts.OnFlush != nil {
		a.opts.OnFlush(n, last)
	}
	return n, nil
}

// addDeliveries adds to b the deliveries matching where (over
// webhook_deliveries d) in (received_at, id) order, at most limit of them
// (0: no limit), read through q. It returns the position of the last one
// added.
func addDeliveries(ctx context.Context, db *store.DB, q querier, b *Batch, where string, args []any, limit int) (Watermark, int, error) {
	query := `SELECT d.id, d.received_at, d.outcome, COALESCE(e.topic, '')
		FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.webhook_event_id
		WHERE ` + where + ` ORDER BY d.received_at, d.id`
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := q.QueryContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return Watermark{}, 0, fmt.Errorf("reading deliveries: %w", err)
	}
	defer rows.Close()
	var last Watermark
	n := 0
	for rows.Next() {
		var id int64
		var at any
		var outcome, topic string
		if err := rows.Scan(&id, &at, &outcome, &topic); err != nil {
			return Watermark{}, 0, fmt.Errorf("reading deliveries: %w", err)
		}
		t, err := store.ScanTime(at)
		if err != nil {
			return Watermark{}, 0, err
		}
		CountDelivery(b, t, outcome, topic)
		last = Watermark{ReceivedAt: t, ID: id}
		n++
	}
	if err := rows.Err(); err != nil {
		return Watermark{}, 0, fmt.Errorf("reading deliveries: %w", err)
	}
	return last, n, nil
}

// CountDelivery adds one delivery with outcome, received at t, to b: an
// accepted or duplicate delivery under its event's topic, a rejection under
// topic "".
func CountDelivery(b *Batch, t time.Time, outcome, topic string) {
	switch outcome {
	case "accepted":
		b.At(t, topic).Deliveries++
	case "duplicate":
		d := b.At(t, topic)
		d.Deliveries++
		d.Duplicates++
	default:
		d := b.At(t, "")
		d.Rejected++
		if outcome == "bad_signature" {
			d.BadSignature++
		}
	}
}

// querier is a *sql.Tx or *sql.DB.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// register registers c, or returns the collector already registered under
// its name (several aggregators on one registry share it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
