// Package tracker keeps journeys in the database. As a pipeline stage it
// routes each processed event to the journeys it belongs to, records the
// membership, and re-evaluates those journeys from all their events (with
// internal/journey, which is pure); the sweeps re-evaluate journeys whose
// time limits have passed, making them stuck or abandoned.
//
// Journeys sharing a correlation key are serialised (an advisory lock on
// PostgreSQL, the single writer on SQLite) so two workers processing two
// events of one journey cannot each miss the other's event.
package tracker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
)

// Tracker is the journeys stage and store.
type Tracker struct {
	db     *store.DB
	client *ent.Client
	hub    *live.Hub
	log    *slog.Logger

	router atomic.Pointer[journey.Router]
	defIDs atomic.Pointer[map[string]int]
}

// New returns a tracker. Call Seed and Reload before processing.
func New(db *store.DB, hub *live.Hub, log *slog.Logger) *Tracker {
	t := &Tracker{db: db, client: db.Client, hub: hub, log: log}
	empty, _ := journey.NewRouter(nil)
	t.router.Store(empty)
	t.defIDs.Store(&map[string]int{})
	return t
}

// Name implements pipeline.Stage.
func (t *Tracker) Name() string { return "journeys" }

// Router returns the current router.
func (t *Tracker) Router() *journey.Router { return t.router.Load() }

type pair struct {
	def, key string
}

func (p pair) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte(p.def))
	h.Write([]byte{0})
	h.Write([]byte(p.key))
	return int64(h.Sum64())
}

func toJourneyEvent(ev *pipeline.Event) journey.Event {
	return journey.Event{
		ID: ev.EventID, Topic: ev.Topic, Created: journeyTime(ev.CreatedAt, ev.ReceivedAt),
		ResourceID: ev.ResourceID, ResourceType: ev.ResourceType, CustomerID: ev.CustomerID,
	}
}

// journeyTime is when an event happened for its journeys: Dwolla's created
// time, unless it is impossible (dwolla.ImpossibleCreated: a signed event
// may claim 0001-01-01 or 9999-12-31), when its receipt is the better
// guess. Journeys' steps, durations and time limits then stay sane, and
// old events replayed or imported keep their own times.
func journeyTime(created, received time.Time) time.Time {
	if dwolla.ImpossibleCreated(created, received) {
		return received
	}
	return created
}

func memberJourneyEvents(list []store.MemberEvent) []journey.Event {
	out := make([]journey.Event, len(list))
	for i, e := range list {
		out[i] = journey.Event{ID: e.EventID, Topic: e.Topic, Created: journeyTime(e.Created, e.Received), ResourceID: e.ResourceID,
			ResourceType: e.ResourceType, CustomerID: e.CustomerID}
	}
	return out
}

// Apply implements pipeline.Stage: route, record memberships, re-evaluate.
func (t *Tracker) Apply(ctx context.Context, tx *sql.Tx, events []*pipeline.Event, now time.Time) (func(context.Context), error) {
	r := t.router.Load()
	opens := map[pair]bool{}
	type member struct {
		p  pair
		id int
	}
	var members []member
	var buf []journey.Assignment
	for _, ev := range events {
		buf = r.AppendRoute(buf[:0], toJourneyEvent(ev))
		for _, a := range buf {
			p := pair{a.Definition, a.Key}
			members = append(members, member{p, ev.ID})
			opens[p] = opens[p] || a.Opens
		}
	}
	if len(members) == 0 {
		return nil, nil
	}
	// Memberships first: they are kept even when no instance exists yet.
	sort.Slice(members, func(i, j int) bool {
		a, b := members[i], members[j]
		if a.p.def != b.p.def {
			return a.p.def < b.p.def
		}
		if a.p.key != b.p.key {
			return a.p.key < b.p.key
		}
		return a.id < b.id
	})
	ms := make([]store.Membership, len(members))
	for i, m := range members {
		ms[i] = store.Membership{Journey: store.JourneyKey{Definition: m.p.def, Key: m.p.key}, EventID: m.id}
	}
	if err := t.db.AddMemberships(ctx, tx, ms); err != nil {
		return nil, err
	}
	pairs := make([]pair, 0, len(opens))
	for p := range opens {
		pairs = append(pairs, p)
	}
	changes, err := t.evaluate(ctx, tx, pairs, opens, now)
	if err != nil {
		return nil, err
	}
	return changes.publish(t), nil
}

