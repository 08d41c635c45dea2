package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// NewEvent is an event to store: a verified webhook, or one imported from
// Dwolla's Events API.
type NewEvent struct {
	EventID       string
	Topic         string
	HeaderTopic   string
	TopicMismatch bool
	TopicKnown    bool
	ResourceType  string
	ResourceID    string
	CustomerID    string
	AccountID     string
	CorrelationID string
	CreatedAt     time.Time
	Source        string // webhook, sync or reconcile
	Body          []byte
	BodyEncoding  string
	BodySHA256    string
	BodySize      int
	// Deliveries is how many webhook deliveries brought this event in this
	// batch; 0 for an import from the Events API.
	Deliveries int
}

// StoredEvent says what became of a NewEvent.
type StoredEvent struct {
	ID      int
	EventID string
	// New is true when this call inserted the event; false when it was
	// already stored (then its delivery count was raised by Deliveries).
	New bool
}

// maxRowsPerStatement keeps multi-row statements well under SQLite's
// 32,766 and PostgreSQL's 65,535 bind-parameter limits.
const maxRowsPerStatement = 500

const eventColumns = `event_id, topic, header_topic, topic_mismatch, topic_known, resource_type,
	resource_id, customer_id, account_id, correlation_id, created_at, received_at, last_delivery_at,
	source, body, body_encoding, body_sha256, body_size, delivery_count`

const eventColumnCount = 19

// EventWriter stores events and deliveries with statements kept prepared
// (see Statements): the receiver's group commits use one.
type EventWriter struct {
	db    *DB
	stmts *Statements
}

// NewEventWriter returns an EventWriter for db. Call Prepare outside any
// transaction before each transaction that uses it.
func (db *DB) NewEventWriter() *EventWriter {
	return &EventWriter{db: db, stmts: db.NewStatements()}
}

// Prepare prepares the statements the last transactions asked for; see
// Statements.Prepare.
func (w *EventWriter) Prepare(ctx context.Context) error { return w.stmts.Prepare(ctx) }

// Close releases the prepared statements.
func (w *EventWriter) Close() error { return w.stmts.Close() }

// InsertEvents stores, inside tx, the events not stored yet (state queued,
// ready now) and raises the delivery count of those that are. Event ids must
// be unique within evs; the caller folds repeated deliveries into one
// NewEvent with Deliveries > 1. Rows are written in event-id order so that
// concurrent writers lock them in the same order and cannot deadlock.
func (db *DB) InsertEvents(ctx context.Context, tx *sql.Tx, now time.Time, evs []NewEvent) ([]StoredEvent, error) {
	return (&EventWriter{db: db}).InsertEvents(ctx, tx, now, evs)
}

// InsertDeliveries records deliveries inside tx.
func (db *DB) InsertDeliveries(ctx context.Context, tx *sql.Tx, ds []NewDelivery) error {
	return (&EventWriter{db: db}).InsertDeliveries(ctx, tx, ds)
}

