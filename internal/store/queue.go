package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"
)

// The event queue. webhook_events is written once; the state of each
// event's processing lives in event_queue, one narrow row per event keyed
// by the event's row id:
//
//	webhook_event_id  webhook_events.id (no foreign key: checking it would lock the event row)
//	state         queued | processed | failed (failed is the dead letter)
//	attempts      processing attempts made
//	due_at        earliest time a worker may take a queued event
//	processed_at  the last successful processing (kept when a replay queues it again)
//	duration_ms   how long that processing's batch took
//	last_error    why the last attempt failed
//
// A worker takes due events and processes them in one transaction: on
// PostgreSQL the claim is SELECT … FOR UPDATE SKIP LOCKED, so the row locks
// are the lease — other instances skip the events, and a crashed worker's
// transaction ends with its connection, freeing them. Nothing but the
// narrow row is ever updated, and only once per successful attempt.
const (
	// QueueQueued is an event waiting for (another) attempt.
	QueueQueued = "queued"
	// QueueProcessed is an event whose last attempt succeeded.
	QueueProcessed = "processed"
	// QueueFailed is a dead-lettered event: its last allowed attempt failed.
	QueueFailed = "failed"
	// QueueProcessing is never stored: it names events a worker holds in an
	// open transaction (a GraphQL filter on it matches nothing stored).
	QueueProcessing = "processing"
)

var queueDDL = []extra{
	{
		name: "event_queue table",
		postgres: `CREATE TABLE IF NOT EXISTS event_queue (
			webhook_event_id BIGINT PRIMARY KEY,
			state TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			due_at TIMESTAMPTZ NOT NULL,
			processed_at TIMESTAMPTZ,
			duration_ms REAL,
			last_error TEXT)`,
		sqlite: `CREATE TABLE IF NOT EXISTS event_queue (
			webhook_event_id INTEGER PRIMARY KEY,
			state TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			due_at DATETIME NOT NULL,
			processed_at DATETIME,
			duration_ms REAL,
			last_error TEXT)`,
	},
	// Serves the claim (due queued events in due order) and the queue depth.
	{
		name:     "event_queue_due index",
		postgres: `CREATE INDEX IF NOT EXISTS event_queue_due ON event_queue (due_at) WHERE state = 'queued'`,
		sqlite:   `CREATE INDEX IF NOT EXISTS event_queue_due ON event_queue (due_at) WHERE state = 'queued'`,
	},
	// Serves the dead-letter list, its count and a bulk replay of it.
	{
		name:     "event_queue_failed index",
		postgres: `CREATE INDEX IF NOT EXISTS event_queue_failed ON event_queue (webhook_event_id) WHERE state = 'failed'`,
		sqlite:   `CREATE INDEX IF NOT EXISTS event_queue_failed ON event_queue (webhook_event_id) WHERE state = 'failed'`,
	},
}

// QueuedEvent is what the pipeline's stages see of an event they process.
type QueuedEvent struct {
	ID            int
	EventID       string
	Topic         string
	ResourceType  string
	ResourceID    string
	CustomerID    string
	CorrelationID string
	CreatedAt     time.Time
	ReceivedAt    time.Time
	Source        string
	// Attempts counts this attempt.
	Attempts int
	// RolledUp is true when an earlier attempt succeeded: the rollups have
	// counted the event already and a replay must not count it again.
	RolledUp bool
}

// idSet renders "IN ids" for a column with one statement shape whatever
// the number of ids: an array parameter on PostgreSQL, a JSON array read
// by json_each on SQLite. Statements keep one shape, so they are prepared
// once and their plans are reused.
func (db *DB) idSet(ids []int) (string, any) {
	if db.Postgres() {
		a := make([]int64, len(ids))
		for i, id := range ids {
			a[i] = int64(id)
		}
		return "= ANY(?::bigint[])", a
	}
	var b strings.Builder
	b.Grow(len(ids)*8 + 2)
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteByte(']')
	return "IN (SELECT value FROM json_each(?))", b.String()
}

