package analytics

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Export types and formats.
const (
	ExportEvents   = "events"
	ExportJourneys = "journeys"

	FormatCSV    = "csv"
	FormatJSON   = "json"
	FormatNDJSON = "ndjson"
)

// exportPage is how many rows one keyset query reads; the writer is
// flushed after each page.
const exportPage = 2000

// EventExportFilter selects events to export. Set filters combine with
// AND, like the GraphQL WebhookEventWhereInput they mirror.
type EventExportFilter struct {
	// From and To bound received_at; CreatedFrom and CreatedTo bound
	// Dwolla's created time. Zero is unbounded.
	From, To               time.Time
	CreatedFrom, CreatedTo time.Time
	// Topics, TopicPrefix and Families select topics as in EventFilter.
	Topics      []string
	TopicPrefix string
	Families    []string
	// ResourceType, ResourceID, CustomerID and CorrelationID match exactly
	// (ids case-insensitively: they are stored lower-cased).
	ResourceType  string
	ResourceID    string
	CustomerID    string
	CorrelationID string
	// States keeps processing states (queued, processing, processed,
	// failed); Sources keeps webhook, sync and/or reconcile.
	States  []string
	Sources []string
}

// ExportRequest says what to export and how.
type ExportRequest struct {
	// Type is ExportEvents or ExportJourneys; Format is FormatCSV,
	// FormatJSON (one array) or FormatNDJSON (one object per line).
	Type, Format string
	Events       EventExportFilter
	Journeys     JourneyFilter
	// IncludePayload adds each event's body, decoded (and decrypted): as
	// JSON in JSON formats, as text in CSV.
	IncludePayload bool
	// Unsafe turns off the CSV formula-injection defence (see csvWriter).
	Unsafe bool
	// Limit caps the rows exported; 0 exports every match.
	Limit int
}

// Validate checks the request.
func (r *ExportRequest) Validate() error {
	switch r.Type {
	case ExportEvents, ExportJourneys:
	default:
		return usererr.Field("type", "type must be events or journeys")
	}
	switch r.Format {
	case FormatCSV, FormatJSON, FormatNDJSON:
	default:
		return usererr.Field("format", "format must be csv, json or ndjson")
	}
	if r.Limit < 0 {
		return usererr.Field("limit", "limit must not be negative")
	}
	if r.Type == ExportJourneys {
		return r.Journeys.validate()
	}
	e := &r.Events
	for _, st := range e.States {
		if !contains([]string{"queued", "processing", "processed", "failed"}, st) {
			return usererr.Field("state", "unknown processing state %q (want queued, processing, processed or failed)", st)
		}
	}
	for _, src := range e.Sources {
		if !contains([]string{"webhook", "sync", "reconcile"}, src) {
			return usererr.Field("source", "unknown source %q (want webhook, sync or reconcile)", src)
		}
	}
	if !e.From.IsZero() && !e.To.IsZero() && !e.From.Before(e.To) {
		return usererr.Field("from", "from must be before to")
	}
	return nil
}

// ContentType is the media type of the export's body.
func (r *ExportRequest) ContentType() string {
	switch r.Format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatNDJSON:
		return "application/x-ndjson"
	}
	return "application/json"
}

// Filename names the export's file: hooklens-events-20261129T080500Z.csv.
func (r *ExportRequest) Filename(now time.Time) string {
	return fmt.Sprintf("hooklens-%s-%s.%s", r.Type, now.UTC().Format("20060102T150405Z"), r.Format)
}

// value is one cell of an exported row.
type value struct {
	kind byte // 's' text, 'i' integer, 'f' float, 't' time, 'T' time already as RFC 3339 text, 'b' bool, 'n' null, 'j' raw JSON
	s    string
	i    int64
	f    float64
	t    time.Time
	b    bool
	j    []byte
}

func text(s sql.NullString) value {
	if !s.Valid {
		return value{kind: 'n'}
	}
	return value{kind: 's', s: s.String}
}

func nullTime(t sql.NullTime) value {
	if !t.Valid {
		return value{kind: 'n'}
	}
	return value{kind: 't', t: t.Time}
}

func nullFloat(f sql.NullFloat64) value {
	if !f.Valid {
		return value{kind: 'n'}
	}
	return value{kind: 'f', f: f.Float64}
}

