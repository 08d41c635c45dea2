package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// The journey stage's hot statements: recording which events belong to
// which journeys, and reading a batch's journeys and their events back.
// Each has one shape whatever the batch (the keys travel as arrays on
// PostgreSQL and as one JSON array on SQLite), so it is prepared once per
// connection; and each has its plan fixed by its form, not by statistics:
// the list of keys drives the join (an OFFSET 0 subquery in LATERAL on
// PostgreSQL, a CROSS JOIN on SQLite, which both keep the keys as the outer
// loop), and each key is looked up through the unique index on
// (definition_key, correlation_key). Without statistics PostgreSQL hash-
// joined the whole memberships table instead, on every batch.

// JourneyKey names a journey: its definition and its correlation key.
type JourneyKey struct {
	Definition string
	Key        string
}

// Membership says event (row id) belongs to the journey Journey.
type Membership struct {
	Journey JourneyKey
	EventID int
}

// AddMemberships records memberships inside tx; ones already recorded are
// left alone.
func (db *DB) AddMemberships(ctx context.Context, tx *sql.Tx, ms []Membership) error {
	if len(ms) == 0 {
		return nil
	}
	var err error
	if db.Postgres() {
		defs, keys, ids := make([]string, len(ms)), make([]string, len(ms)), make([]int64, len(ms))
		for i, m := range ms {
			defs[i], keys[i], ids[i] = m.Journey.Definition, m.Journey.Key, int64(m.EventID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO journey_memberships (definition_key, correlation_key, webhook_event_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
			ON CONFLICT (definition_key, correlation_key, webhook_event_id) DO NOTHING`, defs, keys, ids)
	} else {
		rows := make([][3]any, len(ms))
		for i, m := range ms {
			rows[i] = [3]any{m.Journey.Definition, m.Journey.Key, m.EventID}
		}
		var arg []byte
		if arg, err = json.Marshal(rows); err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO journey_memberships (definition_key, correlation_key, webhook_event_id)
				SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true
				ON CONFLICT (definition_key, correlation_key, webhook_event_id) DO NOTHING`, string(arg))
		}
	}
	if err != nil {
		return fmt.Errorf("recording journey memberships: %w", err)
	}
	return nil
}

// keyArgs renders keys as the statements below take them.
func (db *DB) keyArgs(keys []JourneyKey) ([]any, error) {
	if db.Postgres() {
		defs, ks := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			defs[i], ks[i] = k.Definition, k.Key
		}
		return []any{defs, ks}, nil
	}
	pairs := make([][2]string, len(keys))
	for i, k := range keys {
		pairs[i] = [2]string{k.Definition, k.Key}
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return nil, err
	}
	return []any{string(b)}, nil
}

// JourneyRow is what the journey stage reads of a stored instance: its id
// and the values of the indexed columns an update may leave untouched.
type JourneyRow struct {
	ID         int
	Status     string
	Started    time.Time
	StuckAt    time.Time // zero when NULL
	AbandonAt  time.Time // zero when NULL
	CustomerID string
}

