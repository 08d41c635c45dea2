package bulkgen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

var eventColumns = []string{"id", "event_id", "topic", "header_topic", "topic_mismatch", "topic_known", "resource_type",
	"resource_id", "customer_id", "account_id", "correlation_id", "created_at", "received_at", "last_delivery_at", "source",
	"body", "body_encoding", "body_sha256", "body_size", "delivery_count"}

// queueColumns are internal/store's event_queue: every event has its row,
// as the pipeline leaves it.
var queueColumns = []string{"webhook_event_id", "state", "attempts", "due_at", "processed_at", "duration_ms", "last_error"}

var deliveryColumns = []string{"received_at", "remote_addr", "outcome", "status_code", "latency_ms", "body_size",
	"body_sha256", "dwolla_event_id", "topic_header", "user_agent", "request_id", "reason", "webhook_event_id"}

var rollupColumns = append([]string{"granularity", "bucket", "topic"}, rollup.Columns()...)

// chunk is a batch of rows to write together.
type chunk struct {
	queue      [][]any
	events     [][]any
	deliveries [][]any
	// days are the rollups of days completed since the previous chunk.
	days []*rollup.Batch
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const dwollaUA = "dwolla-webhooks/1.1"

// Generate writes a data set into db (migrated) and returns what it wrote.
func Generate(ctx context.Context, db *store.DB, opts Options) (Result, error) {
	start := time.Now()
	if err := opts.defaults(start); err != nil {
		return Result{}, err
	}
	if err := checkCounted(ctx, db); err != nil {
		return Result{}, err
	}
	reserve := int64(opts.Events)*3 + 1_000_000
	firstID, err := reserveIDs(ctx, db, reserve)
	if err != nil {
		return Result{}, err
	}
	p, err := newPlanner(opts, firstID-1)
	if err != nil {
		return Result{}, err
	}
	w, err := newWriter(ctx, db, opts)
	if err != nil {
		return Result{}, err
	}
	res := Result{From: opts.From, To: opts.To}

	// One goroutine plans and counts, the caller's writes: on two cores the
	// database gets one of them.
	chunks := make(chan *chunk, 2)
	planErr := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(chunks)
		planErr <- plan(pctx, p, opts, chunks)
	}()
	defer w.close()
	for ch := range chunks {
		if err := w.write(ctx, ch); err != nil {
			cancel()
			for range chunks {
			}
			return res, err
		}
		res.Events += len(ch.events)
		res.Deliveries += len(ch.deliveries)
		for _, b := range ch.days {
			res.RollupRows += len(b.Rows())
		}
		if opts.Progress != nil {
			opts.Progress(res.Events, opts.Events)
		}
		opts.Log.Debug("bulk chunk written", "events", res.Events, "deliveries", res.Deliveries)
	}
	if err := <-planErr; err != nil {
		return res, err
	}
	if err := w.close(); err != nil {
		return res, err
	}
	if p.nextID >= firstID+reserve {
		if err := reserveTo(ctx, db, p.nextID); err != nil {
			return res, err
		}
	}
	if err := moveWatermark(ctx, db); err != nil {
		return res, err
	}
	if db.Postgres() {
		// Fresh statistics, or the planner guesses from an empty table.
		if _, err := db.Write.ExecContext(ctx, "ANALYZE webhook_events, webhook_deliveries, metric_rollups"); err != nil {
			return res, fmt.Errorf("analyzing: %w", err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// plan turns the planner's items into chunks.
func plan(ctx context.Context, p *planner, o Options, out chan<- *chunk) error {
	ch := &chunk{}
	batch := rollup.NewBatch()
	var day time.Time
	send := func() error {
		select {
		case out <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		ch = &chunk{}
		return nil
	}
	for {
		it, ok, err := p.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if d := rollup.Truncate(it.at, "day"); !d.Equal(day) {
			if !batch.Empty() {
				ch.days = append(ch.days, batch)
				batch = rollup.NewBatch()
			}
			day = d
		}
		if ev := it.ev; ev != nil {
			row, q := eventRow(p, ev, it.at, batch)
			ch.events, ch.queue = append(ch.events, row), append(ch.queue, q)
			if ev.source == "webhook" {
				ch.deliveries = append(ch.deliveries, deliveryRow(p, it.at, "accepted", ev.eventID, ev.topic, ev.id, len(ev.body), ev.sha))
				rollup.CountDelivery(batch, it.at, "accepted", ev.topic)
			}
		} else {
			dl := it.dl
			ch.deliveries = append(ch.deliveries, deliveryRow(p, it.at, dl.outcome, dl.eventID, dl.topic, dl.dbID, dl.body, dl.sha))
			rollup.CountDelivery(batch, it.at, dl.outcome, dl.topic)
		}
		if len(ch.events) >= o.ChunkSize {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if !batch.Empty() {
		ch.days = append(ch.days, batch)
	}
	return send()
}

func eventRow(p *planner, ev *event, at time.Time, b *rollup.Batch) (row, queue []any) {
	er := rollup.EventRow{Topic: ev.topic, Source: ev.source, State: "processed", Attempts: 1, RolledUp: true,
		CreatedAt: ev.created, ReceivedAt: at}
	if ev.deadLetter {
		er.State, er.Attempts, er.RolledUp = "failed", 8, false
		queue = []any{ev.id, er.State, int64(er.Attempts), at, nil, nil, "journeys: planned failure (bulkgen)"}
	} else {
		er.ProcessedAt = at.Add(time.Duration(ev.procMS * float64(time.Millisecond))).Truncate(time.Microsecond)
		queue = []any{ev.id, er.State, int64(er.Attempts), at, er.ProcessedAt, 2 + ev.procMS/10, nil}
	}
	rollup.CountEvent(b, er)
	headerTopic := any(nil)
	if ev.source == "webhook" {
		headerTopic = ev.topic
	}
	return []any{
		ev.id, ev.eventID, ev.topic, headerTopic, false, true, nullable(ev.resourceType),
		nullable(ev.resourceID), nullable(ev.customerID), p.g.AccountID(), nullable(ev.correlationID), ev.created, at, at, ev.source,
		ev.body, "identity", ev.sha, int64(len(ev.body)), int64(ev.deliveries),
	}, queue
}

func deliveryRow(p *planner, at time.Time, outcome, eventID, topic string, dbID int64, size int, sha string) []any {
	status, reason := int64(200), any(nil)
	var link, evID, th any
	switch outcome {
	case "accepted", "duplicate":
		link, evID, th = dbID, eventID, topic
	case "bad_signature":
		status, reason = 401, "the signature does not match the body"
	default:
		status, reason = 400, "the body is not a Dwolla event"
	}
	return []any{
		at, fmt.Sprintf("52.%d.%d.%d", p.rnd.IntN(256), p.rnd.IntN(256), 1+p.rnd.IntN(254)), outcome, status,
		0.4 + p.rnd.ExpFloat64()*3, int64(size), sha, evID, th, dwollaUA, nil, reason, link,
	}
}

// checkCounted refuses a database with deliveries the aggregator has not
// counted: moving the watermark past them would lose them.
func checkCounted(ctx context.Context, db *store.DB) error {
	w, err := rollup.ReadWatermark(ctx, db)
	if err != nil {
		return err
	}
	last, err := lastDelivery(ctx, db)
	if err != nil {
		return err
	}
	if last.IsZero() {
		return nil
	}
	if w.IsZero() || last.ReceivedAt.After(w.ReceivedAt) || last.ReceivedAt.Equal(w.ReceivedAt) && last.ID > w.ID {
		return errors.New("bulkgen: the database has deliveries not yet counted in the rollups; run the delivery aggregator first, or use an empty database")
	}
	return nil
}

func lastDelivery(ctx context.Context, db *store.DB) (rollup.Watermark, error) {
	var at any
	var id int64
	err := db.Write.QueryRowContext(ctx, "SELECT received_at, id FROM webhook_deliveries ORDER BY received_at DESC, id DESC LIMIT 1").Scan(&at, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return rollup.Watermark{}, nil
	}
	if err != nil {
		return rollup.Watermark{}, fmt.Errorf("reading the last delivery: %w", err)
	}
	t, err := store.ScanTime(at)
	if err != nil {
		return rollup.Watermark{}, err
	}
	return rollup.Watermark{ReceivedAt: t, ID: id}, nil
}

// moveWatermark marks every delivery as counted: the rollups written hold
// them.
func moveWatermark(ctx context.Context, db *store.DB) error {
	last, err := lastDelivery(ctx, db)
	if err != nil || last.IsZero() {
		return err
	}
	return db.SetMeta(ctx, rollup.DeliveriesWatermarkKey, last.String())
}

// reserveIDs takes a block of n event ids from the table's sequence and
// returns the first, so the app's own inserts never collide with ours.
func reserveIDs(ctx context.Context, db *store.DB, n int64) (int64, error) {
	if db.Postgres() {
		var first int64
		if err := db.Write.QueryRowContext(ctx, "SELECT nextval(pg_get_serial_sequence('webhook_events', 'id'))").Scan(&first); err != nil {
			return 0, fmt.Errorf("reserving event ids: %w", err)
		}
		return first, reserveTo(ctx, db, first+n)
	}
	var maxID, seq sql.NullInt64
	if err := db.Write.QueryRowContext(ctx, "SELECT (SELECT MAX(id) FROM webhook_events), (SELECT seq FROM sqlite_sequence WHERE name = 'webhook_events')").Scan(&maxID, &seq); err != nil {
		return 0, fmt.Errorf("reserving event ids: %w", err)
	}
	first := max(maxID.Int64, seq.Int64) + 1
	return first, reserveTo(ctx, db, first+n)
}

// reserveTo moves the event id sequence to at least last.
func reserveTo(ctx context.Context, db *store.DB, last int64) error {
	var err error
	if db.Postgres() {
		_, err = db.Write.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('webhook_events', 'id'), GREATEST($1, (SELECT last_value FROM webhook_events_id_seq)))", last)
	} else {
		var res sql.Result
		res, err = db.Write.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'webhook_events'", last)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				_, err = db.Write.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('webhook_events', ?)", last)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("reserving event ids: %w", err)
	}
	return nil
}

// writer writes chunks in one dialect.
type writer interface {
	write(ctx context.Context, ch *chunk) error
	// close waits for writes in flight and restores settings; it may be
	// called more than once.
	close() error
}

func newWriter(ctx context.Context, db *store.DB, o Options) (writer, error) {
	if !db.Postgres() {
		return newSQLiteWriter(ctx, db)
	}
	// COPY the rollups when nothing is counted in the span yet; otherwise
	// add to the rows there with upserts.
	var n int
	err := db.Write.QueryRowContext(ctx, "SELECT COUNT(*) FROM metric_rollups WHERE granularity = 'day' AND bucket >= $1 AND bucket <= $2",
		rollup.Truncate(o.From, "day"), rollup.Truncate(o.To, "day")).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("checking the rollups: %w", err)
	}
	return &pgWriter{db: db, copyRollups: n == 0}, nil
}

// pgWriter copies each chunk's events, then its deliveries and rollups in
// the background while the next chunk's events are copied: two backends
// at work. A chunk's deliveries follow its own events' commit, which their
// foreign key needs.
type pgWriter struct {
	db          *store.DB
	copyRollups bool
	tail        chan error // the previous chunk's deliveries and rollups
}

func (w *pgWriter) write(ctx context.Context, ch *chunk) error {
	if _, err := w.db.Pool.CopyFrom(ctx, pgx.Identifier{"webhook_events"}, eventColumns, pgx.CopyFromRows(ch.events)); err != nil {
		return fmt.Errorf("copying events: %w", err)
	}
	if err := w.close(); err != nil {
		return err
	}
	w.tail = make(chan error, 1)
	go func() { w.tail <- w.writeTail(ctx, ch) }()
	return nil
}

func (w *pgWriter) close() error {
	if w.tail == nil {
		return nil
	}
	err := <-w.tail
	w.tail = nil
	return err
}

func (w *pgWriter) writeTail(ctx context.Context, ch *chunk) error {
	if _, err := w.db.Pool.CopyFrom(ctx, pgx.Identifier{"webhook_deliveries"}, deliveryColumns, pgx.CopyFromRows(ch.deliveries)); err != nil {
		return fmt.Errorf("copying deliveries: %w", err)
	}
	if _, err := w.db.Pool.CopyFrom(ctx, pgx.Identifier{"event_queue"}, queueColumns, pgx.CopyFromRows(ch.queue)); err != nil {
		return fmt.Errorf("copying queue entries: %w", err)
	}
	if len(ch.days) == 0 {
		return nil
	}
	if !w.copyRollups {
		return applyDays(ctx, w.db, ch.days)
	}
	var rows [][]any
	for _, b := range ch.days {
		for _, r := range b.Rows() {
			rows = append(rows, append([]any{r.Granularity, r.Bucket, r.Topic}, r.Delta.Values()...))
		}
	}
	if _, err := w.db.Pool.CopyFrom(ctx, pgx.Identifier{"metric_rollups"}, rollupColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copying rollups: %w", err)
	}
	return nil
}

func applyDays(ctx context.Context, db *store.DB, days []*rollup.Batch) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, b := range days {
		if err := rollup.Apply(ctx, db, tx, b); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// sqliteWriter writes each chunk in one transaction of large multi-row
// inserts on the single writer connection. Ten indexes on millions of
// rows make every insert a handful of random B-tree writes, so the
// indexes of the events and deliveries tables are dropped for the load
// and rebuilt at the end from the same DDL (a sort, far faster), and the
// page cache is larger and checkpoints rarer meanwhile. The rollups keep
// their unique index: upserts need it.
type sqliteWriter struct {
	db      *store.DB
	indexes []string // CREATE INDEX statements to run again
	closed  bool
}

// sqliteBulkPragmas are set on the writer connection for the load and
// reset by close.
var sqliteBulkPragmas = [][2]string{
	{"cache_size", "-262144"}, // 256 MiB
	{"wal_autocheckpoint", "20000"},
}

func newSQLiteWriter(ctx context.Context, db *store.DB) (*sqliteWriter, error) {
	for _, p := range sqliteBulkPragmas {
		if _, err := db.Write.ExecContext(ctx, "PRAGMA "+p[0]+" = "+p[1]); err != nil {
			return nil, fmt.Errorf("tuning SQLite for the load: %w", err)
		}
	}
	w := &sqliteWriter{db: db}
	rows, err := db.Write.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name IN ('webhook_events', 'webhook_deliveries') AND sql IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("listing indexes: %w", err)
	}
	var names []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing indexes: %w", err)
		}
		names, w.indexes = append(names, name), append(w.indexes, ddl)
	}
	rows.Close()
	for _, name := range names {
		if _, err := db.Write.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			_ = w.close()
			return nil, fmt.Errorf("dropping index %s for the load: %w", name, err)
		}
	}
	return w, nil
}

// close rebuilds the indexes and restores the connection's settings.
func (w *sqliteWriter) close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	for _, ddl := range w.indexes {
		if _, err := w.db.Write.Exec(ddl); err != nil {
			errs = append(errs, fmt.Errorf("recreating an index (%s): %w", ddl, err))
		}
	}
	// Back to the connection's defaults (store.sqlitePragmas; automatic
	// checkpoints stay off, internal/store checkpoints in the background).
	for _, q := range []string{"PRAGMA cache_size = -32000", "PRAGMA wal_autocheckpoint = 0", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := w.db.Write.Exec(q); err != nil {
			errs = append(errs, fmt.Errorf("restoring SQLite settings: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sqliteRows keeps a statement under SQLite's 32,766 parameters.
const sqliteRows = 1000

func (w *sqliteWriter) write(ctx context.Context, ch *chunk) error {
	tx, err := w.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := insertRows(ctx, tx, "webhook_events", eventColumns, ch.events); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "webhook_deliveries", deliveryColumns, ch.deliveries); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "event_queue", queueColumns, ch.queue); err != nil {
		return err
	}
	for _, b := range ch.days {
		if err := rollup.Apply(ctx, w.db, tx, b); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, sqliteRows*len(cols))
	for start := 0; start < len(rows); start += sqliteRows {
		part := rows[start:min(start+sqliteRows, len(rows))]
		args = args[:0]
		for _, r := range part {
			args = append(args, r...)
		}
		q := head + strings.TrimSuffix(strings.Repeat(ph+",", len(part)), ",")
		var err error
		if len(part) == sqliteRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return fmt.Errorf("inserting into %s: %w", table, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("inserting into %s: %w", table, err)
		}
	}
	return nil
}
