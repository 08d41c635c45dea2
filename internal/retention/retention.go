// Package retention deletes webhook events older than
// HOOKLENS_RETENTION_DAYS, with their deliveries and journey memberships,
// in small batches so that it never holds the database for long. Old
// rejected deliveries (bad signatures, floods) go too.
//
// What stays: the metric rollups (so dashboards keep their history), the
// journeys, and the audit trail. Before deleting, a run checkpoints the
// events and records in the audit trail how far it deletes — never past
// what the checkpoints cover — so that `hooklens audit verify` tells deletions by
// retention apart from tampering.
//
// This package must never delete an event that is still queued or being
// processed, an event newer than the cutoff, or anything in the audit trail.
package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/store"
)

// Options configure a Runner.
type Options struct {
	// Days keeps events this many days; 0 keeps them forever.
	Days int
	// RejectedDays keeps rejected deliveries (no stored event: bad
	// signatures, malformed, too large, rate limited) this many days; 0
	// keeps them as long as events. An unauthenticated source can send
	// them without bound, so they expire by default (see the config).
	RejectedDays int
	// BatchSize is how many events one transaction deletes (default 500).
	BatchSize int
}

// Runner applies the retention policy.
type Runner struct {
	db    *store.DB
	trail *audit.Trail
	log   *slog.Logger
	opts  Options
	now   func() time.Time
}

// New returns a Runner.
func New(db *store.DB, trail *audit.Trail, log *slog.Logger, opts Options) *Runner {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	return &Runner{db: db, trail: trail, log: log, opts: opts, now: time.Now}
}

// Result says what one run deleted.
type Result struct {
	Cutoff time.Time
	// ThroughID is the highest event id the run was allowed to delete.
	ThroughID          int64
	Events             int
	Deliveries         int
	Memberships        int
	RejectedDeliveries int
	// RejectedCutoff is the receipt time before which rejected deliveries
	// were deleted (zero when they are kept).
	RejectedCutoff time.Time
}

// Run applies the policy once. Schedule it (hourly is plenty); on
// PostgreSQL only the scheduler leader should run it. A run that stops half
// way is finished by the next one.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	var res Result
	now := r.now().UTC()
	// Rejected deliveries go at the earlier of their own expiry and the
	// events'.
	if keep := min(positive(r.opts.RejectedDays), positive(r.opts.Days)); keep < noLimit {
		res.RejectedCutoff = now.Add(-time.Duration(keep) * 24 * time.Hour)
	}
	if r.opts.Days <= 0 {
		if res.RejectedCutoff.IsZero() {
			return res, nil
		}
		if err := r.deleteRejected(ctx, &res); err != nil {
			return res, err
		}
		if res.RejectedDeliveries > 0 {
			r.log.Info("retention deleted old rejected deliveries", "rejected_deliveries", res.RejectedDeliveries, "cutoff", res.RejectedCutoff)
		}
		return res, nil
	}
	res.Cutoff = now.Add(-time.Duration(r.opts.Days) * 24 * time.Hour)
	if _, err := r.trail.Checkpoint(ctx); err != nil {
		return res, fmt.Errorf("checkpointing before retention: %w", err)
	}
	var newest sql.NullInt64
	err := r.db.Read.QueryRowContext(ctx, r.db.Rebind(
		"SELECT id FROM webhook_events WHERE received_at < ? ORDER BY received_at DESC LIMIT 1"), res.Cutoff).Scan(&newest)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, fmt.Errorf("finding events past retention: %w", err)
	}
	if newest.Valid {
		// Never past what the checkpoints fixed: every deleted event was
		// recorded by a checkpoint first.
		covered, err := r.trail.CheckpointedThrough(ctx)
		if err != nil {
			return res, err
		}
		res.ThroughID = min(newest.Int64, covered)
	}
	if res.ThroughID > 0 {
		// Recorded before anything is deleted: a run that dies half way has
		// still said how far it may go.
		if _, err := r.trail.Append(ctx, audit.Entry{Actor: "system", ActorKind: audit.KindSystem,
			Action: audit.ActionRetention, Target: fmt.Sprintf("events up to row %d", res.ThroughID),
			Detail: map[string]any{"through_id": res.ThroughID, "cutoff": res.Cutoff.Format(time.RFC3339), "days": r.opts.Days},
		}); err != nil {
			return res, err
		}
		if err := r.deleteEvents(ctx, &res); err != nil {
			return res, err
		}
	}
	if err := r.deleteRejected(ctx, &res); err != nil {
		return res, err
	}
	if res.Events+res.RejectedDeliveries > 0 {
		r.log.Info("retention deleted old events", "events", res.Events, "deliveries", res.Deliveries,
			"memberships", res.Memberships, "rejected_deliveries", res.RejectedDeliveries, "cutoff", res.Cutoff)
		if _, err := r.trail.Append(ctx, audit.Entry{Actor: "system", ActorKind: audit.KindSystem,
			Action: "events.retention.done", Target: fmt.Sprintf("events up to row %d", res.ThroughID),
			Detail: map[string]any{"events": res.Events, "deliveries": res.Deliveries, "memberships": res.Memberships,
				"rejected_deliveries": res.RejectedDeliveries, "through_id": res.ThroughID},
		}); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *Runner) deleteEvents(ctx context.Context, res *Result) error {
	// Queued events are kept until processed (their queue rows say so).
	sel := r.db.Rebind(`SELECT id FROM webhook_events WHERE id <= ? AND received_at < ?
		AND NOT EXISTS (SELECT 1 FROM event_queue q WHERE q.webhook_event_id = webhook_events.id AND q.state = 'queued')
		ORDER BY id LIMIT ?`)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := r.db.Read.QueryContext(ctx, sel, res.ThroughID, res.Cutoff, r.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("finding events to delete: %w", err)
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("finding events to delete: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("finding events to delete: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
		tx, err := r.db.Write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("deleting old events: %w", err)
		}
		counts := make([]int64, 4)
		for i, q := range []string{
			"DELETE FROM journey_memberships WHERE webhook_event_id IN " + in,
			"DELETE FROM webhook_deliveries WHERE webhook_event_id IN " + in,
			"DELETE FROM webhook_events WHERE id IN " + in,
			"DELETE FROM event_queue WHERE webhook_event_id IN " + in,
		} {
			out, err := tx.ExecContext(ctx, r.db.Rebind(q), ids...)
			if err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("deleting old events: %w", err)
			}
			counts[i], _ = out.RowsAffected()
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("deleting old events: %w", err)
		}
		res.Memberships += int(counts[0])
		res.Deliveries += int(counts[1])
		res.Events += int(counts[2])
	}
}

func (r *Runner) deleteRejected(ctx context.Context, res *Result) error {
	q := r.db.Rebind(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
		WHERE webhook_event_id IS NULL AND received_at < ? ORDER BY id LIMIT ?)`)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := r.db.Write.ExecContext(ctx, q, res.RejectedCutoff, r.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("deleting old rejected deliveries: %w", err)
		}
		n, _ := out.RowsAffected()
		res.RejectedDeliveries += int(n)
		if n < int64(r.opts.BatchSize) {
			return nil
		}
	}
}

// noLimit stands for "kept forever" in positive.
const noLimit = int(^uint(0) >> 1)

// positive is n when it is above zero, else noLimit.
func positive(n int) int {
	if n > 0 {
		return n
	}
	return noLimit
}
