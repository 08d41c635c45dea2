package bench_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

type ceilingBundle struct {
	url    string
	dbURL  string
	secret string
	// lockWrites holds the ceiling table's write lock from another
	// connection until the returned function is called.
	lockWrites func(t *testing.T) (release func())
	// rows reads the table from another connection.
	rows func(t *testing.T) map[string][]byte
}

func setupCeiling(t *testing.T, kind string) *ceilingBundle {
	t.Helper()
	b := &ceilingBundle{dbURL: dbtest.URL(t, kind), secret: "ceiling-s3cret"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := bench.OpenCeiling(ctx, bench.CeilingOptions{DatabaseURL: b.dbURL, Secret: b.secret})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(func() { srv.Close(); c.Close() })
	b.url = srv.URL + "/api/webhooks/dwolla/v2"

	if kind == "postgres" {
		b.lockWrites = func(t *testing.T) func() {
			conn, err := pgx.Connect(context.Background(), b.dbURL)
			require.NoError(t, err)
			tx, err := conn.Begin(context.Background())
			require.NoError(t, err)
			_, err = tx.Exec(context.Background(), "LOCK TABLE "+bench.CeilingTable+" IN EXCLUSIVE MODE")
			require.NoError(t, err)
			return func() { _ = tx.Rollback(context.Background()); conn.Close(context.Background()) }
		}
		b.rows = func(t *testing.T) map[string][]byte {
			conn, err := pgx.Connect(context.Background(), b.dbURL)
			require.NoError(t, err)
			defer conn.Close(context.Background())
			rows, err := conn.Query(context.Background(), "SELECT event_id, body FROM "+bench.CeilingTable)
			require.NoError(t, err)
			out := map[string][]byte{}
			for rows.Next() {
				var id string
				var body []byte
				require.NoError(t, rows.Scan(&id, &body))
				out[id] = body
			}
			require.NoError(t, rows.Err())
			return out
		}
		return b
	}
	b.lockWrites = func(t *testing.T) func() {
		db, err := sql.Open("sqlite", store.SQLiteDSN(b.dbURL, false))
		require.NoError(t, err)
		db.SetMaxOpenConns(1)
		tx, err := db.Begin() // _txlock=immediate: takes the write lock
		require.NoError(t, err)
		_, err = tx.Exec("INSERT INTO " + bench.CeilingTable + " (event_id, body) VALUES ('lock', x'00')")
		require.NoError(t, err)
		return func() { _ = tx.Rollback(); db.Close() }
	}
	b.rows = func(t *testing.T) map[string][]byte {
		db, err := sql.Open("sqlite", store.SQLiteDSN(b.dbURL, true))
		require.NoError(t, err)
		defer db.Close()
		rows, err := db.Query("SELECT event_id, body FROM " + bench.CeilingTable)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string][]byte{}
		for rows.Next() {
			var id string
			var body []byte
			require.NoError(t, rows.Scan(&id, &body))
			out[id] = body
		}
		require.NoError(t, rows.Err())
		return out
	}
	return b
}

func post(t *testing.T, url string, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(dwolla.SignatureHeader, sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}

// TestCeiling runs the ceiling receiver over real HTTP on each database:
// it answers only once the row is committed (a held write lock holds the
// answer back), stores the body byte for byte, dedupes by event id, and
// rejects a bad signature (401) or a body without an id (400) storing
// nothing.
func TestCeiling(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setupCeiling(t, kind)
			body := []byte(`{"id":"11111111-2222-3333-4444-555555555555","topic":"customer_created","_links":{}}`)
			sig := dwolla.Sign([]byte(b.secret), body)

			release := b.lockWrites(t)
			answered := make(chan int, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
				req.Header.Set(dwolla.SignatureHeader, sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answered <- -1
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			select {
			case code := <-answered:
				release()
				t.Fatalf("answered %d while the commit could not happen", code)
			case <-time.After(300 * time.Millisecond):
			}
			require.Empty(t, b.rows(t)["11111111-2222-3333-4444-555555555555"])
			release()
			select {
			case code := <-answered:
				require.Equal(t, http.StatusOK, code)
			case <-time.After(15 * time.Second):
				t.Fatal("no answer after the lock was released")
			}
			rows := b.rows(t)
			require.Equal(t, body, rows["11111111-2222-3333-4444-555555555555"], "committed, byte for byte, before the answer")

			code, resp := post(t, b.url, body, sig)
			require.Equal(t, http.StatusOK, code)
			require.JSONEq(t, `{"received":true}`, resp)
			require.Len(t, b.rows(t), 1, "a repeated delivery is stored once")

			other := []byte(`{"id":"66666666-2222-3333-4444-555555555555"}`)
			code, _ = post(t, b.url, other, dwolla.Sign([]byte("wrong"), other))
			require.Equal(t, http.StatusUnauthorized, code)
			code, _ = post(t, b.url, other, "")
			require.Equal(t, http.StatusUnauthorized, code)
			code, _ = post(t, b.url, other, "ABCDEF"+dwolla.Sign([]byte(b.secret), other)[6:])
			require.Equal(t, http.StatusUnauthorized, code, "uppercase hex is refused, as hooklens refuses it")
			bad := []byte(`{"id":`)
			code, _ = post(t, b.url, bad, dwolla.Sign([]byte(b.secret), bad))
			require.Equal(t, http.StatusBadRequest, code)
			noID := []byte(`{"topic":"x"}`)
			code, _ = post(t, b.url, noID, dwolla.Sign([]byte(b.secret), noID))
			require.Equal(t, http.StatusBadRequest, code)
			require.Len(t, b.rows(t), 1)
		})
	}
}
