package app_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

func getJSON(t *testing.T, s *apptest.Server, path string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return resp.StatusCode
	}
	apptest.ReadJSON(t, resp, v)
	return resp.StatusCode
}

// TestMoneyAndCustomerViewFromEnrichment plays journeys through the fake
// Dwolla's API into a running hooklens subscribed to it, enriches, and
// reads the money figures (REST, export and Prometheus agree: one
// function) and a customer's view.
func TestMoneyAndCustomerViewFromEnrichment(t *testing.T) {
	t.Parallel()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "k", Secret: "s", Seed: 5})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) {
		c.DwollaKey, c.DwollaSecret, c.DwollaAPIURL = "k", "s", fake.URL
		c.Enrich, c.EnrichRate = true, 100
	}})
	_, err = fake.Subscribe(s.URL+"/api/webhooks/dwolla/v2", apptest.Secret)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Enrichment starts before the traffic, so the live worker takes it.
	require.NoError(t, s.App.Enrich.Tick(ctx, time.Second))
	d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: fake.URL, Key: "k", Secret: "s", Seed: 5,
		Mix: simulate.Mix{"transfer": 1, "personal.verified": 1, "business.verified": 1, "funding.instant": 1,
			"transfer.completed": 2, "transfer.failed": 2, "masspayment.completed": 1}})
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		require.NoError(t, d.Step(ctx))
	}
	require.NoError(t, d.Simulate(ctx))
	require.NoError(t, d.Simulate(ctx))
	require.NoError(t, fake.WaitIdle(ctx))
	want := len(fake.Events())

	var st map[string]any
	for {
		require.NoError(t, s.App.Enrich.Tick(ctx, 10*time.Second))
		require.Equal(t, http.StatusOK, getJSON(t, s, "/api/enrichment", &st))
		var stored int
		require.NoError(t, s.App.DB.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_events").Scan(&stored))
		if stored == want && st["lag"] == float64(0) && st["pending"] == float64(0) {
			break
		}
		require.NoError(t, ctx.Err(), "enrichment did not catch up: %v (%d of %d events stored)", st, stored, want)
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, true, st["enabled"])
	require.Positive(t, st["fetched"])

	var m struct {
		Total, Returned, InFlight struct {
			Count  int
			Amount string
		}
		ByStatus    map[string]struct{ Count int }
		ReturnCodes []struct {
			Code, Description string
			Count             int
		}
		P50 string
	}
	require.Equal(t, http.StatusOK, getJSON(t, s, "/api/money?bucket=1h", &m))
	require.Positive(t, m.Total.Count)
	require.Positive(t, m.ByStatus["failed"].Count)
	require.Positive(t, m.Returned.Count)
	require.NotEmpty(t, m.ReturnCodes)
	for _, rc := range m.ReturnCodes {
		require.Regexp(t, `^R\d\d$`, rc.Code)
		require.NotEmpty(t, rc.Description)
	}
	require.NotEqual(t, "0.00", m.P50)

	// GraphQL answers from the same function.
	var g struct {
		Money struct {
			Total       struct{ Count int }
			ReturnCodes []struct {
				Code  string
				Count int
			}
		}
		Enrichment struct{ Enabled bool }
	}
	s.MustGraphQL(`{ money(bucket: "1h") { total { count } returnCodes { code count } } enrichment { enabled } }`, nil, &g)
	require.Equal(t, m.Total.Count, g.Money.Total.Count)
	require.Equal(t, len(m.ReturnCodes), len(g.Money.ReturnCodes))
	require.True(t, g.Enrichment.Enabled)

	// The export and the metrics come from the same figures.
	req, err := http.NewRequest(http.MethodGet, s.URL+"/api/money/export?format=csv", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, []string{"bucket_start", "status", "count", "amount_USD"}, rows[0])
	exported := 0
	for _, r := range rows[1:] {
		if r[1] == "failed" {
			n := 0
			for _, c := range r[2] {
				n = n*10 + int(c-'0')
			}
			exported += n
		}
	}
	require.Equal(t, m.ByStatus["failed"].Count, exported)
	resp, err = s.Client.Get(s.URL + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(metrics), "hooklens_money_returns_24h{code=\""+m.ReturnCodes[0].Code+"\"}")
	require.Contains(t, string(metrics), "hooklens_money_in_flight_cents")

	// A customer with a failed transfer: the view shows it with its code.
	var failedCustomer string
	for _, ev := range fake.Events() {
		if ev.Topic == "customer_bank_transfer_failed" {
			failedCustomer = ev.CustomerID
			break
		}
	}
	require.NotEmpty(t, failedCustomer)
	var p struct {
		Status, Type   string
		FundingSources []struct{ Type string }
		Transfers      []struct {
			Status, Amount, FailureCode, FailureDescription string
		}
		Events []struct{ Topic string }
		Money  struct{ Total struct{ Count int } }
	}
	require.Equal(t, http.StatusOK, getJSON(t, s, "/api/customers/"+failedCustomer, &p))
	require.Equal(t, "verified", p.Status)
	require.Contains(t, []string{"personal", "business"}, p.Type)
	require.NotEmpty(t, p.FundingSources)
	require.NotEmpty(t, p.Events)
	found := false
	for _, tr := range p.Transfers {
		if tr.Status == "failed" && tr.FailureCode != "" {
			found = true
			require.NotEmpty(t, tr.FailureDescription)
			require.NotEmpty(t, tr.Amount)
		}
	}
	require.True(t, found, "the customer's failed transfer and its return code")
	require.Positive(t, p.Money.Total.Count)
	var gc struct {
		Customer struct {
			Status    string
			Transfers []struct{ FailureCode string }
		}
	}
	s.MustGraphQL(`query($id: String!) { customer(id: $id) { status transfers { failureCode } } }`, map[string]any{"id": failedCustomer}, &gc)
	require.Equal(t, p.Status, gc.Customer.Status)
	require.Len(t, gc.Customer.Transfers, len(p.Transfers))
	require.Equal(t, http.StatusNotFound, getJSON(t, s, "/api/customers/00000000-0000-4000-8000-000000000000", &p))
	require.Equal(t, http.StatusBadRequest, getJSON(t, s, "/api/customers/not-an-id", &p))
}

// TestEnrichmentOffWithoutCredentials: without Dwolla credentials the API
// says enrichment is off, and the money figures are empty, not an error.
func TestEnrichmentOffWithoutCredentials(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	require.Nil(t, s.App.Enrich)
	var st map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, s, "/api/enrichment", &st))
	require.Equal(t, false, st["enabled"])
	require.True(t, strings.Contains(st["reason"].(string), "DWOLLA_KEY"))
	var m struct{ Total struct{ Count int } }
	require.Equal(t, http.StatusOK, getJSON(t, s, "/api/money", &m))
	require.Zero(t, m.Total.Count)
}
