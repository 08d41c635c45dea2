package scanner

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/store"
)

// persistLockKey serialises anomaly writes across instances on PostgreSQL,
// so one key never gets two open anomalies.
const persistLockKey int64 = 0x686f6f6b616e6f6d // "hookanom"

const anomalyColumns = `id, key, type, subject, severity, status, window_start, window_end, observed, expected,
	expected_low, expected_high, peak_observed, score, explanation, first_seen_at, last_seen_at`

// apply steps the lifecycle over the stored anomalies and writes the
// result in one transaction.
func (sc *Scanner) apply(ctx context.Context, end time.Time, findings []anomaly.Finding, res *Result) error {
	tx, err := sc.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if sc.db.Postgres() {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", persistLockKey); err != nil {
			return fmt.Errorf("locking anomalies: %w", err)
		}
	}
	active, err := sc.loadActive(ctx, tx)
	if err != nil {
		return err
	}
	step := sc.life.Step(end, active, findings)
	changed := map[string]anomaly.ChangeKind{}
	for _, c := range step.Changes {
		changed[c.Anomaly.Key] = c.Kind
	}
	var ids []int
	var keys []string
	for _, a := range step.Active {
		if a.ID == 0 {
			id, err := sc.insert(ctx, tx, a)
			if err != nil {
				return err
			}
			a.ID = id
			res.Opened = append(res.Opened, int(id))
		} else if err := sc.update(ctx, tx, a); err != nil {
			return err
		}
		sc.minutes[a.ID] = a.Minutes
		if k, ok := changed[a.Key]; ok {
			if k == anomaly.ChangeEscalated {
				res.Escalated = append(res.Escalated, int(a.ID))
			}
			ids, keys = append(ids, int(a.ID)), append(keys, a.Key)
		}
	}
	for _, a := range step.Resolved {
		if _, err := tx.ExecContext(ctx, sc.db.Rebind(`UPDATE anomalies SET status = 'resolved', resolved_at = ?, resolved_by = 'auto'
			WHERE id = ? AND status IN ('open', 'acknowledged')`), a.ResolvedAt, a.ID); err != nil {
			return fmt.Errorf("resolving anomaly %d: %w", a.ID, err)
		}
		delete(sc.minutes, a.ID)
		res.Resolved = append(res.Resolved, int(a.ID))
		ids, keys = append(ids, int(a.ID)), append(keys, a.Key)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing anomalies: %w", err)
	}
	res.Active = len(step.Active)
	sc.m.changes.WithLabelValues("opened").Add(float64(len(res.Opened)))
	sc.m.changes.WithLabelValues("escalated").Add(float64(len(res.Escalated)))
	sc.m.changes.WithLabelValues("resolved").Add(float64(len(res.Resolved)))
	for _, c := range step.Changes {
		sc.log.Info("anomaly "+string(c.Kind), "key", c.Anomaly.Key, "severity", c.Anomaly.Severity.String(),
			"explanation", c.Anomaly.Latest.Explanation)
	}
	sc.publish(ctx, ids, keys)
	return nil
}

