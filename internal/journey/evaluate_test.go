package journey

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEvaluateClock(t *testing.T) {
	t.Parallel()
	def := builtin(t, "transfer")
	events := script("tr1", at{"customer_transfer_created", 0})
	tests := []struct {
		name      string
		now       time.Duration
		status    Status
		nextCheck time.Duration
	}{
		{"fresh: next check is the stuck deadline", hr, StatusActive, 7 * dy},
		{"exactly at the deadline is not yet stuck", 7 * dy, StatusActive, 7 * dy},
		{"stuck: next check is abandonment", 7*dy + sec, StatusStuck, 30 * dy},
		{"abandoned: nothing more will change", 30*dy + sec, StatusAbandoned, -1},
		{"a clock behind the events", -hr, StatusActive, 7 * dy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := Evaluate(def, events, t0.Add(tt.now))
			require.Equal(t, tt.status, st.Status)
			require.Equal(t, t0.Add(7*dy), st.StuckAt)
			require.Equal(t, t0.Add(30*dy), st.AbandonAt)
			if tt.nextCheck < 0 {
				require.True(t, st.NextCheckAt.IsZero())
			} else {
				require.Equal(t, t0.Add(tt.nextCheck), st.NextCheckAt)
			}
		})
	}
}

// TestStuckClockRunsFromLastProgress: an event that is not progress (here a
// stray out-of-order one) keeps the instance from being abandoned but does
// not reset the stuck clock.
func TestStuckClockRunsFromLastProgress(t *testing.T) {
	t.Parallel()
	def := builtin(t, "personal_verification")
	events := script("c1", at{"customer_created", 0}, at{"customer_verification_document_needed", sec},
		at{"customer_reverification_needed", 25 * dy})
	st := Evaluate(def, events, t0.Add(40*dy))
	require.Equal(t, StatusStuck, st.Status)
	require.Len(t, st.Unexpected, 1)
	require.Equal(t, t0.Add(sec), st.LastProgressAt)
	require.Equal(t, t0.Add(sec+7*dy), st.StuckAt)
	require.Equal(t, t0.Add(55*dy), st.AbandonAt)
}

func TestEvaluateUnexpected(t *testing.T) {
	t.Parallel()
	def := builtin(t, "transfer")
	events := append(script("tr1", at{"customer_transfer_created", 0}, at{"customer_transfer_completed", dy}),
		Event{ID: "foreign", Topic: "customer_label_created", Created: t0, ResourceID: "tr1", CustomerID: "tr1"},
		Event{ID: "stray", Topic: "customer_transfer_failed", Created: t0.Add(hr), ResourceID: "tr2", ResourceType: "transfer"},
		Event{ID: "keyless", Topic: "customer_transfer_failed", Created: t0.Add(2 * hr)},
		Event{ID: "wrong-type", Topic: "customer_transfer_failed", Created: t0.Add(3 * hr), ResourceID: "tr1", ResourceType: "document"},
	)
	st := requireOrderFree(t, rand.New(rand.NewPCG(1, 2)), def, events, t0.Add(2*dy), 20)
	require.Equal(t, "tr1", st.Key)
	require.Equal(t, StatusCompleted, st.Status, "strays do not fail the transfer")
	require.Equal(t, 2, st.EventCount)
	require.Equal(t, []UnexpectedEvent{
		{EventID: "foreign", Topic: "customer_label_created", At: t0, Reason: "topic is not part of this journey"},
		{EventID: "stray", Topic: "customer_transfer_failed", At: t0.Add(hr), Reason: "belongs to instance tr2"},
		{EventID: "keyless", Topic: "customer_transfer_failed", At: t0.Add(2 * hr), Reason: "has no resource id of type transfer this journey can key on"},
		{EventID: "wrong-type", Topic: "customer_transfer_failed", At: t0.Add(3 * hr), Reason: "has no resource id of type transfer this journey can key on"},
	}, st.Unexpected)
	require.Contains(t, st.Note(), "4 event(s) did not fit the path (see unexpected)")
}

func TestEvaluateOutcomes(t *testing.T) {
	t.Parallel()
	def := builtin(t, "transfer")

	// A completion after a failure does not revive the transfer.
	st := Evaluate(def, script("tr1", at{"transfer_created", 0}, at{"transfer_failed", dy}, at{"transfer_completed", 2 * dy}), t0.Add(3*dy))
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, "transfer_failed", st.EndTopic)
	require.Len(t, st.Unexpected, 1)
	require.Contains(t, st.Unexpected[0].Reason, "success after the journey had failed (transfer_failed); it stays failed")
	require.False(t, step(t, st, "completed").Reached)

	// Completed and failed in the same millisecond: the failure wins, as the
	// safer reading, and it is a failure after completion.
	st = Evaluate(def, script("tr1", at{"transfer_created", 0}, at{"transfer_failed", dy}, at{"transfer_completed", dy}), t0.Add(3*dy))
	require.Equal(t, StatusFailed, st.Status)
	require.True(t, st.FailedAfterSuccess)
	require.Equal(t, t0.Add(dy), st.EndedAt)

	// Twin failures are one failure; the duration runs to the first.
	st = Evaluate(def, script("tr1", at{"transfer_created", 0}, at{"customer_transfer_failed", dy}, at{"transfer_failed", dy + sec}), t0.Add(3*dy))
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, Duration(dy), st.Duration)
	require.Contains(t, st.Note(), "then transfer_failed 1s later")
}