// changes says which instances an evaluation touched.
type changes struct {
	updated     []int
	updatedDefs []string
	stuck       []int
	stuckDefs   []string
}

func (c changes) publish(t *Tracker) func(context.Context) {
	if len(c.updated) == 0 {
		return nil
	}
	return func(ctx context.Context) {
		if err := t.hub.Publish(ctx, live.Message{Kind: live.JourneyUpdated, IDs: c.updated, Keys: c.updatedDefs}); err != nil {
			t.log.Warn("publishing journey updates", "err", err)
		}
		if len(c.stuck) > 0 {
			if err := t.hub.Publish(ctx, live.Message{Kind: live.JourneyStuck, IDs: c.stuck, Keys: c.stuckDefs}); err != nil {
				t.log.Warn("publishing stuck journeys", "err", err)
			}
		}
	}
}

// existing is what evaluate reads of a stored instance: its id, and the
// values of the indexed columns an update may leave untouched.
type existing struct {
	id         int
	status     string
	started    time.Time
	stuckAt    time.Time // zero when NULL
	abandonAt  time.Time // zero when NULL
	customerID string
}

// evaluate locks pairs, then (re)computes the instances that exist or that
// an event may open, and writes them. opens nil means "only existing".
func (t *Tracker) evaluate(ctx context.Context, tx *sql.Tx, pairs []pair, opens map[pair]bool, now time.Time) (changes, error) {
	var ch changes
	if len(pairs) == 0 {
		return ch, nil
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].def != pairs[j].def {
			return pairs[i].def < pairs[j].def
		}
		return pairs[i].key < pairs[j].key
	})
	if t.db.Postgres() {
		keys := make([]int64, len(pairs))
		for i, p := range pairs {
			keys[i] = p.lockKey()
		}
		// One statement takes every lock, in key order: concurrent batches
		// always lock in the same order and cannot deadlock.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k) AS t ORDER BY k", keys); err != nil {
			return ch, fmt.Errorf("locking journeys: %w", err)
		}
	}
	have, err := t.readInstances(ctx, tx, pairs)
	if err != nil {
		return ch, err
	}
	// Only journeys that exist, or that an event may open, are evaluated:
	// reading the events of the others (say, a transfer's completion seen
	// before its creation) would be wasted.
	r := t.router.Load()
	todo := pairs[:0:0]
	for _, p := range pairs {
		_, exists := have[p]
		if !exists && (opens == nil || !opens[p]) {
			continue
		}
		if _, ok := r.Definition(p.def); !ok {
			continue // disabled or deleted since routing
		}
		todo = append(todo, p)
	}
	evs, err := t.readMembers(ctx, tx, todo)
	if err != nil {
		return ch, err
	}

	defIDs := *t.defIDs.Load()
	var rows []instanceRow
	for _, p := range todo {
		prev, exists := have[p]
		def, _ := r.Definition(p.def)
		st := journey.Evaluate(def, evs[p], now)
		if st.Excluded {
			// The events show this belongs to another journey (a business
			// customer seen by the personal one): no instance.
			if exists {
				if _, err := tx.ExecContext(ctx, t.db.Rebind("DELETE FROM journey_instances WHERE id = ?"), prev.id); err != nil {
					return ch, fmt.Errorf("removing excluded journey: %w", err)
				}
			}
			continue
		}
		row, err := rowFromState(p, def, st, defIDs[p.def], now)
		if err != nil {
			return ch, err
		}
		if exists {
			row.id = prev.id
			row.wasStuck = prev.status == "stuck"
			row.unchanged = row.indexedUnchanged(prev)
		}
		rows = append(rows, row)
	}
	if err := t.write(ctx, tx, rows); err != nil {
		return ch, err
	}
	for _, row := range rows {
		ch.updated = append(ch.updated, row.id)
		ch.updatedDefs = append(ch.updatedDefs, row.def)
		if row.status == "stuck" && !row.wasStuck {
			ch.stuck = append(ch.stuck, row.id)
			ch.stuckDefs = append(ch.stuckDefs, row.def)
		}
	}
	return ch, nil
}

