package alert_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/pipeline"
)

// payloadKeys is the documented payload (docs/alerts.md): every key, always
// present. Changing this list is changing a public contract.
var payloadKeys = []string{
	"acknowledgedAt", "acknowledgedBy", "alertId", "condition", "event", "id", "message", "notification",
	"resolvedAt", "resolvedBy", "rule", "ruleName", "sentAt", "severity", "startedAt", "status", "threshold",
	"title", "unit", "url", "value", "version",
}

// A generic webhook gets the documented JSON, signed when it has a secret.
func TestWebhookPayloadAndSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	const secret = "a-signing-secret-of-some-length"
	signed := b.webhook(t, "signed", secret)
	plain := b.webhook(t, "plain", "")
	require.True(t, alert.HasSecret(signed))
	require.False(t, alert.HasSecret(plain))
	b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters", Severity: ptr("critical")}, signed, plain)
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 7 })
	sum := b.evaluate(t, minutes(0))
	require.Equal(t, 2, sum.Deliveries)
	require.Zero(t, sum.DeliveryFailures)

	reqs := b.rx.requests()
	require.Len(t, reqs, 2)
	sigs := 0
	for _, r := range reqs {
		require.Equal(t, "/hook", r.Path)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "hooklens-alerts/1", r.Header.Get("User-Agent"))
		require.Equal(t, "fired", r.Header.Get(alert.EventHeader))
		var keys map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &keys))
		got := make([]string, 0, len(keys))
		for k := range keys {
			got = append(got, k)
		}
		slices.Sort(got)
		require.Equal(t, payloadKeys, got, "the payload's keys are a contract")
		require.Nil(t, keys["resolvedAt"])
		var p alert.Payload
		require.NoError(t, json.Unmarshal(r.Body, &p))
		require.Equal(t, p.ID, r.Header.Get(alert.DeliveryHeader))
		require.Equal(t, "critical", p.Severity)
		require.Equal(t, 7.0, *p.Value)
		if sig := r.Header.Get(alert.SignatureHeader); sig != "" {
			sigs++
			ts := r.Header.Get(alert.TimestampHeader)
			require.NotEmpty(t, ts)
			require.Equal(t, alert.Sign([]byte(secret), ts, r.Body), sig)
			require.True(t, strings.HasPrefix(sig, "sha256="))
			require.NotEqual(t, alert.Sign([]byte("another secret!!"), ts, r.Body), sig)
		} else {
			require.Empty(t, r.Header.Get(alert.TimestampHeader))
		}
	}
	require.Equal(t, 1, sigs, "only the channel with a secret signs")
}

// A Slack channel gets {"text", "blocks"}, with mrkdwn escaped so alert text
// cannot ping @channel or forge links.
func TestSlackMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	ch, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "slack", Kind: "slack", URL: b.rx.URL + "/services/T1/B1/xyz"})
	require.NoError(t, err)
	b.rule(t, alert.NewRule{Key: "anom", Condition: "anomaly"}, ch)
	now := t0
	require.NoError(t, b.db.Client.Anomaly.Create().SetKey("k").SetType("volume_spike").SetSeverity("critical").
		SetWindowStart(now).SetWindowEnd(now).SetObserved(1).SetExpected(1).SetScore(1).
		SetExplanation("<!channel> volume & <https://evil.example|click>").SetFirstSeenAt(now).SetLastSeenAt(now).Exec(ctx))
	require.Equal(t, 1, b.evaluate(t, now).Fired)

	reqs := b.rx.requests()
	require.Len(t, reqs, 1)
	require.Empty(t, reqs[0].Header.Get(alert.SignatureHeader))
	var msg struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(reqs[0].Body, &msg))
	require.Contains(t, msg.Text, "[FIRING] 1 open anomaly")
	require.NotContains(t, msg.Text, "<!channel>")
	types := []string{}
	for _, bl := range msg.Blocks {
		types = append(types, bl["type"].(string))
	}
	require.Equal(t, []string{"header", "section", "context", "actions"}, types)
	section := msg.Blocks[1]["text"].(map[string]any)
	require.Equal(t, "mrkdwn", section["type"])
	require.Contains(t, section["text"], "&lt;!channel&gt; volume &amp; &lt;https://evil.example|click&gt;")
	button := msg.Blocks[3]["elements"].([]any)[0].(map[string]any)
	require.True(t, strings.HasPrefix(button["url"].(string), "https://hooklens.example.com/alerts/"))
}

