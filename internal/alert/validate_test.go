package alert_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Invalid rules are refused with an error naming the field, in words.
func TestRuleValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	ok := alert.NewRule{Key: "fine", Name: "Fine", Condition: "processing_error_rate"}
	_, err := b.svc.CreateRule(ctx, ok)
	require.NoError(t, err)

	cases := []struct {
		name  string
		edit  func(r *alert.NewRule)
		field string
	}{
		{"empty key", func(r *alert.NewRule) { r.Key = "" }, "key"},
		{"key with capitals", func(r *alert.NewRule) { r.Key = "Bad-Key" }, "key"},
		{"duplicate key", func(r *alert.NewRule) { r.Key = "fine" }, "key"},
		{"empty name", func(r *alert.NewRule) { r.Name = "  " }, "name"},
		{"long name", func(r *alert.NewRule) { r.Name = strings.Repeat("n", 201) }, "name"},
		{"unknown condition", func(r *alert.NewRule) { r.Condition = "cpu" }, "condition"},
		{"percent of 0", func(r *alert.NewRule) { r.Threshold = ptr(0.0) }, "threshold"},
		{"percent over 100", func(r *alert.NewRule) { r.Threshold = ptr(150.0) }, "threshold"},
		{"NaN", func(r *alert.NewRule) { r.Threshold = ptr(math.NaN()) }, "threshold"},
		{"count of 0", func(r *alert.NewRule) { r.Condition, r.Threshold = "dead_letters", ptr(0.0) }, "threshold"},
		{"score over 100", func(r *alert.NewRule) { r.Condition, r.Threshold = "health_score", ptr(101.0) }, "threshold"},
		{"negative seconds", func(r *alert.NewRule) { r.Condition, r.Threshold = "queue_age", ptr(-5.0) }, "threshold"},
		{"window not a duration", func(r *alert.NewRule) { r.Window = ptr("5 minutes") }, "window"},
		{"window too short", func(r *alert.NewRule) { r.Window = ptr("30s") }, "window"},
		{"window too long", func(r *alert.NewRule) { r.Window = ptr("800h") }, "window"},
		{"negative for", func(r *alert.NewRule) { r.For = ptr("-1m") }, "for"},
		{"for over a day", func(r *alert.NewRule) { r.For = ptr("25h") }, "for"},
		{"renotify too often", func(r *alert.NewRule) { r.Renotify = ptr("10s") }, "renotify"},
		{"unknown severity", func(r *alert.NewRule) { r.Severity = ptr("fatal") }, "severity"},
		{"unknown param", func(r *alert.NewRule) { r.Params = map[string]any{"minimum": 3} }, "params.minimum"},
		{"param on a condition without", func(r *alert.NewRule) { r.Condition, r.Params = "breaker_open", map[string]any{"x": 1} }, "params.x"},
		{"int param as text", func(r *alert.NewRule) { r.Params = map[string]any{"min_attempts": "ten"} }, "params.min_attempts"},
		{"negative int param", func(r *alert.NewRule) { r.Params = map[string]any{"min_attempts": -1} }, "params.min_attempts"},
		{"fractional int param", func(r *alert.NewRule) { r.Params = map[string]any{"min_attempts": 2.5} }, "params.min_attempts"},
		{"param out of its values", func(r *alert.NewRule) {
			r.Condition, r.Params = "anomaly", map[string]any{"min_severity": "huge"}
		}, "params.min_severity"},
		{"unknown channel", func(r *alert.NewRule) { r.ChannelIDs = []int{424242} }, "channelIDs"},
	}
	for _, tc := range cases {
		in := ok
		in.Key = "other"
		tc.edit(&in)
		_, err := b.svc.CreateRule(ctx, in)
		requireField(t, err, tc.field)
		require.True(t, strings.HasPrefix(err.Error(), tc.field+":"), "%s: %q should start with the field", tc.name, err)
	}

	// Valid edge values, and the ways a GraphQL Map delivers numbers.
	for i, edit := range []func(r *alert.NewRule){
		func(r *alert.NewRule) { r.Renotify = ptr("0s") },
		func(r *alert.NewRule) { r.For, r.Window = ptr("24h"), ptr("720h") },
		func(r *alert.NewRule) { r.Params = map[string]any{"min_attempts": json.Number("50")} },
		func(r *alert.NewRule) { r.Params = map[string]any{"min_attempts": 50.0} },
		func(r *alert.NewRule) { r.Condition, r.Threshold = "breaker_open", ptr(0.0) },
	} {
		in := ok
		in.Key = "valid_" + string(rune('a'+i))
		edit(&in)
		_, err := b.svc.CreateRule(ctx, in)
		require.NoError(t, err, "case %d", i)
	}

	// Updates validate the same way; key and condition stay.
	r, err := b.svc.CreateRule(ctx, alert.NewRule{Key: "upd", Name: "Upd", Condition: "anomaly"})
	require.NoError(t, err)
	require.Equal(t, "warning", r.Params["min_severity"], "params default from the built-in")
	_, err = b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{Window: ptr("soon")})
	requireField(t, err, "window")
	_, err = b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{Params: map[string]any{"scope": "all"}})
	requireField(t, err, "params.scope")
	_, err = b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{ChannelIDs: &[]int{999}})
	requireField(t, err, "channelIDs")
	_, err = b.svc.UpdateRule(ctx, 999999, alert.RulePatch{})
	ue, isUser := usererr.As(err)
	require.True(t, isUser)
	require.Equal(t, usererr.NotFound, ue.Kind)

	hook := b.webhook(t, "hook", "")
	upd, err := b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{Name: ptr("Renamed"), Threshold: ptr(3.0),
		Params: map[string]any{"min_severity": "critical"}, ChannelIDs: &[]int{hook.ID}, Enabled: ptr(false)})
	require.NoError(t, err)
	require.Equal(t, "Renamed", upd.Name)
	require.Equal(t, 3.0, upd.Threshold)
	require.False(t, upd.Enabled)
	chans, err := upd.QueryChannels().IDs(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{hook.ID}, chans)
	upd, err = b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{ChannelIDs: &[]int{}})
	require.NoError(t, err)
	n, err := upd.QueryChannels().Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = b.svc.RestoreRule(ctx, r.ID)
	ue, isUser = usererr.As(err)
	require.True(t, isUser)
	require.Equal(t, usererr.Conflict, ue.Kind, "only built-ins restore")
}

