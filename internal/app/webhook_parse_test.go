package app_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
)

// TestWebhookRefusesAmbiguousBodies: a signed body in which a member
// hooklens reads is repeated or spelled in another case is refused with
// 400 and a reason naming the key, recorded as a malformed delivery, and
// nothing is stored; the same sender's good bodies still go through.
func TestWebhookRefusesAmbiguousBodies(t *testing.T) {
	t.Parallel()
	const created = `"created":"2024-03-01T12:00:00.000Z"`
	cases := []struct{ body, reason string }{
		{`{"id":"amb-1","id":"amb-2","topic":"customer_created",` + created + `}`, `duplicate key "id"`},
		{`{"ID":"amb-3","topic":"customer_created",` + created + `}`, `key "ID" is a case variant of "id"`},
		{`{"id":"amb-4","topic":"customer_created","Topic":"customer_verified",` + created + `}`, `key "Topic" is a case variant of "topic"`},
		{`{"id":"amb-5","topic":"customer_created",` + created + `,"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/customers/a"},` +
			`"resource":{"href":"https://api-sandbox.dwolla.com/customers/b"}}}`, `duplicate key "resource" in _links`},
		{`{"id":"amb-6","topic":"customer_created",` + created + `,"_links":{"customer":{"href":"https://api-sandbox.dwolla.com/customers/a",` +
			`"HREF":"https://api-sandbox.dwolla.com/customers/b"}}}`, `key "HREF" in a link is a case variant of "href"`},
	}
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			for _, c := range cases {
				resp := s.Deliver([]byte(c.body))
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, c.body)
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				apptest.ReadJSON(t, resp, &e)
				require.Equal(t, "malformed_event", e.Error.Code)
				require.Contains(t, e.Error.Message, c.reason)
			}
			status, r := receive(t, s, eventBody("amb-ok", "customer_created"))
			require.Equal(t, http.StatusOK, status)
			require.False(t, r.Duplicate)
			require.Equal(t, map[string]int{"amb-ok": 1}, deliveryCounts(t, s))

			var dels struct {
				Deliveries struct {
					TotalCount int `json:"totalCount"`
					Edges      []struct {
						Node struct {
							StatusCode int    `json:"statusCode"`
							Reason     string `json:"reason"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"deliveries"`
			}
			require.Eventually(t, func() bool {
				s.MustGraphQL(`{ deliveries(where: {outcome: malformed}, first: 50) { totalCount edges { node { statusCode reason } } } }`, nil, &dels)
				return dels.Deliveries.TotalCount == len(cases)
			}, 5*time.Second, 20*time.Millisecond)
			var reasons []string
			for _, e := range dels.Deliveries.Edges {
				require.Equal(t, http.StatusBadRequest, e.Node.StatusCode)
				reasons = append(reasons, e.Node.Reason)
			}
			for _, c := range cases {
				require.True(t, containsSubstring(reasons, c.reason), "%s not among %q", c.reason, reasons)
			}
		})
	}
}

func containsSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestWebhookKeepsImplausibleCreated: an event created in year 1 or 9999
// is signed, so it is acknowledged and stored as sent, not refused.
func TestWebhookKeepsImplausibleCreated(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			for id, created := range map[string]string{"past-1": "0001-01-01T00:00:00Z", "future-1": "9999-12-31T23:59:59Z"} {
				body := []byte(`{"id":"` + id + `","topic":"customer_created","created":"` + created + `"}`)
				status, _ := receive(t, s, body)
				require.Equal(t, http.StatusOK, status, id)
			}
			require.Equal(t, map[string]int{"past-1": 1, "future-1": 1}, deliveryCounts(t, s))
		})
	}
}

// TestWebhookBodyLengths: a body is read whole whether its length is
// declared (Dwolla's case, read into one buffer of that size) or not
// (chunked), and a declared length beyond the limit is refused unread.
func TestWebhookBodyLengths(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	post := func(body []byte, chunked bool) int {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(bytes.NewReader(body[:10]), bytes.NewReader(body[10:])) // no length known
		}
		req, err := http.NewRequest(http.MethodPost, s.URL+ingest.Path, rd)
		require.NoError(t, err)
		require.Equal(t, chunked, req.ContentLength == 0)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(dwolla.SignatureHeader, dwolla.Sign([]byte(apptest.Secret), body))
		resp, err := s.Client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, post(eventBody("len-declared", "customer_created"), false))
	require.Equal(t, http.StatusOK, post(eventBody("len-chunked", "customer_created"), true))
	require.Equal(t, map[string]int{"len-declared": 1, "len-chunked": 1}, deliveryCounts(t, s))
}