// Deliveries retry 5xx and time-outs with backoff, not other 4xx, and never
// follow redirects; every outcome lands on the channel.
func TestDeliveryRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"), setupOptions{opts: alert.Options{Timeout: 300 * time.Millisecond}})
	ctx := context.Background()
	ch := b.webhook(t, "hook", "")

	b.rx.setRespond(func(n int) (int, string, time.Duration) {
		if n < 3 {
			return http.StatusInternalServerError, "try later", 0
		}
		return http.StatusNoContent, "", 0
	})
	d, err := b.svc.Test(ctx, ch.ID)
	require.NoError(t, err)
	require.True(t, d.OK, "%+v", d)
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, http.StatusNoContent, d.Status)
	ps := b.rx.payloads(t)
	require.Len(t, ps, 3)
	require.Equal(t, "test", ps[0].Event)
	require.Equal(t, ps[0].ID, ps[2].ID, "retries repeat the notification id")

	b.rx.setRespond(func(int) (int, string, time.Duration) { return http.StatusBadRequest, "bad payload", 0 })
	d, err = b.svc.Test(ctx, ch.ID)
	require.NoError(t, err)
	require.False(t, d.OK)
	require.Equal(t, 1, d.Attempts, "a 400 is not retried")
	require.Equal(t, "the receiver answered 400: bad payload", d.Error)
	got, err := b.db.Client.AlertChannel.Get(ctx, ch.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastFailureAt)
	require.NotNil(t, got.LastSuccessAt)
	require.Equal(t, d.Error, got.LastError)

	b.rx.setRespond(func(int) (int, string, time.Duration) { return http.StatusTooManyRequests, "", 0 })
	d, _ = b.svc.Test(ctx, ch.ID)
	require.Equal(t, 3, d.Attempts, "429 is retried")

	// A receiver slower than the timeout: each attempt gives up in time.
	b.rx.setRespond(func(int) (int, string, time.Duration) { return http.StatusOK, "", 3 * time.Second })
	start := time.Now()
	d, _ = b.svc.Test(ctx, ch.ID)
	require.False(t, d.OK)
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, "no answer within 300ms", d.Error)
	require.Less(t, time.Since(start), 2*time.Second, "3 × 300ms plus backoff")

	// A redirect is a failure and is not followed.
	var followed atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	redirect, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "redirect", Kind: "webhook", URL: redirector.URL})
	require.NoError(t, err)
	d, _ = b.svc.Test(ctx, redirect.ID)
	require.False(t, d.OK)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, http.StatusTemporaryRedirect, d.Status)
	require.Contains(t, d.Error, "redirect")
	require.False(t, followed.Load())

	_, err = b.svc.Test(ctx, 123456)
	require.Error(t, err)
}

