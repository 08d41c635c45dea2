package netguard_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/webhookdelivery"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/netguard"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/web"
)

const secret = "guard-test-secret"

type bundle struct {
	db  *store.DB
	url string
}

// setup serves a receiver guarded by g behind a resolver that trusts
// loopback, so tests choose the client address with X-Forwarded-For.
func setup(t *testing.T, db *store.DB, g *netguard.Guard) *bundle {
	t.Helper()
	trusted, err := netguard.ParsePrefixes("127.0.0.0/8, ::1")
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rcv := ingest.NewReceiver(db, live.NewHub("test"), metrics.New(), log, ingest.Options{
		Verifier: dwolla.NewVerifier(secret), Guard: g,
	})
	rcv.Start()
	srv := httptest.NewServer(web.Chain(rcv, netguard.NewResolver(trusted).Middleware, web.WithRequestID))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rcv.Close(ctx)
	})
	return &bundle{db: db, url: srv.URL + ingest.Path}
}

func body(id string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"topic":"customer_created","created":"2024-01-01T00:00:00.000Z","resourceId":"c1"}`, id))
}

func (b *bundle) post(t *testing.T, from string, payload []byte, sig string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(payload))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", from)
	if sig != "" {
		req.Header.Set(dwolla.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestReceiverGuard(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		allow, err := netguard.ParsePrefixes("198.51.100.0/24")
		require.NoError(t, err)
		b := setup(t, db, netguard.NewGuard(netguard.GuardOptions{
			Allow:      allow,
			Rejections: netguard.Rate{PerSecond: 0.01, Burst: 3},
		}))
		ctx := context.Background()

		// Outside the allow-list: 403, recorded as forbidden.
		resp := b.post(t, "203.0.113.5", body("e-forbidden"), dwolla.Sign([]byte(secret), body("e-forbidden")))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		// Three bad signatures spend the source's bucket; then everything
		// from it gets 429 with Retry-After, even a good delivery.
		attacker := "198.51.100.66"
		for i := 0; i < 3; i++ {
			resp := b.post(t, attacker, body("e-bad"), "00")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		}
		resp = b.post(t, attacker, body("e-bad"), "00")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		resp = b.post(t, attacker, body("e-good-1"), dwolla.Sign([]byte(secret), body("e-good-1")))
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

		// Another source delivering good events is never charged.
		for i := 0; i < 20; i++ {
			id := fmt.Sprintf("e-dwolla-%d", i)
			resp := b.post(t, "198.51.100.7", body(id), dwolla.Sign([]byte(secret), body(id)))
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}

		require.Eventually(t, func() bool {
			n, err := b.db.Client.WebhookDelivery.Query().Where(webhookdelivery.OutcomeEQ(webhookdelivery.OutcomeRateLimited)).Count(ctx)
			return err == nil && n == 2
		}, 5*time.Second, 20*time.Millisecond)
		n, err := b.db.Client.WebhookDelivery.Query().Where(webhookdelivery.OutcomeEQ(webhookdelivery.OutcomeForbidden)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		d, err := b.db.Client.WebhookDelivery.Query().Where(webhookdelivery.OutcomeEQ(webhookdelivery.OutcomeRateLimited)).First(ctx)
		require.NoError(t, err)
		require.Equal(t, attacker, d.RemoteAddr, "deliveries record the client behind the trusted proxy")
		stored, err := b.db.Client.WebhookEvent.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 20, stored)
	})
}

// TestForgedFloodLeavesGlobalBudget is issue 20's finding 8: forged
// deliveries from many sources, each under its own budget, used to spend
// the global cap and push genuine deliveries into 429. The cap is now spent
// only by deliveries that verify.
func TestForgedFloodLeavesGlobalBudget(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, netguard.NewGuard(netguard.GuardOptions{
			Rejections: netguard.Rate{PerSecond: 0.01, Burst: 3},
			Global:     netguard.Rate{PerSecond: 0.01, Burst: 10},
		}))
		// 60 forged deliveries from 30 sources, 2 each: every source stays
		// under its budget, and together they are 6 times the global burst.
		for i := range 60 {
			resp := b.post(t, fmt.Sprintf("203.0.113.%d", i%30+1), body("forged"), "00")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		}
		// Genuine deliveries still have the whole burst.
		for i := range 10 {
			id := fmt.Sprintf("genuine-%d", i)
			resp := b.post(t, "198.51.100.7", body(id), dwolla.Sign([]byte(secret), body(id)))
			require.Equal(t, http.StatusOK, resp.StatusCode, id)
		}
		// The cap itself still holds for verified floods.
		resp := b.post(t, "198.51.100.7", body("genuine-11"), dwolla.Sign([]byte(secret), body("genuine-11")))
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		resp = b.post(t, "203.0.113.99", body("forged"), "00")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "while it is spent, everyone waits")
	})
}

// TestRejectionsAreSampled is issue 20's finding 4: every rejected delivery
// wrote a row, so one unauthenticated source could grow the database
// without bound. Past a sample per source, outcome and minute, rejections
// are counted instead.
func TestRejectionsAreSampled(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		trusted, err := netguard.ParsePrefixes("127.0.0.0/8, ::1")
		require.NoError(t, err)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		rcv := ingest.NewReceiver(db, live.NewHub("test"), metrics.New(), log, ingest.Options{
			Verifier: dwolla.NewVerifier(secret), RefusalSample: 5,
			Guard: netguard.NewGuard(netguard.GuardOptions{Rejections: netguard.Rate{PerSecond: 0.01, Burst: 40}}),
		})
		rcv.Start()
		srv := httptest.NewServer(web.Chain(rcv, netguard.NewResolver(trusted).Middleware, web.WithRequestID))
		t.Cleanup(func() {
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = rcv.Close(ctx)
		})
		b := &bundle{db: db, url: srv.URL + ingest.Path}
		ctx := context.Background()

		// 40 bad signatures, then 60 refused by the source's limit.
		for range 100 {
			resp := b.post(t, "203.0.113.7", body("forged"), "00")
			require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, resp.StatusCode)
		}
		// A genuine delivery from elsewhere is recorded as always.
		resp := b.post(t, "198.51.100.7", body("genuine"), dwolla.Sign([]byte(secret), body("genuine")))
		require.Equal(t, http.StatusOK, resp.StatusCode)

		count := func(o webhookdelivery.Outcome) int {
			n, err := b.db.Client.WebhookDelivery.Query().Where(webhookdelivery.OutcomeEQ(o)).Count(ctx)
			require.NoError(t, err)
			return n
		}
		require.Eventually(t, func() bool {
			return count(webhookdelivery.OutcomeAccepted) == 1 && count(webhookdelivery.OutcomeBadSignature) >= 5 &&
				count(webhookdelivery.OutcomeRateLimited) >= 5
		}, 5*time.Second, 20*time.Millisecond)
		// The sample per outcome and minute (twice if the flood straddled a
		// minute), never a row each.
		badSig, limited := count(webhookdelivery.OutcomeBadSignature), count(webhookdelivery.OutcomeRateLimited)
		require.True(t, badSig >= 5 && badSig <= 10, "bad_signature rows: %d", badSig)
		require.True(t, limited >= 5 && limited <= 10, "rate_limited rows: %d", limited)

		// The rest are counted, per source and outcome, once their minute is over.
		counted := map[string]int{}
		for _, c := range rcv.TakeRefusals(time.Now().Add(2 * time.Minute)) {
			require.Equal(t, "203.0.113.7", c.Source)
			counted[c.Outcome] += c.Count
		}
		require.Equal(t, 40, badSig+counted["bad_signature"])
		require.Equal(t, 60, limited+counted["rate_limited"])
		require.Empty(t, rcv.TakeRefusals(time.Now().Add(2*time.Minute)), "taken once")
	})
}