// ClaimDue takes, inside tx, up to limit due queued events for processing,
// oldest due first. On PostgreSQL the rows stay locked until tx ends and
// events other transactions hold are skipped; on SQLite tx holds the only
// writer. Attempts in the result count the attempt being made.
func (db *DB) ClaimDue(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]*QueuedEvent, error) {
	lock := ""
	if db.Postgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `WITH q AS (SELECT webhook_event_id, attempts, processed_at FROM event_queue
			WHERE state = 'queued' AND due_at <= ? ORDER BY due_at LIMIT ?` + lock + `)
		SELECT e.id, e.event_id, e.topic, e.resource_type, e.resource_id, e.customer_id, e.correlation_id,
			e.created_at, e.received_at, e.source, q.attempts, q.processed_at IS NOT NULL
		FROM q JOIN webhook_events e ON e.id = q.webhook_event_id`
	rows, err := tx.QueryContext(ctx, db.Rebind(q), now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	return scanQueued(rows)
}

// ClaimOne takes, inside tx, event id for processing if it is queued and
// no other transaction holds it; nil when it is not.
func (db *DB) ClaimOne(ctx context.Context, tx *sql.Tx, id int) (*QueuedEvent, error) {
	lock := ""
	if db.Postgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := tx.QueryContext(ctx, db.Rebind(`WITH q AS (SELECT webhook_event_id, attempts, processed_at FROM event_queue
			WHERE webhook_event_id = ? AND state = 'queued'`+lock+`)
		SELECT e.id, e.event_id, e.topic, e.resource_type, e.resource_id, e.customer_id, e.correlation_id,
			e.created_at, e.received_at, e.source, q.attempts, q.processed_at IS NOT NULL
		FROM q JOIN webhook_events e ON e.id = q.webhook_event_id`), id)
	if err != nil {
		return nil, fmt.Errorf("claiming event %d: %w", id, err)
	}
	evs, err := scanQueued(rows)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return evs[0], nil
}

func scanQueued(rows *sql.Rows) ([]*QueuedEvent, error) {
	defer rows.Close()
	var out []*QueuedEvent
	for rows.Next() {
		e := &QueuedEvent{}
		var rtype, rid, cid, corr sql.NullString
		var created, received any
		if err := rows.Scan(&e.ID, &e.EventID, &e.Topic, &rtype, &rid, &cid, &corr, &created, &received,
			&e.Source, &e.Attempts, &e.RolledUp); err != nil {
			return nil, fmt.Errorf("reading claimed events: %w", err)
		}
		e.ResourceType, e.ResourceID, e.CustomerID, e.CorrelationID = rtype.String, rid.String, cid.String, corr.String
		var err error
		if e.CreatedAt, err = ScanTime(created); err != nil {
			return nil, err
		}
		if e.ReceivedAt, err = ScanTime(received); err != nil {
			return nil, err
		}
		e.Attempts++ // the attempt being made
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading claimed events: %w", err)
	}
	return out, nil
}

// ErrNotClaimed means an event marked processed was no longer queued: the
// transaction that claimed it did not hold it.
var ErrNotClaimed = errors.New("event no longer queued: another worker processed it")

// MarkProcessed records, inside the transaction that claimed them, that
// ids were processed at now by a batch that took durationMS.
func (db *DB) MarkProcessed(ctx context.Context, tx *sql.Tx, now time.Time, durationMS float64, ids []int) error {
	in, arg := db.idSet(ids)
	res, err := tx.ExecContext(ctx, db.Rebind(`UPDATE event_queue SET state = 'processed', processed_at = ?, duration_ms = ?,
		attempts = attempts + 1, last_error = NULL WHERE state = 'queued' AND webhook_event_id `+in), now.UTC(), durationMS, arg)
	if err != nil {
		return fmt.Errorf("marking events processed: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && int(n) != len(ids) {
		return ErrNotClaimed
	}
	return nil
}

// MarkFailed records, inside the transaction that claimed it, a failed
// attempt of event id: queued again at retryAt, or dead-lettered when
// retryAt is zero.
func (db *DB) MarkFailed(ctx context.Context, tx *sql.Tx, id int, retryAt time.Time, cause string) error {
	var err error
	if retryAt.IsZero() {
		_, err = tx.ExecContext(ctx, db.Rebind(`UPDATE event_queue SET state = 'failed', attempts = attempts + 1, last_error = ?
			WHERE webhook_event_id = ? AND state = 'queued'`), cause, id)
	} else {
		_, err = tx.ExecContext(ctx, db.Rebind(`UPDATE event_queue SET due_at = ?, attempts = attempts + 1, last_error = ?
			WHERE webhook_event_id = ? AND state = 'queued'`), retryAt.UTC(), cause, id)
	}
	if err != nil {
		return fmt.Errorf("recording a failed attempt: %w", err)
	}
	return nil
}

// Requeue queues ids again, due at now, with their attempts and last error
// cleared; processed_at is kept, so a replayed event is not counted twice
// in the rollups. An event a worker is processing right now is requeued
// once that worker commits (PostgreSQL waits for its row lock). It returns
// how many events were queued.
func (db *DB) Requeue(ctx context.Context, now time.Time, ids []int) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	in, arg := db.idSet(ids)
	// Events stored before the queue existed, or imported without a queue
	// row, get one.
	res, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO event_queue (webhook_event_id, state, attempts, due_at)
		SELECT id, 'queued', 0, ? FROM webhook_events WHERE id `+in+`
		ON CONFLICT (webhook_event_id) DO UPDATE SET state = 'queued', due_at = excluded.due_at, attempts = 0, last_error = NULL`), now.UTC(), arg)
	if err != nil {
		return 0, fmt.Errorf("requeueing events: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// QueueProgress counts how many of ids are still queued, and how many are
// dead-lettered.
func (db *DB) QueueProgress(ctx context.Context, ids []int) (pending, failed int, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	in, arg := db.idSet(ids)
	err = db.Write.QueryRowContext(ctx, db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)
		FROM event_queue WHERE webhook_event_id `+in), arg).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("checking queue progress: %w", err)
	}
	return pending, failed, nil
}

