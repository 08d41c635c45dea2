package dwolla

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// Computed independently: printf '%s' body | openssl dgst -sha256 -hmac secret
	require.Equal(t, "6146142a2ce0159e84c0767881e4ec80bc397da62526e7d19f70795eb79460c0",
		Sign([]byte("secret"), []byte(`{"id":"1"}`)))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"e1","topic":"customer_created","created":"2024-01-01T00:00:00.000Z"}`)
	good := Sign([]byte("current"), body)
	old := Sign([]byte("previous"), body)
	tests := []struct {
		name    string
		secrets []string
		sig     string
		body    []byte
		want    error
	}{
		{"valid", []string{"current"}, good, body, nil},
		{"second secret during rotation", []string{"current", "previous"}, old, body, nil},
		{"missing", []string{"current"}, "", body, ErrSignatureMissing},
		{"wrong secret", []string{"other"}, good, body, ErrSignatureMismatch},
		{"upper-case hex", []string{"current"}, strings.ToUpper(good), body, ErrSignatureMalformed},
		{"truncated", []string{"current"}, good[:63], body, ErrSignatureMalformed},
		{"too long", []string{"current"}, good + "0", body, ErrSignatureMalformed},
		{"not hex", []string{"current"}, strings.Repeat("z", 64), body, ErrSignatureMalformed},
		{"sha1 length", []string{"current"}, good[:40], body, ErrSignatureMalformed},
		{"body changed by one byte", []string{"current"}, good, append([]byte(" "), body...), ErrSignatureMismatch},
		{"re-serialised body", []string{"current"}, good, []byte(`{"id": "e1", "topic": "customer_created", "created": "2024-01-01T00:00:00.000Z"}`), ErrSignatureMismatch},
		{"empty body signed", []string{"current"}, Sign([]byte("current"), nil), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := NewVerifier(tt.secrets...).Verify(tt.body, tt.sig)
			require.ErrorIs(t, err, tt.want)
			if tt.want == nil {
				require.NoError(t, err)
			}
		})
	}
}

func TestVerifierConfigured(t *testing.T) {
	t.Parallel()
	require.False(t, NewVerifier().Configured())
	require.False(t, NewVerifier("", "").Configured())
	require.True(t, NewVerifier("", "x").Configured())
	var nilV *Verifier
	require.False(t, nilV.Configured())
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, ev *Event)
	}{
		{
			name: "customer_created from the docs",
			body: `{"_links":{"account":{"href":"https://api-sandbox.dwolla.com/accounts/0ee84069-47c5-455c-b425-633523291dc3","resource-type":"account","type":"application/vnd.dwolla.v1.hal+json"},
 "customer":{"href":"https://api-sandbox.dwolla.com/customers/a6f09251-c2de-4833-94a8-5c70916cebbc","resource-type":"customer","type":"application/vnd.dwolla.v1.hal+json"},
 "resource":{"href":"https://api-sandbox.dwolla.com/customers/a6f09251-c2de-4833-94a8-5c70916cebbc","type":"application/vnd.dwolla.v1.hal+json"},
 "self":{"href":"https://api-sandbox.dwolla.com/events/29a82d20-a703-41cb-9b3c-bd409c499925","resource-type":"event","type":"application/vnd.dwolla.v1.hal+json"}},
 "created":"2019-05-30T18:21:11.490Z","id":"29a82d20-a703-41cb-9b3c-bd409c499925",
 "resourceId":"a6f09251-c2de-4833-94a8-5c70916cebbc","topic":"customer_created"}`,
			check: func(t *testing.T, ev *Event) {
				require.Equal(t, "29a82d20-a703-41cb-9b3c-bd409c499925", ev.ID)
				require.Equal(t, "customer_created", ev.Topic)
				require.Equal(t, "customer", ev.ResourceType)
				require.Equal(t, "a6f09251-c2de-4833-94a8-5c70916cebbc", ev.ResourceID)
				require.Equal(t, "a6f09251-c2de-4833-94a8-5c70916cebbc", ev.CustomerID)
				require.Equal(t, "0ee84069-47c5-455c-b425-633523291dc3", ev.AccountID)
				require.Equal(t, time.Date(2019, 5, 30, 18, 21, 11, 490e6, time.UTC), ev.Created)
			},
		},
		{
			name: "timestamp only, upper-case transfer id, no customer",
			body: `{"id":"ev-1","topic":"transfer_created","timestamp":"2017-01-20T22:53:47.421Z","resourceId":"48CFDDB4-1E74-E511-80DB-0AA34A9B2388",
				"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/48CFDDB4-1E74-E511-80DB-0AA34A9B2388"}}}`,
			check: func(t *testing.T, ev *Event) {
				require.Equal(t, "48cfddb4-1e74-e511-80db-0aa34a9b2388", ev.ResourceID)
				require.Equal(t, "transfer", ev.ResourceType)
				require.Empty(t, ev.CustomerID)
				require.Equal(t, 2017, ev.Created.Year())
			},
		},
		{
			name: "resource id only in the link, correlation id",
			body: `{"id":"ev-2","topic":"customer_transfer_completed","created":"2022-01-03T19:49:55.797Z","correlationId":"order-77",
				"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/8b4a1302-ce6c-ec11-813c-f6ddd36b41b8"}}}`,
			check: func(t *testing.T, ev *Event) {
				require.Equal(t, "8b4a1302-ce6c-ec11-813c-f6ddd36b41b8", ev.ResourceID)
				require.Equal(t, "order-77", ev.CorrelationID)
			},
		},
		{
			name: "unknown topic is parsed; type comes from the link",
			body: `{"id":"ev-3","topic":"customer_teleported","created":"2024-01-01T00:00:00Z","_links":{"resource":{"href":"https://x/funding-sources/abc"}}}`,
			check: func(t *testing.T, ev *Event) {
				require.Equal(t, "funding-source", ev.ResourceType)
				require.False(t, KnownTopic(ev.Topic))
			},
		},
		{name: "not JSON", body: `hello`, wantErr: "not a JSON object"},
		{name: "array", body: `[1,2]`, wantErr: "not a JSON object"},
		{name: "truncated", body: `{"id":"x","topic":"t"`, wantErr: "invalid JSON"},
		{name: "missing id", body: `{"topic":"t","created":"2024-01-01T00:00:00Z"}`, wantErr: "missing id"},
		{name: "numeric id", body: `{"id":5,"topic":"t","created":"2024-01-01T00:00:00Z"}`, wantErr: "id must be a string"},
		{name: "empty topic", body: `{"id":"a","topic":"","created":"2024-01-01T00:00:00Z"}`, wantErr: "topic is empty"},
		{name: "no time", body: `{"id":"a","topic":"t"}`, wantErr: "missing created"},
		{name: "bad time", body: `{"id":"a","topic":"t","created":"yesterday"}`, wantErr: "ISO-8601"},
		{name: "id with spaces", body: `{"id":"a b","topic":"t","created":"2024-01-01T00:00:00Z"}`, wantErr: "id must be"},
		{name: "links not an object", body: `{"id":"a","topic":"t","created":"2024-01-01T00:00:00Z","_links":[1]}`, wantErr: "_links"},
		{name: "invalid UTF-8", body: "{\"id\":\"a\",\"topic\":\"t\xff\",\"created\":\"2024-01-01T00:00:00Z\"}", wantErr: "UTF-8"},
		{name: "deeply nested", body: `{"id":"a","topic":"t","created":"2024-01-01T00:00:00Z","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, wantErr: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseEvent([]byte(tt.body))
			if tt.wantErr != "" {
				require.Error(t, err)
				require.True(t, IsParseError(err))
				require.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, ev)
		})
	}
}

