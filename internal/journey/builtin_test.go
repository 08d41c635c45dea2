package journey

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	sec    = time.Second
	minute = time.Minute
	hr     = time.Hour
	dy     = 24 * time.Hour
)

// TestBuiltins walks every branch of every built-in journey: success and
// failure paths, loops, late failures, stuck and abandoned with a controlled
// now. Each case is also evaluated in shuffled orders with redeliveries.
func TestBuiltins(t *testing.T) {
	t.Parallel()
	type want struct {
		status     Status
		current    string
		progress   float64
		reached    []string
		missed     []string
		notes      []string // substrings of State.Note()
		unexpected int
		excluded   bool
		lateFail   bool
	}
	tests := []struct {
		name   string
		def    string
		events []Event
		now    time.Duration // after t0
		want   want
	}{
		// §5.1 personal verified customer.
		{
			name: "personal: verified at creation", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verified", 800 * time.Millisecond}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "verified"}},
		},
		{
			name: "personal: retry then verified", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", sec}, at{"customer_verified", 2 * dy}),
			now:    3 * dy,
			want:   want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "retry", "verified"}},
		},
		{
			name: "personal: retry, KBA passed", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", sec},
				at{"customer_kba_verification_needed", dy}, at{"customer_kba_verification_passed", dy + 5*minute},
				at{"customer_verified", dy + 5*minute}),
			now:  2 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "retry", "kba_needed", "kba_answered", "verified"}},
		},
		{
			name: "personal: KBA failed, document rejected then re-uploaded and approved", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", sec},
				at{"customer_kba_verification_needed", hr}, at{"customer_kba_verification_failed", hr + 3*minute},
				at{"customer_verification_document_needed", hr + 3*minute},
				at{"customer_verification_document_uploaded", dy},
				at{"customer_verification_document_failed", 2 * dy},
				at{"customer_verification_document_uploaded", 3 * dy},
				at{"customer_verification_document_approved", 4 * dy},
				at{"customer_verified", 4 * dy}),
			now: 5 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100,
				reached: []string{"created", "retry", "kba_needed", "kba_answered", "document_needed", "document_uploaded", "document_reviewed", "verified"},
				notes:   []string{`step "document_uploaded" entered 2 times (loop)`, `step "document_reviewed" entered 2 times (loop)`}},
		},
		{
			name: "personal: waiting for review after a re-upload", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verification_document_needed", sec},
				at{"customer_verification_document_uploaded", dy}, at{"customer_verification_document_failed", 2 * dy},
				at{"customer_verification_document_uploaded", 3 * dy}),
			now: 4 * dy,
			// created, document_needed, document_uploaded, document_reviewed
			// done; verified ahead: 4/5.
			want: want{status: StatusActive, current: "document_uploaded", progress: 80,
				reached: []string{"created", "document_needed", "document_uploaded", "document_reviewed"}},
		},
		{
			name: "personal: suspended during retry", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", sec}, at{"customer_suspended", dy}),
			now:    2 * dy,
			want:   want{status: StatusFailed, current: "retry", progress: 66.7, reached: []string{"created", "retry"}},
		},
		{
			name: "personal: suspended at creation", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_suspended", sec}),
			now:    dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "personal: verified then suspended ends failed", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verified", sec}, at{"customer_suspended", 40 * dy}),
			now:    41 * dy,
			want: want{status: StatusFailed, current: "verified", progress: 100, reached: []string{"created", "verified"}, lateFail: true,
				notes: []string{"failed after completing: customer_suspended 39d23h59m59s after completion (the customer's status changed after verification)"}},
		},
		{
			name: "personal: stuck waiting for an upload", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verification_document_needed", sec}),
			now:    8 * dy,
			want: want{status: StatusStuck, current: "document_needed", progress: 66.7, reached: []string{"created", "document_needed"},
				notes: []string{`stuck: no progress for 7d23h59m59s since step "document_needed"; the next step was due within 7d`}},
		},
		{
			name: "personal: abandoned after 30 idle days", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", sec}),
			now:    31 * dy,
			want:   want{status: StatusAbandoned, current: "retry", progress: 66.7, reached: []string{"created", "retry"}, notes: []string{"abandoned: no event for 30d23h59m59s (horizon 30d)"}},
		},
		{
			name: "personal: a business customer excludes itself", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_beneficial_owner_created", hr}, at{"customer_verified", dy}),
			now:    2 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "verified"}, excluded: true,
				notes: []string{"belongs to another journey: saw customer_beneficial_owner_created"}},
		},
		{
			name: "personal: KBA after documents is out of order", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verification_document_needed", sec},
				at{"customer_kba_verification_needed", hr}),
			now:  dy,
			want: want{status: StatusActive, current: "document_needed", progress: 66.7, reached: []string{"created", "document_needed"}, unexpected: 1},
		},
		{
			name: "personal: re-verification after verified is recorded, not tracked", def: "personal_verification",
			events: script("c1", at{"customer_created", 0}, at{"customer_verified", sec}, at{"customer_reverification_needed", 90 * dy}),
			now:    91 * dy,
			want:   want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "verified"}, unexpected: 1},
		},
		{
			name: "personal: created missing", def: "personal_verification",
			events: script("c1", at{"customer_reverification_needed", 0}, at{"customer_verified", dy}),
			now:    2 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"retry", "verified"}, missed: []string{"created"},
				notes: []string{`never saw step "created"`}},
		},

		// §5.2 business verified customer.
		{
			name: "business: owners, owner document, review, verified", def: "business_verification",
			events: script("b1", at{"customer_created", 0},
				at{"customer_beneficial_owner_created", hr}, at{"customer_beneficial_owner_created", hr + minute},
				at{"customer_beneficial_owner_verification_document_uploaded", dy},
				at{"customer_beneficial_owner_verification_document_approved", 2 * dy},
				at{"customer_verification_pending_review", 3 * dy}, at{"customer_verified", 5 * dy}),
			now: 6 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100,
				reached: []string{"created", "owners_added", "owner_document_uploaded", "owner_document_reviewed", "in_review", "verified"}},
		},
		{
			name: "business: address check failed, document loop", def: "business_verification",
			events: script("b1", at{"customer_created", 0}, at{"customer_address_verification_failed", sec},
				at{"customer_verification_document_needed", sec},
				at{"customer_verification_document_uploaded", dy}, at{"customer_verification_document_failed", 2 * dy},
				at{"customer_verification_document_uploaded", 3 * dy}, at{"customer_verification_document_approved", 3*dy + hr},
				at{"customer_verified", 3*dy + hr}),
			now: 4 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100,
				reached: []string{"created", "retry", "document_needed", "document_uploaded", "document_reviewed", "verified"},
				notes:   []string{`step "document_uploaded" entered 2 times (loop)`}},
		},
		{
			name: "business: owner added after the retry loops back", def: "business_verification",
			events: script("b1", at{"customer_created", 0}, at{"customer_reverification_needed", hr},
				at{"customer_beneficial_owner_created", dy}),
			now:  2 * dy,
			want: want{status: StatusActive, current: "owners_added", progress: 75, reached: []string{"created", "owners_added", "retry"}},
		},
		{
			name: "business: suspended in manual review", def: "business_verification",
			events: script("b1", at{"customer_created", 0}, at{"customer_verification_pending_review", hr}, at{"customer_suspended", 3 * dy}),
			now:    4 * dy,
			want:   want{status: StatusFailed, current: "in_review", progress: 66.7, reached: []string{"created", "in_review"}},
		},
		{
			name: "business: stuck in manual review", def: "business_verification",
			events: script("b1", at{"customer_created", 0}, at{"customer_verification_pending_review", hr}),
			now:    8 * dy,
			want:   want{status: StatusStuck, current: "in_review", progress: 66.7, reached: []string{"created", "in_review"}},
		},

		// Beneficial owners, keyed by the owner.
		{
			name: "owner: verified at once", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_verified", sec}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "verified"}},
		},
		{
			name: "owner: retry then documents then verified", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_reverification_needed", sec},
				at{"customer_beneficial_owner_verification_document_needed", 2 * dy}, at{"customer_beneficial_owner_verified", 6 * dy}),
			now:  7 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "retry", "document_needed", "verified"}},
		},
		{
			name: "owner: removed before verification", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_removed", dy}),
			now:    2 * dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "owner: removed after verification stays completed", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_verified", sec},
				at{"customer_beneficial_owner_removed", 100 * dy}),
			now: 101 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"created", "verified"},
				notes: []string{"customer_beneficial_owner_removed 99d23h59m59s after completion; the journey stays completed"}},
		},
		{
			name: "owner: stuck in document status", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_verification_document_needed", sec}),
			now:    31 * dy,
			want:   want{status: StatusStuck, current: "document_needed", progress: 66.7, reached: []string{"created", "document_needed"}},
		},
		{
			name: "owner: abandoned", def: "beneficial_owner_verification",
			events: script("o1", at{"customer_beneficial_owner_created", 0}, at{"customer_beneficial_owner_verification_document_needed", sec}),
			now:    61 * dy,
			want:   want{status: StatusAbandoned, current: "document_needed", progress: 66.7, reached: []string{"created", "document_needed"}},
		},

		// §5.3 micro-deposits.
		{
			name: "micro-deposits: verified", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_microdeposits_completed", 2 * dy}, at{"customer_funding_source_verified", 3 * dy}),
			now:  4 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"added", "microdeposits_sent", "microdeposits_settled", "verified"}},
		},
		{
			name: "micro-deposits: master account's bank", def: "bank_microdeposit_verification",
			events: script("fs1", at{"funding_source_added", 0}, at{"microdeposits_added", sec},
				at{"microdeposits_completed", 2 * dy}, at{"funding_source_verified", 3 * dy}),
			now:  4 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"added", "microdeposits_sent", "microdeposits_settled", "verified"}},
		},
		{
			name: "micro-deposits: returned", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_microdeposits_failed", 2 * dy}),
			now:  3 * dy,
			want: want{status: StatusFailed, current: "microdeposits_sent", progress: 50, reached: []string{"added", "microdeposits_sent"}},
		},
		{
			name: "micro-deposits: max attempts, then the bank is removed", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_microdeposits_completed", 2 * dy}, at{"customer_microdeposits_maxattempts", 3 * dy},
				at{"customer_funding_source_removed", 3*dy + hr}),
			now: 4 * dy,
			want: want{status: StatusFailed, current: "microdeposits_settled", progress: 75, reached: []string{"added", "microdeposits_sent", "microdeposits_settled"},
				notes: []string{"then customer_funding_source_removed 1h later"}},
		},
		{
			name: "micro-deposits: removed before settling", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_funding_source_removed", dy}),
			now:  3 * dy,
			want: want{status: StatusFailed, current: "microdeposits_sent", progress: 50, reached: []string{"added", "microdeposits_sent"}},
		},
		{
			name: "micro-deposits: stuck settling", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec}),
			now:    6 * dy,
			want:   want{status: StatusStuck, current: "microdeposits_sent", progress: 50, reached: []string{"added", "microdeposits_sent"}},
		},
		{
			name: "micro-deposits: not yet stuck over a weekend", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec}),
			now:    4 * dy,
			want:   want{status: StatusActive, current: "microdeposits_sent", progress: 50, reached: []string{"added", "microdeposits_sent"}},
		},
		{
			name: "micro-deposits: unverified after a return a year on stays completed", def: "bank_microdeposit_verification",
			events: script("fs1", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_microdeposits_completed", 2 * dy}, at{"customer_funding_source_verified", 3 * dy},
				at{"customer_funding_source_unverified", 365 * dy}),
			now: 366 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100,
				reached: []string{"added", "microdeposits_sent", "microdeposits_settled", "verified"},
				notes:   []string{"customer_funding_source_unverified 362d after completion; the journey stays completed"}},
		},

		// §5.3 instant verification.
		{
			name: "instant: added and verified together", def: "bank_instant_verification",
			events: script("fs2", at{"customer_funding_source_verified", 0}, at{"customer_funding_source_added", 0}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"added", "verified"}},
		},
		{
			name: "instant: a micro-deposit bank excludes itself", def: "bank_instant_verification",
			events: script("fs2", at{"customer_funding_source_added", 0}, at{"customer_microdeposits_added", sec},
				at{"customer_funding_source_verified", 3 * dy}),
			now:  4 * dy,
			want: want{status: StatusCompleted, current: "verified", progress: 100, reached: []string{"added", "verified"}, excluded: true},
		},

		// §5.4 transfers.
		{
			name: "transfer: sender and receiver twins count once", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}, at{"customer_transfer_created", 0},
				at{"customer_transfer_completed", 3 * minute}, at{"customer_transfer_completed", 3*minute + 150*time.Millisecond}),
			now:  dy,
			want: want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "transfer: master account and customer families on one id", def: "transfer",
			events: script("tr1", at{"transfer_created", 0}, at{"customer_transfer_created", 0},
				at{"transfer_completed", 3 * dy}, at{"customer_transfer_completed", 3*dy + sec}),
			now:  4 * dy,
			want: want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "transfer: returned", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}, at{"customer_transfer_failed", 2 * dy}),
			now:    3 * dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "transfer: cancelled", def: "transfer",
			events: script("tr1", at{"transfer_created", 0}, at{"transfer_cancelled", hr}),
			now:    dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "transfer: late ACH return after completed", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}, at{"customer_transfer_completed", 3 * dy},
				at{"customer_transfer_failed", 5 * dy}),
			now: 6 * dy,
			want: want{status: StatusFailed, current: "completed", progress: 100, reached: []string{"created", "completed"}, lateFail: true,
				notes: []string{"failed after completing: customer_transfer_failed 2d after completion (a late ACH return)"}},
		},
		{
			name: "transfer: completion delivered without creation", def: "transfer",
			events: script("tr1", at{"customer_transfer_completed", 0}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"completed"}, missed: []string{"created"}},
		},
		{
			name: "transfer: pending within the ACH window", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}),
			now:    6 * dy,
			want:   want{status: StatusActive, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "transfer: stuck past the ACH window", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}),
			now:    8 * dy,
			want:   want{status: StatusStuck, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "transfer: abandoned", def: "transfer",
			events: script("tr1", at{"customer_transfer_created", 0}),
			now:    31 * dy,
			want:   want{status: StatusAbandoned, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "transfer: creation after completion is out of place", def: "transfer",
			events: script("tr1", at{"customer_transfer_completed", 0}, at{"customer_transfer_created", hr}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"completed"}, missed: []string{"created"}, unexpected: 1},
		},
		{
			name: "bank transfer: debit cleared", def: "bank_transfer",
			events: script("bt1", at{"customer_bank_transfer_created", 0}, at{"customer_bank_transfer_completed", 4 * dy}),
			now:    5 * dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "bank transfer: master account leg", def: "bank_transfer",
			events: script("bt1", at{"bank_transfer_created", 0}, at{"bank_transfer_completed", 2 * minute}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "bank transfer: not created for lack of funds", def: "bank_transfer",
			events: script("bt1", at{"customer_bank_transfer_creation_failed", 0}),
			now:    dy,
			want:   want{status: StatusFailed, progress: 0},
		},
		{
			name: "bank transfer: returned", def: "bank_transfer",
			events: script("bt1", at{"customer_bank_transfer_created", 0}, at{"customer_bank_transfer_failed", 2 * dy}),
			now:    3 * dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "bank transfer: cancelled before export", def: "bank_transfer",
			events: script("bt1", at{"bank_transfer_created", 0}, at{"bank_transfer_cancelled", hr}),
			now:    dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "bank transfer: late return", def: "bank_transfer",
			events: script("bt1", at{"customer_bank_transfer_created", 0}, at{"customer_bank_transfer_completed", 4 * dy},
				at{"customer_bank_transfer_failed", 6 * dy}),
			now:  7 * dy,
			want: want{status: StatusFailed, current: "completed", progress: 100, reached: []string{"created", "completed"}, lateFail: true, notes: []string{"late ACH return"}},
		},

		// §5.5 mass payments.
		{
			name: "mass payment: completed", def: "mass_payment",
			events: script("mp1", at{"mass_payment_created", 0}, at{"mass_payment_completed", 12 * minute}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "mass payment: customer's, completed", def: "mass_payment",
			events: script("mp1", at{"customer_mass_payment_created", 0}, at{"customer_mass_payment_completed", 40 * minute}),
			now:    dy,
			want:   want{status: StatusCompleted, current: "completed", progress: 100, reached: []string{"created", "completed"}},
		},
		{
			name: "mass payment: deferred and cancelled", def: "mass_payment",
			events: script("mp1", at{"customer_mass_payment_created", 0}, at{"customer_mass_payment_cancelled", 3 * dy}),
			now:    4 * dy,
			want:   want{status: StatusFailed, current: "created", progress: 50, reached: []string{"created"}},
		},
		{
			name: "mass payment: deferred and never released", def: "mass_payment",
			events: script("mp1", at{"mass_payment_created", 0}),
			now:    2 * dy,
			want:   want{status: StatusStuck, current: "created", progress: 50, reached: []string{"created"}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def := builtin(t, tt.def)
			r := rand.New(rand.NewPCG(uint64(i), 1))
			st := requireOrderFree(t, r, def, tt.events, t0.Add(tt.now), 20)
			require.Equal(t, tt.want.status, st.Status, st.Note())
			require.Equal(t, tt.want.current, st.CurrentStep)
			require.InDelta(t, tt.want.progress, st.Progress, 0.001)
			require.Equal(t, tt.want.reached, reachedKeys(st))
			require.Equal(t, tt.want.missed, missedKeys(st))
			require.Len(t, st.Unexpected, tt.want.unexpected, "%+v", st.Unexpected)
			require.Equal(t, tt.want.excluded, st.Excluded)
			require.Equal(t, tt.want.lateFail, st.FailedAfterSuccess)
			for _, n := range tt.want.notes {
				require.Contains(t, st.Note(), n)
			}
			require.NotEmpty(t, st.Key)
			require.Equal(t, t0, st.StartedAt.Add(-minOffset(tt.events)))
			if st.Status.Ended() {
				require.Equal(t, time.Duration(st.Duration), st.EndedAt.Sub(st.StartedAt))
				require.True(t, st.NextCheckAt.IsZero())
			} else {
				require.True(t, st.EndedAt.IsZero())
			}
		})
	}
}

