package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/alertchannel"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, vault.KeySize))
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	hexKey := strings.Repeat("ab", vault.KeySize)
	for _, tc := range []struct {
		spec    string
		active  string
		ids     []string
		wantErr string
	}{
		{spec: "", active: vault.Identity, ids: []string{vault.Identity}},
		{spec: "k1:" + key(1), active: "aes256gcm:k1", ids: []string{"k1"}},
		{spec: " k2:" + key(2) + " , k1:" + key(1), active: "aes256gcm:k2", ids: []string{"k2", "k1"}},
		{spec: "k1:" + hexKey, active: "aes256gcm:k1", ids: []string{"k1"}},
		{spec: "k1:" + strings.TrimRight(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "="), active: "aes256gcm:k1", ids: []string{"k1"}},
		{spec: "identity,k1:" + key(1), active: vault.Identity, ids: []string{vault.Identity, "k1"}},
		{spec: "identity", wantErr: "identity alone"},
		{spec: "k1:" + key(1) + ",identity", wantErr: "entry 2: identity may only stand first"},
		{spec: "k1", wantErr: "entry 1 must be id:key"},
		{spec: "k1:" + key(1) + ",k1:" + key(2), wantErr: "appears twice"},
		{spec: "k1:c2hvcnQ=", wantErr: "must be 32 bytes"},
		{spec: "k1:not base64!", wantErr: "base64"},
		{spec: "identity:" + key(1), wantErr: "reserved"},
		{spec: "bad id:" + key(1), wantErr: "letters, digits"},
		{spec: "k1:" + key(1) + ",,", wantErr: "entry 2 is empty"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			kr, err := vault.ParseKeys(tc.spec)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				// Errors never echo key material.
				for _, part := range strings.Split(tc.spec, ",") {
					if _, k, ok := strings.Cut(part, ":"); ok && len(k) > 8 {
						require.NotContains(t, err.Error(), strings.TrimSpace(k))
					}
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.active, kr.ActiveEncoding())
			require.Equal(t, tc.ids, kr.KeyIDs())
		})
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	old, err := vault.ParseKeys("k1:" + key(1))
	require.NoError(t, err)
	rotated, err := vault.ParseKeys("k2:" + key(2) + ",k1:" + key(1))
	require.NoError(t, err)
	plain := []byte(`{"id":"secret-value"}`)

	enc, sealed, err := old.Seal(plain)
	require.NoError(t, err)
	require.Equal(t, "aes256gcm:k1", enc)
	require.NotContains(t, string(sealed), "secret-value")
	_, sealed2, err := old.Seal(plain)
	require.NoError(t, err)
	require.NotEqual(t, sealed, sealed2, "every seal draws a fresh nonce")

	for _, kr := range []*vault.Keyring{old, rotated} {
		got, err := kr.Open(enc, sealed)
		require.NoError(t, err)
		require.Equal(t, plain, got)
	}
	enc2, _, err := rotated.Seal(plain)
	require.NoError(t, err)
	require.Equal(t, "aes256gcm:k2", enc2, "the first key seals")

	// Without the key, with a flipped bit, or relabelled: refused.
	k2only, err := vault.ParseKeys("k2:" + key(2))
	require.NoError(t, err)
	_, err = k2only.Open(enc, sealed)
	require.ErrorIs(t, err, vault.ErrUnknownKey)
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	_, err = old.Open(enc, bad)
	require.ErrorIs(t, err, vault.ErrCorrupt)
	same, err := vault.ParseKeys("k2:" + key(1))
	require.NoError(t, err)
	_, err = same.Open("aes256gcm:k2", sealed)
	require.ErrorIs(t, err, vault.ErrCorrupt, "the key id is authenticated")
	_, err = old.Open(enc, sealed[:5])
	require.ErrorIs(t, err, vault.ErrCorrupt)
	_, err = old.Open("gzip", sealed)
	require.ErrorIs(t, err, vault.ErrUnknownEncoding)

	// identity passes through, even on a nil keyring.
	var none *vault.Keyring
	enc, out, err := none.Seal(plain)
	require.NoError(t, err)
	require.Equal(t, vault.Identity, enc)
	require.Equal(t, plain, out)
	got, err := none.Open("", plain)
	require.NoError(t, err)
	require.Equal(t, plain, got)
	_, err = none.Open("aes256gcm:k1", sealed)
	require.ErrorIs(t, err, vault.ErrUnknownKey)
}