func journeyKeys(pairs []pair) []store.JourneyKey {
	keys := make([]store.JourneyKey, len(pairs))
	for i, p := range pairs {
		keys[i] = store.JourneyKey{Definition: p.def, Key: p.key}
	}
	return keys
}

// readInstances reads the stored instances of pairs.
func (t *Tracker) readInstances(ctx context.Context, tx *sql.Tx, pairs []pair) (map[pair]existing, error) {
	rows, err := t.db.JourneysOf(ctx, tx, journeyKeys(pairs))
	if err != nil {
		return nil, err
	}
	have := make(map[pair]existing, len(rows))
	for k, r := range rows {
		have[pair{k.Definition, k.Key}] = existing{id: r.ID, status: r.Status, started: r.Started, stuckAt: r.StuckAt,
			abandonAt: r.AbandonAt, customerID: r.CustomerID}
	}
	return have, nil
}

// readMembers reads the events of each of pairs.
func (t *Tracker) readMembers(ctx context.Context, tx *sql.Tx, pairs []pair) (map[pair][]journey.Event, error) {
	got, err := t.db.JourneyMembers(ctx, tx, journeyKeys(pairs))
	if err != nil {
		return nil, err
	}
	evs := make(map[pair][]journey.Event, len(got))
	for k, list := range got {
		evs[pair{k.Definition, k.Key}] = memberJourneyEvents(list)
	}
	return evs, nil
}

type instanceRow struct {
	def, key           string
	version            int
	status             string
	step, stepName     string
	progress           float64
	started, last      time.Time
	ended              *time.Time
	durationMS         *float64
	outcome, endTopic  string
	failedAfterSuccess bool
	stuckAt, abandonAt *time.Time
	stuckSince         *time.Time
	note               string
	timeline           string
	eventCount         int
	customerID         string
	resourceID         string
	definitionID       *int
	wasStuck           bool
	// id is the stored instance's id, 0 for a new one.
	id int
	// unchanged are the indexed columns whose stored values this row
	// keeps (for an existing instance).
	unchanged indexedColumns
}

// indexedColumns is a set of journey_instances' indexed columns that an
// update may change. SQLite rewrites an index's entry whenever its column
// is assigned, even to the value it holds, and the index's page then goes
// to the WAL: leaving unchanged indexed columns out of an update saves a
// page write per index (on PostgreSQL, which compares values, it changes
// nothing).
type indexedColumns uint8

const (
	colStatus indexedColumns = 1 << iota
	colStarted
	colStuckAt
	colAbandonAt
	colCustomer
)

// indexedUnchanged returns the indexed columns whose values r keeps from prev.
func (r *instanceRow) indexedUnchanged(prev existing) indexedColumns {
	var same indexedColumns
	if r.status == prev.status {
		same |= colStatus
	}
	if r.started.Equal(prev.started) {
		same |= colStarted
	}
	if sameOptTime(r.stuckAt, prev.stuckAt) {
		same |= colStuckAt
	}
	if sameOptTime(r.abandonAt, prev.abandonAt) {
		same |= colAbandonAt
	}
	if r.customerID == prev.customerID {
		same |= colCustomer
	}
	return same
}