// source pages through one export's rows in keyset order.
type source interface {
	columns() []string
	// next reads the page after the last row read, at most n rows, and
	// hands each row to emit. The row's slice is reused for the next one.
	next(ctx context.Context, n int, emit func([]value)) (int, error)
}

// Export streams the rows req selects to w, page by page, calling flush
// after each page (to push them to an HTTP client). Rows are read with
// keyset pagination on the read pool, so a million rows never sit in
// memory. It returns the rows written.
func (s *Service) Export(ctx context.Context, w io.Writer, req ExportRequest, flush func() error) (int, error) {
	if err := req.Validate(); err != nil {
		return 0, err
	}
	var src source
	if req.Type == ExportEvents {
		src = &eventSource{s: s, f: req.Events, payload: req.IncludePayload}
	} else {
		src = &journeySource{s: s, f: req.Journeys}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := newRowEncoder(bw, req.Format, src.columns(), !req.Unsafe)
	enc.begin()
	n := 0
	for {
		size := s.page
		if req.Limit > 0 {
			size = min(size, req.Limit-n)
			if size == 0 {
				break
			}
		}
		got, err := src.next(ctx, size, enc.row)
		n += got
		s.m.rows.WithLabelValues(req.Type, req.Format).Add(float64(got))
		if err != nil {
			return n, err
		}
		if got < size {
			break
		}
		if err := bw.Flush(); err != nil {
			return n, fmt.Errorf("writing the export: %w", err)
		}
		if flush != nil {
			if err := flush(); err != nil {
				return n, fmt.Errorf("writing the export: %w", err)
			}
		}
	}
	enc.end()
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("writing the export: %w", err)
	}
	if flush != nil {
		if err := flush(); err != nil {
			return n, fmt.Errorf("writing the export: %w", err)
		}
	}
	return n, nil
}

// rowEncoder writes rows in one format.
type rowEncoder struct {
	w      *bufio.Writer
	format string
	cols   []string
	text   []bool
	csv    csvWriter
	rows   int
	buf    []byte
	scr    bytes.Buffer
}

func newRowEncoder(w *bufio.Writer, format string, cols []string, safe bool) *rowEncoder {
	return &rowEncoder{w: w, format: format, cols: cols, csv: csvWriter{w: w, safe: safe}}
}

func (e *rowEncoder) begin() {
	switch e.format {
	case FormatCSV:
		for i, c := range e.cols {
			e.csv.field(i, c, false)
		}
		e.csv.end()
	case FormatJSON:
		e.w.WriteByte('[')
	}
}

func (e *rowEncoder) end() {
	if e.format == FormatJSON {
		if e.rows > 0 {
			e.w.WriteByte('\n')
		}
		e.w.WriteString("]\n")
	}
}

func (e *rowEncoder) row(r []value) {
	// r is reused by the caller: write it out before returning.
	defer func() { e.rows++ }()
	if e.format == FormatCSV {
		for i, v := range r {
			e.csv.field(i, e.csvText(v), v.kind == 's' || v.kind == 'j')
		}
		e.csv.end()
		return
	}
	b := e.buf[:0]
	if e.format == FormatJSON {
		if e.rows > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, '{')
	for i, v := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.cols[i])
		b = append(b, ':')
		b = e.appendJSON(b, v)
	}
	b = append(b, '}')
	if e.format == FormatNDJSON {
		b = append(b, '\n')
	}
	e.w.Write(b)
	e.buf = b
}

func (e *rowEncoder) csvText(v value) string {
	switch v.kind {
	case 's':
		return v.s
	case 'i':
		return strconv.FormatInt(v.i, 10)
	case 'f':
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case 't':
		return v.t.UTC().Format(time.RFC3339Nano)
	case 'T':
		return v.s
	case 'b':
		return strconv.FormatBool(v.b)
	case 'j':
		return string(v.j)
	}
	return ""
}

func (e *rowEncoder) appendJSON(b []byte, v value) []byte {
	switch v.kind {
	case 's':
		return appendJSONString(b, v.s)
	case 'i':
		return strconv.AppendInt(b, v.i, 10)
	case 'f':
		return strconv.AppendFloat(b, v.f, 'f', -1, 64)
	case 't':
		b = append(b, '"')
		b = v.t.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case 'T':
		return appendJSONString(b, v.s)
	case 'b':
		return strconv.AppendBool(b, v.b)
	case 'j':
		// A payload that is JSON is embedded compacted (so NDJSON stays one
		// line per row); anything else becomes a string.
		e.scr.Reset()
		if json.Compact(&e.scr, v.j) == nil {
			return append(b, e.scr.Bytes()...)
		}
		return appendJSONString(b, string(v.j))
	}
	return append(b, "null"...)
}