// JourneysOf reads, inside tx, the stored instances of keys.
func (db *DB) JourneysOf(ctx context.Context, tx *sql.Tx, keys []JourneyKey) (map[JourneyKey]JourneyRow, error) {
	out := make(map[JourneyKey]JourneyRow, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args, err := db.keyArgs(keys)
	if err != nil {
		return nil, err
	}
	q := `SELECT i.id, p.d, p.k, i.status, i.started_at, i.stuck_at, i.abandon_at, i.customer_id
		FROM unnest($1::text[], $2::text[]) AS p(d, k)
		CROSS JOIN LATERAL (SELECT * FROM journey_instances j WHERE j.definition_key = p.d AND j.correlation_key = p.k OFFSET 0) i`
	if !db.Postgres() {
		q = `SELECT i.id, p.value ->> 0, p.value ->> 1, i.status, i.started_at, i.stuck_at, i.abandon_at, i.customer_id
			FROM json_each(?) AS p CROSS JOIN journey_instances i
			ON i.definition_key = p.value ->> 0 AND i.correlation_key = p.value ->> 1`
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading journeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r JourneyRow
		var k JourneyKey
		var started, stuck, abandon any
		var cid sql.NullString
		if err := rows.Scan(&r.ID, &k.Definition, &k.Key, &r.Status, &started, &stuck, &abandon, &cid); err != nil {
			return nil, fmt.Errorf("reading journeys: %w", err)
		}
		if r.Started, err = ScanTime(started); err == nil {
			if r.StuckAt, err = ScanTime(stuck); err == nil {
				r.AbandonAt, err = ScanTime(abandon)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading journeys: %w", err)
		}
		r.CustomerID = cid.String
		out[k] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading journeys: %w", err)
	}
	return out, nil
}

// MemberEvent is what a journey's evaluation reads of one of its events.
type MemberEvent struct {
	EventID      string
	Topic        string
	Created      time.Time
	Received     time.Time
	ResourceID   string
	ResourceType string
	CustomerID   string
}

// journeyMembersPG reads the events of each key: memberships by the
// unique index's prefix, then each event by its primary key, both as
// nested loops (the OFFSET 0 fences keep PostgreSQL from flattening the
// LATERAL subqueries into joins it would plan from statistics).
const journeyMembersPG = `SELECT p.d, p.k, e.event_id, e.topic, e.created_at, e.received_at, e.resource_id, e.resource_type, e.customer_id
	FROM unnest($1::text[], $2::text[]) AS p(d, k)
	CROSS JOIN LATERAL (SELECT m.webhook_event_id FROM journey_memberships m
		WHERE m.definition_key = p.d AND m.correlation_key = p.k OFFSET 0) m
	CROSS JOIN LATERAL (SELECT w.event_id, w.topic, w.created_at, w.received_at, w.resource_id, w.resource_type, w.customer_id
		FROM webhook_events w WHERE w.id = m.webhook_event_id OFFSET 0) e`

// journeyMembersSQLite is the same on SQLite, where CROSS JOIN fixes the
// join order: keys, then memberships, then events.
const journeyMembersSQLite = `SELECT p.value ->> 0, p.value ->> 1, e.event_id, e.topic, e.created_at, e.received_at, e.resource_id, e.resource_type, e.customer_id
	FROM json_each(?) AS p
	CROSS JOIN journey_memberships m ON m.definition_key = p.value ->> 0 AND m.correlation_key = p.value ->> 1
	CROSS JOIN webhook_events e ON e.id = m.webhook_event_id`

// JourneyMembersQuery is the statement JourneyMembers runs, for plan
// checks.
func (db *DB) JourneyMembersQuery() string {
	if db.Postgres() {
		return journeyMembersPG
	}
	return journeyMembersSQLite
}

// JourneyMembersArgs are its arguments for keys, for plan checks.
func (db *DB) JourneyMembersArgs(keys []JourneyKey) ([]any, error) { return db.keyArgs(keys) }

// Querier is a *sql.Tx or a *sql.DB.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// JourneyMembers reads, through q (the processing transaction, or the read
// pool), the events of each of keys.
func (db *DB) JourneyMembers(ctx context.Context, q Querier, keys []JourneyKey) (map[JourneyKey][]MemberEvent, error) {
	out := make(map[JourneyKey][]MemberEvent, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args, err := db.keyArgs(keys)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, db.JourneyMembersQuery(), args...)
	if err != nil {
		return nil, fmt.Errorf("reading journey events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k JourneyKey
		var e MemberEvent
		var created, received any
		var rid, rtype, cid sql.NullString
		if err := rows.Scan(&k.Definition, &k.Key, &e.EventID, &e.Topic, &created, &received, &rid, &rtype, &cid); err != nil {
			return nil, fmt.Errorf("reading journey events: %w", err)
		}
		if e.Created, err = ScanTime(created); err == nil {
			e.Received, err = ScanTime(received)
		}
		if err != nil {
			return nil, fmt.Errorf("reading journey events: %w", err)
		}
		e.ResourceID, e.ResourceType, e.CustomerID = rid.String, rtype.String, cid.String
		out[k] = append(out[k], e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading journey events: %w", err)
	}
	return out, nil
}