func TestEvaluateConflictingCopies(t *testing.T) {
	t.Parallel()
	def := builtin(t, "bank_transfer")
	a := Event{ID: "same", Topic: "bank_transfer_created", Created: t0, ResourceID: "bt", ResourceType: "transfer"}
	b := a
	b.Topic = "bank_transfer_completed"
	// Same instant: the copy whose topic comes first in the lifecycle is
	// kept, whatever the order of arrival.
	for _, events := range [][]Event{{a, b}, {b, a}, {b, a, b}} {
		st := Evaluate(def, events, t0.Add(dy))
		require.Equal(t, StatusActive, st.Status)
		require.Equal(t, 1, st.EventCount)
		require.Equal(t, "bank_transfer_created", step(t, st, "created").Topic)
		require.Contains(t, st.Note(), "event same was recorded with differing content; used the copy with topic bank_transfer_created")
	}
	// Exact copies are not a conflict.
	st := Evaluate(def, []Event{a, a, a}, t0.Add(dy))
	require.NotContains(t, st.Note(), "differing content")
	// Nor are copies whose times differ only by location.
	c := a
	c.Created = a.Created.In(time.FixedZone("CT", -6*3600))
	require.Equal(t, Evaluate(def, []Event{a}, t0.Add(dy)), Evaluate(def, []Event{c, a}, t0.Add(dy)))
}

func TestEvaluateEdges(t *testing.T) {
	t.Parallel()
	def := builtin(t, "personal_verification")

	st := Evaluate(def, nil, t0)
	require.Equal(t, StatusActive, st.Status)
	require.Len(t, st.Steps, len(def.Steps))
	require.Contains(t, st.Note(), "no event belongs to this journey")

	// A receive-only customer: evaluated anyway, but flagged, because the
	// router would never have opened it.
	st = Evaluate(def, script("c1", at{"customer_created", 0}), t0.Add(hr))
	require.Contains(t, st.Note(), "no event here may open this journey")

	// An invalid custom definition must not panic the pipeline.
	for _, bad := range []Definition{
		{},
		{Steps: []Step{{Key: "a"}}, AbandonAfter: -1},
		{Steps: []Step{{Key: "a", Topics: []string{"x"}}, {Key: "b", Topics: []string{"x"}}}, SuccessTopics: []string{"x"}, FailureTopics: []string{"x"}, ExcludeTopics: []string{"x"}},
	} {
		require.NotPanics(t, func() {
			Evaluate(bad, script("k", at{"x", 0}, at{"y", hr}), t0.Add(dy))
		})
	}
}

// TestProgress pins the formula: steps done on the path actually taken
// (reached, or required and evidently passed) over those plus the required
// steps still ahead.
func TestProgress(t *testing.T) {
	t.Parallel()
	def := builtin(t, "personal_verification")
	tests := []struct {
		name   string
		events []Event
		want   float64
	}{
		{"just created (1 done, verified ahead)", script("c", at{"customer_created", 0}), 50},
		{"retry taken (2 done, 1 ahead)", script("c", at{"customer_created", 0}, at{"customer_reverification_needed", sec}), 66.7},
		{"KBA asked (3 done, 1 ahead)", script("c", at{"customer_created", 0}, at{"customer_reverification_needed", sec},
			at{"customer_kba_verification_needed", hr}), 75},
		{"document loop does not move progress back", script("c", at{"customer_created", 0}, at{"customer_verification_document_needed", sec},
			at{"customer_verification_document_uploaded", hr}, at{"customer_verification_document_failed", 2 * hr},
			at{"customer_verification_document_uploaded", 3 * hr}), 80},
		{"missing created still counts as passed", script("c", at{"customer_reverification_needed", sec}), 66.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tt.want, Evaluate(def, tt.events, t0.Add(dy)).Progress, 0.001)
		})
	}
}

func TestStateJSON(t *testing.T) {
	t.Parallel()
	st := Evaluate(builtin(t, "transfer"), script("tr1", at{"customer_transfer_created", 0}), t0.Add(dy))
	raw := mustJSON(t, st)
	require.Contains(t, raw, `"status":"active"`)
	require.Contains(t, raw, `"stuckAt":"2024-03-11T10:00:00Z"`)
	require.Contains(t, raw, `"sincePrevious":"0s"`)
	require.NotContains(t, raw, `"endedAt"`, "zero times are left out")
}
