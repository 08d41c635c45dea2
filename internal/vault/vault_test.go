package vault_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