// Invalid channels are refused with an error naming the field; URLs must
// be http(s), not link-local, and on the allow-list when there is one.
func TestChannelValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"), setupOptions{opts: alert.Options{AllowedHosts: []string{"hooks.slack.com", "*.example.com", "127.0.0.1"}}})
	ctx := context.Background()
	_, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "taken", Kind: "log"})
	require.NoError(t, err)
	const secret = "sixteen-chars-ok"

	cases := []struct {
		name  string
		in    alert.NewChannel
		field string
	}{
		{"no name", alert.NewChannel{Kind: "log"}, "name"},
		{"taken name", alert.NewChannel{Name: "taken", Kind: "log"}, "name"},
		{"unknown kind", alert.NewChannel{Name: "x", Kind: "email"}, "kind"},
		{"webhook without URL", alert.NewChannel{Name: "x", Kind: "webhook"}, "url"},
		{"log with URL", alert.NewChannel{Name: "x", Kind: "log", URL: "https://a.example.com"}, "url"},
		{"log with secret", alert.NewChannel{Name: "x", Kind: "log", Secret: secret}, "secret"},
		{"ftp", alert.NewChannel{Name: "x", Kind: "webhook", URL: "ftp://a.example.com/"}, "url"},
		{"javascript", alert.NewChannel{Name: "x", Kind: "webhook", URL: "javascript:alert(1)"}, "url"},
		{"no host", alert.NewChannel{Name: "x", Kind: "webhook", URL: "https:///path"}, "url"},
		{"not a URL", alert.NewChannel{Name: "x", Kind: "webhook", URL: "http://[::1"}, "url"},
		{"metadata service", alert.NewChannel{Name: "x", Kind: "webhook", URL: "http://169.254.169.254/latest/meta-data"}, "url"},
		{"link-local v6", alert.NewChannel{Name: "x", Kind: "webhook", URL: "http://[fe80::1]/"}, "url"},
		{"unspecified", alert.NewChannel{Name: "x", Kind: "webhook", URL: "http://0.0.0.0:8080/"}, "url"},
		{"not allowed", alert.NewChannel{Name: "x", Kind: "webhook", URL: "https://evil.test/hook"}, "url"},
		{"suffix is not the domain", alert.NewChannel{Name: "x", Kind: "webhook", URL: "https://notexample.com/"}, "url"},
		{"too long", alert.NewChannel{Name: "x", Kind: "webhook", URL: "https://a.example.com/" + strings.Repeat("a", 2100)}, "url"},
		{"slack with secret", alert.NewChannel{Name: "x", Kind: "slack", URL: "https://hooks.slack.com/services/x", Secret: secret}, "secret"},
		{"short secret", alert.NewChannel{Name: "x", Kind: "webhook", URL: "https://a.example.com/", Secret: "short"}, "secret"},
	}
	for _, tc := range cases {
		_, err := b.svc.CreateChannel(ctx, tc.in)
		requireField(t, err, tc.field)
		require.True(t, strings.HasPrefix(err.Error(), tc.field+":"), "%s: %q", tc.name, err)
	}

	for _, u := range []string{"https://hooks.slack.com/services/T/B/x", "https://a.example.com/x", "HTTPS://b.c.example.com:8443/x"} {
		ch, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: u, Kind: "webhook", URL: u, Secret: secret})
		require.NoError(t, err, u)
		require.NotContains(t, ch.URLHint, "/x")
		require.True(t, strings.HasPrefix(ch.URLHint, "https://"), ch.URLHint)
	}

	ch, err := b.svc.CreateChannel(ctx, alert.NewChannel{Name: "edit", Kind: "webhook", URL: "https://a.example.com/1", Secret: secret})
	require.NoError(t, err)
	_, err = b.svc.UpdateChannel(ctx, ch.ID, alert.ChannelPatch{Name: ptr("taken")})
	requireField(t, err, "name")
	_, err = b.svc.UpdateChannel(ctx, ch.ID, alert.ChannelPatch{URL: ptr("gopher://a.example.com")})
	requireField(t, err, "url")
	upd, err := b.svc.UpdateChannel(ctx, ch.ID, alert.ChannelPatch{URL: ptr("https://z.example.com/2"), Secret: ptr("")})
	require.NoError(t, err)
	require.Equal(t, "https://z.example.com", upd.URLHint)
	require.False(t, alert.HasSecret(upd), `an empty secret removes it`)
	require.NoError(t, b.svc.DeleteChannel(ctx, ch.ID))
	require.Error(t, b.svc.DeleteChannel(ctx, ch.ID))

	_, err = alert.New(b.db, b.facts, identitySealer{}, b.hub, testLogger(t), alert.Options{AllowedHosts: []string{"https://x.com"}})
	require.ErrorContains(t, err, "host name only")
}
