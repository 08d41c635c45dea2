package simulate_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

func newGen(t *testing.T, seed uint64, mix simulate.Mix) *simulate.Generator {
	t.Helper()
	g, err := simulate.NewGenerator(simulate.Config{Seed: seed, Mix: mix, AccountID: "ad5f2162-404a-4c4c-994e-6ab6c3a13254"})
	require.NoError(t, err)
	return g
}

func topics(lc simulate.Lifecycle) []string {
	out := make([]string, len(lc.Events))
	for i, e := range lc.Events {
		out[i] = e.Topic
	}
	return out
}

func TestTransferKindsMatchCaptures(t *testing.T) {
	t.Parallel()
	caps, err := dwolla.LoadCaptures("../dwolla/testdata/captures")
	require.NoError(t, err)
	byKind := map[string][][]string{}
	resources := map[string]map[string]int{} // kind → resourceId → first leg-event index seen
	for _, c := range caps {
		name := strings.SplitN(c.File, "-", 2)[0]
		for len(byKind[name]) < c.Leg {
			byKind[name] = append(byKind[name], nil)
		}
		side := "S"
		if c.SenderOrReceiver == "RECEIVER" {
			side = "R"
		}
		byKind[name][c.Leg-1] = append(byKind[name][c.Leg-1], c.Topic+"("+side+")")
		ev, err := dwolla.ParseEvent(c.Payload)
		require.NoError(t, err)
		if resources[name] == nil {
			resources[name] = map[string]int{}
		}
		if _, ok := resources[name][ev.ResourceID]; !ok {
			resources[name][ev.ResourceID] = len(resources[name])
		}
	}
	kinds := simulate.TransferKinds()
	require.Len(t, kinds, len(byKind))
	for _, k := range kinds {
		require.Equal(t, byKind[k.Name], k.Legs(), "kind %s", k.Name)
		// As many distinct transfers as the capture has resource ids.
		g := newGen(t, 1, nil)
		lc, err := g.Transfer(k.Name, simulate.TransferCompleted, "")
		require.NoError(t, err)
		ids := map[string]bool{}
		for _, e := range lc.Events {
			ids[e.Resource.ID] = true
		}
		require.Len(t, ids, len(resources[k.Name]), "kind %s", k.Name)
	}
}

func TestPersonalPaths(t *testing.T) {
	t.Parallel()
	g := newGen(t, 3, nil)
	for _, tc := range []struct {
		path []simulate.CustomerStep
		want []string
	}{
		{nil, []string{"customer_created"}},
		{[]simulate.CustomerStep{simulate.Verified}, []string{"customer_created", "customer_verified"}},
		{[]simulate.CustomerStep{simulate.Retry, simulate.KBA, simulate.KBAFail, simulate.DocumentApproved}, []string{
			"customer_created", "customer_reverification_needed", "customer_kba_verification_needed",
			"customer_kba_verification_failed", "customer_verification_document_needed",
			"customer_verification_document_uploaded", "customer_verification_document_approved", "customer_verified"}},
		{[]simulate.CustomerStep{simulate.Retry, simulate.KBA, simulate.KBAPass}, []string{
			"customer_created", "customer_reverification_needed", "customer_kba_verification_needed",
			"customer_kba_verification_passed", "customer_verified"}},
		{[]simulate.CustomerStep{simulate.Document, simulate.DocumentFailed, simulate.DocumentFailed, simulate.DocumentApproved}, []string{
			"customer_created", "customer_verification_document_needed",
			"customer_verification_document_uploaded", "customer_verification_document_failed",
			"customer_verification_document_uploaded", "customer_verification_document_failed",
			"customer_verification_document_uploaded", "customer_verification_document_approved", "customer_verified"}},
		{[]simulate.CustomerStep{simulate.Document, simulate.Suspended}, []string{
			"customer_created", "customer_verification_document_needed",
			"customer_verification_document_uploaded", "customer_suspended"}},
		{[]simulate.CustomerStep{simulate.Retry, simulate.Suspended}, []string{
			"customer_created", "customer_reverification_needed", "customer_suspended"}},
	} {
		lc, err := g.Personal(tc.path...)
		require.NoError(t, err, "%v", tc.path)
		require.Equal(t, tc.want, topics(lc), "%v", tc.path)
	}
	for _, bad := range [][]simulate.CustomerStep{
		{simulate.KBAPass},
		{simulate.Verified, simulate.Retry},
		{simulate.Retry, simulate.Retry},
		{simulate.KBA, simulate.Document},
	} {
		_, err := g.Personal(bad...)
		require.Error(t, err, "%v", bad)
	}
}

