// Package dbtest gives tests real databases: a fresh SQLite file, or a fresh
// PostgreSQL database created on the server named by TEST_DATABASE_URL and
// dropped when the test ends.
//
// Without TEST_DATABASE_URL the PostgreSQL variants skip, except under
// CI=true, where a missing or unreachable PostgreSQL fails the test: CI must
// never pass by skipping.
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hooklens/hooklens/internal/store"
)

// Kinds are the database kinds tests run against.
var Kinds = []string{"sqlite", "postgres"}

// ForEach runs fn as a subtest against each kind of database.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, kind))
		})
	}
}

// Open returns a migrated, empty database of kind, closed (and dropped) at
// the end of the test.
func Open(t testing.TB, kind string) *store.DB {
	t.Helper()
	u := URL(t, kind)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		t.Fatalf("opening %s test database: %v", kind, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating %s test database: %v", kind, err)
	}
	return db
}

// URL returns the URL of a new, empty database of kind (not migrated).
func URL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return filepath.Join(t.TempDir(), "hooklens.db")
	case "postgres":
		return NewPostgres(t)
	}
	t.Fatalf("unknown database kind %q", kind)
	return ""
}

// SkipMissing stops t because something it needs is missing from this
// machine (PostgreSQL, Chromium, promtool, root): under CI=true it fails,
// since CI must never pass by skipping; elsewhere it skips, and appends why
// and the test's name to the file HOOKLENS_SKIP_LOG names, if any, so that
// `make test` can say at the end what did not run.
func SkipMissing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI must run this test", why)
		return
	}
	if path := os.Getenv("HOOKLENS_SKIP_LOG"); path != "" {
		// One short O_APPEND write per test: concurrent test binaries
		// do not interleave within a line.
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			_, _ = fmt.Fprintf(f, "%s\t%s\n", strings.ReplaceAll(why, "\t", " "), t.Name())
			_ = f.Close()
		}
	}
	t.Skip(why)
}

// PostgresURL returns TEST_DATABASE_URL, skipping the test when it is unset
// outside CI and failing it inside CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		SkipMissing(t, "TEST_DATABASE_URL is not set (PostgreSQL variants)")
	}
	return u
}

// NewPostgres creates a database for this test and returns its URL; the
// database is dropped when the test ends.
func NewPostgres(t testing.TB) string {
	t.Helper()
	admin := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		SkipMissing(t, fmt.Sprintf("PostgreSQL at TEST_DATABASE_URL is unreachable (%v)", err))
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("hooklens_test_%d_%s", time.Now().UnixNano()%1e9, sanitize(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("dropping test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
