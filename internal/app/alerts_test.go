package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
)

// receiver is a local HTTP endpoint collecting alert notifications.
type receiver struct {
	mu       sync.Mutex
	payloads []map[string]any
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m["_signature"] = req.Header.Get("X-Hooklens-Signature-256")
		r.mu.Lock()
		r.payloads = append(r.payloads, m)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.payloads...)
}

func TestAlertsThroughGraphQL(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	recv := newReceiver(t)

	var conds struct {
		AlertConditions []struct{ Name string } `json:"alertConditions"`
	}
	s.MustGraphQL(`{ alertConditions { name } }`, nil, &conds)
	require.GreaterOrEqual(t, len(conds.AlertConditions), 9)

	var ch struct {
		CreateAlertChannel struct {
			ID      string `json:"id"`
			URLHint string `json:"urlHint"`
			Signed  bool   `json:"signed"`
		} `json:"createAlertChannel"`
	}
	s.MustGraphQL(`mutation($url: String!) { createAlertChannel(input: {name: "ops", kind: webhook, url: $url, secret: "0123456789abcdef0123"}) { id urlHint signed } }`,
		map[string]any{"url": recv.srv.URL + "/hook?token=secret-in-url"}, &ch)
	require.True(t, ch.CreateAlertChannel.Signed)
	require.NotContains(t, ch.CreateAlertChannel.URLHint, "secret-in-url", "the URL is never shown again")

	var tested struct {
		TestAlertChannel struct{ Ok bool } `json:"testAlertChannel"`
	}
	s.MustGraphQL(`mutation($id: ID!) { testAlertChannel(id: $id) { ok } }`, map[string]any{"id": ch.CreateAlertChannel.ID}, &tested)
	require.True(t, tested.TestAlertChannel.Ok)
	require.Len(t, recv.got(), 1)
	require.NotEmpty(t, recv.got()[0]["_signature"])

	// Point the dead-letter rule at the channel, make a dead letter, evaluate.
	var rules struct {
		AlertRules []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"alertRules"`
	}
	s.MustGraphQL(`{ alertRules { id key } }`, nil, &rules)
	var ruleID string
	for _, r := range rules.AlertRules {
		if r.Key == "dead_letters" {
			ruleID = r.ID
		}
	}
	require.NotEmpty(t, ruleID)
	r := s.GraphQL(s.Viewer, `mutation($id: ID!) { setAlertRuleEnabled(id: $id, enabled: false) { enabled } }`, map[string]any{"id": ruleID})
	require.Equal(t, http.StatusForbidden, r.Status)
	s.MustGraphQL(`mutation($id: ID!, $ch: ID!) { updateAlertRule(id: $id, input: {channelIDs: [$ch]}) { key } }`,
		map[string]any{"id": ruleID, "ch": ch.CreateAlertChannel.ID}, nil)

	code, _ := receive(t, s, eventBody("dead-1", "customer_created"))
	require.Equal(t, http.StatusOK, code)
	waitProcessed(t, s, 1)
	_, err := s.App.DB.Write.Exec("UPDATE event_queue SET state = 'failed', last_error = 'boom' WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE event_id = 'dead-1')")
	require.NoError(t, err)

	ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"token": s.Viewer})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.SubscribeWait("a", `subscription { alertChanged { ruleKey status } }`, nil)

	_, err = s.App.Alerts.Evaluate(context.Background(), time.Now())
	require.NoError(t, err)
	var fired struct {
		AlertChanged struct {
			RuleKey string `json:"ruleKey"`
			Status  string `json:"status"`
		} `json:"alertChanged"`
	}
	ws.NextData(10*time.Second, &fired)
	require.Equal(t, "dead_letters", fired.AlertChanged.RuleKey)
	require.Equal(t, "firing", fired.AlertChanged.Status)
	require.Eventually(t, func() bool { return len(recv.got()) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "firing", recv.got()[1]["status"])

	var alerts struct {
		Alerts struct {
			Edges []struct {
				Node struct {
					ID              string `json:"id"`
					Status          string `json:"status"`
					NotificationLog []struct {
						Ok bool `json:"ok"`
					} `json:"notificationLog"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"alerts"`
	}
	s.MustGraphQL(`{ alerts(where: {status: firing}) { edges { node { id status notificationLog { ok } } } } }`, nil, &alerts)
	require.Len(t, alerts.Alerts.Edges, 1)
	id := alerts.Alerts.Edges[0].Node.ID
	s.MustGraphQL(`mutation($id: ID!) { acknowledgeAlert(id: $id) { status } }`, map[string]any{"id": id}, nil)
	s.MustGraphQL(`mutation($id: ID!) { resolveAlert(id: $id, note: "fixed the bug, replayed") { status } }`, map[string]any{"id": id}, nil)
	s.MustGraphQL(`{ alerts(where: {status: resolved}) { edges { node { id status notificationLog { ok } } } } }`, nil, &alerts)
	require.Len(t, alerts.Alerts.Edges, 1)
}

// TestAuditRedactsSecretsBySchemaPosition: alert channels' URLs and
// secrets are marked @secret in the schema, so the trail never holds them,
// whatever the variables are called, also when the mutation fails.
func TestAuditRedactsSecretsBySchemaPosition(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	const hook, sig = "https://hooks.example.com/services/T0/B0/tok-in-the-url", "sig-0123456789abcdef"
	// Inline input with innocently named variables.
	s.MustGraphQL(`mutation($hook: String, $sig: String) { createAlertChannel(input: {name: "a", kind: webhook, url: $hook, secret: $sig}) { id } }`,
		map[string]any{"hook": hook, "sig": sig}, nil)
	// The whole input in one variable, and an update.
	var ch struct {
		CreateAlertChannel struct{ ID string } `json:"createAlertChannel"`
	}
	s.MustGraphQL(`mutation($x: CreateAlertChannelInput!) { createAlertChannel(input: $x) { id } }`,
		map[string]any{"x": map[string]any{"name": "b", "kind": "webhook", "url": hook, "secret": sig}}, &ch)
	s.MustGraphQL(`mutation($id: ID!, $a: String) { updateAlertChannel(id: $id, input: {url: $a}) { id } }`,
		map[string]any{"id": ch.CreateAlertChannel.ID, "a": hook + "2"}, nil)
	// A mutation that fails (cloud metadata is never an alert target) is
	// recorded too, still without the values.
	r := s.GraphQL(s.Admin, `mutation($h: String, $s: String) { createAlertChannel(input: {name: "c", kind: webhook, url: $h, secret: $s}) { id } }`,
		map[string]any{"h": "http://169.254.169.254/latest/tok-in-the-url", "s": sig})
	require.NotEmpty(t, r.Errors)

	var trail struct {
		AuditLogs struct {
			Edges []struct {
				Node struct {
					Action string         `json:"action"`
					Detail map[string]any `json:"detail"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"auditLogs"`
	}
	s.MustGraphQL(`{ auditLogs(first: 100) { edges { node { action detail } } } }`, nil, &trail)
	var n int
	for _, e := range trail.AuditLogs.Edges {
		if !strings.HasPrefix(e.Node.Action, "mutation.") || e.Node.Action == "mutation.createAPIToken" {
			continue
		}
		n++
		raw, err := json.Marshal(e.Node.Detail)
		require.NoError(t, err)
		require.NotContains(t, string(raw), "tok-in-the-url", "%s: %s", e.Node.Action, raw)
		require.NotContains(t, string(raw), sig, "%s: %s", e.Node.Action, raw)
		require.Contains(t, string(raw), "[redacted]", "%s: %s", e.Node.Action, raw)
	}
	require.Equal(t, 4, n)
}

// TestAlertChannelTestDuration: testAlertChannel reports how long the
// attempt took (it was always 0).
func TestAlertChannelTestDuration(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	t.Cleanup(slow.Close)
	var ch struct {
		CreateAlertChannel struct{ ID string } `json:"createAlertChannel"`
	}
	s.MustGraphQL(`mutation($url: String!) { createAlertChannel(input: {name: "slow", kind: webhook, url: $url}) { id } }`,
		map[string]any{"url": slow.URL + "/hook"}, &ch)
	var tested struct {
		TestAlertChannel struct {
			Ok         bool    `json:"ok"`
			DurationMs float64 `json:"durationMs"`
		} `json:"testAlertChannel"`
	}
	s.MustGraphQL(`mutation($id: ID!) { testAlertChannel(id: $id) { ok durationMs } }`, map[string]any{"id": ch.CreateAlertChannel.ID}, &tested)
	require.True(t, tested.TestAlertChannel.Ok)
	// At least the receiver's pause: a lower bound, true however busy the machine.
	require.GreaterOrEqual(t, tested.TestAlertChannel.DurationMs, 300.0)
}
