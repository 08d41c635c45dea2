package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// TestMigrateIsANoOpOnACurrentSchema: a start on a database already at
// this schema rebuilds nothing. PostgreSQL stores an index's predicate
// normalised, and comparing it with the declared text once made every
// start drop and rebuild the partial indexes (8.6 s of an 11.7 s start at
// ten million events, with writes blocked).
func TestMigrateIsANoOpOnACurrentSchema(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		before := indexIdentities(t, db)
		require.NotEmpty(t, before)
		require.NoError(t, db.Migrate(ctx))
		require.Equal(t, before, indexIdentities(t, db), "a second migration changed or rebuilt an index")
	})
}

// indexIdentities maps every index to what a rebuild would change: its
// storage (PostgreSQL's relfilenode, SQLite's root page).
func indexIdentities(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	q := `SELECT c.relname, c.relfilenode::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'i' AND n.nspname = current_schema()`
	if !db.Postgres() {
		q = `SELECT name, rootpage || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index'`
	}
	rows, err := db.Read.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, id string
		require.NoError(t, rows.Scan(&name, &id))
		out[name] = id
	}
	require.NoError(t, rows.Err())
	return out
}

// TestHotTablesHaveNoForeignKeys: deliveries and journey memberships are
// written for every webhook without a foreign-key check on their event
// (on PostgreSQL each check locked the event row); a PostgreSQL database
// that has the old constraints loses them; other tables keep theirs.
func TestHotTablesHaveNoForeignKeys(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fks := func(table string) int {
			q := `SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = $1::regclass`
			if !db.Postgres() {
				q = `SELECT COUNT(*) FROM pragma_foreign_key_list(?)`
			}
			var n int
			require.NoError(t, db.Read.QueryRowContext(ctx, q, table).Scan(&n))
			return n
		}
		require.Zero(t, fks("webhook_deliveries"))
		require.Zero(t, fks("journey_memberships"))
		require.Positive(t, fks("alerts"), "other tables keep their foreign keys")
		if !db.Postgres() {
			return
		}
		_, err := db.Write.ExecContext(ctx, `ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_webhook_events_deliveries
			FOREIGN KEY (webhook_event_id) REFERENCES webhook_events (id) ON DELETE SET NULL`)
		require.NoError(t, err)
		require.Equal(t, 1, fks("webhook_deliveries"))
		require.NoError(t, db.Migrate(ctx))
		require.Zero(t, fks("webhook_deliveries"), "an earlier version's constraint is dropped")
	})
}