// QueueDepth is the queue at a moment.
type QueueDepth struct {
	Queued int
	Failed int
	// OldestQueued is the receipt time of the oldest queued event (zero
	// when none is queued).
	OldestQueued time.Time
}

// QueueDepth counts queued and dead-lettered events. Both counts walk only
// the partial indexes of those states, which hold the pending work, not
// the history.
func (db *DB) QueueDepth(ctx context.Context) (QueueDepth, error) {
	var d QueueDepth
	var oldest any
	err := db.Read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM event_queue WHERE state = 'queued'),
		(SELECT COUNT(*) FROM event_queue WHERE state = 'failed'),
		(SELECT MIN(e.received_at) FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id WHERE q.state = 'queued')`).
		Scan(&d.Queued, &d.Failed, &oldest)
	if err != nil {
		return d, fmt.Errorf("reading the queue: %w", err)
	}
	d.OldestQueued, err = ScanTime(oldest)
	return d, err
}

// QueueEntry is an event's processing state as the API shows it.
type QueueEntry struct {
	State       string
	Attempts    int
	DueAt       time.Time
	ProcessedAt *time.Time
	DurationMS  *float64
	LastError   string
}

// QueueEntries reads the processing state of ids. An event without a queue
// row (imported as history) reads as processed.
func (db *DB) QueueEntries(ctx context.Context, ids []int) (map[int]QueueEntry, error) {
	out := make(map[int]QueueEntry, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, arg := db.idSet(ids)
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT webhook_event_id, state, attempts, due_at, processed_at, duration_ms, last_error
		FROM event_queue WHERE webhook_event_id `+in), arg)
	if err != nil {
		return nil, fmt.Errorf("reading processing states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var e QueueEntry
		var due, processed any
		var dur sql.NullFloat64
		var lastErr sql.NullString
		if err := rows.Scan(&id, &e.State, &e.Attempts, &due, &processed, &dur, &lastErr); err != nil {
			return nil, fmt.Errorf("reading processing states: %w", err)
		}
		if e.DueAt, err = ScanTime(due); err != nil {
			return nil, err
		}
		p, err := ScanTime(processed)
		if err != nil {
			return nil, err
		}
		if !p.IsZero() {
			e.ProcessedAt = &p
		}
		if dur.Valid {
			d := dur.Float64
			e.DurationMS = &d
		}
		e.LastError = lastErr.String
		out[id] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading processing states: %w", err)
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = QueueEntry{State: QueueProcessed}
		}
	}
	return out, nil
}