// InsertEvents is DB.InsertEvents with w's prepared statements.
func (w *EventWriter) InsertEvents(ctx context.Context, tx *sql.Tx, now time.Time, evs []NewEvent) ([]StoredEvent, error) {
	db := w.db
	if len(evs) == 0 {
		return nil, nil
	}
	now = now.UTC()
	sorted := make([]*NewEvent, len(evs))
	for i := range evs {
		sorted[i] = &evs[i]
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].EventID < sorted[j].EventID })

	out := make([]StoredEvent, 0, len(evs))
	inserted := make(map[string]int, len(evs))
	start := 0
	for _, size := range db.chunks(len(sorted), w.stmts != nil) {
		chunk := sorted[start : start+size]
		start += size
		var b strings.Builder
		b.WriteString("INSERT INTO webhook_events (")
		b.WriteString(eventColumns)
		b.WriteString(") VALUES ")
		args := make([]any, 0, len(chunk)*eventColumnCount)
		for i, e := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
			source := e.Source
			if source == "" {
				source = "webhook"
			}
			encoding := e.BodyEncoding
			if encoding == "" {
				encoding = "identity"
			}
			args = append(args,
				e.EventID, e.Topic, nullable(e.HeaderTopic), e.TopicMismatch, e.TopicKnown, nullable(e.ResourceType),
				nullable(e.ResourceID), nullable(e.CustomerID), nullable(e.AccountID), nullable(e.CorrelationID),
				e.CreatedAt.UTC(), now, now,
				source, e.Body, encoding, e.BodySHA256, e.BodySize, e.Deliveries,
			)
		}
		b.WriteString(" ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id")
		rows, err := db.queryIn(ctx, tx, w.stmts, b.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("inserting events: %w", err)
		}
		for rows.Next() {
			var id int
			var eid string
			if err := rows.Scan(&id, &eid); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading inserted ids: %w", err)
			}
			inserted[eid] = id
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("inserting events: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("inserting events: %w", err)
		}
	}
	if err := w.queue(ctx, tx, now, inserted); err != nil {
		return nil, err
	}

	// Events already present: count the new deliveries, grouped by how many
	// arrived in this batch (nearly always one group).
	existing := map[int][]string{}
	for _, e := range sorted {
		if id, ok := inserted[e.EventID]; ok {
			out = append(out, StoredEvent{ID: id, EventID: e.EventID, New: true})
			continue
		}
		existing[e.Deliveries] = append(existing[e.Deliveries], e.EventID)
	}
	counts := make([]int, 0, len(existing))
	for n := range existing {
		counts = append(counts, n)
	}
	sort.Ints(counts)
	for _, n := range counts {
		ids := existing[n]
		for start := 0; start < len(ids); start += maxRowsPerStatement {
			chunk := ids[start:min(start+maxRowsPerStatement, len(ids))]
			var q string
			args := make([]any, 0, len(chunk)+2)
			if n == 0 {
				// An import of an event already here changes nothing, but the
				// caller still wants its row id.
				q = "SELECT id, event_id FROM webhook_events WHERE event_id IN (" + placeholders(len(chunk)) + ")"
			} else {
				q = "UPDATE webhook_events SET delivery_count = delivery_count + ?, last_delivery_at = ? WHERE event_id IN (" +
					placeholders(len(chunk)) + ") RETURNING id, event_id"
				args = append(args, n, now)
			}
			for _, id := range chunk {
				args = append(args, id)
			}
			rows, err := tx.QueryContext(ctx, db.Rebind(q), args...)
			if err != nil {
				return nil, fmt.Errorf("counting duplicate deliveries: %w", err)
			}
			for rows.Next() {
				var s StoredEvent
				if err := rows.Scan(&s.ID, &s.EventID); err != nil {
					rows.Close()
					return nil, fmt.Errorf("reading duplicate ids: %w", err)
				}
				out = append(out, s)
			}
			if err := rows.Close(); err != nil {
				return nil, fmt.Errorf("counting duplicate deliveries: %w", err)
			}
		}
	}
	if len(out) != len(evs) {
		return nil, fmt.Errorf("storing events: %d of %d rows accounted for", len(out), len(evs))
	}
	return out, nil
}

// queueSQLite queues the events whose row ids it is given as a JSON array:
// one statement shape for any number of events.
const queueSQLite = `INSERT INTO event_queue (webhook_event_id, state, attempts, due_at)
	SELECT value, 'queued', 0, ? FROM json_each(?)`

