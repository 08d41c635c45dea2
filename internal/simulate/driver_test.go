package simulate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

// apiGet reads one resource from the fake with a fresh token.
type apiClient struct {
	t     *testing.T
	token string
}

func newAPIClient(t *testing.T, f *fakedwolla.Server) *apiClient {
	req, err := http.NewRequest(http.MethodPost, f.URL+"/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth("k", "s")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return &apiClient{t: t, token: tok.AccessToken}
}

func (c *apiClient) get(href string, out any) int {
	req, err := http.NewRequest(http.MethodGet, href, nil)
	require.NoError(c.t, err)
	req.Header.Set("Accept", dwolla.MediaType)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(c.t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// TestDriverResourcesAgreeWithWebhooks drives journeys through the fake's
// API and checks that every event's resource exists and that each
// transfer's last event says its status.
func TestDriverResourcesAgreeWithWebhooks(t *testing.T) {
	t.Parallel()
	f, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "k", Secret: "s", Seed: 3})
	require.NoError(t, err)
	t.Cleanup(f.Close)
	d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: f.URL, Key: "k", Secret: "s", Seed: 3,
		Mix: simulate.Mix{"personal": 15, "business": 5, "funding": 15, "transfer": 65,
			"personal.verified": 1, "personal.retry": 1, "personal.document": 1, "personal.kba": 1, "personal.unverified": 1,
			"business.verified": 1, "business.document": 1,
			"funding.instant": 1, "funding.microdeposits": 1, "funding.microdeposits-failed": 1, "funding.maxattempts": 1,
			"transfer.completed": 3, "transfer.failed": 2, "transfer.cancelled": 1, "transfer.late-failure": 1,
			"masspayment.completed": 1}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 120; i++ {
		require.NoError(t, d.Step(ctx))
		if i%6 == 5 {
			require.NoError(t, d.Simulate(ctx))
		}
	}
	for i := 0; i < 3; i++ {
		require.NoError(t, d.Simulate(ctx))
	}
	require.Zero(t, d.Stats().Errors)

	c := newAPIClient(t, f)
	last := map[string]string{} // transfer href → last topic
	topics := map[string]int{}
	for _, ev := range f.Events() {
		topics[ev.Topic]++
		href := eventLink(t, ev, "resource")
		require.Equal(t, http.StatusOK, c.get(href, nil), "%s: %s", ev.Topic, href)
		if eventLink(t, ev, "customer") != "" {
			require.Equal(t, http.StatusOK, c.get(eventLink(t, ev, "customer"), nil))
		}
		if strings.Contains(href, "/transfers/") {
			last[href] = ev.Topic
		}
	}
	codes := map[string]int{}
	for href, topic := range last {
		var tr struct {
			Status string                 `json:"status"`
			Links  map[string]dwolla.Link `json:"_links"`
		}
		require.Equal(t, http.StatusOK, c.get(href, &tr))
		want := map[string]string{"created": "pending", "completed": "processed", "failed": "failed", "cancelled": "cancelled"}[topic[strings.LastIndex(topic, "_")+1:]]
		require.Equal(t, want, tr.Status, "%s after %s", href, topic)
		if tr.Status == "failed" {
			var fl struct{ Code, Description string }
			require.Equal(t, http.StatusOK, c.get(tr.Links["failure"].Href, &fl))
			require.NotEmpty(t, fl.Description)
			codes[fl.Code]++
		}
	}
	require.NotEmpty(t, codes, "some transfers failed with a return code")
	for _, topic := range []string{"customer_created", "customer_verified", "customer_reverification_needed",
		"customer_verification_document_needed", "customer_verification_document_uploaded", "customer_verification_document_approved",
		"customer_kba_verification_needed", "customer_microdeposits_completed", "customer_microdeposits_failed",
		"customer_microdeposits_maxattempts", "customer_funding_source_verified", "customer_bank_transfer_completed",
		"customer_bank_transfer_failed", "customer_transfer_completed", "transfer_completed", "bank_transfer_created"} {
		require.Positive(t, topics[topic], topic)
	}
}

func (c *apiClient) post(href string, body any) string {
	raw, err := json.Marshal(body)
	require.NoError(c.t, err)
	req, err := http.NewRequest(http.MethodPost, href, strings.NewReader(string(raw)))
	require.NoError(c.t, err)
	req.Header.Set("Accept", dwolla.MediaType)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Less(c.t, resp.StatusCode, 300, "POST %s", href)
	return resp.Header.Get("Location")
}

// TestFakeTransfersFireTheCapturedLegs makes each captured kind of
// transfer through the fake's API and checks that the webhooks of each leg
// (at creation, after each sandbox simulation) are the ones Dwolla's
// sandbox sent (the kinds' legs are checked against the captures by
// TestTransferKindsMatchCaptures).
func TestFakeTransfersFireTheCapturedLegs(t *testing.T) {
	t.Parallel()
	for _, kind := range simulate.TransferKinds() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			testCapturedLegs(t, kind)
		})
	}
}

