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

	// ckpt runs SQLite's checkpoints off the commit path (nil on
	// PostgreSQL); see checkpoint.go.
	ckpt *checkpointer
}

// Postgres reports whether the database is PostgreSQL.
func (db *DB) Postgres() bool { return db.Dialect == dialect.Postgres }

// Options tune Open.
type Options struct {
	// MaxConns caps the PostgreSQL pool (default 4 × CPUs, at least 8).
	MaxConns int
	// ReadConns sizes SQLite's read pool (default CPUs, at least 4).
	ReadConns int
	// CacheBytes bounds SQLite's page cache across all its connections
	// (default DefaultSQLiteCacheBytes): the writer gets half, the readers
	// share the rest. SQLite's cache is per connection, so an unbounded
	// per-connection size multiplies by the pool and grows with the history.
	CacheBytes int64
	// MustExist refuses to open a SQLite file that does not exist yet,
	// naming the path, instead of creating an empty database. Read-only
	// commands set it so a mistyped DATABASE_URL is reported, not created.
	MustExist bool
}

// ErrNoDatabase means Options.MustExist was set and the SQLite file is not
// there.
var ErrNoDatabase = errors.New("database not found")

// DefaultSQLiteCacheBytes is the default bound on SQLite's page caches,
// all connections together. With memory-mapped I/O off (mmap_size 0), it
// is the whole of SQLite's own memory for pages.
const DefaultSQLiteCacheBytes = 64 << 20

// sqliteCachePragmas sizes one connection's page cache: cache_size in KiB
// (a negative value) and no memory mapping, whose pages would count
// towards the process's resident memory without bound.
func sqliteCachePragmas(cacheBytes int64) []string {
	kib := cacheBytes >> 10
	if kib < 1024 {
		kib = 1024 // 1 MiB: below that every query re-reads its index pages
	}
	return []string{fmt.Sprintf("cache_size(-%d)", kib), "mmap_size(0)"}
}

// SQLiteCacheSplit divides a page-cache budget between the writer and each
// of readers connections.
func SQLiteCacheSplit(total int64, readers int) (writer, perReader int64) {
	if total <= 0 {
		total = DefaultSQLiteCacheBytes
	}
	if readers < 1 {
		readers = 1
	}
	return total / 2, total / 2 / int64(readers)
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
}

// SQLiteDSN builds the modernc DSN for path. readOnly connections refuse
// writes. Each connection's page cache is the default writer's share; see
// sqliteDSN for a chosen size.
func SQLiteDSN(path string, readOnly bool) string {
	w, _ := SQLiteCacheSplit(DefaultSQLiteCacheBytes, 1)
	return sqliteDSN(path, readOnly, w)
}

func sqliteDSN(path string, readOnly bool, cacheBytes int64) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	for _, p := range sqliteCachePragmas(cacheBytes) {
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
	if opts.MustExist {
		if _, err := os.Stat(clean); err != nil {
			return nil, fmt.Errorf("%w: no SQLite database at %s (check DATABASE_URL; `hooklens migrate` creates one)", ErrNoDatabase, clean)
		}
	} else if dir := filepath.Dir(clean); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database directory %s: %w", dir, err)
		}
	}
	readers := opts.ReadConns
	if readers <= 0 {
		readers = max2(4, runtime.NumCPU())
	}
	writerCache, readerCache := SQLiteCacheSplit(opts.CacheBytes, readers)
	w, err := sql.Open("sqlite", sqliteDSN(clean, false, writerCache))
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
	// Checkpoints run in the background, not inside the writer's commits
	// (see checkpoint.go). Should the writer's connection ever be opened
	// again, it falls back to SQLite's automatic checkpoints.
	if _, err := w.ExecContext(pingCtx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", clean, err)
	}
	ckpt, err := startCheckpointer(sqliteDSN(clean, false, 0))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening SQLite %s: %w", clean, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(clean, true, readerCache))
	if err != nil {
		_ = ckpt.close()
		w.Close()
		return nil, fmt.Errorf("opening SQLite %s for reading: %w", clean, err)
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
		ckpt:    ckpt,
	}, nil
}

// Close closes every handle.
func (db *DB) Close() error {
	// The ent client owns the sql.DB handles (both of them on SQLite).
	err := db.Client.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.ckpt != nil {
		if cerr := db.ckpt.close(); err == nil {
			err = cerr
		}
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