// queue puts the events just inserted (event id → row id) in the queue,
// due now, inside tx.
func (w *EventWriter) queue(ctx context.Context, tx *sql.Tx, now time.Time, inserted map[string]int) error {
	if len(inserted) == 0 {
		return nil
	}
	ids := make([]int, 0, len(inserted))
	for _, id := range inserted {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var err error
	if w.db.Postgres() {
		in, arg := w.db.idSet(ids)
		_, err = tx.ExecContext(ctx, w.db.Rebind(`INSERT INTO event_queue (webhook_event_id, state, attempts, due_at)
			SELECT id, 'queued', 0, ? FROM webhook_events WHERE id `+in), now, arg)
	} else {
		_, arg := w.db.idSet(ids)
		_, err = w.db.execIn(ctx, tx, w.stmts, queueSQLite, now, arg)
	}
	if err != nil {
		return fmt.Errorf("queueing events: %w", err)
	}
	return nil
}

// NewDelivery is one HTTP delivery to record.
type NewDelivery struct {
	ReceivedAt     time.Time
	RemoteAddr     string
	Outcome        string
	StatusCode     int
	LatencyMS      float64
	BodySize       int
	BodySHA256     string
	DwollaEventID  string
	TopicHeader    string
	UserAgent      string
	RequestID      string
	Reason         string
	WebhookEventID int // 0 when no stored event is linked
}

const deliveryColumns = `received_at, remote_addr, outcome, status_code, latency_ms, body_size, body_sha256,
	dwolla_event_id, topic_header, user_agent, request_id, reason, webhook_event_id`

// InsertDeliveries is DB.InsertDeliveries with w's prepared statements.
func (w *EventWriter) InsertDeliveries(ctx context.Context, tx *sql.Tx, ds []NewDelivery) error {
	db := w.db
	start := 0
	for _, size := range db.chunks(len(ds), w.stmts != nil) {
		chunk := ds[start : start+size]
		start += size
		var b strings.Builder
		b.WriteString("INSERT INTO webhook_deliveries (")
		b.WriteString(deliveryColumns)
		b.WriteString(") VALUES ")
		args := make([]any, 0, len(chunk)*13)
		for i, d := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
			var eventID any
			if d.WebhookEventID != 0 {
				eventID = d.WebhookEventID
			}
			args = append(args, d.ReceivedAt.UTC(), nullable(truncate(d.RemoteAddr, 128)), d.Outcome, d.StatusCode, d.LatencyMS,
				d.BodySize, nullable(d.BodySHA256), nullable(truncate(d.DwollaEventID, 128)), nullable(truncate(d.TopicHeader, 128)),
				nullable(truncate(d.UserAgent, 256)), nullable(truncate(d.RequestID, 128)), nullable(truncate(d.Reason, 512)), eventID)
		}
		if _, err := db.execIn(ctx, tx, w.stmts, b.String(), args...); err != nil {
			return fmt.Errorf("recording deliveries: %w", err)
		}
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// truncate cuts s to at most n bytes of valid UTF-8 without NUL bytes:
// header values are attacker-controlled and PostgreSQL text refuses both.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// TopicCount is how often a topic was received and when last.
type TopicCount struct {
	Count int
	Last  time.Time
}

// TopicCounts counts the events received per topic, all time (those
// retention deleted included), and when each topic was last received.
// Counts come from the daily rollups plus the events not yet counted there
// (queued, or dead-lettered before their first success); the last receipt
// of each topic is one probe of the (topic, received_at) index. Nothing
// here grows with the number of events: a GROUP BY over the events table
// took 1.6 s at ten million.
func (db *DB) TopicCounts(ctx context.Context) (map[string]TopicCount, error) {
	out := map[string]TopicCount{}
	rows, err := db.Read.QueryContext(ctx, "SELECT topic, SUM(received), MAX(bucket) FROM metric_rollups WHERE granularity = 'day' AND topic <> '' GROUP BY topic")
	if err != nil {
		return nil, fmt.Errorf("counting topics: %w", err)
	}
	for rows.Next() {
		var topic string
		var n int
		var day any
		if err := rows.Scan(&topic, &n, &day); err != nil {
			rows.Close()
			return nil, fmt.Errorf("counting topics: %w", err)
		}
		if n == 0 {
			continue
		}
		last, err := ScanTime(day)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[topic] = TopicCount{Count: n, Last: last}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("counting topics: %w", err)
	}
	pending, err := db.UnprocessedByMinute(ctx, time.Unix(0, 0), time.Now().Add(24*time.Hour), QueueQueued, QueueFailed)
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		if p.RolledUp {
			continue
		}
		c := out[p.Topic]
		c.Count += int(p.Events)
		out[p.Topic] = c
	}
	if len(out) == 0 {
		return out, nil
	}
	topics := make([]string, 0, len(out))
	for t := range out {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var q string
	var arg any
	if db.Postgres() {
		q = `SELECT t, (SELECT MAX(received_at) FROM webhook_events WHERE topic = t) FROM unnest($1::text[]) AS t`
		arg = topics
	} else {
		b, err := json.Marshal(topics)
		if err != nil {
			return nil, err
		}
		q = `SELECT value, (SELECT MAX(received_at) FROM webhook_events WHERE topic = value) FROM json_each(?)`
		arg = string(b)
	}
	lrows, err := db.Read.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("reading when topics were last received: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var topic string
		var last any
		if err := lrows.Scan(&topic, &last); err != nil {
			return nil, fmt.Errorf("reading when topics were last received: %w", err)
		}
		t, err := ScanTime(last)
		if err != nil {
			return nil, err
		}
		if !t.IsZero() {
			c := out[topic]
			c.Last = t
			out[topic] = c
		}
	}
	return out, lrows.Err()
}

// storeGroupSQL is a whole group commit on PostgreSQL in one statement,
// and so in one round trip and one transaction of its own: insert the new
// events (in event-id order, so that concurrent writers lock rows in the
// same order), count repeated deliveries of stored ones, and record every
// delivery linked to its event. Rows travel as arrays, so the statement has
// one shape whatever the batch size and pgx prepares it once per
// connection. xmax = 0 tells a row this statement inserted from one its
// ON CONFLICT clause updated.
const storeGroupSQL = `WITH ev AS (
	INSERT INTO webhook_events (event_id, topic, header_topic, topic_mismatch, topic_known, resource_type,
		resource_id, customer_id, account_id, correlation_id, created_at, received_at, last_delivery_at,
		source, body, body_encoding, body_sha256, body_size, delivery_count)
	SELECT e.event_id, e.topic, NULLIF(e.header_topic, ''), e.topic_mismatch, e.topic_known, NULLIF(e.resource_type, ''),
		NULLIF(e.resource_id, ''), NULLIF(e.customer_id, ''), NULLIF(e.account_id, ''), NULLIF(e.correlation_id, ''),
		e.created_at, $1, $1, e.source, e.body, e.body_encoding, e.body_sha256, e.body_size, e.deliveries
	FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::bytea[], $15::text[], $16::text[], $17::bigint[],
		$18::bigint[])
		AS e(event_id, topic, header_topic, topic_mismatch, topic_known, resource_type, resource_id, customer_id,
		account_id, correlation_id, created_at, source, body, body_encoding, body_sha256, body_size, deliveries)
	ORDER BY e.event_id
	ON CONFLICT (event_id) DO UPDATE SET delivery_count = webhook_events.delivery_count + excluded.delivery_count,
		last_delivery_at = excluded.last_delivery_at
	RETURNING id, event_id, xmax = 0 AS inserted
), q AS (
	INSERT INTO event_queue (webhook_event_id, state, attempts, due_at)
	SELECT id, 'queued', 0, $1 FROM ev WHERE inserted
), dl AS (
	INSERT INTO webhook_deliveries (received_at, remote_addr, outcome, status_code, latency_ms, body_size, body_sha256,
		dwolla_event_id, topic_header, user_agent, request_id, reason, webhook_event_id)
	SELECT d.received_at, NULLIF(d.remote_addr, ''),
		CASE WHEN ev.id IS NULL THEN d.outcome WHEN ev.inserted AND d.first THEN 'accepted' ELSE 'duplicate' END,
		d.status_code, d.latency_ms, d.body_size, NULLIF(d.body_sha256, ''), NULLIF(d.dwolla_event_id, ''),
		NULLIF(d.topic_header, ''), NULLIF(d.user_agent, ''), NULLIF(d.request_id, ''), NULLIF(d.reason, ''), ev.id
	FROM unnest($19::timestamptz[], $20::text[], $21::text[], $22::bigint[], $23::float8[], $24::bigint[], $25::text[],
		$26::text[], $27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::bool[])
		AS d(received_at, remote_addr, outcome, status_code, latency_ms, body_size, body_sha256, dwolla_event_id,
		topic_header, user_agent, request_id, reason, link, first)
	LEFT JOIN ev ON ev.event_id = d.link
)
SELECT id, event_id, inserted FROM ev`

// StoreGroup stores a group commit on PostgreSQL in one statement, which
// is its own transaction: it is durable when StoreGroup returns. New
// events are queued for the pipeline in the same statement. evs are
// the distinct events (Deliveries ≥ 1 each, see InsertEvents); ds the
// deliveries, where links[i] names the event id ds[i] brought ("" for a
// rejected delivery, recorded as it is). A linked delivery is recorded as
// accepted (status 200) when it is the first in ds of an event this call
// stored, as a duplicate otherwise. It returns one StoredEvent per event,
// in evs' order. Group commits on SQLite, whose transactions cost no round
// trips, use InsertEvents and InsertDeliveries.
func (w *EventWriter) StoreGroup(ctx context.Context, now time.Time, evs []NewEvent, ds []NewDelivery, links []string) ([]StoredEvent, error) {
	if !w.db.Postgres() {
		return nil, errors.New("StoreGroup is for PostgreSQL")
	}
	if len(links) != len(ds) {
		return nil, errors.New("StoreGroup: one link per delivery")
	}
	now = now.UTC()
	n := len(evs)
	eventID, topic, headerTopic := make([]string, n), make([]string, n), make([]string, n)
	mismatch, known := make([]bool, n), make([]bool, n)
	rtype, rid, cid, aid, corr := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created := make([]time.Time, n)
	source, encoding, sha := make([]string, n), make([]string, n), make([]string, n)
	body := make([][]byte, n)
	size, deliveries := make([]int64, n), make([]int64, n)
	for i, e := range evs {
		eventID[i], topic[i], headerTopic[i] = e.EventID, e.Topic, e.HeaderTopic
		mismatch[i], known[i] = e.TopicMismatch, e.TopicKnown
		rtype[i], rid[i], cid[i], aid[i], corr[i] = e.ResourceType, e.ResourceID, e.CustomerID, e.AccountID, e.CorrelationID
		created[i] = e.CreatedAt.UTC()
		source[i], encoding[i], sha[i] = e.Source, e.BodyEncoding, e.BodySHA256
		if source[i] == "" {
			source[i] = "webhook"
		}
		if encoding[i] == "" {
			encoding[i] = "identity"
		}
		body[i] = e.Body
		size[i], deliveries[i] = int64(e.BodySize), int64(e.Deliveries)
	}
	m := len(ds)
	received := make([]time.Time, m)
	remote, outcome, dsha, deid, theader, ua, reqID, reason := make([]string, m), make([]string, m), make([]string, m),
		make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m)
	status, dsize := make([]int64, m), make([]int64, m)
	latency := make([]float64, m)
	first := make([]bool, m)
	seen := make(map[string]bool, m)
	for i, d := range ds {
		received[i] = d.ReceivedAt.UTC()
		remote[i], outcome[i], dsha[i] = truncate(d.RemoteAddr, 128), d.Outcome, d.BodySHA256
		deid[i], theader[i] = truncate(d.DwollaEventID, 128), truncate(d.TopicHeader, 128)
		ua[i], reqID[i], reason[i] = truncate(d.UserAgent, 256), truncate(d.RequestID, 128), truncate(d.Reason, 512)
		status[i], dsize[i], latency[i] = int64(d.StatusCode), int64(d.BodySize), d.LatencyMS
		if links[i] != "" {
			status[i] = 200
			first[i] = !seen[links[i]]
			seen[links[i]] = true
		}
	}
	rows, err := w.db.Write.QueryContext(ctx, storeGroupSQL, now,
		eventID, topic, headerTopic, mismatch, known, rtype, rid, cid, aid, corr, created, source, body, encoding, sha, size, deliveries,
		received, remote, outcome, status, latency, dsize, dsha, deid, theader, ua, reqID, reason, links, first)
	if err != nil {
		return nil, fmt.Errorf("storing deliveries: %w", err)
	}
	byID := make(map[string]StoredEvent, n)
	for rows.Next() {
		var s StoredEvent
		if err := rows.Scan(&s.ID, &s.EventID, &s.New); err != nil {
			rows.Close()
			return nil, fmt.Errorf("storing deliveries: %w", err)
		}
		byID[s.EventID] = s
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("storing deliveries: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storing deliveries: %w", err)
	}
	out := make([]StoredEvent, n)
	for i, e := range evs {
		s, ok := byID[e.EventID]
		if !ok {
			return nil, fmt.Errorf("storing deliveries: event %s was not returned", e.EventID)
		}
		out[i] = s
	}
	return out, nil
}