func testCapturedLegs(t *testing.T, kind simulate.TransferKind) {
	f, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "k", Secret: "s", Seed: 8})
	require.NoError(t, err)
	t.Cleanup(f.Close)
	c := newAPIClient(t, f)
	n := 0
	customer := func(verified bool) (cust, bank, balance string) {
		n++
		body := map[string]string{"firstName": "Cap", "lastName": "Ture", "email": "cap" + string(rune('a'+n)) + "@example.com", "type": "unverified"}
		if verified {
			for k, v := range map[string]string{"type": "personal", "address1": "1 Main St", "city": "Ames", "state": "IA", "postalCode": "50010", "dateOfBirth": "1980-01-01", "ssn": "1234"} {
				body[k] = v
			}
		}
		cust = c.post(f.URL+"/customers", body)
		bank = c.post(cust+"/funding-sources", map[string]string{"name": "Checking", "plaidToken": "tok-" + cust})
		if verified {
			var list struct {
				Embedded struct {
					Sources []struct {
						ID, Type string
					} `json:"funding-sources"`
				} `json:"_embedded"`
			}
			c.get(cust+"/funding-sources", &list)
			for _, fs := range list.Embedded.Sources {
				if fs.Type == "balance" {
					balance = f.URL + "/funding-sources/" + fs.ID
				}
			}
		}
		return cust, bank, balance
	}
	var acct struct {
		Embedded struct {
			Sources []struct{ ID, Type string } `json:"funding-sources"`
		} `json:"_embedded"`
	}
	c.get(f.URL+"/accounts/"+f.AccountID()+"/funding-sources", &acct)
	var masterBank, masterBalance string
	for _, fs := range acct.Embedded.Sources {
		if fs.Type == "balance" {
			masterBalance = f.URL + "/funding-sources/" + fs.ID
		} else {
			masterBank = f.URL + "/funding-sources/" + fs.ID
		}
	}
	transfer := func(src, dst string) string {
		return c.post(f.URL+"/transfers", map[string]any{
			"_links": map[string]any{"source": map[string]string{"href": src}, "destination": map[string]string{"href": dst}},
			"amount": map[string]string{"currency": "USD", "value": "10.00"},
		})
	}
	{
		{
			var sender, receiver, src, dst string
			switch kind.Name {
			case "a1":
				src, dst = masterBank, masterBalance
			case "a5":
				receiver, dst, _ = customer(true)
				src = masterBank
			case "a8":
				receiver, dst, _ = customer(false)
				src = masterBalance
			case "c1":
				sender, src, _ = customer(false)
				dst = masterBalance
			case "v1":
				sender, src, _ = customer(true)
				dst = masterBalance
			case "v5":
				var bal string
				sender, src, bal = customer(true)
				receiver, dst = sender, bal
			case "v6":
				sender, src, _ = customer(true)
				receiver, dst, _ = customer(true)
			case "v10", "v12":
				var bal string
				sender, _, bal = customer(true)
				transfer(masterBalance, bal) // fund the balance
				src = bal
				receiver, dst, _ = customer(kind.Name == "v12")
			}
			// The master account's events carry no customer link, and the
			// captures label their side inconsistently: compare topics.
			noSide := func(legs []string) []string {
				out := make([]string, len(legs))
				for i, l := range legs {
					if !strings.HasPrefix(l, "customer_") {
						l = l[:strings.Index(l, "(")]
					}
					out[i] = l
				}
				return out
			}
			side := func(ev *fakedwolla.Event) string {
				href := eventLink(t, ev, "customer")
				switch {
				case href == "":
					return ""
				case href == sender:
					return "S"
				case href == receiver:
					return "R"
				}
				return "?"
			}
			mark := len(f.Events())
			leg := func() []string {
				evs := f.Events()[mark:]
				mark += len(evs)
				out := []string{}
				for _, ev := range evs {
					if s := side(ev); s != "" {
						out = append(out, ev.Topic+"("+s+")")
					} else {
						out = append(out, ev.Topic)
					}
				}
				return out
			}
			transfer(src, dst)
			want := kind.Legs()
			if kind.Name == "v12" {
				// The balance-to-balance leg completes in the same call.
				want = append([][]string{append(append([]string{}, want[0]...), want[1]...)}, want[2:]...)
			}
			for i, w := range want {
				if i > 0 {
					_, err := f.Simulate()
					require.NoError(t, err)
				}
				require.ElementsMatch(t, noSide(w), leg(), "%s leg %d", kind.Name, i+1)
			}
		}
	}
}

// eventLink is the href of the event's link rel, read from its body.
func eventLink(t *testing.T, ev *fakedwolla.Event, rel string) string {
	t.Helper()
	var b struct {
		Links map[string]struct {
			Href string `json:"href"`
		} `json:"_links"`
	}
	require.NoError(t, json.Unmarshal(ev.Body, &b))
	return b.Links[rel].Href
}