// loadActive reads the open and acknowledged anomalies.
func (sc *Scanner) loadActive(ctx context.Context, tx *sql.Tx) ([]anomaly.Anomaly, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+anomalyColumns+" FROM anomalies WHERE status IN ('open', 'acknowledged') ORDER BY first_seen_at, id")
	if err != nil {
		return nil, fmt.Errorf("reading open anomalies: %w", err)
	}
	defer rows.Close()
	var out []anomaly.Anomaly
	for rows.Next() {
		var a anomaly.Anomaly
		var typ, subject, severity, status, explanation string
		var ws, we, first, last any
		var observed, expected, score float64
		var low, high, peak sql.NullFloat64
		if err := rows.Scan(&a.ID, &a.Key, &typ, &subject, &severity, &status, &ws, &we, &observed, &expected,
			&low, &high, &peak, &score, &explanation, &first, &last); err != nil {
			return nil, fmt.Errorf("reading open anomalies: %w", err)
		}
		times := make([]time.Time, 4)
		for i, v := range []any{ws, we, first, last} {
			if times[i], err = store.ScanTime(v); err != nil {
				return nil, err
			}
		}
		a.Type, a.Subject, a.Status = anomaly.Type(typ), subject, anomaly.Status(status)
		a.Severity = parseSeverity(severity)
		a.OpenedAt, a.LastSeen = times[2], times[3]
		// The row keeps the latest finding's figures and the peak's score
		// and observed value: enough for the lifecycle to go on.
		a.Latest = anomaly.Finding{
			Type: a.Type, Subject: subject, Key: a.Key, Severity: a.Severity, WindowStart: times[0], WindowEnd: times[1],
			Observed: observed, Expected: expected, Lower: low.Float64, Upper: high.Float64, Explanation: explanation,
		}
		a.Peak = a.Latest
		a.Peak.Score = score
		if peak.Valid {
			a.Peak.Observed = peak.Float64
		}
		if n, ok := sc.minutes[a.ID]; ok {
			a.Minutes = n
		} else {
			a.Minutes = int(a.LastSeen.Sub(a.OpenedAt)/time.Minute) + 1
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func parseSeverity(s string) anomaly.Severity {
	switch s {
	case "critical":
		return anomaly.SeverityCritical
	case "warning":
		return anomaly.SeverityWarning
	}
	return anomaly.SeverityInfo
}

func nullFloat(f float64, ok bool) any {
	if !ok {
		return nil
	}
	return f
}

// bounds are a finding's normal band, when it has one. A side without a
// bound (a silence has no upper one: its Upper is +Inf) is stored as NULL,
// since JSON and GraphQL cannot carry an infinite number.
func bounds(f anomaly.Finding) (low, high any) {
	known := f.Lower != 0 || f.Upper != 0
	return nullFloat(f.Lower, known && finite(f.Lower)), nullFloat(f.Upper, known && finite(f.Upper))
}

func finite(x float64) bool { return !math.IsInf(x, 0) && !math.IsNaN(x) }

// RepairBounds clears the infinite or NaN bounds that versions before
// December stored for silences (expected_high = +Inf), which made the
// anomaly list fail on every surface. It runs at start and is a no-op once
// no such row is left.
func (sc *Scanner) RepairBounds(ctx context.Context) (int64, error) {
	var total int64
	for _, col := range []string{"expected_low", "expected_high", "peak_observed"} {
		// ±1e308 bounds every finite float; PostgreSQL sorts NaN above
		// every number, and SQLite stores NaN as NULL.
		res, err := sc.db.Write.ExecContext(ctx, "UPDATE anomalies SET "+col+" = NULL WHERE "+col+" > 1e308 OR "+col+" < -1e308")
		if err != nil {
			return total, fmt.Errorf("repairing anomaly bounds: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if total > 0 {
		sc.log.Info("cleared infinite anomaly bounds stored by an earlier version", "rows", total)
	}
	return total, nil
}

func (sc *Scanner) insert(ctx context.Context, tx *sql.Tx, a anomaly.Anomaly) (int64, error) {
	f := a.Latest
	low, high := bounds(f)
	var id int64
	err := tx.QueryRowContext(ctx, sc.db.Rebind(`INSERT INTO anomalies (key, type, subject, severity, status, window_start, window_end,
		observed, expected, expected_low, expected_high, peak_observed, score, explanation, first_seen_at, last_seen_at)
		VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.Key, string(a.Type), a.Subject, a.Severity.String(), f.WindowStart.UTC(), f.WindowEnd.UTC(), f.Observed, f.Expected,
		low, high, a.Peak.Observed, a.Peak.Score, f.Explanation, a.OpenedAt.UTC(), a.LastSeen.UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("opening anomaly %s: %w", a.Key, err)
	}
	return id, nil
}

// update writes a still-active anomaly's progress. It never changes the
// status: a person may have acknowledged or resolved it meanwhile.
func (sc *Scanner) update(ctx context.Context, tx *sql.Tx, a anomaly.Anomaly) error {
	f := a.Latest
	low, high := bounds(f)
	_, err := tx.ExecContext(ctx, sc.db.Rebind(`UPDATE anomalies SET severity = ?, window_start = ?, window_end = ?, observed = ?,
		expected = ?, expected_low = ?, expected_high = ?, peak_observed = ?, score = ?, explanation = ?, last_seen_at = ?
		WHERE id = ? AND status IN ('open', 'acknowledged')`),
		a.Severity.String(), f.WindowStart.UTC(), f.WindowEnd.UTC(), f.Observed, f.Expected, low, high,
		a.Peak.Observed, a.Peak.Score, f.Explanation, a.LastSeen.UTC(), a.ID)
	if err != nil {
		return fmt.Errorf("updating anomaly %s: %w", a.Key, err)
	}
	return nil
}