// EventsInState is an ent predicate (for webhook_events queries) matching
// the events whose processing state is one of states. Queued and failed
// events are found through their partial indexes; processed ones are the
// events with no queued or failed entry, checked row by row, so a
// "processed" filter costs one primary-key probe per event read.
func EventsInState(states ...string) func(*entsql.Selector) {
	want := map[string]bool{}
	for _, s := range states {
		want[s] = true
	}
	return func(s *entsql.Selector) {
		var preds []*entsql.Predicate
		var pending []string
		for _, st := range []string{QueueQueued, QueueFailed} {
			if want[st] {
				pending = append(pending, st)
			}
		}
		id := s.C("id")
		for _, st := range pending {
			preds = append(preds, entsql.P(func(b *entsql.Builder) {
				b.WriteString(id).WriteString(" IN (SELECT webhook_event_id FROM event_queue WHERE state = ").Arg(st).WriteString(")")
			}))
		}
		if want[QueueProcessed] {
			preds = append(preds, entsql.P(func(b *entsql.Builder) {
				b.WriteString("NOT EXISTS (SELECT 1 FROM event_queue q WHERE q.webhook_event_id = ").WriteString(id).
					WriteString(" AND q.state <> 'processed')")
			}))
		}
		if len(preds) == 0 {
			// Only "processing" (never stored) or nothing was asked for.
			s.Where(entsql.False())
			return
		}
		s.Where(entsql.Or(preds...))
	}
}

// DeadLetter is a dead-lettered event.
type DeadLetter struct {
	ID        int
	EventID   string
	Topic     string
	Attempts  int
	LastError string
}

// DeadLetters lists up to limit dead-lettered events, newest first, and
// counts them all.
func (db *DB) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, int, error) {
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT e.id, e.event_id, e.topic, q.attempts, COALESCE(q.last_error, '')
		FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id
		WHERE q.state = 'failed' ORDER BY q.webhook_event_id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("listing dead letters: %w", err)
	}
	out, err := scanQueueRows(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("listing dead letters: %w", err)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM event_queue WHERE state = 'failed'").Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("counting dead letters: %w", err)
	}
	return out, n, nil
}

// StaleQueued lists up to limit events that have waited in the queue since
// before receivedBefore although due at now: the pipeline is not keeping up
// or not running.
func (db *DB) StaleQueued(ctx context.Context, receivedBefore, now time.Time, limit int) ([]DeadLetter, error) {
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT e.id, e.event_id, e.topic, q.attempts, COALESCE(q.last_error, '')
		FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id
		WHERE q.state = 'queued' AND q.due_at <= ? AND e.received_at < ? ORDER BY q.due_at LIMIT ?`), now.UTC(), receivedBefore.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing stale queued events: %w", err)
	}
	out, err := scanQueueRows(rows)
	if err != nil {
		return nil, fmt.Errorf("listing stale queued events: %w", err)
	}
	return out, nil
}

// scanQueueRows reads (id, event id, topic, attempts, last error) rows and
// closes them.
func scanQueueRows(rows *sql.Rows) ([]DeadLetter, error) {
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		if err := rows.Scan(&d.ID, &d.EventID, &d.Topic, &d.Attempts, &d.LastError); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// EventIDsInState pages through the row ids of events in state (queued or
// failed), ascending: the ids after after, at most limit.
func (db *DB) EventIDsInState(ctx context.Context, state string, after, limit int) ([]int, error) {
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT webhook_event_id FROM event_queue WHERE state = ? AND webhook_event_id > ?
		ORDER BY webhook_event_id LIMIT ?`), state, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing %s events: %w", state, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// migrateQueue moves the queue state of a database written before the
// event_queue table existed (columns on webhook_events) into it, once.
// It runs before ent drops those columns.
func (db *DB) migrateQueue(ctx context.Context) error {
	has, err := db.hasColumn(ctx, "webhook_events", "processing_state")
	if err != nil || !has {
		return err
	}
	_, err = db.Write.ExecContext(ctx, `INSERT INTO event_queue (webhook_event_id, state, attempts, due_at, processed_at, duration_ms, last_error)
		SELECT id, CASE WHEN processing_state = 'processing' THEN 'queued' ELSE processing_state END, attempts, next_attempt_at,
			processed_at, processing_duration_ms, last_error
		FROM webhook_events WHERE true ON CONFLICT (webhook_event_id) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("moving queue state to event_queue: %w", err)
	}
	return nil
}

func (db *DB) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var q string
	if db.Postgres() {
		q = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`
	} else {
		q = `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
	}
	var n int
	if err := db.Write.QueryRowContext(ctx, q, table, column).Scan(&n); err != nil {
		return false, fmt.Errorf("inspecting %s: %w", table, err)
	}
	return n > 0, nil
}

// RecentFlow counts the events received since since, and how many of them
// have been processed: the pipeline's input and output over a recent
// window (an index range on received_at, and primary-key probes of the
// queue).
func (db *DB) RecentFlow(ctx context.Context, since time.Time) (received, processed int, err error) {
	err = db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN q.state = 'processed' THEN 1 ELSE 0 END), 0)
		FROM webhook_events e LEFT JOIN event_queue q ON q.webhook_event_id = e.id WHERE e.received_at >= ?`), since.UTC()).Scan(&received, &processed)
	if err != nil {
		return 0, 0, fmt.Errorf("reading recent flow: %w", err)
	}
	return received, processed, nil
}