func TestScriptedLifecycleHasTimestamps(t *testing.T) {
	t.Parallel()
	g := newGen(t, 5, nil)
	lc, err := g.Personal(simulate.Retry, simulate.KBA, simulate.KBAFail, simulate.DocumentApproved)
	require.NoError(t, err)
	start := time.Date(2024, 3, 4, 15, 0, 0, 0, time.UTC)
	evs, err := g.Render(lc, start)
	require.NoError(t, err)
	require.Len(t, evs, 8)
	require.Equal(t, start, evs[0].Created)
	cust := ""
	for i, ev := range evs {
		parsed, err := dwolla.ParseEvent(ev.Body)
		require.NoError(t, err)
		require.Equal(t, ev.ID, parsed.ID)
		require.Equal(t, ev.Created, parsed.Created)
		require.Equal(t, "ad5f2162-404a-4c4c-994e-6ab6c3a13254", parsed.AccountID)
		if i > 0 {
			require.False(t, ev.Created.Before(evs[i-1].Created))
			require.Equal(t, cust, parsed.CustomerID)
		}
		cust = parsed.CustomerID
		require.Contains(t, string(ev.Body), `"timestamp":"`+ev.Created.Format(dwolla.DateFormat))
	}
	// Same seed, same story.
	again := newGen(t, 5, nil)
	lc2, err := again.Personal(simulate.Retry, simulate.KBA, simulate.KBAFail, simulate.DocumentApproved)
	require.NoError(t, err)
	evs2, err := again.Render(lc2, start)
	require.NoError(t, err)
	require.Equal(t, evs, evs2)
}

func TestTransferOutcomes(t *testing.T) {
	t.Parallel()
	g := newGen(t, 11, nil)
	for _, tc := range []struct {
		kind    string
		outcome simulate.TransferOutcome
		code    string
		want    []string
	}{
		{"v6", simulate.TransferCompleted, "", []string{
			"customer_bank_transfer_created", "customer_transfer_created", "customer_transfer_created",
			"customer_bank_transfer_completed", "customer_transfer_completed", "customer_transfer_completed", "customer_bank_transfer_created",
			"customer_bank_transfer_completed"}},
		{"v6", simulate.TransferFailed, "R01", []string{
			"customer_bank_transfer_created", "customer_transfer_created", "customer_transfer_created",
			"customer_bank_transfer_failed", "customer_transfer_failed", "customer_transfer_failed"}},
		{"v6", simulate.TransferFailed, "R03", []string{
			"customer_bank_transfer_created", "customer_transfer_created", "customer_transfer_created",
			"customer_bank_transfer_failed", "customer_transfer_failed", "customer_transfer_failed",
			"customer_funding_source_removed"}},
		{"v6", simulate.TransferCancelled, "", []string{
			"customer_bank_transfer_created", "customer_transfer_created", "customer_transfer_created",
			"customer_bank_transfer_cancelled", "customer_transfer_cancelled", "customer_transfer_cancelled"}},
		{"v6", simulate.TransferCreationFailed, "", []string{
			"customer_bank_transfer_created", "customer_transfer_created", "customer_transfer_created",
			"customer_bank_transfer_completed", "customer_transfer_completed", "customer_transfer_completed",
			"customer_bank_transfer_creation_failed"}},
		{"a8", simulate.TransferLateFailure, "R01", []string{
			"transfer_created", "customer_transfer_created", "transfer_completed", "customer_transfer_completed",
			"transfer_failed", "customer_transfer_failed"}},
		{"c1", simulate.TransferFailed, "R10", []string{
			"customer_transfer_created", "transfer_created", "customer_transfer_failed", "transfer_failed",
			"customer_funding_source_removed", "customer_deactivated"}},
	} {
		lc, err := g.Transfer(tc.kind, tc.outcome, tc.code)
		require.NoError(t, err, "%s %s", tc.kind, tc.outcome)
		require.Equal(t, tc.want, topics(lc), "%s %s", tc.kind, tc.outcome)
		if tc.outcome == simulate.TransferLateFailure {
			require.Equal(t, tc.code+"-late", lc.ReturnCode)
		}
	}
	_, err := g.Transfer("v12", simulate.TransferCancelled, "")
	require.Error(t, err)
	_, err = g.Transfer("a8", simulate.TransferCreationFailed, "")
	require.Error(t, err)
	_, err = g.Transfer("zz", simulate.TransferCompleted, "")
	require.Error(t, err)
	_, err = g.Transfer("v6", simulate.TransferFailed, "R99")
	require.Error(t, err)
}

