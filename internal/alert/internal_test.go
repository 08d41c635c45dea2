package alert

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The dialer refuses link-local, metadata and similar addresses after DNS
// resolution, so a host name pointing there is refused too; loopback and
// private ranges stay reachable.
func TestDialRefusesSpecialAddresses(t *testing.T) {
	t.Parallel()
	for addr, blocked := range map[string]bool{
		"169.254.169.254:80":     true,
		"[fe80::1]:443":          true,
		"[::ffff:169.254.1.1]:1": true,
		"0.0.0.0:80":             true,
		"[::]:80":                true,
		"224.0.0.1:80":           true,
		"[fd00:ec2::254]:80":     true,
		"100.100.100.200:80":     true,
		"127.0.0.1:8080":         false,
		"10.1.2.3:443":           false,
		"[2001:db8::1]:443":      false,
	} {
		err := dialControl("tcp", addr, nil)
		require.Equal(t, blocked, errors.Is(err, errBlockedAddr), addr)
	}
	// The real client, end to end: refused before any packet leaves.
	c := newHTTPClient(time.Second)
	_, err := c.Get("http://169.254.169.254/latest/meta-data/")
	require.ErrorIs(t, err, errBlockedAddr)
	require.Equal(t, errBlockedAddr, describeError(err, time.Second))
}

func TestHostPolicy(t *testing.T) {
	t.Parallel()
	p, err := parseHostPolicy([]string{" Hooks.Slack.com ", "*.example.com", ""})
	require.NoError(t, err)
	for host, ok := range map[string]bool{
		"hooks.slack.com": true, "HOOKS.SLACK.COM": true, "hooks.slack.com.": true,
		"a.example.com": true, "a.b.example.com": true, "example.com": false, "badexample.com": false,
		"slack.com": false, "evil.test": false,
	} {
		require.Equal(t, ok, p.allows(host), host)
	}
	empty, err := parseHostPolicy(nil)
	require.NoError(t, err)
	require.True(t, empty.allows("anything.test"))
	for _, bad := range []string{"https://x.com", "x.com:443", "x.com/path", "*", "a.*.com", "*."} {
		_, err := parseHostPolicy([]string{bad})
		require.Error(t, err, bad)
	}
	require.True(t, blockedAddr(netip.MustParseAddr("169.254.0.1")))
}

func TestRedact(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("https://user:pw@hooks.example.com/services/T/B/tok?key=abc")
	require.NoError(t, err)
	msg := redact("Post https://user:pw@hooks.example.com/services/T/B/tok?key=abc: /services/T/B/tok?key=abc key=abc secretvalue",
		u, []byte("secretvalue"))
	for _, leak := range []string{"tok", "abc", "pw", "secretvalue"} {
		require.NotContains(t, msg, leak)
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 6*time.Minute + 12*time.Second: "6m12s", time.Hour: "1h",
		3*time.Hour + 5*time.Minute: "3h5m", 50 * time.Hour: "2d2h", 72 * time.Hour: "3d",
	} {
		require.Equal(t, want, fmtDuration(d))
	}
	require.Equal(t, "12.5%", fmtValue("processing_error_rate", 12.5))
	require.Equal(t, "5m", fmtValue("queue_age", 300))
	require.Equal(t, "72.5", fmtValue("health_score", 72.5))
	require.Equal(t, "ab…", clip("abc", 2))
	require.Equal(t, "é…", clip("éé", 3), "never cut a rune in half")
	require.Equal(t, "&lt;!here&gt; &amp;", slackEscape("<!here> &"))
}
