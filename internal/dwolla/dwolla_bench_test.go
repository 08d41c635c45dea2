package dwolla_test

import (
	"testing"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// benchBodies are real sandbox webhook bodies, the size Dwolla sends.
func benchBodies(b *testing.B) [][]byte {
	b.Helper()
	caps, err := dwolla.LoadCaptures("testdata/captures")
	if err != nil || len(caps) == 0 {
		b.Fatalf("loading captures: %v", err)
	}
	out := make([][]byte, len(caps))
	for i, c := range caps {
		out[i] = c.Payload
	}
	return out
}

// BenchmarkVerify checks a delivery's signature, with one secret and with
// two (during a rotation every secret is tried).
func BenchmarkVerify(b *testing.B) {
	bodies := benchBodies(b)
	for _, tc := range []struct {
		name    string
		secrets []string
	}{
		{"one-secret", []string{"current-secret"}},
		{"rotation", []string{"current-secret", "previous-secret"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := dwolla.NewVerifier(tc.secrets...)
			sigs := make([]string, len(bodies))
			for i, body := range bodies {
				sigs[i] = dwolla.Sign([]byte(tc.secrets[0]), body)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := i % len(bodies)
				if err := v.Verify(bodies[k], sigs[k]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkParseEvent parses a delivery's body into the fields stored.
func BenchmarkParseEvent(b *testing.B) {
	bodies := benchBodies(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := dwolla.ParseEvent(bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