func minOffset(events []Event) time.Duration {
	m := events[0].Created
	for _, e := range events {
		if e.Created.Before(m) {
			m = e.Created
		}
	}
	return m.Sub(t0)
}

// TestStepTimeline checks the timeline's times and limits on one walk.
func TestStepTimeline(t *testing.T) {
	t.Parallel()
	def := builtin(t, "personal_verification")
	events := script("c1", at{"customer_created", 0}, at{"customer_reverification_needed", 2 * hr},
		at{"customer_verification_document_needed", 2 * dy}, at{"customer_verification_document_uploaded", 3 * dy},
		at{"customer_verification_document_failed", 9 * dy}, at{"customer_verification_document_uploaded", 10 * dy},
		at{"customer_verification_document_approved", 11 * dy}, at{"customer_verified", 11*dy + sec})
	st := Evaluate(def, events, t0.Add(12*dy))
	require.Equal(t, StatusCompleted, st.Status)

	created := step(t, st, "created")
	require.Equal(t, t0, created.ReachedAt)
	require.Equal(t, "c1-00-customer_created", created.EventID)
	require.Zero(t, created.SincePrevious)
	require.True(t, created.WithinLimit)

	retry := step(t, st, "retry")
	require.Equal(t, Duration(2*hr), retry.SincePrevious)
	require.Equal(t, Duration(hr), retry.Limit)
	require.False(t, retry.WithinLimit, "2h against a 1h limit")

	reviewed := step(t, st, "document_reviewed")
	require.Equal(t, "customer_verification_document_failed", reviewed.Topic)
	require.Equal(t, Duration(6*dy), reviewed.SincePrevious)
	require.False(t, reviewed.WithinLimit, "6d against a 5d limit")
	require.Equal(t, Duration(9*dy), reviewed.SinceStart)
	require.Equal(t, 2, reviewed.Visits)
	require.Equal(t, t0.Add(11*dy), reviewed.LastVisitAt)

	uploaded := step(t, st, "document_uploaded")
	require.Equal(t, 2, uploaded.Visits)
	require.Equal(t, t0.Add(3*dy), uploaded.ReachedAt)
	require.Equal(t, t0.Add(10*dy), uploaded.LastVisitAt)

	// Time since the previous step is measured from the last step entered,
	// the second review, not the first.
	verified := step(t, st, "verified")
	require.Equal(t, Duration(sec), verified.SincePrevious)
	require.True(t, verified.WithinLimit)
	require.Equal(t, t0.Add(11*dy+sec), st.EndedAt)
	require.Equal(t, Duration(11*dy+sec), st.Duration)
	require.Equal(t, "customer_verified", st.EndTopic)

	kba := step(t, st, "kba_needed")
	require.False(t, kba.Reached)
	require.False(t, kba.Missed, "optional steps are never missed")
}