// appendJSONString appends s as a JSON string (RFC 8259): quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// eventSource pages through events by (received_at, id).
type eventSource struct {
	s       *Service
	f       EventExportFilter
	payload bool
	started bool
	// lastAt is the last row's received_at: a time, or on SQLite the
	// stored text (see next).
	lastAt any
	lastID int64
	where  []string
	args   []any
	empty  bool
}

var eventColumns = []string{"id", "eventId", "topic", "headerTopic", "resourceType", "resourceId", "customerId", "accountId",
	"correlationId", "createdAt", "receivedAt", "source", "deliveryCount", "processingState", "attempts", "processedAt",
	"processingDurationMs", "lastError", "bodySha256", "bodySize"}

func (es *eventSource) columns() []string {
	if es.payload {
		return append(slices.Clone(eventColumns), "payload")
	}
	return eventColumns
}

// filter builds the WHERE clause once.
func (es *eventSource) filter() {
	f := es.f
	add := func(cond string, args ...any) {
		es.where = append(es.where, cond)
		es.args = append(es.args, args...)
	}
	// The receipt bounds are added per page (see next).
	if !f.CreatedFrom.IsZero() {
		add("created_at >= ?", f.CreatedFrom.UTC())
	}
	if !f.CreatedTo.IsZero() {
		add("created_at < ?", f.CreatedTo.UTC())
	}
	topics := f.Topics
	if len(f.Families) > 0 {
		var fam []string
		for _, t := range dwolla.Topics() {
			if slices.Contains(f.Families, t.Family) && (len(topics) == 0 || slices.Contains(topics, t.Name)) {
				fam = append(fam, t.Name)
			}
		}
		if len(fam) == 0 {
			es.empty = true
		}
		topics = fam
	}
	if len(topics) > 0 {
		cond := "topic IN (" + placeholders(len(topics)) + ")"
		var args []any
		for _, t := range topics {
			args = append(args, t)
		}
		add(cond, args...)
	}
	if f.TopicPrefix != "" {
		// substr, not LIKE: "_" is a LIKE wildcard and every topic has one.
		add("substr(topic, 1, "+strconv.Itoa(len(f.TopicPrefix))+") = ?", f.TopicPrefix)
	}
	if f.ResourceType != "" {
		add("resource_type = ?", f.ResourceType)
	}
	if f.ResourceID != "" {
		add("resource_id = ?", strings.ToLower(f.ResourceID))
	}
	if f.CustomerID != "" {
		add("customer_id = ?", strings.ToLower(f.CustomerID))
	}
	if f.CorrelationID != "" {
		add("correlation_id = ?", f.CorrelationID)
	}
	if len(f.States) > 0 {
		args := make([]any, len(f.States))
		for i, st := range f.States {
			args[i] = st
		}
		add("COALESCE(q.state, 'processed') IN ("+placeholders(len(f.States))+")", args...)
	}
	if len(f.Sources) > 0 {
		args := make([]any, len(f.Sources))
		for i, src := range f.Sources {
			args[i] = src
		}
		add("source IN ("+placeholders(len(f.Sources))+")", args...)
	}
}

// next reads the next page in (received_at, id) order. After the first
// page it reads the rows tied with the last one's receipt time, then those
// after it: every condition on received_at stays one the index answers.
// A condition SQLite cannot answer from the index is checked on every row,
// and received_at has NUMERIC affinity there (ent declares it datetime),
// so each check would try to turn the stored text into a number.
func (es *eventSource) next(ctx context.Context, n int, emit func([]value)) (int, error) {
	if !es.started {
		es.filter()
		es.started = true
	}
	if es.empty {
		return 0, nil
	}
	if es.lastAt == nil {
		var bounds []string
		var args []any
		if !es.f.From.IsZero() {
			bounds, args = append(bounds, "received_at >= ?"), append(args, es.f.From.UTC())
		}
		if !es.f.To.IsZero() {
			bounds, args = append(bounds, "received_at < ?"), append(args, es.f.To.UTC())
		}
		return es.page(ctx, bounds, args, "received_at, id", n, emit)
	}
	got, err := es.page(ctx, []string{"received_at = ?", "id > ?"}, []any{es.lastAt, es.lastID}, "id", n, emit)
	if err != nil || got == n {
		return got, err
	}
	bounds, args := []string{"received_at > ?"}, []any{es.lastAt}
	if !es.f.To.IsZero() {
		bounds, args = append(bounds, "received_at < ?"), append(args, es.f.To.UTC())
	}
	more, err := es.page(ctx, bounds, args, "received_at, id", n-got, emit)
	return got + more, err
}

