package analytics

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

// Options tune a Service.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Registerer, when set, receives the analytics metrics (query
	// durations, exported rows, journeys by status, open anomalies by
	// severity). Pass metrics.Metrics.Registry.
	Registerer prometheus.Registerer
	// Open decodes stored event bodies for exports (the vault's Open);
	// default store.DecodeBody, which knows only unencrypted bodies.
	Open func(encoding string, stored []byte) ([]byte, error)
}

// Service answers analytics questions from one database. It is safe for
// concurrent use.
type Service struct {
	db   *store.DB
	now  func() time.Time
	open func(encoding string, stored []byte) ([]byte, error)
	m    *serviceMetrics
	// page is how many rows an export reads at a time (tests shrink it).
	page int
}

// New returns a Service over db.
func New(db *store.DB, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Open == nil {
		opts.Open = store.DecodeBody
	}
	s := &Service{db: db, now: opts.Now, open: opts.Open, page: exportPage}
	m, err := newServiceMetrics(s, opts.Registerer)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// counterColumns are the rollup counters, summed in queries.
var counterColumns = rollup.Columns()

// sumColumns renders the SUM of every counter, integers cast back to
// integers (PostgreSQL sums bigints into numerics).
var sumColumns = func() string {
	parts := make([]string, len(counterColumns))
	for i, c := range counterColumns {
		if strings.HasSuffix(c, "_sum_ms") {
			parts[i] = "COALESCE(SUM(" + c + "), 0)"
		} else {
			parts[i] = "CAST(COALESCE(SUM(" + c + "), 0) AS BIGINT)"
		}
	}
	return strings.Join(parts, ", ")
}()

// sumRollups adds up the rollup rows of segs, grouped by bucket and/or
// topic as asked, and calls fn for each group.
func (s *Service) sumRollups(ctx context.Context, segs []segment, byBucket, byTopic bool, fn func(bucket time.Time, topic string, d *rollup.Delta)) error {
	if len(segs) == 0 {
		return nil
	}
	var sel, group []string
	if byBucket {
		sel, group = append(sel, "bucket"), append(group, "bucket")
	}
	if byTopic {
		sel, group = append(sel, "topic"), append(group, "topic")
	}
	sel = append(sel, sumColumns)
	where := make([]string, len(segs))
	args := make([]any, 0, 3*len(segs))
	for i, sg := range segs {
		where[i] = "(granularity = ? AND bucket >= ? AND bucket < ?)"
		args = append(args, sg.granularity, sg.from, sg.to)
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM metric_rollups WHERE " + strings.Join(where, " OR ")
	if len(group) > 0 {
		q += " GROUP BY " + strings.Join(group, ", ")
	}
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("reading rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d rollup.Delta
		var bucket any
		var topic string
		var dest []any
		if byBucket {
			dest = append(dest, &bucket)
		}
		if byTopic {
			dest = append(dest, &topic)
		}
		dest = append(dest, d.Fields()...)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reading rollups: %w", err)
		}
		var b time.Time
		if byBucket {
			if b, err = store.ScanTime(bucket); err != nil {
				return err
			}
		}
		fn(b, topic, &d)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading rollups: %w", err)
	}
	return nil
}

// Unprocessed counts events of one topic, minute of receipt and state
// that the rollups may not hold: queued, being processed, or
// dead-lettered.
type Unprocessed struct {
	Minute time.Time
	Topic  string
	// State is queued, processing or failed.
	State string
	// RolledUp is true when the rollups already counted these events (they
	// were processed once, and were replayed or dead-lettered since).
	RolledUp bool
	Events   int64
}

// pendingRow is one Unprocessed row.
type pendingRow = Unprocessed

// UnprocessedByMinute counts, per minute of receipt, topic and state, the
// events received in [from, to) that are queued, being processed or
// dead-lettered. The rollups count an event when it is first processed, so
// figures add the not-yet-processed ones from here; the index on
// (processing_state, …) keeps this as cheap as the queue is short.
func UnprocessedByMinute(ctx context.Context, db *store.DB, from, to time.Time) ([]Unprocessed, error) {
	minute, index := "date_trunc('minute', received_at)", ""
	if !db.Postgres() {
		// Times are stored as "2006-01-02 15:04:05.999999999-07:00" text in
		// UTC; the first 16 characters are the minute. Without statistics
		// SQLite may prefer the received_at index; the state index is the
		// short one.
		minute, index = "substr(received_at, 1, 16)", " INDEXED BY webhookevent_processing_state_next_attempt_at"
	}
	q := `SELECT ` + minute + `, topic, processing_state, rolled_up, COUNT(*) FROM webhook_events` + index + `
		WHERE processing_state IN ('queued', 'processing', 'failed') AND received_at >= ? AND received_at < ?
		GROUP BY ` + minute + `, topic, processing_state, rolled_up`
	rows, err := db.Read.QueryContext(ctx, db.Rebind(q), from.UTC(), to.UTC())
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
		} else if r.Minute, err = store.ScanTime(m); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Service) pending(ctx context.Context, from, to time.Time) ([]pendingRow, error) {
	return UnprocessedByMinute(ctx, s.db, from, to)
}

// parallel runs fns at once and returns the first error.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
