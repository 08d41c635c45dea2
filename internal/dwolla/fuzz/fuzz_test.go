package fuzz_test

import (
	"strings"
	"testing"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// FuzzVerifyAndParse throws arbitrary bodies and signatures at the two
// checks every delivery passes. Neither may panic; a body only parses if
// it is valid UTF-8 JSON with the required fields; verification succeeds
// exactly for the correct signature.
func FuzzVerifyAndParse(f *testing.F) {
	caps, err := dwolla.LoadCaptures("../testdata/captures")
	if err != nil {
		f.Fatal(err)
	}
	for i, c := range caps {
		if i%5 == 0 {
			f.Add([]byte(c.Payload), "")
		}
	}
	f.Add([]byte(`{"id":"a","topic":"t","created":"2024-01-01T00:00:00Z"}`), "00")
	f.Add([]byte(`{"id":"a","topic":"t","timestamp":"2024-01-01T00:00:00Z","_links":{"resource":{"href":"::"}}}`), "")
	f.Add([]byte("\xff\xfe"), strings.Repeat("a", 64))
	v := dwolla.NewVerifier("fuzz-secret")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		good := dwolla.Sign([]byte("fuzz-secret"), body)
		if err := v.Verify(body, good); err != nil {
			t.Fatalf("correct signature rejected: %v", err)
		}
		if sig != good && v.Verify(body, sig) == nil {
			t.Fatalf("wrong signature %q accepted", sig)
		}
		ev, err := dwolla.ParseEvent(body)
		if err != nil {
			if !dwolla.IsParseError(err) {
				t.Fatalf("parse error of the wrong type: %v", err)
			}
			return
		}
		if ev.ID == "" || ev.Topic == "" || ev.Created.IsZero() {
			t.Fatalf("parsed an event without id, topic or time: %+v", ev)
		}
	})
}
