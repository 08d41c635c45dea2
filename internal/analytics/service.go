package analytics

import (
	"context"
	"fmt"
	"slices"
	"sort"
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
	// MaxConcurrentQueries caps the queries one Service runs at once, over
	// all its callers (default 4).
	MaxConcurrentQueries int
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
	sem  chan struct{}
	dead deadLetters
}

// New returns a Service over db.
func New(db *store.DB, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Open == nil {
		opts.Open = store.DecodeBody
	}
	if opts.MaxConcurrentQueries <= 0 {
		opts.MaxConcurrentQueries = 4
	}
	s := &Service{db: db, now: opts.Now, open: opts.Open, page: exportPage, sem: make(chan struct{}, opts.MaxConcurrentQueries)}
	m, err := newServiceMetrics(s, opts.Registerer)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// counterColumns are the rollup counters, in rollup.Delta.Fields order.
var counterColumns = rollup.Columns()

// seriesColumns are the counters a series point shows: fewer columns to
// read for the many rows of a series.
var seriesColumns = func() []string {
	cols := []string{"received", "deliveries", "duplicates", "rejected", "processed", "dead_lettered", "retried", "proc_count", "proc_sum_ms"}
	for i := 0; i < rollup.Buckets; i++ {
		cols = append(cols, fmt.Sprintf("proc_b%02d", i))
	}
	return cols
}()

// rollupQuery reads rollup rows.
type rollupQuery struct {
	segs []segment
	// byBucket and byTopic group the sums; with both, every row is its own
	// group (rows are unique per granularity, bucket and topic, and the
	// segments do not overlap), so rows are read as they are.
	byBucket, byTopic bool
	// cols are the counters to read (nil: all).
	cols []string
	// topics, when set, is a condition on topic with its arguments.
	topics     string
	topicsArgs []any
}

// sumRollups runs q and calls fn for each row or group.
func (s *Service) sumRollups(ctx context.Context, q rollupQuery, fn func(bucket time.Time, topic string, d *rollup.Delta)) error {
	if len(q.segs) == 0 {
		return nil
	}
	cols := q.cols
	if cols == nil {
		cols = counterColumns
	}
	index := make([]int, len(cols))
	for i, c := range cols {
		index[i] = slices.Index(counterColumns, c)
	}
	aggregate := !(q.byBucket && q.byTopic)
	var sel, group []string
	if q.byBucket {
		sel, group = append(sel, "bucket"), append(group, "bucket")
	}
	if q.byTopic {
		sel, group = append(sel, "topic"), append(group, "topic")
	}
	for _, c := range cols {
		switch {
		case !aggregate:
			sel = append(sel, c)
		case strings.HasSuffix(c, "_sum_ms"):
			sel = append(sel, "COALESCE(SUM("+c+"), 0)")
		default:
			// PostgreSQL sums bigints into numerics.
			sel = append(sel, "CAST(COALESCE(SUM("+c+"), 0) AS BIGINT)")
		}
	}
	where := make([]string, len(q.segs))
	args := make([]any, 0, 3*len(q.segs)+len(q.topicsArgs))
	for i, sg := range q.segs {
		where[i] = "(granularity = ? AND bucket >= ? AND bucket < ?)"
		args = append(args, sg.granularity, sg.from, sg.to)
	}
	query := "SELECT " + strings.Join(sel, ", ") + " FROM metric_rollups WHERE (" + strings.Join(where, " OR ") + ")"
	if q.topics != "" {
		query += " AND " + q.topics
		args = append(args, q.topicsArgs...)
	}
	if aggregate && len(group) > 0 {
		query += " GROUP BY " + strings.Join(group, ", ")
	}
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("reading rollups: %w", err)
	}
	defer rows.Close()
	var d rollup.Delta
	fields := d.Fields()
	var bucket any
	var topic string
	dest := make([]any, 0, len(cols)+2)
	if q.byBucket {
		dest = append(dest, &bucket)
	}
	if q.byTopic {
		dest = append(dest, &topic)
	}
	for _, i := range index {
		dest = append(dest, fields[i])
	}
	for rows.Next() {
		d = rollup.Delta{}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reading rollups: %w", err)
		}
		var b time.Time
		if q.byBucket {
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

// Unprocessed counts events of one minute, topic and state that the
// rollups do not hold (see store.UnprocessedByMinute).
type Unprocessed = store.Unprocessed

// pendingRow is one Unprocessed row.
type pendingRow = Unprocessed

// UnprocessedByMinute counts, per minute of receipt, topic and state, the
// events received in [from, to) that are queued or dead-lettered. The
// rollups count an event when it is first processed, so figures add the
// not-yet-processed ones from here.
func UnprocessedByMinute(ctx context.Context, db *store.DB, from, to time.Time) ([]Unprocessed, error) {
	return db.UnprocessedByMinute(ctx, from, to, store.QueueQueued, store.QueueFailed)
}

// pending returns the events received in [from, to) that the rollups do
// not hold: the queue (queued or processing) read live, and the dead
// letters from a cache refreshed every deadLetterTTL — there are few, but
// finding them in a window means visiting each one's row, and they change
// rarely.
func (s *Service) pending(ctx context.Context, from, to time.Time) ([]pendingRow, error) {
	queue, err := s.db.UnprocessedByMinute(ctx, from, to, store.QueueQueued)
	if err != nil {
		return nil, err
	}
	dead, err := s.dead.get(ctx, s.db)
	if err != nil {
		return nil, err
	}
	lo := sort.Search(len(dead), func(i int) bool { return !dead[i].Minute.Before(from.Truncate(time.Minute)) })
	for _, d := range dead[lo:] {
		if !d.Minute.Before(to) {
			break
		}
		queue = append(queue, d)
	}
	return queue, nil
}

// deadLetterTTL is how stale the dead-letter counts may get.
const deadLetterTTL = 15 * time.Second

// deadLetters caches the dead-lettered events per minute of receipt, topic
// and rolled_up, sorted by minute. A stale cache is served while one
// refresh runs in the background.
type deadLetters struct {
	mu         sync.Mutex
	rows       []Unprocessed
	at         time.Time
	loaded     bool
	refreshing bool
}

func (c *deadLetters) get(ctx context.Context, db *store.DB) ([]Unprocessed, error) {
	c.mu.Lock()
	if c.loaded {
		if time.Since(c.at) >= deadLetterTTL && !c.refreshing {
			c.refreshing = true
			go c.refresh(db)
		}
		defer c.mu.Unlock()
		return c.rows, nil
	}
	c.mu.Unlock()
	rows, err := loadDeadLetters(ctx, db)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows, c.at, c.loaded = rows, time.Now(), true
	return rows, nil
}

func (c *deadLetters) refresh(db *store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := loadDeadLetters(ctx, db)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err == nil {
		c.rows, c.at = rows, time.Now()
	}
}

func loadDeadLetters(ctx context.Context, db *store.DB) ([]Unprocessed, error) {
	rows, err := db.UnprocessedByMinute(ctx, time.Unix(0, 0), time.Now().Add(24*time.Hour), store.QueueFailed)
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Minute.Before(rows[j].Minute) })
	return rows, nil
}

// parallel runs fns at once, at most Options.MaxConcurrentQueries of them
// across the whole Service (each holds a database connection, and on
// PostgreSQL the pool is shared with ingest and the pipeline), and returns
// the first error. fns must not call parallel themselves.
func (s *Service) parallel(ctx context.Context, fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-s.sem }()
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