// TestDrawnLifecyclesAreValid checks thousands of drawn lifecycles: every
// topic is known, bodies parse, customer links go with customer_ topics,
// and each transfer ends in exactly one terminal outcome per side (two,
// completed then failed, when it fails late).
func TestDrawnLifecyclesAreValid(t *testing.T) {
	t.Parallel()
	g := newGen(t, 2024, nil)
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	seenOutcomes := map[string]bool{}
	for i := 0; i < 3000; i++ {
		lc := g.Next()
		seenOutcomes[strings.SplitN(lc.Kind, ":", 2)[0]+"/"+lc.Outcome] = true
		require.NotEmpty(t, lc.Events)
		evs, err := g.Render(lc, start)
		require.NoError(t, err)
		terminal := map[string][]string{}
		for j, e := range lc.Events {
			require.True(t, dwolla.KnownTopic(e.Topic), "unknown topic %s in %s", e.Topic, lc.Kind)
			if j > 0 {
				require.GreaterOrEqual(t, e.Offset, lc.Events[j-1].Offset)
			}
			parsed, err := dwolla.ParseEvent(evs[j].Body)
			require.NoError(t, err)
			require.Equal(t, e.Topic, parsed.Topic)
			isCustomerTopic := strings.HasPrefix(e.Topic, "customer_")
			require.Equal(t, isCustomerTopic, parsed.CustomerID != "", "%s in %s", e.Topic, lc.Kind)
			if tp, _ := dwolla.LookupTopic(e.Topic); tp.Resource == "transfer" {
				key := e.Resource.ID + "/" + e.CustomerID
				if tp.Terminal {
					terminal[key] = append(terminal[key], e.Topic)
				} else if _, ok := terminal[key]; !ok {
					terminal[key] = nil
				}
			}
		}
		for key, ends := range terminal {
			switch {
			case lc.Outcome == "late-failure" && len(ends) == 2:
				require.True(t, strings.HasSuffix(ends[0], "_completed") && strings.HasSuffix(ends[1], "_failed"), "%s: %v", key, ends)
			default:
				require.Len(t, ends, 1, "transfer %s in %s/%s ends %v", key, lc.Kind, lc.Outcome, ends)
			}
		}
	}
	for _, want := range []string{"transfer/completed", "transfer/failed", "transfer/cancelled", "transfer/creation-failed",
		"transfer/late-failure", "funding/maxattempts", "masspayment/cancelled", "masspayment/completed", "personal/unverified"} {
		require.True(t, seenOutcomes[want], "no %s in 3000 draws", want)
	}
}

func TestParseMix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		err  string
		want map[string]float64
	}{
		{"", "", map[string]float64{"transfer": 55}},
		{"transfer=100,personal=0", "", map[string]float64{"transfer": 100, "personal": 0, "business": 5}},
		{" Transfer.Failed = 50 ", "", map[string]float64{"transfer.failed": 50, "transfer.completed": 80}},
		{"transfer", "key=weight", nil},
		{"nope=1", "unknown mix key", nil},
		{"transfer=-1", "non-negative", nil},
		{"masspayment.completed=0,masspayment.cancelled=0", "no weight to any masspayment", nil},
		{"personal=0,business=0,funding=0,transfer=0,masspayment=0", "no weight to any journey", nil},
	} {
		m, err := simulate.ParseMix(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		for k, v := range tc.want {
			require.Equal(t, v, m[k], "%s in %q", k, tc.in)
		}
		again, err := simulate.ParseMix(m.String())
		require.NoError(t, err)
		require.Equal(t, m, again)
	}
}

