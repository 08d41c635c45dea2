package rollup

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/store"
)

// Progress is what a rebuild reports; *jobs.Progress implements it, and so
// does the CLI's progress bar.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// Since is the first day rebuilt (rounded down to a UTC day, so every
	// day row is recomputed whole). Zero means the day of the oldest event
	// or delivery. Once retention has deleted events, hours before the
	// oldest event left are never rebuilt (their rollups are all that
	// remains of them), whatever Since says.
	Since time.Time
	// Now is the clock (default time.Now); the rebuild ends with its hour.
	Now func() time.Time
	// Progress receives one unit per hour rebuilt; nil for none.
	Progress Progress
}

// RebuildResult says what a rebuild did.
type RebuildResult struct {
	From, To   time.Time
	Hours      int
	Events     int
	Deliveries int
	Duration   time.Duration
}

// Map renders the result for a job record.
func (r RebuildResult) Map() map[string]any {
	return map[string]any{
		"from": r.From.Format(time.RFC3339), "to": r.To.Format(time.RFC3339),
		"hours": r.Hours, "events": r.Events, "deliveries": r.Deliveries,
		"durationMs": r.Duration.Milliseconds(),
	}
}

type nopProgress struct{}

func (nopProgress) SetTotal(int) {}
func (nopProgress) Add(int, int) {}
func (nopProgress) Stage(string) {}

// Rebuild recomputes the rollups from Since to now from the raw events and
// deliveries. It is idempotent and safe while hooklens runs:
//
//   - Each hour is rebuilt in one transaction: its minute and hour rows are
//     deleted and recomputed from the events received in that hour and the
//     deliveries up to the delivery watermark (the aggregator counts the
//     rest later). On PostgreSQL the transaction first takes a SHARE ROW
//     EXCLUSIVE lock on metric_rollups, which waits for the pipeline
//     transactions that already counted events and holds back new ones
//     until the hour commits: an event is counted either by the rebuild
//     (its rolled_up flag was committed) or by the pipeline afterwards,
//     never by both. On SQLite the single writer serialises the same way.
//   - Once a day's hours are done, its day rows are replaced by the sum of
//     its hour rows, in one transaction under the same lock.
//
// While a day is being rebuilt its day rows are briefly inexact. Figures
// that the events table does not keep are approximated: an event's
// processing latency uses its latest processed_at (a replay moves it), and
// retries and dead letters are inferred from the current attempts and
// state (a replay resets them).
func Rebuild(ctx context.Context, db *store.DB, opts RebuildOptions) (RebuildResult, error) {
	start := time.Now()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	prog := opts.Progress
	if prog == nil {
		prog = nopProgress{}
	}
	oldest, err := oldestData(ctx, db)
	if err != nil {
		return RebuildResult{}, err
	}
	since := opts.Since
	if since.IsZero() {
		since = oldest
		if since.IsZero() {
			since = opts.Now()
		}
	}
	from := Truncate(since, "day")
	// Retention deletes old events but keeps their rollups: never rebuild
	// an hour whose rows may be partly gone. Its kept rollup rows still
	// count in the day's sum.
	firstHour := from
	if purged, err := retentionRan(ctx, db); err != nil {
		return RebuildResult{}, err
	} else if purged && !oldest.IsZero() {
		if h := Truncate(oldest, "hour"); h.Before(oldest) {
			oldest = h.Add(time.Hour)
		}
		if oldest.After(firstHour) {
			firstHour = oldest
		}
	}
	end := Truncate(opts.Now(), "hour").Add(time.Hour)
	res := RebuildResult{From: firstHour, To: end}
	hours := max(int(end.Sub(firstHour)/time.Hour), 0)
	prog.SetTotal(hours)
	prog.Stage("rebuilding")
	for day := from; day.Before(end); day = day.AddDate(0, 0, 1) {
		for h := day; h.Before(day.AddDate(0, 0, 1)) && h.Before(end); h = h.Add(time.Hour) {
			if h.Before(firstHour) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			ev, dl, err := rebuildHour(ctx, db, h)
			if err != nil {
				return res, fmt.Errorf("rebuilding the hour of %s: %w", h.Format(time.RFC3339), err)
			}
			res.Hours++
			res.Events += ev
			res.Deliveries += dl
			prog.Add(1, 0)
		}
		if err := rebuildDay(ctx, db, day); err != nil {
			return res, fmt.Errorf("rebuilding the day of %s: %w", day.Format(time.DateOnly), err)
		}
	}
	prog.Stage("done")
	res.Duration = time.Since(start)
	return res, nil
}