// A slow receiver costs an evaluation a bounded time and does not delay
// the other channels' deliveries; disabled channels get nothing.
func TestSlowReceiverIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"), setupOptions{opts: alert.Options{Timeout: 200 * time.Millisecond, Attempts: 2}})
	ctx := context.Background()
	slow := newReceiver(t)
	slow.setRespond(func(int) (int, string, time.Duration) { return http.StatusOK, "", 5 * time.Second })
	slowCh, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "slow", Kind: "webhook", URL: slow.URL})
	require.NoError(t, err)
	fast := b.webhook(t, "fast", "")
	off := b.webhook(t, "off", "")
	_, err = b.svc.SetChannelEnabled(ctx, off.ID, false)
	require.NoError(t, err)
	b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters"}, slowCh, fast, off)
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 1 })

	start := time.Now()
	sum := b.evaluate(t, minutes(0))
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, 2, sum.Deliveries, "the disabled channel is skipped")
	require.Equal(t, 1, sum.DeliveryFailures)
	require.Len(t, b.rx.requests(), 1)
	require.Len(t, slow.requests(), 2)

	a := b.alerts(t, "dl")[0]
	log := alert.NotificationLog(a)
	require.Len(t, log, 2)
	byName := map[string]alert.Delivery{}
	for _, d := range log {
		byName[d.Channel] = d
	}
	require.True(t, byName["fast"].OK)
	require.False(t, byName["slow"].OK)
	require.Equal(t, "no answer within 200ms", byName["slow"].Error)
	require.Equal(t, "fired", byName["slow"].Event)

	require.Equal(t, 1.0, counterValue(t, b, "webhook", "ok"))
	require.Equal(t, 1.0, counterValue(t, b, "webhook", "error"))
}

// A channel's URL (Slack's carry a token) and secret never appear in an
// error, a stored delivery, the channel, or the log.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	const token, secret = "T0KEN-s3cr3t-path", "hmac-secret-value-123"
	// A receiver that echoes the request path, as some error pages do.
	b.rx.setRespond(func(int) (int, string, time.Duration) { return http.StatusNotFound, "", 0 })
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no route for " + r.URL.String() + " sig " + r.Header.Get(alert.SignatureHeader)))
	}))
	t.Cleanup(echo.Close)
	slack, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "slack", Kind: "slack", URL: echo.URL + "/services/" + token})
	require.NoError(t, err)
	hook, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "hook", Kind: "webhook", URL: echo.URL + "/h?key=" + token, Secret: secret})
	require.NoError(t, err)
	require.Equal(t, echo.URL, slack.URLHint, "the hint is scheme and host only")
	require.True(t, strings.HasPrefix(string(slack.URLSealed), "identity\x00"), "encoding, a zero byte, sealed bytes")

	// A receiver that is gone: the error names the address, not the URL.
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	down, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "down", Kind: "slack", URL: goneURL + "/services/" + token})
	require.NoError(t, err)

	b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters"}, slack, hook, down)
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 1 })
	sum := b.evaluate(t, minutes(0))
	require.Equal(t, 3, sum.DeliveryFailures)
	for _, ch := range []*ent.AlertChannel{slack, hook, down} {
		d, err := b.svc.Test(ctx, ch.ID)
		require.NoError(t, err)
		require.False(t, d.OK)
		t.Logf("%s: %s", ch.Name, d.Error)
		require.NotContains(t, d.Error, token)
		require.NotContains(t, d.Error, secret)
		got, err := b.db.Client.AlertChannel.Get(ctx, ch.ID)
		require.NoError(t, err)
		require.NotEmpty(t, got.LastError)
		require.NotContains(t, got.LastError, token)
		raw, err := json.Marshal(got)
		require.NoError(t, err)
		require.NotContains(t, string(raw), token, "the ent value's JSON never carries the sealed fields")
	}
	a := b.alerts(t, "dl")[0]
	raw, err := json.Marshal(a.NotificationLog)
	require.NoError(t, err)
	require.NotContains(t, string(raw), token)
	require.Contains(t, string(raw), "the receiver answered 404")
	require.NotContains(t, b.logs.String(), token)
	require.NotContains(t, b.logs.String(), secret)

	_, err = b.svc.CreateChannel(ctx, alert.NewChannel{Name: "bad", Kind: "slack", URL: "ftp://example.com/" + token})
	requireField(t, err, "url")
	require.NotContains(t, err.Error(), token)
}

func counterValue(t *testing.T, b *testBundle, kind, result string) float64 {
	t.Helper()
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "hooklens_alert_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
