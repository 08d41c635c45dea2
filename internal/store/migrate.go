package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/hooklens/hooklens/ent/migrate"
)

// migrateLockKey is the PostgreSQL advisory lock that serialises migrations
// when several instances start at once.
const migrateLockKey int64 = 0x686f6f6b6d696772 // "hookmigr"

// SchemaVersion fingerprints the schema this binary expects. /readyz
// compares it with the one recorded by the last migration.
var SchemaVersion = fingerprint(migrate.Tables)

func fingerprint(tables []*schema.Table) string {
	var lines []string
	for _, t := range tables {
		for _, c := range t.Columns {
			lines = append(lines, fmt.Sprintf("%s.%s %s null=%t unique=%t", t.Name, c.Name, c.Type, c.Nullable, c.Unique))
		}
		for _, ix := range t.Indexes {
			cols := make([]string, len(ix.Columns))
			for i, c := range ix.Columns {
				cols[i] = c.Name
			}
			lines = append(lines, fmt.Sprintf("%s index %s(%s) unique=%t", t.Name, ix.Name, strings.Join(cols, ","), ix.Unique))
		}
	}
	for _, s := range append(queueDDL, extraSQL...) {
		lines = append(lines, s.name)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// extra is dialect-specific DDL that ent's schema cannot express. Each
// statement must be idempotent.
type extra struct {
	name     string
	postgres string
	sqlite   string
}

var extraSQL = []extra{
	{
		name:     "meta table",
		postgres: `CREATE TABLE IF NOT EXISTS hooklens_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		sqlite:   `CREATE TABLE IF NOT EXISTS hooklens_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
	},
	// The audit trail is append-only (internal/audit): refuse UPDATE, DELETE
	// and TRUNCATE outright. Whoever disables the triggers is still caught by
	// the hash chain.
	{
		name: "audit_logs append-only function",
		postgres: `CREATE OR REPLACE FUNCTION hooklens_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$`,
	},
	{
		name: "audit_logs append-only triggers",
		postgres: `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_logs_append_only' AND tgrelid = 'audit_logs'::regclass) THEN
    CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
      FOR EACH ROW EXECUTE FUNCTION hooklens_audit_append_only();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_logs_no_truncate' AND tgrelid = 'audit_logs'::regclass) THEN
    CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
      FOR EACH STATEMENT EXECUTE FUNCTION hooklens_audit_append_only();
  END IF;
END $$`,
		sqlite: `CREATE TRIGGER IF NOT EXISTS audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: UPDATE refused'); END`,
	},
	{
		name: "audit_logs no delete (sqlite)",
		sqlite: `CREATE TRIGGER IF NOT EXISTS audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE refused'); END`,
	},
}

// Migrate brings the schema up to date: ent's tables, then the extras, then
// records SchemaVersion. It is safe to run from several instances at once on
// PostgreSQL (an advisory lock serialises them) and on every start.
func (db *DB) Migrate(ctx context.Context) error {
	// ent's migrator mutates the package-level table definitions, so two
	// migrations in one process (tests, mostly) must not overlap.
	migrateMu.Lock()
	defer migrateMu.Unlock()
	if db.Postgres() {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("migrating: acquiring lock connection: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("migrating: taking advisory lock: %w", err)
		}
		defer func() {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
		}()
	}
	// The queue table first, so that a database written before it existed
	// has its queue state moved before ent drops the old columns.
	if err := db.execExtras(ctx, queueDDL); err != nil {
		return err
	}
	if err := db.migrateQueue(ctx); err != nil {
		return err
	}
	// Indexes and columns hooklens no longer declares are dropped: the
	// schema is hooklens' own, and a stale index costs every insert.
	// The hot tables' foreign keys are left out (see hotForeignKeys).
	if err := db.Client.Schema.Create(ctx, migrate.WithDropIndex(true), migrate.WithDropColumn(true),
		schema.WithDiffHook(withoutHotForeignKeys(db.Postgres()))); err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	if err := db.execExtras(ctx, extraSQL); err != nil {
		return err
	}
	return db.SetMeta(ctx, "schema_version", SchemaVersion)
}

func (db *DB) execExtras(ctx context.Context, xs []extra) error {
	for _, x := range xs {
		stmt := x.sqlite
		if db.Postgres() {
			stmt = x.postgres
		}
		if stmt == "" {
			continue
		}
		if _, err := db.Write.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrating %s: %w", x.name, err)
		}
	}
	return nil
}

var migrateMu sync.Mutex

// hotForeignKeys are the foreign keys ent declares on the tables written
// for every webhook: on PostgreSQL each checked insert of a delivery or a
// journey membership takes a KEY SHARE lock on its event row (a write to
// the event's page). hooklens writes and deletes those rows with their
// event itself (see internal/retention), so they are never created, and
// dropped from a PostgreSQL database that has them. (SQLite's checks take
// no locks and cost a primary-key probe; dropping one there rebuilds the
// table, so an existing SQLite database keeps them.) Other tables keep
// their foreign keys and their ON DELETE actions.
var hotForeignKeys = map[string]bool{
	"webhook_deliveries_webhook_events_deliveries":           true,
	"journey_memberships_webhook_events_journey_memberships": true,
}

// withoutHotForeignKeys leaves hotForeignKeys out of the schema ent
// migrates to.
func withoutHotForeignKeys(postgres bool) schema.DiffHook {
	return func(next schema.Differ) schema.Differ {
		return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			for _, t := range desired.Tables {
				fks := t.ForeignKeys[:0]
				for _, fk := range t.ForeignKeys {
					if !hotForeignKeys[fk.Symbol] {
						fks = append(fks, fk)
					}
				}
				t.ForeignKeys = fks
			}
			changes, err := next.Diff(current, desired)
			if err != nil || postgres {
				return changes, err
			}
			// SQLite: keep an existing database's constraints rather than
			// rebuild its tables.
			out := changes[:0]
			for _, c := range changes {
				if m, ok := c.(*atlas.ModifyTable); ok {
					kept := m.Changes[:0]
					for _, mc := range m.Changes {
						if d, ok := mc.(*atlas.DropForeignKey); ok && hotForeignKeys[d.F.Symbol] {
							continue
						}
						kept = append(kept, mc)
					}
					m.Changes = kept
					if len(m.Changes) == 0 {
						continue
					}
				}
				out = append(out, c)
			}
			return out, nil
		})
	}
}

// ErrSchemaOutdated means the database was migrated by a different version.
var ErrSchemaOutdated = errors.New("database schema is not the one this binary expects; run `hooklens migrate`")

// CheckSchema reports whether the database schema is the one this binary
// expects.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.Meta(ctx, "schema_version")
	if errors.Is(err, sql.ErrNoRows) {
		return ErrSchemaOutdated
	}
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v != SchemaVersion {
		return ErrSchemaOutdated
	}
	return nil
}

// Meta reads a value from hooklens_meta; sql.ErrNoRows when absent.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.Read.QueryRowContext(ctx, db.Rebind("SELECT value FROM hooklens_meta WHERE key = ?"), key).Scan(&v)
	if err != nil && strings.Contains(err.Error(), "no such table") || err != nil && strings.Contains(err.Error(), "does not exist") {
		return "", sql.ErrNoRows
	}
	return v, err
}

// SetMeta writes a value to hooklens_meta.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := db.Write.ExecContext(ctx, db.Rebind(
		`INSERT INTO hooklens_meta (key, value, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		key, value, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}