func sameOptTime(t *time.Time, stored time.Time) bool {
	if t == nil {
		return stored.IsZero()
	}
	return !stored.IsZero() && t.Equal(stored)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func rowFromState(p pair, def journey.Definition, st journey.State, defID int, now time.Time) (instanceRow, error) {
	tl, err := json.Marshal(st)
	if err != nil {
		return instanceRow{}, fmt.Errorf("encoding journey state: %w", err)
	}
	row := instanceRow{
		def: p.def, key: p.key, version: def.Version, status: string(st.Status),
		step: st.CurrentStep, stepName: st.CurrentStepName, progress: st.Progress,
		started: st.StartedAt.UTC(), last: st.LastEventAt.UTC(), ended: optTime(st.EndedAt),
		failedAfterSuccess: st.FailedAfterSuccess,
		stuckAt:            optTime(st.StuckAt), abandonAt: optTime(st.AbandonAt),
		note: st.Note(), timeline: string(tl), eventCount: st.EventCount,
	}
	// A journey that began and ended with one event took 0 s; one whose
	// first step was never seen took an unknown time (NULL), so time
	// statistics leave it out (journey.State.DurationKnown).
	if st.DurationKnown() {
		ms := float64(time.Duration(st.Duration).Microseconds()) / 1000
		row.durationMS = &ms
	}
	row.outcome, row.endTopic = string(st.Outcome), st.EndTopic
	if st.Status == journey.StatusStuck {
		since := st.StuckAt
		if since.IsZero() {
			since = now
		}
		row.stuckSince = optTime(since)
	}
	if len(st.CustomerIDs) > 0 {
		row.customerID = st.CustomerIDs[0]
	}
	if def.Correlation.By == journey.ByResource {
		row.resourceID = p.key
	} else if row.customerID == "" {
		row.customerID = p.key
	}
	if defID != 0 {
		row.definitionID = &defID
	}
	return row, nil
}

const instanceColumns = `definition_key, correlation_key, definition_version, status, current_step, current_step_name,
	progress, started_at, last_event_at, ended_at, duration_ms, outcome, end_topic, failed_after_success, stuck_at, abandon_at, stuck_since,
	note, timeline, event_count, customer_id, resource_id, definition_id, created_at, updated_at`

// write stores rows and sets the id of the new ones. On SQLite an existing
// instance is updated in place, assigning only the indexed columns whose
// values change (see indexedColumns); everything else is upserted.
func (t *Tracker) write(ctx context.Context, tx *sql.Tx, rows []instanceRow) error {
	var upserts []*instanceRow
	updates := map[indexedColumns][]*instanceRow{}
	for i := range rows {
		r := &rows[i]
		if r.id == 0 || t.db.Postgres() {
			upserts = append(upserts, r)
			continue
		}
		updates[r.unchanged] = append(updates[r.unchanged], r)
	}
	if err := t.update(ctx, tx, updates); err != nil {
		return err
	}
	ids, err := t.upsert(ctx, tx, upserts)
	if err != nil {
		return err
	}
	for i, r := range upserts {
		r.id = ids[i]
	}
	return nil
}

// update updates existing instances by id, one prepared statement per set
// of unchanged indexed columns.
func (t *Tracker) update(ctx context.Context, tx *sql.Tx, groups map[indexedColumns][]*instanceRow) error {
	if len(groups) == 0 {
		return nil
	}
	masks := make([]indexedColumns, 0, len(groups))
	for m := range groups {
		masks = append(masks, m)
	}
	sort.Slice(masks, func(i, j int) bool { return masks[i] < masks[j] })
	now := time.Now().UTC()
	for _, same := range masks {
		stmt, err := tx.PrepareContext(ctx, updateStatement(same))
		if err != nil {
			return fmt.Errorf("writing journeys: %w", err)
		}
		for _, r := range groups[same] {
			args := make([]any, 0, 24)
			args = append(args, r.version, nullable(r.step), nullable(r.stepName), r.progress, r.last, r.ended, r.durationMS,
				nullable(r.outcome), nullable(r.endTopic), r.failedAfterSuccess, r.status, r.stuckSince, nullable(r.note), r.timeline, r.eventCount, nullable(r.resourceID),
				r.definitionID, now)
			if same&colStatus == 0 {
				args = append(args, r.status)
			}
			if same&colStarted == 0 {
				args = append(args, r.started)
			}
			if same&colStuckAt == 0 {
				args = append(args, r.stuckAt)
			}
			if same&colAbandonAt == 0 {
				args = append(args, r.abandonAt)
			}
			if same&colCustomer == 0 {
				args = append(args, nullable(r.customerID))
			}
			args = append(args, r.id)
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				stmt.Close()
				return fmt.Errorf("writing journeys: %w", err)
			}
		}
		if err := stmt.Close(); err != nil {
			return fmt.Errorf("writing journeys: %w", err)
		}
	}
	return nil
}

