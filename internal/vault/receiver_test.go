package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
)

// TestReceiverSealsBodies: with a keyring, the receiver stores bodies
// sealed, keeps the raw body's hash and size, and the SQLite file holds no
// trace of the plaintext.
func TestReceiverSealsBodies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hooklens.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(context.Background()))
	testReceiverSeals(t, db)
	// Everything is on disk (WAL included) after a checkpoint.
	_, err = db.Write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	require.NoError(t, err)
	for _, f := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		require.False(t, bytes.Contains(raw, []byte("sealed-marker-7f3a")), "plaintext found in %s", f)
	}
}

func TestReceiverSealsBodiesPostgres(t *testing.T) {
	t.Parallel()
	testReceiverSeals(t, dbtest.Open(t, "postgres"))
}

func testReceiverSeals(t *testing.T, db *store.DB) {
	t.Helper()
	kr, err := vault.ParseKeys("k1:" + key(9))
	require.NoError(t, err)
	const secret = "vault-receiver-secret"
	rcv := ingest.NewReceiver(db, live.NewHub("test"), metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		ingest.Options{Verifier: dwolla.NewVerifier(secret), Vault: kr})
	rcv.Start()
	srv := httptest.NewServer(rcv)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rcv.Close(ctx)
	})
	body := []byte(`{"id":"ev-sealed-1","topic":"customer_created","created":"2024-01-01T00:00:00.000Z","note":"sealed-marker-7f3a"}`)
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(dwolla.SignatureHeader, dwolla.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	ev, err := db.Client.WebhookEvent.Query().Only(context.Background())
	require.NoError(t, err)
	require.Equal(t, "aes256gcm:k1", ev.BodyEncoding)
	require.NotContains(t, string(ev.Body), "sealed-marker-7f3a")
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:]), ev.BodySha256)
	require.Equal(t, len(body), ev.BodySize)
	plain, err := kr.Open(ev.BodyEncoding, ev.Body)
	require.NoError(t, err)
	require.Equal(t, body, plain)
}