// oldestData returns the receipt time of the oldest event or delivery (zero
// when there is none).
func oldestData(ctx context.Context, db *store.DB) (time.Time, error) {
	var a, b any
	if err := db.Read.QueryRowContext(ctx,
		"SELECT (SELECT MIN(received_at) FROM webhook_events), (SELECT MIN(received_at) FROM webhook_deliveries)").Scan(&a, &b); err != nil {
		return time.Time{}, fmt.Errorf("finding the oldest event: %w", err)
	}
	ta, err := store.ScanTime(a)
	if err != nil {
		return time.Time{}, err
	}
	tb, err := store.ScanTime(b)
	if err != nil {
		return time.Time{}, err
	}
	if ta.IsZero() || (!tb.IsZero() && tb.Before(ta)) {
		return tb, nil
	}
	return ta, nil
}

// retentionRan reports whether retention ever deleted events (it records
// each run in the audit trail before deleting).
func retentionRan(ctx context.Context, db *store.DB) (bool, error) {
	var n int
	if err := db.Read.QueryRowContext(ctx, db.Rebind("SELECT COUNT(*) FROM audit_logs WHERE action = ?"), audit.ActionRetention).Scan(&n); err != nil {
		return false, fmt.Errorf("checking for retention runs: %w", err)
	}
	return n > 0, nil
}

// lockRollups keeps other writers off metric_rollups until tx ends.
func lockRollups(ctx context.Context, db *store.DB, tx *sql.Tx) error {
	if !db.Postgres() {
		return nil // the single writer connection already serialises writers
	}
	if _, err := tx.ExecContext(ctx, "LOCK TABLE metric_rollups IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("locking the rollups: %w", err)
	}
	return nil
}

