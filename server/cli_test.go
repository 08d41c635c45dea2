package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

// cli runs hooklens commands with a .env in a temp dir, as a user would.
type cli struct {
	t   *testing.T
	dir string
}

func newCLI(t *testing.T, env map[string]string) *cli {
	dir := t.TempDir()
	var b strings.Builder
	for k, v := range env {
		b.WriteString(k + "=" + v + "\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(b.String()), 0o600))
	return &cli{t: t, dir: dir}
}

func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, dir: c.dir})
	return code, out.String(), errb.String()
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "h.db")})
	code, _, errOut := c.run("migrate")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := c.run("token", "create", "--name", "grafana", "--role", "viewer")
	require.Equal(t, 0, code, errOut)
	tok := strings.TrimSpace(out)
	require.Regexp(t, `^hl_[A-Za-z0-9_-]{43}$`, tok, "only the token on stdout")

	code, out, _ = c.run("token", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "grafana")
	require.NotContains(t, out, tok, "a token is never shown again")

	code, _, errOut = c.run("token", "create", "--name", "x", "--role", "root")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "role must be admin or viewer")

	code, out, _ = c.run("token", "revoke", "grafana")
	require.Equal(t, 0, code)
	require.Contains(t, out, "revoked")
	code, out, _ = c.run("token", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "revoked")

	code, _, errOut = c.run("nonsense")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown command")
}

func TestConfigIsRedacted(t *testing.T) {
	t.Parallel()
	c := newCLI(t, map[string]string{
		"DWOLLA_WEBHOOK_SECRET": "super-secret-value",
		"DWOLLA_KEY":            "key-value-123", "DWOLLA_SECRET": "secret-value-456",
		"DATABASE_URL": "postgres://u:pw-789@db/x",
	})
	code, out, errOut := c.run("config")
	require.Equal(t, 0, code, errOut)
	for _, secret := range []string{"super-secret-value", "key-value-123", "secret-value-456", "pw-789"} {
		require.NotContains(t, out, secret)
	}
	require.Contains(t, out, "DWOLLA_KEY=<set>")

	c = newCLI(t, map[string]string{"HOOKLENS_MAX_BODY_BYTES": "tiny"})
	code, _, errOut = c.run("config")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "HOOKLENS_MAX_BODY_BYTES must be")
}

