package fuzz_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hooklens/hooklens/internal/vault"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, vault.KeySize))
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
			// Errors may name key ids, so key material that is also
			// written inside an id (testdata: "X:X") is no echo.
			var ids []string
			for _, part := range strings.Split(spec, ",") {
				if id, _, ok := strings.Cut(part, ":"); ok {
					ids = append(ids, id)
				}
			}
			for _, part := range strings.Split(spec, ",") {
				if _, k, ok := strings.Cut(part, ":"); ok && len(strings.TrimSpace(k)) >= 16 {
					k = strings.TrimSpace(k)
					if strings.Contains(err.Error(), k) && !strings.Contains(strings.Join(ids, ","), k) {
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