// page reads up to n rows matching the filters and bounds, in order.
func (es *eventSource) page(ctx context.Context, bounds []string, bargs []any, order string, n int, emit func([]value)) (int, error) {
	where := append(slices.Clone(bounds), es.where...)
	args := append(slices.Clone(bargs), es.args...)
	// SQLite's driver parses every time column it returns, a fifth of an
	// export's work; read them as the stored text instead (UTC, one fixed
	// layout, see store.SQLiteDSN) and reshape that to RFC 3339. The text
	// also serves as the keyset bound: it compares as the column does.
	asText := !es.s.db.Postgres()
	tcol := func(c string) string {
		if asText {
			return c + " || ''"
		}
		return c
	}
	// The queue state is read from internal/store's event_queue, one
	// primary-key probe per row; an event without a queue row was imported
	// as processed history.
	cols := `id, event_id, topic, header_topic, resource_type, resource_id, customer_id, account_id, correlation_id, ` +
		tcol("created_at") + `, ` + tcol("received_at") + `, source, delivery_count, COALESCE(q.state, 'processed'), COALESCE(q.attempts, 0), ` +
		tcol("q.processed_at") + `, q.duration_ms, q.last_error, body_sha256, body_size`
	if es.payload {
		cols += ", body_encoding, body"
	}
	q := "SELECT " + cols + " FROM webhook_events LEFT JOIN event_queue q ON q.webhook_event_id = webhook_events.id"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order + " LIMIT " + strconv.Itoa(n)
	rows, err := es.s.db.Read.QueryContext(ctx, es.s.db.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("reading events to export: %w", err)
	}
	defer rows.Close()
	var (
		id, deliveries, attempts, size              int64
		eventID, topic, source, state, sha          string
		header, rtype, rid, cid, acct, corr, lastEr sql.NullString
		created, received, processed                sql.NullTime
		createdT, receivedT, processedT             sql.NullString
		dur                                         sql.NullFloat64
		encoding                                    string
		body                                        []byte
	)
	var tc, tr, tp any = &created, &received, &processed
	if asText {
		tc, tr, tp = &createdT, &receivedT, &processedT
	}
	dest := []any{&id, &eventID, &topic, &header, &rtype, &rid, &cid, &acct, &corr, tc, tr, &source,
		&deliveries, &state, &attempts, tp, &dur, &lastEr, &sha, &size}
	if es.payload {
		dest = append(dest, &encoding, &body)
	}
	row := make([]value, 0, len(eventColumns)+1)
	count := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return count, fmt.Errorf("reading events to export: %w", err)
		}
		cv, rv, pv := nullTime(created), nullTime(received), nullTime(processed)
		if asText {
			cv, rv, pv = storedTime(createdT), storedTime(receivedT), storedTime(processedT)
		}
		row = append(row[:0],
			value{kind: 'i', i: id}, value{kind: 's', s: eventID}, value{kind: 's', s: topic}, text(header), text(rtype), text(rid),
			text(cid), text(acct), text(corr), cv, rv, value{kind: 's', s: source},
			value{kind: 'i', i: deliveries}, value{kind: 's', s: state}, value{kind: 'i', i: attempts}, pv, nullFloat(dur),
			text(lastEr), value{kind: 's', s: sha}, value{kind: 'i', i: size},
		)
		if es.payload {
			raw, err := es.s.open(encoding, body)
			if err != nil {
				return count, fmt.Errorf("decoding the body of event %s: %w", eventID, err)
			}
			row = append(row, value{kind: 'j', j: raw})
		}
		emit(row)
		count++
		es.lastID = id
		if asText {
			es.lastAt = receivedT.String
		} else {
			es.lastAt = received.Time
		}
	}
	if err := rows.Err(); err != nil {
		return count, fmt.Errorf("reading events to export: %w", err)
	}
	return count, nil
}

