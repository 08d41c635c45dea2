package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/bulkgen"
	"github.com/hooklens/hooklens/internal/rollup"
)

func init() {
	register(command{
		name:    "rollup",
		summary: "rebuild and inspect the metric rollups; generate bulk test data (rebuild|status|flush|generate)",
		run: func(ctx context.Context, e *env, args []string) error {
			return subcommand(ctx, e, "rollup", args, map[string]func(context.Context, *env, []string) error{
				"rebuild":  rollupRebuild,
				"status":   rollupStatus,
				"flush":    rollupFlush,
				"generate": rollupGenerate,
			})
		},
	})
}

// rollupRebuild recomputes the rollups from the stored events and
// deliveries. It is safe while hooklens runs (see rollup.Rebuild).
func rollupRebuild(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rollup rebuild", "[--since 30d|2026-11-01T00:00:00Z]")
	sinceFlag := fs.String("since", "", "rebuild from this day on: a duration back from now (30d, 36h) or an RFC 3339 time (default: from the oldest event)")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	var since time.Time
	if *sinceFlag != "" {
		if since, err = parseSince(*sinceFlag); err != nil {
			return err
		}
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgressBar(e.stderr, "rollup rebuild")
	res, err := rollup.Rebuild(ctx, db, rollup.RebuildOptions{Since: since, Progress: bar})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("rebuilding the rollups: %w", err)
	}
	fmt.Fprintf(e.stdout, "rebuilt %d hours from %s to %s: %d events, %d deliveries, in %s\n",
		res.Hours, res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), res.Events, res.Deliveries, res.Duration.Round(time.Millisecond))
	return nil
}

// rollupStatusJSON is `rollup status --output json`.
type rollupStatusJSON struct {
	Granularities []rollupGranularityJSON `json:"granularities"`
	// Watermark is how far deliveries are counted (null: none yet).
	Watermark *struct {
		ReceivedAt time.Time `json:"receivedAt"`
		ID         int64     `json:"id"`
	} `json:"watermark"`
	// PendingDeliveries are received but not yet counted.
	PendingDeliveries int `json:"pendingDeliveries"`
}

type rollupGranularityJSON struct {
	Granularity string `json:"granularity"`
	Rows        int    `json:"rows"`
	From        string `json:"from"`
	To          string `json:"to"`
}

// rollupStatus prints what the rollups hold and how far deliveries are
// counted.
func rollupStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rollup status", "[--output json]")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := rollup.ReadWatermark(ctx, db)
	if err != nil {
		return err
	}
	res := rollupStatusJSON{Granularities: []rollupGranularityJSON{}}
	rows, err := db.Read.QueryContext(ctx, "SELECT granularity, COUNT(*), MIN(bucket), MAX(bucket) FROM metric_rollups GROUP BY granularity ORDER BY granularity")
	if err != nil {
		return fmt.Errorf("reading the rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g rollupGranularityJSON
		var lo, hi any
		if err := rows.Scan(&g.Granularity, &g.Rows, &lo, &hi); err != nil {
			return fmt.Errorf("reading the rollups: %w", err)
		}
		g.From, g.To = bucketString(lo), bucketString(hi)
		res.Granularities = append(res.Granularities, g)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	q := "SELECT COUNT(*) FROM webhook_deliveries"
	var qargs []any
	if !w.IsZero() {
		q += " WHERE received_at > ? OR (received_at = ? AND id > ?)"
		qargs = []any{w.ReceivedAt, w.ReceivedAt, w.ID}
	}
	if err := db.Read.QueryRowContext(ctx, db.Rebind(q), qargs...).Scan(&res.PendingDeliveries); err != nil {
		return fmt.Errorf("counting deliveries: %w", err)
	}
	if !w.IsZero() {
		res.Watermark = &struct {
			ReceivedAt time.Time `json:"receivedAt"`
			ID         int64     `json:"id"`
		}{w.ReceivedAt.UTC(), w.ID}
	}
	if out.JSON() {
		return writeJSON(e.stdout, res)
	}
	for _, g := range res.Granularities {
		fmt.Fprintf(e.stdout, "%-6s %9d rows  %s … %s\n", g.Granularity, g.Rows, g.From, g.To)
	}
	if w.IsZero() {
		fmt.Fprintf(e.stdout, "deliveries counted: none yet; %d to count\n", res.PendingDeliveries)
	} else {
		fmt.Fprintf(e.stdout, "deliveries counted up to %s (id %d); %d received since\n", w.ReceivedAt.Format(time.RFC3339Nano), w.ID, res.PendingDeliveries)
	}
	return nil
}

// bucketString prints a rollup bucket as the database returned it (a time
// on PostgreSQL, text on SQLite).
func bucketString(v any) string {
	switch b := v.(type) {
	case nil:
		return ""
	case time.Time:
		return b.UTC().Format(time.RFC3339)
	case []byte:
		return string(b)
	default:
		return fmt.Sprint(b)
	}
}

// rollupFlush counts the deliveries older than the margin now, as the
// scheduled aggregator would.
func rollupFlush(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rollup flush", "[--margin 30s]")
	margin := fs.Duration("margin", rollup.DefaultDeliveryMargin, "count only deliveries at least this old (longer than HOOKLENS_INGEST_TIMEOUT)")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	if *margin <= cfg.IngestTimeout {
		return fmt.Errorf("--margin must be longer than the ingest timeout (%s): a delivery committed late would be missed", cfg.IngestTimeout)
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: *margin}).Flush(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "counted %d deliveries\n", n)
	return nil
}

// rollupGenerate fills the database with bulk, already processed test
// data for benchmarks.
func rollupGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rollup generate", "--events N [--days 30] [--seed N]")
	events := fs.Int("events", 0, "about how many events to write (required), e.g. 10000000")
	days := fs.Int("days", 30, "spread them over this many days up to now")
	seed := fs.Uint64("seed", 1, "seed naming the data set")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	if *events <= 0 || *days <= 0 {
		return usageError(e, fs, "--events and --days must be positive")
	}
	db, err := createDB(ctx, cfg) // a fresh benchmark database is its purpose
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(e.stderr, "rollup generate: writing synthetic events straight into the database; never do this to one that receives real traffic")
	bar := newProgressBar(e.stderr, "rollup generate")
	bar.SetTotal(*events)
	last := 0
	now := time.Now()
	res, err := bulkgen.Generate(ctx, db, bulkgen.Options{
		Events: *events, From: now.AddDate(0, 0, -*days), To: now, Seed: *seed,
		Progress: func(done, _ int) { bar.Add(done-last, 0); last = done },
	})
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d events, %d deliveries, %d rollup rows in %s (%.0f events/s)\n",
		res.Events, res.Deliveries, res.RollupRows, res.Duration.Round(time.Second), res.EventsPerSecond())
	return nil
}