func TestMixSteersOutcomes(t *testing.T) {
	t.Parallel()
	m, err := simulate.ParseMix("personal=0,business=0,funding=0,masspayment=0,transfer=1," +
		"transfer.completed=0,transfer.failed=1,transfer.cancelled=0,transfer.creation-failed=0,transfer.late-failure=0")
	require.NoError(t, err)
	g := newGen(t, 9, m)
	for i := 0; i < 200; i++ {
		lc := g.Next()
		require.True(t, strings.HasPrefix(lc.Kind, "transfer:"))
		require.Equal(t, "failed", lc.Outcome)
		require.NotEmpty(t, lc.ReturnCode)
	}
}

func TestPayloadsForLoadGenerators(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	opts := simulate.StreamOptions{Rate: 500, Start: start, DuplicateShare: 0.1, Shuffle: 4}
	ps, err := newGen(t, 77, nil).Payloads(2000, "s3cret", opts)
	require.NoError(t, err)
	require.Len(t, ps, 2000)
	v := dwolla.NewVerifier("s3cret")
	ids := map[string]bool{}
	dups := 0
	for i, p := range ps {
		require.Equal(t, start.Add(time.Duration(i)*2*time.Millisecond), p.At)
		require.NoError(t, v.Verify(p.Body, p.Signature))
		if p.Duplicate {
			require.True(t, ids[p.ID], "a duplicate repeats an earlier event")
			dups++
			continue
		}
		require.False(t, ids[p.ID])
		ids[p.ID] = true
		require.Equal(t, p.At.Truncate(time.Millisecond), p.Created)
	}
	require.InDelta(t, 200, dups, 60)
	again, err := newGen(t, 77, nil).Payloads(2000, "s3cret", opts)
	require.NoError(t, err)
	require.Equal(t, ps, again, "a seed names a run")
}

func TestRunSendsSignedWebhooksWithDwollasConcurrency(t *testing.T) {
	t.Parallel()
	var active, maxActive, n, bad atomic.Int64
	var mu sync.Mutex
	ids := map[string]int{}
	v := dwolla.NewVerifier("s3cret")
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := active.Add(1)
		defer active.Add(-1)
		for m := maxActive.Load(); a > m && !maxActive.CompareAndSwap(m, a); m = maxActive.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		time.Sleep(2 * time.Millisecond)
		if v.Verify(body, r.Header.Get(dwolla.SignatureHeader)) != nil || r.Header.Get("User-Agent") != dwolla.UserAgent {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ev, err := dwolla.ParseEvent(body)
		if err != nil || ev.Topic != r.Header.Get(dwolla.TopicHeader) {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.Add(1)
		mu.Lock()
		ids[ev.ID]++
		mu.Unlock()
		// Fail a few to exercise the retry schedule.
		if n.Load()%50 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	sink, err := simulate.NewHTTPSink(simulate.HTTPSinkOptions{Target: recv.URL, Secret: "s3cret", BusinessDayLength: 20 * time.Second})
	require.NoError(t, err)
	var progress bytes.Buffer
	st, err := simulate.Run(context.Background(), newGen(t, 5, nil), simulate.RunOptions{
		Stream:   simulate.StreamOptions{Rate: 400, BusinessDayLength: 200 * time.Millisecond, DuplicateShare: 0.05},
		Duration: 1500 * time.Millisecond, Sink: sink, Progress: &progress, ProgressEvery: 500 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Log(progress.String())
	// 400/s for 1.5 s at most; a loaded machine may apply backpressure.
	require.LessOrEqual(t, st.Events, int64(620))
	require.Greater(t, st.Events, int64(150))
	require.Positive(t, st.Duplicates)
	require.Zero(t, bad.Load())
	require.LessOrEqual(t, maxActive.Load(), int64(10))
	require.Greater(t, maxActive.Load(), int64(1), "bursts are sent concurrently")
	require.Equal(t, st.Events, st.Sink.Sent)
	require.Positive(t, st.Sink.Failed)
	require.Equal(t, st.Sink.Sent, st.Sink.Delivered+st.Sink.GaveUp)
	require.Contains(t, progress.String(), "simulate done:")
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, int64(len(ids)), st.Events-st.Duplicates-st.Sink.GaveUp)
}
