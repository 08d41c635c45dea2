package store

import (
	"context"
	"fmt"
	"strings"
)

// hotTables are the tables every webhook writes to or the pipeline reads
// by index: their statistics decide whether PostgreSQL plans a lookup or
// a scan.
var hotTables = []string{"webhook_events", "event_queue", "webhook_deliveries", "journey_memberships", "journey_instances", "metric_rollups"}

// AutovacuumOn reports whether PostgreSQL's autovacuum (and the statistics
// collection it needs) is on. Without it a table is never analysed and the
// planner guesses from its size alone; hooklens then analyses its hot
// tables itself (see Analyze). SQLite has no such daemon: true.
func (db *DB) AutovacuumOn(ctx context.Context) (bool, error) {
	if !db.Postgres() {
		return true, nil
	}
	var av, tc string
	if err := db.Read.QueryRowContext(ctx, "SELECT current_setting('autovacuum'), current_setting('track_counts')").Scan(&av, &tc); err != nil {
		return false, fmt.Errorf("reading autovacuum's setting: %w", err)
	}
	return av == "on" && tc == "on", nil
}

// Analyze refreshes the planner's statistics of the hot tables on
// PostgreSQL (ANALYZE samples a fixed number of rows, so it takes about as
// long at ten million events as at one million). On SQLite it does
// nothing: hooklens' SQLite statements are written to use their indexes
// without statistics, and ANALYZE there could only change those plans.
func (db *DB) Analyze(ctx context.Context) error {
	if !db.Postgres() {
		return nil
	}
	if _, err := db.Write.ExecContext(ctx, "ANALYZE "+strings.Join(hotTables, ", ")); err != nil {
		return fmt.Errorf("analysing %s: %w", strings.Join(hotTables, ", "), err)
	}
	return nil
}