// The subscription commands against the fake Dwolla, round trip.
func TestDwollaSubscriptionCommands(t *testing.T) {
	t.Parallel()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "app", Secret: "sekret", Seed: 1})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	hook := "https://hooks.example.com/api/webhooks/dwolla/v2"
	c := newCLI(t, map[string]string{
		"DWOLLA_API_URL": fake.URL, "DWOLLA_KEY": "app", "DWOLLA_SECRET": "sekret",
		"DWOLLA_WEBHOOK_URL": hook, "DATABASE_URL": filepath.Join(t.TempDir(), "h.db"),
	})

	code, out, _ := c.run("dwolla", "check")
	require.Equal(t, 1, code)
	require.Contains(t, out, "[ok  ] credentials accepted")
	require.Contains(t, out, "[FAIL] subscribed")

	code, out, errOut := c.run("dwolla", "subscribe")
	require.Equal(t, 0, code, errOut)
	secret := regexp.MustCompile(`DWOLLA_WEBHOOK_SECRET=([A-Za-z0-9_-]+)`).FindStringSubmatch(out)
	require.Len(t, secret, 2, out)
	require.Len(t, secret[1], 43)
	id := regexp.MustCompile(`subscription ([0-9a-f-]{36})`).FindStringSubmatch(out)[1]
	require.Len(t, fake.Subscriptions(), 1)

	code, out, _ = c.run("dwolla", "check")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "is active")

	code, out, _ = c.run("dwolla", "subscriptions")
	require.Equal(t, 0, code)
	require.Contains(t, out, id)
	require.Contains(t, out, "yes")

	code, out, _ = c.run("dwolla", "check", "--output", "json")
	require.Equal(t, 0, code, out)
	var check struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &check), out)
	require.True(t, check.OK)
	require.Len(t, check.Checks, 3)
	code, out, _ = c.run("dwolla", "subscriptions", "--json")
	require.Equal(t, 0, code, out)
	var subs []struct {
		ID   string `json:"id"`
		Ours bool   `json:"ours"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &subs), out)
	require.Len(t, subs, 1)
	require.Equal(t, id, subs[0].ID)
	require.True(t, subs[0].Ours)

	code, _, _ = c.run("dwolla", "pause", id)
	require.Equal(t, 0, code)
	code, out, _ = c.run("dwolla", "check")
	require.Equal(t, 1, code)
	require.Contains(t, out, "PAUSED")
	code, out, _ = c.run("dwolla", "unpause", id)
	require.Equal(t, 0, code)
	require.Contains(t, out, "paused=false")

	code, _, errOut = c.run("dwolla", "delete", id)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "--yes")
	code, _, _ = c.run("dwolla", "delete", "--yes", id)
	require.Equal(t, 0, code)
	require.Empty(t, fake.Subscriptions())
}

func TestSyncCommand(t *testing.T) {
	t.Parallel()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "app", Secret: "sekret", Seed: 2})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	for i := 0; i < 250; i++ {
		_, err := fake.Emit("customer_funding_source_added", fakedwolla.Resource("funding-sources", "f"+strings.Repeat("0", 7)+"-0000-4000-8000-"+padInt(i)))
		require.NoError(t, err)
	}
	c := newCLI(t, map[string]string{
		"DWOLLA_API_URL": fake.URL, "DWOLLA_KEY": "app", "DWOLLA_SECRET": "sekret",
		"DATABASE_URL": filepath.Join(t.TempDir(), "h.db"),
	})
	code, _, errOut := c.run("migrate")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := c.run("sync", "--since", "1d")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "succeeded")
	require.Contains(t, out, "250 imported")
	require.Contains(t, errOut, "sync ", "a progress line on stderr")
	code, out, _ = c.run("sync", "--since", "1d")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 imported, 250 already here")

	code, out, errOut = c.run("reconcile", "--window", "1h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "health score")
	require.Contains(t, out, "events_complete")

	// The same results for scripts.
	code, out, errOut = c.run("sync", "--since", "1d", "--output", "json")
	require.Equal(t, 0, code, errOut)
	var run struct {
		Status         string `json:"status"`
		Seen           int    `json:"seen"`
		Imported       int    `json:"imported"`
		AlreadyPresent int    `json:"alreadyPresent"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &run), out)
	require.Equal(t, "succeeded", run.Status)
	require.Equal(t, 250, run.AlreadyPresent)
	require.Zero(t, run.Imported, "zeros are printed, not left out")
	require.Contains(t, out, `"imported": 0`)

	code, out, errOut = c.run("reconcile", "--window", "1h", "--json")
	require.Equal(t, 0, code, errOut)
	var rec struct {
		HealthScore *float64         `json:"healthScore"`
		Components  []map[string]any `json:"components"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rec), out)
	require.NotNil(t, rec.HealthScore)
	require.NotEmpty(t, rec.Components)
}

func padInt(i int) string { return fmt.Sprintf("%012d", i) }

func TestEnrichCommand(t *testing.T) {
	t.Parallel()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "app", Secret: "sekret", Seed: 4})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: fake.URL, Key: "app", Secret: "sekret", Seed: 4,
		Mix: simulate.Mix{"transfer": 1, "personal.verified": 1, "business.verified": 1, "funding.instant": 1,
			"transfer.completed": 1, "transfer.failed": 1, "masspayment.completed": 1}})
	require.NoError(t, err)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		require.NoError(t, d.Step(ctx))
	}
	require.NoError(t, d.Simulate(ctx))
	require.NoError(t, d.Simulate(ctx))
	c := newCLI(t, map[string]string{
		"DWOLLA_API_URL": fake.URL, "DWOLLA_KEY": "app", "DWOLLA_SECRET": "sekret", "HOOKLENS_ENRICH_RATE": "100",
		"DATABASE_URL": filepath.Join(t.TempDir(), "h.db"),
	})
	code, _, errOut := c.run("migrate")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = c.run("sync", "--since", "1d")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := c.run("enrich", "--history")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "enrich ", "a progress line on stderr")
	require.Contains(t, out, "history enriched")
	require.Regexp(t, `snapshots: [1-9]\d* fetched, 0 pending`, out)
	n := len(fake.Events())
	require.Contains(t, out, fmt.Sprintf("history %d/%d events", n, n))

	off := newCLI(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "h.db")})
	code, _, errOut = off.run("migrate")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = off.run("enrich")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "enrichment is off")
}

// TestServeTokenFile: with --token-file the first admin token goes to a
// file only its owner can read, never to stdout (where container logs
// would keep it).
func TestServeTokenFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newCLI(t, map[string]string{"DATABASE_URL": filepath.Join(dir, "h.db"), "HOOKLENS_ADDR": "127.0.0.1:0"})
	tokenFile := filepath.Join(dir, "admin-token")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--token-file", tokenFile}, &env{stdout: &out, stderr: &errb, dir: c.dir})
	}()
	var tok []byte
	require.Eventually(t, func() bool {
		tok, _ = os.ReadFile(tokenFile)
		return len(tok) > 0
	}, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.Equal(t, 0, <-done, errb.String())

	require.Regexp(t, `^hl_[A-Za-z0-9_-]{43}\n$`, string(tok))
	fi, err := os.Stat(tokenFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Contains(t, out.String(), "wrote it to "+tokenFile)
	require.NotContains(t, out.String(), strings.TrimSpace(string(tok)))
	require.NotContains(t, errb.String(), strings.TrimSpace(string(tok)))
}
