package bench

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/hooklens/hooklens/internal/config"
)

// BytesOnDisk is what a database takes on disk after a run.
//
// PostgreSQL: it runs VACUUM on the database (so dead tuples left by
// updates are reclaimable, as they are on a server whose autovacuum runs),
// then sums pg_total_relation_size (heap, indexes, TOAST, free-space and
// visibility maps) of every table of the database's own schemas, read from
// pg_class — every table the receiver made, whatever their names. VACUUM
// makes dead tuples' space reusable and cuts only empty pages at a table's
// end, so space that updates bloated mostly still counts.
//
// SQLite: the database file plus its write-ahead log, as they are.
func BytesOnDisk(ctx context.Context, databaseURL string) (int64, error) {
	if !config.IsPostgresURL(databaseURL) {
		var total int64
		for _, suffix := range []string{"", "-wal"} {
			st, err := os.Stat(databaseURL + suffix)
			if errors.Is(err, os.ErrNotExist) && suffix != "" {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("measuring the database on disk: %w", err)
			}
			total += st.Size()
		}
		return total, nil
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, fmt.Errorf("connecting to measure the database on disk: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "VACUUM"); err != nil {
		return 0, fmt.Errorf("vacuuming before measuring: %w", err)
	}
	var total int64
	err = conn.QueryRow(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%'
		  AND n.nspname NOT LIKE 'pg\_temp%'`).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("measuring the database on disk: %w", err)
	}
	return total, nil
}