func TestCapturesParse(t *testing.T) {
	t.Parallel()
	caps, err := LoadCaptures("testdata/captures")
	require.NoError(t, err)
	// 44 recorded deliveries of 43 distinct events: v6 records one event
	// twice (leg 2 labels it customer_bank_transfer_created while its
	// payload says completed: a slip in Dwolla's data, and a real duplicate).
	require.Len(t, caps, 44)
	ids := map[string]bool{}
	for _, c := range caps {
		ev, err := ParseEvent(c.Payload)
		require.NoError(t, err, "%s leg %d %s", c.File, c.Leg, c.Topic)
		require.True(t, KnownTopic(ev.Topic), "topic %s", ev.Topic)
		require.Equal(t, "transfer", ev.ResourceType, "%s %s", c.File, ev.Topic)
		require.NotEmpty(t, ev.ResourceID)
		require.False(t, ev.Created.IsZero())
		ids[ev.ID] = true
	}
	require.Len(t, ids, 43)
}

func TestTopicCatalogue(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tp := range Topics() {
		require.False(t, seen[tp.Name], "duplicate topic %s", tp.Name)
		seen[tp.Name] = true
		require.NotEmpty(t, tp.Resource, tp.Name)
		require.NotEmpty(t, tp.Family, tp.Name)
		require.NotEmpty(t, tp.Description, tp.Name)
	}
	for _, name := range []string{"customer_transfer_completed", "customer_microdeposits_maxattempts", "customer_verified", "transfer_failed"} {
		require.True(t, KnownTopic(name), name)
	}
	tr, _ := LookupTopic("customer_transfer_failed")
	require.True(t, tr.Terminal)
	require.Equal(t, OutcomeFailure, tr.Outcome)
}