func TestSealField(t *testing.T) {
	t.Parallel()
	kr, err := vault.ParseKeys("k1:" + key(1))
	require.NoError(t, err)
	url := []byte("https://hooks.slack.com/services/T000/B000/XXXXSECRET")
	f, err := kr.SealField(url)
	require.NoError(t, err)
	require.NotContains(t, string(f), "XXXXSECRET")
	enc, _, err := vault.SplitField(f)
	require.NoError(t, err)
	require.Equal(t, "aes256gcm:k1", enc)
	got, err := kr.OpenField(f)
	require.NoError(t, err)
	require.Equal(t, url, got)

	var none *vault.Keyring
	clearField, err := none.SealField(url)
	require.NoError(t, err)
	got, err = none.OpenField(clearField)
	require.NoError(t, err)
	require.Equal(t, url, got)

	empty, err := kr.SealField(nil)
	require.NoError(t, err)
	require.Nil(t, empty)
	got, err = kr.OpenField(nil)
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = kr.OpenField(url)
	require.ErrorIs(t, err, vault.ErrUnknownEncoding)
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
		_, err = vault.Reencrypt(ctx, db, k2only, vault.RotateOptions{})
		require.ErrorIs(t, err, vault.ErrUnreadable)

		rep, err := vault.Status(ctx, db, k2)
		require.NoError(t, err)
		require.Equal(t, 13, rep.Pending())
		require.Empty(t, rep.Unreadable())

		p := &countingProgress{}
		res, err := vault.Reencrypt(ctx, db, k2, vault.RotateOptions{BatchSize: 3, Progress: p})
		require.NoError(t, err)
		require.Equal(t, vault.RotateResult{Events: 12, Channels: 1}, res)
		require.Equal(t, 13, p.total)
		require.Equal(t, 13, p.done)

		rep, err = vault.Status(ctx, db, k2)
		require.NoError(t, err)
		require.Zero(t, rep.Pending())
		require.Equal(t, []vault.EncodingCount{{Encoding: "aes256gcm:k2", Count: 12, Readable: true}}, rep.Events)

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
		res, err = vault.Reencrypt(ctx, db, k2, vault.RotateOptions{})
		require.NoError(t, err)
		require.Zero(t, res)

		// Rotating to identity decrypts, turning encryption off.
		off, err := vault.ParseKeys("identity,k2:" + key(2))
		require.NoError(t, err)
		res, err = vault.Reencrypt(ctx, db, off, vault.RotateOptions{})
		require.NoError(t, err)
		require.Equal(t, 12, res.Events)
		ev, err := db.Client.WebhookEvent.Query().First(ctx)
		require.NoError(t, err)
		require.Equal(t, vault.Identity, ev.BodyEncoding)
		require.Equal(t, bodies[ev.EventID], ev.Body)
	})
}

// FuzzParseKeys: the parser never panics, never accepts a keyring it cannot
// seal and open with, and never echoes key material in its errors.
func FuzzParseKeys(f *testing.F) {
	f.Add("k1:" + key(1))
	f.Add("identity,k1:" + key(1) + ",k0:" + strings.Repeat("00", 32))
	f.Add("a:b:c,,")
	f.Add("k1:" + key(1) + ",k1:" + key(2))
	f.Fuzz(func(t *testing.T, spec string) {
		kr, err := vault.ParseKeys(spec)
		if err != nil {
			for _, part := range strings.Split(spec, ",") {
				if _, k, ok := strings.Cut(part, ":"); ok && len(strings.TrimSpace(k)) >= 16 {
					if strings.Contains(err.Error(), strings.TrimSpace(k)) {
						t.Fatalf("error echoes key material: %v", err)
					}
				}
			}
			return
		}
		enc, sealed, err := kr.Seal([]byte("probe"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := kr.Open(enc, sealed)
		if err != nil || string(got) != "probe" {
			t.Fatalf("round trip failed: %v", err)
		}
		for _, id := range kr.KeyIDs() {
			if id != vault.Identity && !kr.Has("aes256gcm:"+id) {
				t.Fatalf("listed key %q not usable", id)
			}
		}
	})
}
