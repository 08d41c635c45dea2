package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/store"
)

// Every SQLite connection, the writer and each reader, runs with its share
// of the configured page-cache budget and without memory mapping, so the
// caches together stay within the budget however large the database grows.
func TestSQLiteCacheBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const budget = 24 << 20
	const readers = 3
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"), store.Options{CacheBytes: budget, ReadConns: readers})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	pragmas := func(c *sql.Conn) (cacheKiB, mmap int64) {
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cacheKiB))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap))
		return -cacheKiB, mmap
	}
	w, err := db.Write.Conn(ctx)
	require.NoError(t, err)
	defer w.Close()
	total := int64(0)
	kib, mmap := pragmas(w)
	require.Equal(t, int64(budget/2>>10), kib, "the writer gets half the budget")
	require.Zero(t, mmap)
	total += kib

	// Hold every reader at once so each is a distinct connection.
	var conns []*sql.Conn
	for i := 0; i < readers; i++ {
		c, err := db.Read.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		kib, mmap := pragmas(c)
		require.Equal(t, int64(budget/2/readers>>10), kib, "reader %d", i)
		require.Zero(t, mmap, "reader %d maps the file", i)
		total += kib
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	require.LessOrEqual(t, total<<10, int64(budget), "all connections together stay within the budget")

	// The default budget applies when none is given.
	w2, r2 := store.SQLiteCacheSplit(0, 4)
	require.Equal(t, int64(store.DefaultSQLiteCacheBytes), w2+4*r2)
}

// A command that only reads must not create an empty database where a
// mistyped DATABASE_URL points: MustExist refuses, naming the path.
func TestOpenMustExist(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope", "h.db")
	_, err := store.Open(context.Background(), path, store.Options{MustExist: true})
	require.ErrorIs(t, err, store.ErrNoDatabase)
	require.Contains(t, err.Error(), path)
	_, statErr := os.Stat(filepath.Dir(path))
	require.True(t, os.IsNotExist(statErr), "not even its directory is created")
}
