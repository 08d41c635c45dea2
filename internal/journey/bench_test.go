package journey

import (
	"testing"
)

// BenchmarkRoute routes the sandbox captures plus a customer's verification
// events through the built-ins: the per-event cost on the pipeline's hot
// path.
func BenchmarkRoute(b *testing.B) {
	router, err := NewRouter(Builtins())
	if err != nil {
		b.Fatal(err)
	}
	events := append(captureEvents(b), script("c1",
		at{"customer_created", 0}, at{"customer_verification_document_uploaded", hr},
		at{"customer_beneficial_owner_created", hr}, at{"customer_microdeposits_added", hr})...)
	buf := make([]Assignment, 0, 8)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = router.AppendRoute(buf[:0], events[i%len(events)])
		i++
	}
}

// BenchmarkEvaluate evaluates instances the size the pipeline sees: a
// transfer with twin events and a verification with a document loop.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name   string
		def    Definition
		events []Event
	}{
		{"transfer", builtin(b, "transfer"), script("tr1",
			at{"customer_transfer_created", 0}, at{"customer_transfer_created", 0},
			at{"customer_transfer_completed", 3 * dy}, at{"customer_transfer_completed", 3*dy + sec})},
		{"personal_verification", builtin(b, "personal_verification"), script("c1",
			at{"customer_created", 0}, at{"customer_reverification_needed", sec},
			at{"customer_kba_verification_needed", hr}, at{"customer_kba_verification_failed", hr + minute},
			at{"customer_verification_document_needed", hr + minute}, at{"customer_verification_document_uploaded", dy},
			at{"customer_verification_document_failed", 2 * dy}, at{"customer_verification_document_uploaded", 3 * dy},
			at{"customer_verification_document_approved", 4 * dy}, at{"customer_verified", 4 * dy})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			now := t0.Add(10 * dy)
			b.ReportAllocs()
			for b.Loop() {
				_ = Evaluate(c.def, c.events, now)
			}
		})
	}
}
