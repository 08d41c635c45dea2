// Package store opens hooklens' database, SQLite (embedded, the default) or
// PostgreSQL, migrates it, and hands out the ent client and the raw handles
// that hot paths need.
//
// SQLite gets one writer connection and a separate read-only pool: a single
// connection serialises writers in Go instead of in SQLite's busy loop, and
// _txlock=immediate stops read-then-write transactions from failing with
// SQLITE_BUSY. Dialect-specific SQL that ent cannot express lives here too.
// This package must never decide business logic.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/config"
)

// DB is an open hooklens database.
type DB struct {
	// Dialect is dialect.SQLite or dialect.Postgres.
	Dialect string
	// Client is the ent client. On SQLite its plain SELECTs go to the read
	// pool and everything else to the single writer.
	Client *ent.Client
	// Write is the handle for writes; on SQLite it has exactly one connection.
	Write *sql.DB
	// Read is the handle for reads; on PostgreSQL it is Write.
	Read *sql.DB
	// Pool is the pgx pool behind Write on PostgreSQL (nil on SQLite), for
	// LISTEN/NOTIFY and advisory locks.
	Pool *pgxpool.Pool
	// URL is the database URL or path it was opened with.
	URL string
}

// Postgres reports whether the database is PostgreSQL.
func (db *DB) Postgres() bool { return db.Dialect == dialect.Postgres }

// Options tune Open.
type Options struct {
	// MaxConns caps the PostgreSQL pool (default 4 × CPUs, at least 8).
	MaxConns int
	// ReadConns sizes SQLite's read pool (default CPUs, at least 4).
	ReadConns int
}

// Open opens the database named by url: a postgres:// URL or a SQLite path.
// It does not migrate; call Migrate.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if config.IsPostgresURL(url) {
		return openPostgres(ctx, url, opts)
	}
	return openSQLite(ctx, url, opts)
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %s", redactErr(err, dsn))
	}
	max := opts.MaxConns
	if max <= 0 {
		max = max2(8, 4*runtime.NumCPU())
	}
	pcfg.MaxConns = int32(max)
	pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if pcfg.ConnConfig.RuntimeParams == nil {
		pcfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "hooklens"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %s", redactErr(err, dsn))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL %s: %s", config.RedactURL(dsn), redactErr(err, dsn))
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	drv := entsql.OpenDB(dialect.Postgres, sqldb)
	return &DB{
		Dialect: dialect.Postgres,
		Client:  ent.NewClient(ent.Driver(drv)),
		Write:   sqldb,
		Read:    sqldb,
		Pool:    pool,
		URL:     dsn,
	}, nil
}

// sqlitePragmas are applied to every connection. synchronous=FULL makes each
// commit survive power loss, not only a crash: an acknowledged webhook must
// never be lost. Group commit amortises the fsync.
var sqlitePragmas = []string{
	"journal_mode(WAL)",
	"busy_timeout(10000)",
	"foreign_keys(1)",
	"synchronous(FULL)",
	"temp_store(MEMORY)",
	"cache_size(-32000)",
}

// SQLiteDSN builds the modernc DSN for path. readOnly connections refuse writes.
func SQLiteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	// Times are written as UTC text in one fixed layout so that comparing the
	// strings orders them in time, which SQLite's range queries rely on.
	q.Set("_time_format", "sqlite")
	q.Set("_timezone", "UTC")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Set("_txlock", "deferred")
	} else {
		q.Set("_txlock", "immediate")
	}
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	clean := strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(clean, '?'); i >= 0 {
		clean = clean[:i]
	}
	if clean == "" || strings.Contains(clean, ":memory:") {
		return nil, errors.New("DATABASE_URL: an in-memory SQLite database loses every event on exit; give a file path")
	}
	if dir := filepath.Dir(clean); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database directory %s: %w", dir, err)
		}
	}
	w, err := sql.Open("sqlite", SQLiteDSN(clean, false))
	if err != nil {
		return nil, fmt.Errorf("opening SQLite %s: %w", clean, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.PingContext(pingCtx); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", clean, err)
	}
	r, err := sql.Open("sqlite", SQLiteDSN(clean, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening SQLite %s for reading: %w", clean, err)
	}
	readers := opts.ReadConns
	if readers <= 0 {
		readers = max2(4, runtime.NumCPU())
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	drv := &routedDriver{
		w: entsql.OpenDB(dialect.SQLite, w),
		r: entsql.OpenDB(dialect.SQLite, r),
	}
	return &DB{
		Dialect: dialect.SQLite,
		Client:  ent.NewClient(ent.Driver(drv)),
		Write:   w,
		Read:    r,
		URL:     clean,
	}, nil
}

// Close closes every handle.
func (db *DB) Close() error {
	// The ent client owns the sql.DB handles (both of them on SQLite).
	err := db.Client.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}

// Ping checks the database answers, within ctx.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.Write.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Rebind turns ? placeholders into $n on PostgreSQL, so hand-written SQL can
// be shared by both dialects.
func (db *DB) Rebind(query string) string {
	if !db.Postgres() {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func max2(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// redactErr renders err without the password that pgx may echo.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// WithAdvisoryLock runs fn while holding a PostgreSQL session advisory lock
// that serialises cluster-wide one-off work (bootstrap, migrations). On
// SQLite, a single process, it just runs fn.
func (db *DB) WithAdvisoryLock(ctx context.Context, fn func(context.Context) error) error {
	if !db.Postgres() {
		return fn(ctx)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring lock connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", bootstrapLockKey); err != nil {
		return fmt.Errorf("taking advisory lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", bootstrapLockKey)
	}()
	return fn(ctx)
}

const bootstrapLockKey int64 = 0x686f6f6b626f6f74 // "hookboot"
