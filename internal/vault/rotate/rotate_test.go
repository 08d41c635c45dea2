package rotate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/alertchannel"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
	"github.com/hooklens/hooklens/internal/vault/rotate"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, vault.KeySize))
}

// insertEvents stores n events sealed by kr and returns their bodies by
// event id.
func insertEvents(t *testing.T, db *store.DB, kr *vault.Keyring, prefix string, n int) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	bodies := map[string][]byte{}
	evs := make([]store.NewEvent, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		body := []byte(fmt.Sprintf(`{"id":%q,"topic":"customer_created","note":"plaintext-marker-%s"}`, id, id))
		bodies[id] = body
		enc, sealed, err := kr.Seal(body)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		evs[i] = store.NewEvent{EventID: id, Topic: "customer_created", CreatedAt: time.Now(), Source: "webhook",
			Body: sealed, BodyEncoding: enc, BodySHA256: hex.EncodeToString(sum[:]), BodySize: len(body), Deliveries: 1}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = db.InsertEvents(ctx, tx, time.Now(), evs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return bodies
}

type countingProgress struct{ total, done int }

func (p *countingProgress) SetTotal(n int) { p.total = n }
func (p *countingProgress) Add(d, _ int)   { p.done += d }
func (p *countingProgress) Stage(string)   {}

func TestReencrypt(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var clearRing *vault.Keyring
		k1, err := vault.ParseKeys("k1:" + key(1))
		require.NoError(t, err)
		k2, err := vault.ParseKeys("k2:" + key(2) + ",k1:" + key(1))
		require.NoError(t, err)

		bodies := insertEvents(t, db, clearRing, "clear", 7)
		for id, b := range insertEvents(t, db, k1, "old", 5) {
			bodies[id] = b
		}
		url, err := k1.SealField([]byte("https://hooks.example.com/T/secret-path"))
		require.NoError(t, err)
		_, err = db.Client.AlertChannel.Create().SetName("ops").SetKind(alertchannel.KindWebhook).SetURLSealed(url).Save(ctx)
		require.NoError(t, err)

		// Without k1 the run refuses to start.
		k2only, err := vault.ParseKeys("k2:" + key(2))
		require.NoError(t, err)
		_, err = rotate.Reencrypt(ctx, db, k2only, rotate.Options{})
		require.ErrorIs(t, err, rotate.ErrUnreadable)

		rep, err := rotate.Status(ctx, db, k2)
		require.NoError(t, err)
		require.Equal(t, 13, rep.Pending())
		require.Empty(t, rep.Unreadable())

		p := &countingProgress{}
		res, err := rotate.Reencrypt(ctx, db, k2, rotate.Options{BatchSize: 3, Progress: p})
		require.NoError(t, err)
		require.Equal(t, rotate.Result{Events: 12, Channels: 1}, res)
		require.Equal(t, 13, p.total)
		require.Equal(t, 13, p.done)

		rep, err = rotate.Status(ctx, db, k2)
		require.NoError(t, err)
		require.Zero(t, rep.Pending())
		require.Equal(t, []rotate.EncodingCount{{Encoding: "aes256gcm:k2", Count: 12, Readable: true}}, rep.Events)

		// k2 alone now opens everything, and every body is intact.
		evs, err := db.Client.WebhookEvent.Query().All(ctx)
		require.NoError(t, err)
		require.Len(t, evs, 12)
		for _, ev := range evs {
			got, err := k2only.Open(ev.BodyEncoding, ev.Body)
			require.NoError(t, err)
			require.Equal(t, bodies[ev.EventID], got)
		}
		ch, err := db.Client.AlertChannel.Query().Only(ctx)
		require.NoError(t, err)
		got, err := k2only.OpenField(ch.URLSealed)
		require.NoError(t, err)
		require.Equal(t, "https://hooks.example.com/T/secret-path", string(got))

		// A second run has nothing to do.
		res, err = rotate.Reencrypt(ctx, db, k2, rotate.Options{})
		require.NoError(t, err)
		require.Zero(t, res)

		// Rotating to identity decrypts, turning encryption off.
		off, err := vault.ParseKeys("identity,k2:" + key(2))
		require.NoError(t, err)
		res, err = rotate.Reencrypt(ctx, db, off, rotate.Options{})
		require.NoError(t, err)
		require.Equal(t, 12, res.Events)
		ev, err := db.Client.WebhookEvent.Query().First(ctx)
		require.NoError(t, err)
		require.Equal(t, vault.Identity, ev.BodyEncoding)
		require.Equal(t, bodies[ev.EventID], ev.Body)
	})
}
