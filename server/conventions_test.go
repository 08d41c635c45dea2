package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/auth"
)

// Commands other than serve, migrate and demo never create a database: a
// wrong DATABASE_URL is an error naming the path, and nothing appears there.
func TestCommandsDoNotCreateADatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "typo", "hooklens.db")
	c := newCLI(t, map[string]string{"DATABASE_URL": path, "DWOLLA_KEY": "k", "DWOLLA_SECRET": "s", "DWOLLA_API_URL": "http://127.0.0.1:1"})
	for _, args := range [][]string{
		{"token", "list"},
		{"token", "create", "--name", "x", "--role", "viewer"},
		{"token", "revoke", "x"},
		{"audit", "verify"},
		{"audit", "checkpoint"},
		{"keys", "status"},
		{"rollup", "status"},
		{"rollup", "flush"},
		{"sync", "--since", "1d"},
		{"reconcile"},
	} {
		code, out, errOut := c.run(args...)
		require.Equal(t, 1, code, "%v: %s%s", args, out, errOut)
		require.Contains(t, errOut, path, "%v names the path", args)
		_, err := os.Stat(path)
		require.True(t, os.IsNotExist(err), "%v created %s", args, path)
		_, err = os.Stat(filepath.Dir(path))
		require.True(t, os.IsNotExist(err), "%v created its directory", args)
	}
	code, _, errOut := c.run("migrate")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := c.run("token", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "NAME")
}

// A usage error prints what was wrong in one line and the command's own
// usage, not every configuration flag, and exits 2.
func TestUsageErrorsAreShort(t *testing.T) {
	t.Parallel()
	c := newCLI(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "h.db")})
	for _, tc := range []struct {
		args []string
		what string
	}{
		{[]string{"token", "create", "--bogus"}, "hooklens token create: flag provided but not defined: -bogus"},
		{[]string{"token", "create", "--role", "viewer"}, "hooklens token create: --name is required"},
		{[]string{"sync", "--since", "soon"}, "hooklens sync: --since must be"},
		{[]string{"reconcile", "--window", "-1h"}, "hooklens reconcile: --window must be"},
		{[]string{"version", "extra"}, "hooklens version: takes no arguments"},
		{[]string{"config", "--output", "yaml"}, `hooklens config: invalid value "yaml" for flag -output: must be text or json`},
	} {
		code, out, errOut := c.run(tc.args...)
		require.Equal(t, 2, code, "%v", tc.args)
		require.Empty(t, out)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		require.Equal(t, tc.what, lines[0][:min(len(lines[0]), len(tc.what))], "%v:\n%s", tc.args, errOut)
		require.Contains(t, errOut, "Usage: hooklens "+tc.args[0])
		require.NotContains(t, errOut, "-webhook-secret", "%v lists the configuration flags", tc.args)
		require.Less(t, len(lines), 20, "%v:\n%s", tc.args, errOut)
	}
	// -h on serve and config lists the configuration flags; elsewhere one
	// line points there.
	code, _, errOut := c.run("serve", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, errOut, "-webhook-secret")
	code, _, errOut = c.run("token", "list", "-h")
	require.Equal(t, 0, code)
	require.NotContains(t, errOut, "-webhook-secret")
	require.Contains(t, errOut, "hooklens config -h")
	require.Contains(t, errOut, "-output")
}

// The demo's help names its real default rate and how to start over.
func TestDemoHelp(t *testing.T) {
	t.Parallel()
	c := newCLI(t, nil)
	code, _, errOut := c.run("demo", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, errOut, "[--rate 4]")
	require.Contains(t, errOut, "(default 4)")
	require.Contains(t, errOut, "-fresh")
}

// Starting the demo again replaces its admin token instead of adding one
// more that still works.
func TestDemoTokenReplacesTheLastOne(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	first, err := demoToken(ctx, s.App)
	require.NoError(t, err)
	second, err := demoToken(ctx, s.App)
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	_, err = s.App.Auth.Authenticate(ctx, first)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "the last demo's token no longer works")
	p, err := s.App.Auth.Authenticate(ctx, second)
	require.NoError(t, err)
	require.True(t, p.IsAdmin())
	toks, err := s.App.Auth.ListTokens(ctx)
	require.NoError(t, err)
	active := 0
	for _, tk := range toks {
		if tk.RevokedAt == nil && strings.HasPrefix(tk.Name, demoAdminToken) {
			active++
		}
	}
	require.Equal(t, 1, active)

	dir := t.TempDir()
	db := filepath.Join(dir, "hooklens.db")
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	}
	require.NoError(t, removeDemoDatabase(db))
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestVersion(t *testing.T) {
	t.Parallel()
	c := newCLI(t, nil)
	code, out, errOut := c.run("version")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "hooklens ")
	require.Contains(t, out, "schema:")
	code, out, errOut = c.run("version", "--output", "json")
	require.Equal(t, 0, code, errOut)
	var v versionJSON
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	require.True(t, strings.HasPrefix(v.Go, "go"))
	require.NotEmpty(t, v.Version)
	require.NotEmpty(t, v.Schema)
}

// Every command that prints a result prints it as JSON with --output json.
func TestJSONOutput(t *testing.T) {
	t.Parallel()
	c := newCLI(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "h.db")})
	code, _, errOut := c.run("migrate")
	require.Equal(t, 0, code, errOut)
	decode := func(args ...string) any {
		t.Helper()
		code, out, errOut := c.run(args...)
		require.Equal(t, 0, code, "%v: %s", args, errOut)
		var v any
		require.NoError(t, json.Unmarshal([]byte(out), &v), "%v printed %s", args, out)
		return v
	}
	created := decode("token", "create", "--name", "ci", "--role", "admin", "--output", "json").(map[string]any)
	require.Regexp(t, `^hl_`, created["token"])
	require.Equal(t, "ci", created["name"])
	require.Equal(t, "admin", created["role"])
	list := decode("token", "list", "--json").([]any)
	require.Len(t, list, 1)
	require.Equal(t, "active", list[0].(map[string]any)["status"])
	require.NotContains(t, list[0], "token")
	cfg := decode("config", "--output", "json").(map[string]any)
	require.Equal(t, "127.0.0.1:8080", cfg["HOOKLENS_ADDR"])
	status := decode("rollup", "status", "--output", "json").(map[string]any)
	require.Contains(t, status, "pendingDeliveries")
	keys := decode("keys", "status", "--output", "json").(map[string]any)
	require.Contains(t, keys, "pending")
	verify := decode("audit", "verify", "--output", "json").(map[string]any)
	require.Equal(t, true, verify["ok"])
	require.NotEmpty(t, verify["anchor"])
}