// updateStatement is the UPDATE of one instance that leaves the indexed
// columns in same alone (SQLite placeholders).
func updateStatement(same indexedColumns) string {
	var b strings.Builder
	b.WriteString(`UPDATE journey_instances SET definition_version = ?, current_step = ?, current_step_name = ?, progress = ?,
		last_event_at = ?, ended_at = ?, duration_ms = ?, outcome = ?, end_topic = ?, failed_after_success = ?,
		stuck_since = CASE WHEN ? = 'stuck' THEN COALESCE(stuck_since, ?) ELSE NULL END,
		note = ?, timeline = ?, event_count = ?, resource_id = ?, definition_id = ?, updated_at = ?`)
	for _, c := range []struct {
		bit indexedColumns
		col string
	}{{colStatus, "status"}, {colStarted, "started_at"}, {colStuckAt, "stuck_at"}, {colAbandonAt, "abandon_at"}, {colCustomer, "customer_id"}} {
		if same&c.bit == 0 {
			b.WriteString(", " + c.col + " = ?")
		}
	}
	b.WriteString(" WHERE id = ?")
	return b.String()
}

// upsert writes rows and returns their ids, in order.
func (t *Tracker) upsert(ctx context.Context, tx *sql.Tx, rows []*instanceRow) ([]int, error) {
	ids := make([]int, 0, len(rows))
	now := time.Now().UTC()
	for start := 0; start < len(rows); start += 200 {
		chunk := rows[start:min(start+200, len(rows))]
		args := make([]any, 0, len(chunk)*25)
		for _, r := range chunk {
			args = append(args, r.def, r.key, r.version, r.status, nullable(r.step), nullable(r.stepName),
				r.progress, r.started, r.last, r.ended, r.durationMS, nullable(r.outcome), nullable(r.endTopic), r.failedAfterSuccess, r.stuckAt, r.abandonAt, r.stuckSince,
				nullable(r.note), r.timeline, r.eventCount, nullable(r.customerID), nullable(r.resourceID), r.definitionID, now, now)
		}
		q := "INSERT INTO journey_instances (" + instanceColumns + ") VALUES " +
			repeatGroup("("+strings.TrimSuffix(strings.Repeat("?,", 25), ",")+")", len(chunk)) +
			` ON CONFLICT (definition_key, correlation_key) DO UPDATE SET
				definition_version = excluded.definition_version, status = excluded.status,
				current_step = excluded.current_step, current_step_name = excluded.current_step_name,
				progress = excluded.progress, started_at = excluded.started_at, last_event_at = excluded.last_event_at,
				ended_at = excluded.ended_at, duration_ms = excluded.duration_ms,
				outcome = excluded.outcome, end_topic = excluded.end_topic,
				failed_after_success = excluded.failed_after_success, stuck_at = excluded.stuck_at,
				abandon_at = excluded.abandon_at,
				stuck_since = CASE WHEN excluded.status = 'stuck' THEN COALESCE(journey_instances.stuck_since, excluded.stuck_since) ELSE NULL END,
				note = excluded.note, timeline = excluded.timeline, event_count = excluded.event_count,
				customer_id = excluded.customer_id, resource_id = excluded.resource_id,
				definition_id = excluded.definition_id, updated_at = excluded.updated_at
			RETURNING id, definition_key, correlation_key`
		res, err := tx.QueryContext(ctx, t.db.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("writing journeys: %w", err)
		}
		got := map[pair]int{}
		for res.Next() {
			var id int
			var p pair
			if err := res.Scan(&id, &p.def, &p.key); err != nil {
				res.Close()
				return nil, err
			}
			got[p] = id
		}
		if err := res.Close(); err != nil {
			return nil, err
		}
		for _, r := range chunk {
			id, ok := got[pair{r.def, r.key}]
			if !ok {
				return nil, errors.New("writing journeys: a row was not returned")
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func repeatGroup(group string, n int) string {
	return strings.TrimSuffix(strings.Repeat(group+",", n), ",")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