// Unprocessed counts the events of one minute of receipt, topic and state
// that the rollups do not hold: queued or dead-lettered.
type Unprocessed struct {
	Minute time.Time
	Topic  string
	// State is queued or failed.
	State string
	// RolledUp is true when the rollups already counted these events (they
	// were processed once, and were replayed or dead-lettered since).
	RolledUp bool
	Events   int64
}

// clockSkew is how far another instance's clock may be behind ours.
const clockSkew = 5 * time.Minute

// UnprocessedByMinute counts, per minute of receipt, topic and state, the
// events received in [from, to) that are in one of states (queued,
// failed; processing is never stored and matches nothing). The rollups
// count an event when it is first processed, so figures add these. Each
// state is read through its partial index on event_queue, which holds the
// pending work, not the history: a queued event's due_at starts at its
// receipt and only moves later, so due_at ≥ from (less a margin for other
// instances' clocks) bounds the scan of the queue's index.
func (db *DB) UnprocessedByMinute(ctx context.Context, from, to time.Time, states ...string) ([]Unprocessed, error) {
	from, to = from.UTC(), to.UTC()
	floor := from.Add(-clockSkew)
	minute := "substr(e.received_at, 1, 16)"
	if db.Postgres() {
		minute = "date_trunc('minute', e.received_at)"
	}
	var parts []string
	var args []any
	for _, st := range states {
		switch st {
		case QueueQueued:
			parts = append(parts, `SELECT `+minute+` AS m, e.topic, q.state, q.processed_at IS NOT NULL, COUNT(*)
				FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id
				WHERE q.state = 'queued' AND q.due_at >= ? AND e.received_at >= ? AND e.received_at < ?
				GROUP BY 1, 2, 3, 4`)
			args = append(args, floor, from, to)
		case QueueFailed:
			parts = append(parts, `SELECT `+minute+` AS m, e.topic, q.state, q.processed_at IS NOT NULL, COUNT(*)
				FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id
				WHERE q.state = 'failed' AND e.received_at >= ? AND e.received_at < ?
				GROUP BY 1, 2, 3, 4`)
			args = append(args, from, to)
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	rows, err := db.Read.QueryContext(ctx, db.Rebind(strings.Join(parts, " UNION ALL ")), args...)
	if err != nil {
		return nil, fmt.Errorf("counting unprocessed events: %w", err)
	}
	defer rows.Close()
	var out []Unprocessed
	for rows.Next() {
		var r Unprocessed
		var m any
		if err := rows.Scan(&m, &r.Topic, &r.State, &r.RolledUp, &r.Events); err != nil {
			return nil, fmt.Errorf("counting unprocessed events: %w", err)
		}
		if txt, ok := m.(string); ok {
			if r.Minute, err = time.Parse("2006-01-02 15:04", txt); err != nil {
				return nil, fmt.Errorf("reading minute %q: %w", txt, err)
			}
		} else if r.Minute, err = ScanTime(m); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// QueuedThrough counts the events received at or before mark that are
// still queued (a batch processing them has not committed yet, or they
// wait for a retry): the pipeline's watermark has passed mark when none
// is.
func (db *DB) QueuedThrough(ctx context.Context, mark time.Time) (int, error) {
	var n int
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM event_queue q JOIN webhook_events e ON e.id = q.webhook_event_id
		WHERE q.state = 'queued' AND e.received_at <= ?`), mark.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting queued events: %w", err)
	}
	return n, nil
}