// storedTime turns SQLite's stored UTC text ("2006-01-02 15:04:05.999999999+00:00")
// into RFC 3339 ("2006-01-02T15:04:05.999999999Z"), the layout
// time.RFC3339Nano writes; other text is kept as it is.
func storedTime(s sql.NullString) value {
	if !s.Valid || s.String == "" {
		return value{kind: 'n'}
	}
	t := s.String
	if len(t) > 10 && t[10] == ' ' {
		if u, ok := strings.CutSuffix(t, "+00:00"); ok {
			t = u[:10] + "T" + u[11:] + "Z"
		}
	}
	return value{kind: 'T', s: t}
}

// journeySource pages through journeys by (started_at, id).
type journeySource struct {
	s       *Service
	f       JourneyFilter
	started bool
	lastAt  time.Time
	lastID  int64
	where   []string
	args    []any
}

var journeyColumns = []string{"id", "definition", "correlationKey", "status", "currentStep", "currentStepName", "progress",
	"startedAt", "lastEventAt", "endedAt", "durationMs", "outcome", "endTopic", "failedAfterSuccess", "stuckSince", "eventCount", "customerId",
	"resourceId", "note"}

func (js *journeySource) columns() []string { return journeyColumns }

func (js *journeySource) filter() {
	f := js.f
	add := func(cond string, args ...any) {
		js.where = append(js.where, cond)
		js.args = append(js.args, args...)
	}
	if !f.From.IsZero() {
		add("started_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("started_at < ?", f.To.UTC())
	}
	if len(f.Definitions) > 0 {
		args := make([]any, len(f.Definitions))
		for i, d := range f.Definitions {
			args[i] = d
		}
		add("definition_key IN ("+placeholders(len(f.Definitions))+")", args...)
	}
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			args[i] = st
		}
		add("status IN ("+placeholders(len(f.Statuses))+")", args...)
	}
	if f.CustomerID != "" {
		add("customer_id = ?", strings.ToLower(f.CustomerID))
	}
}

func (js *journeySource) next(ctx context.Context, n int, emit func([]value)) (int, error) {
	if !js.started {
		js.filter()
		js.started = true
	}
	where, args := slices.Clone(js.where), slices.Clone(js.args)
	if !js.lastAt.IsZero() {
		where = append(where, "started_at >= ? AND (started_at > ? OR id > ?)")
		args = append(args, js.lastAt, js.lastAt, js.lastID)
	}
	q := `SELECT id, definition_key, correlation_key, status, current_step, current_step_name, progress, started_at,
		last_event_at, ended_at, duration_ms, outcome, end_topic, failed_after_success, stuck_since, event_count, customer_id, resource_id, note
		FROM journey_instances`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY started_at, id LIMIT " + strconv.Itoa(n)
	rows, err := js.s.db.Read.QueryContext(ctx, js.s.db.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("reading journeys to export: %w", err)
	}
	defer rows.Close()
	var (
		id, events                       int64
		def, key, status                 string
		step, stepName, cust, res, note  sql.NullString
		outcome, endTopic                sql.NullString
		progress                         float64
		started, last, ended, stuckSince sql.NullTime
		dur                              sql.NullFloat64
		fas                              bool
	)
	row := make([]value, 0, len(journeyColumns))
	count := 0
	for rows.Next() {
		if err := rows.Scan(&id, &def, &key, &status, &step, &stepName, &progress, &started, &last, &ended, &dur, &outcome, &endTopic, &fas,
			&stuckSince, &events, &cust, &res, &note); err != nil {
			return count, fmt.Errorf("reading journeys to export: %w", err)
		}
		row = append(row[:0],
			value{kind: 'i', i: id}, value{kind: 's', s: def}, value{kind: 's', s: key}, value{kind: 's', s: status}, text(step), text(stepName),
			value{kind: 'f', f: progress}, nullTime(started), nullTime(last), nullTime(ended), nullFloat(dur), text(outcome), text(endTopic), value{kind: 'b', b: fas}, nullTime(stuckSince),
			value{kind: 'i', i: events}, text(cust), text(res), text(note),
		)
		emit(row)
		count++
		js.lastAt, js.lastID = started.Time, id
	}
	if err := rows.Err(); err != nil {
		return count, fmt.Errorf("reading journeys to export: %w", err)
	}
	return count, nil
}