func rebuildHour(ctx context.Context, db *store.DB, h time.Time) (events, deliveries int, err error) {
	next := h.Add(time.Hour)
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := lockRollups(ctx, db, tx); err != nil {
		return 0, 0, err
	}
	var wv sql.NullString
	err = tx.QueryRowContext(ctx, db.Rebind("SELECT value FROM hooklens_meta WHERE key = ?"), DeliveriesWatermarkKey).Scan(&wv)
	if err != nil && err != sql.ErrNoRows {
		return 0, 0, fmt.Errorf("reading the delivery watermark: %w", err)
	}
	w, err := ParseWatermark(wv.String)
	if err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM metric_rollups
		WHERE granularity IN ('minute', 'hour') AND bucket >= ? AND bucket < ?`), h, next); err != nil {
		return 0, 0, fmt.Errorf("clearing rollups: %w", err)
	}
	b := NewBatch()
	if events, err = addEvents(ctx, db, tx, b, h, next); err != nil {
		return 0, 0, err
	}
	if !w.IsZero() && !w.ReceivedAt.Before(h) {
		// Deliveries up to the watermark; the aggregator counts the rest.
		_, deliveries, err = addDeliveries(ctx, db, tx, b,
			"d.received_at >= ? AND d.received_at < ? AND (d.received_at < ? OR (d.received_at = ? AND d.id <= ?))",
			[]any{h, next, w.ReceivedAt, w.ReceivedAt, w.ID}, 0)
		if err != nil {
			return 0, 0, err
		}
	}
	if err := Apply(ctx, db, tx, b); err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("committing: %w", err)
	}
	return events, deliveries, nil
}

// EventRow is what the rollups need of a stored event.
type EventRow struct {
	Topic       string
	Source      string
	State       string
	Attempts    int
	RolledUp    bool
	CreatedAt   time.Time
	ReceivedAt  time.Time
	ProcessedAt time.Time // zero when never processed
}

// CountEvent adds what the pipeline would have counted for ev to b, as
// far as the stored row tells: a processed (rolled-up) event is received
// and processed once, with its delivery lag (webhooks only) and its
// receipt → processed latency; retries and the dead letter are inferred
// from its attempts and state.
func CountEvent(b *Batch, ev EventRow) {
	d := b.At(ev.ReceivedAt, ev.Topic)
	if ev.RolledUp {
		d.Received++
		d.Processed++
		if ev.Source != "webhook" {
			d.ReceivedSync++
		} else {
			d.ObserveWebhookLag(ev.CreatedAt, ev.ReceivedAt)
		}
		if !ev.ProcessedAt.IsZero() {
			d.ObserveProc(float64(ev.ProcessedAt.Sub(ev.ReceivedAt).Microseconds()) / 1000)
		}
	}
	switch ev.State {
	case "failed":
		d.DeadLettered++
		d.Retried += int64(max(ev.Attempts-1, 0))
	case "queued":
		d.Retried += int64(ev.Attempts)
	default:
		d.Retried += int64(max(ev.Attempts-1, 0))
	}
}

func addEvents(ctx context.Context, db *store.DB, q querier, b *Batch, from, to time.Time) (int, error) {
	// An event without a queue row was imported as processed history.
	rows, err := q.QueryContext(ctx, db.Rebind(`SELECT e.topic, e.source, COALESCE(q.state, 'processed'), COALESCE(q.attempts, 1),
		q.webhook_event_id IS NULL OR q.processed_at IS NOT NULL, e.created_at, e.received_at, q.processed_at
		FROM webhook_events e LEFT JOIN event_queue q ON q.webhook_event_id = e.id
		WHERE e.received_at >= ? AND e.received_at < ?`), from, to)
	if err != nil {
		return 0, fmt.Errorf("reading events: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var ev EventRow
		var created, received, processed any
		if err := rows.Scan(&ev.Topic, &ev.Source, &ev.State, &ev.Attempts, &ev.RolledUp, &created, &received, &processed); err != nil {
			return 0, fmt.Errorf("reading events: %w", err)
		}
		if ev.CreatedAt, err = store.ScanTime(created); err != nil {
			return 0, err
		}
		if ev.ReceivedAt, err = store.ScanTime(received); err != nil {
			return 0, err
		}
		if ev.ProcessedAt, err = store.ScanTime(processed); err != nil {
			return 0, err
		}
		CountEvent(b, ev)
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading events: %w", err)
	}
	return n, nil
}

// rebuildDay replaces day's rows by the sum of its hour rows.
func rebuildDay(ctx context.Context, db *store.DB, day time.Time) error {
	next := day.AddDate(0, 0, 1)
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := lockRollups(ctx, db, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.Rebind("DELETE FROM metric_rollups WHERE granularity = 'day' AND bucket = ?"), day); err != nil {
		return fmt.Errorf("clearing day rows: %w", err)
	}
	sums := make([]string, len(counterColumns))
	for i, c := range counterColumns {
		sums[i] = "SUM(" + c + ")"
	}
	q := `INSERT INTO metric_rollups (granularity, bucket, topic, ` + strings.Join(counterColumns, ", ") + `)
		SELECT 'day', ?, topic, ` + strings.Join(sums, ", ") + `
		FROM metric_rollups WHERE granularity = 'hour' AND bucket >= ? AND bucket < ? GROUP BY topic`
	if _, err := tx.ExecContext(ctx, db.Rebind(q), day, day, next); err != nil {
		return fmt.Errorf("summing hours into the day: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
