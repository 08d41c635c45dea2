package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookupOf(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Bind(flag.NewFlagSet("x", flag.ContinueOnError)).Load(lookupOf(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.Addr)
	require.Equal(t, "./data/hooklens.db", c.DatabaseURL)
	require.Equal(t, int64(1<<20), c.MaxBodyBytes)
	require.Empty(t, c.WebhookSecrets)
	require.Equal(t, 5*time.Second, c.IngestTimeout)
	require.False(t, c.Postgres())
	require.Equal(t, "http://127.0.0.1:8080", c.BaseURL())
}

func TestPrecedenceAndValidation(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	l := Bind(fs)
	require.NoError(t, fs.Parse([]string{"--addr", ":9999"}))
	c, err := l.Load(lookupOf(map[string]string{
		"HOOKLENS_ADDR":         "127.0.0.1:1",
		"DWOLLA_WEBHOOK_SECRET": " new , old ,",
		"DATABASE_URL":          "postgres://u:hunter2@db:5432/h",
	}))
	require.NoError(t, err)
	require.Equal(t, ":9999", c.Addr, "flags beat the environment")
	require.Equal(t, []string{"new", "old"}, c.WebhookSecrets)
	require.True(t, c.Postgres())
	require.Equal(t, "http://127.0.0.1:9999", c.BaseURL())

	_, err = Bind(flag.NewFlagSet("x", flag.ContinueOnError)).Load(lookupOf(map[string]string{
		"HOOKLENS_LOG_LEVEL":      "loud",
		"HOOKLENS_MAX_BODY_BYTES": "ten",
		"DWOLLA_WEBHOOK_SECRET":   strings.Repeat("s", 129),
		"DATABASE_URL":            "mysql://x",
	}))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"HOOKLENS_LOG_LEVEL must be", "HOOKLENS_MAX_BODY_BYTES must be", "DWOLLA_WEBHOOK_SECRET each secret", "DATABASE_URL must be"} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, strings.Repeat("s", 129), "errors never echo a secret")
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	c, err := Bind(flag.NewFlagSet("x", flag.ContinueOnError)).Load(lookupOf(map[string]string{
		"DWOLLA_WEBHOOK_SECRET": "topsecret1,topsecret2",
		"DATABASE_URL":          "postgres://user:hunter2@db/h?sslmode=disable&password=hunter3",
	}))
	require.NoError(t, err)
	var b strings.Builder
	c.Print(&b)
	out := b.String()
	require.NotContains(t, out, "topsecret")
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, "hunter3")
	require.Contains(t, out, "DWOLLA_WEBHOOK_SECRET=<2 secret(s) set>")
	require.Contains(t, out, "user:xxxxx@db")
}

func TestDotEnv(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("HOOKLENS_LOG_LEVEL=debug\nHOOKLENS_TEST_ONLY_KEY=fromfile\n"), 0o600))
	t.Setenv("HOOKLENS_TEST_ONLY_KEY", "fromenv")
	lookup, err := Environment(dir)
	require.NoError(t, err)
	v, _ := lookup("HOOKLENS_LOG_LEVEL")
	require.Equal(t, "debug", v)
	v, _ = lookup("HOOKLENS_TEST_ONLY_KEY")
	require.Equal(t, "fromenv", v, "the environment beats .env")
}

// TestReadmeDocumentsEverySetting keeps the README's configuration table
// complete: every setting must appear there with its flag.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, s := range Settings {
		require.Contains(t, string(readme), "| `"+s.Env+"` | `--"+s.Flag+"` |", "README.md must document %s", s.Env)
	}
	redacted := Config{}.Redacted()
	require.Len(t, redacted, len(Settings))
	for _, kv := range redacted {
		require.NotEqual(t, "?", kv[1], "Redacted() must cover %s", kv[0])
	}
}
