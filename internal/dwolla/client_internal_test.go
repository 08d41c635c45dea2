package dwolla

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 300 ", 5 * time.Minute},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{"Fri, 01 Mar 2024 12:00:30 GMT", 30 * time.Second},
		{"Fri, 01 Mar 2024 11:00:00 GMT", 0},
	} {
		require.Equal(t, tc.want, parseRetryAfter(tc.in, now), tc.in)
	}
}

func TestDecodeAPIError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   APIError
		text   string
	}{
		{"vnd.error", 404, `{"code":"NotFound","message":"Application event not found."}`,
			APIError{Op: "GET /events/x", Status: 404, Code: "NotFound", Message: "Application event not found."},
			"dwolla GET /events/x: 404 NotFound: Application event not found."},
		{"validation", 400, `{"code":"ValidationError","message":"Validation error(s) present.","_embedded":{"errors":[{"code":"Required","message":"Url required.","path":"/url","_links":{}},{"code":"InvalidFormat","message":"Too long.","path":"/secret","_links":{}}]}}`,
			APIError{Op: "GET /events/x", Status: 400, Code: "ValidationError", Message: "Validation error(s) present.",
				Errors: []FieldError{{"Required", "Url required.", "/url"}, {"InvalidFormat", "Too long.", "/secret"}}},
			"dwolla GET /events/x: 400 ValidationError: Validation error(s) present. (/url Required; /secret InvalidFormat)"},
		{"oauth", 401, `{"error":"invalid_client"}`,
			APIError{Op: "GET /events/x", Status: 401, Code: "invalid_client"},
			"dwolla GET /events/x: 401 invalid_client"},
		{"not json", 502, `<html>bad gateway</html>`,
			APIError{Op: "GET /events/x", Status: 502, Code: "BadGateway"},
			"dwolla GET /events/x: 502 BadGateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decodeAPIError(&response{status: tc.status, header: http.Header{}, body: []byte(tc.body)}, "GET /events/x")
			require.Equal(t, tc.want, *got)
			require.Equal(t, tc.text, got.Error())
		})
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	t.Parallel()
	c, err := NewClient(ClientOptions{BaseURL: "http://127.0.0.1:1", BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second, Seed: 3})
	require.NoError(t, err)
	for attempt := 0; attempt < 40; attempt++ {
		ceiling := min(100*time.Millisecond<<min(attempt, 30), time.Second)
		for i := 0; i < 50; i++ {
			d := c.backoff(attempt)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, ceiling)
		}
	}
}
