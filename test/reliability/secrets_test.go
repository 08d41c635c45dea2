//go:build reliability

package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
)

func newKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// graphql runs a query with a bearer token and returns the decoded body.
func graphql(t testing.TB, s *server, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.url("/graphql"), bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = json.Unmarshal(body, &out)
	if out == nil {
		out = map[string]any{"status": resp.StatusCode, "raw": string(body)}
	}
	out["status"] = resp.StatusCode
	return out
}

// runCLI runs a hooklens command with the server's environment.
func runCLI(t testing.TB, s *server, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir}
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLogsHoldNoSecrets exercises every path that handles a secret — sign
// in and out, good and bad tokens, a token created through GraphQL,
// signed and forged webhooks, the configuration and key commands — with
// debug logs in text and JSON, on PostgreSQL with a password, and fails if
// any secret appears in the logs.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			pg := startPrivatePostgres(t)
			k1, k2 := newKey(t), newKey(t)
			s := newServer(t, serverOptions{databaseURL: pg.url(), env: map[string]string{
				"HOOKLENS_LOG_FORMAT":      format,
				"HOOKLENS_ENCRYPTION_KEYS": "k2:" + k2 + ",k1:" + k1,
			}})
			badToken := "hl_" + randomSecret("")
			for _, secret := range []string{pg.password, k1, k2, badToken} {
				s.addSecret(secret)
			}
			s.start()
			admin := s.adminToken()

			// Sign in and out, with good and bad tokens.
			jar := &http.Client{Timeout: 10 * time.Second}
			signIn := func(tok string) *http.Response {
				resp, err := jar.Post(s.url("/api/session"), "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
				require.NoError(t, err)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			resp := signIn(admin)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, c := range resp.Cookies() {
				s.addSecret(c.Value) // the session id and the CSRF token
			}
			require.Equal(t, http.StatusUnauthorized, signIn(badToken).StatusCode)

			// GraphQL with good and bad tokens; a new token comes back once.
			out := graphql(t, s, admin, `mutation($in: CreateAPITokenInput!) { createAPIToken(input: $in) { token } }`,
				map[string]any{"in": map[string]any{"name": "grafana", "role": "viewer"}})
			require.Equal(t, 200, out["status"], "%v", out)
			viewer := out["data"].(map[string]any)["createAPIToken"].(map[string]any)["token"].(string)
			require.True(t, strings.HasPrefix(viewer, "hl_"))
			s.addSecret(viewer)
			require.Equal(t, 200, graphql(t, s, viewer, `{ viewer { name role } }`, nil)["status"])
			require.Equal(t, 401, graphql(t, s, badToken, `{ viewer { name } }`, nil)["status"])

			// Webhooks: good, forged, and signed with a wrong secret.
			body := eventBody("secrets-1")
			status, _, _, err := s.deliver(body, nil)
			require.NoError(t, err)
			require.Equal(t, 200, status)
			status, _, _, err = s.deliverSigned(body, dwolla.Sign([]byte(badToken), body), nil)
			require.NoError(t, err)
			require.Equal(t, 401, status)

			// The audit trail recorded it all, without the secrets.
			out = graphql(t, s, admin, `{ auditLogs(first: 100) { edges { node { action actor detail } } } }`, nil)
			require.Equal(t, 200, out["status"], "%v", out)
			trail, err := json.Marshal(out["data"])
			require.NoError(t, err)
			for _, action := range []string{"session.create", "session.create_failed", "token.use", "mutation.createAPIToken"} {
				require.Contains(t, string(trail), `"action":"`+action+`"`)
			}
			for _, secret := range []string{viewer, admin, badToken} {
				require.NotContains(t, string(trail), secret, "a token reached the audit trail")
			}

			// The commands that read the same settings.
			for _, args := range [][]string{{"config"}, {"keys", "status"}, {"audit", "verify"}} {
				out, err := runCLI(t, s, args...)
				require.NoError(t, err, "%v: %s", args, out)
				for _, secret := range []string{pg.password, k1, k2, s.secret, admin, viewer} {
					require.NotContains(t, out, secret, "hooklens %v printed a secret", args)
				}
			}
			s.stop()
			s.checkLogs()
			require.NotEmpty(t, s.logs())
		})
	}
}

// TestEncryptedAtRest: with HOOKLENS_ENCRYPTION_KEYS set, a value from a
// webhook body is readable through the API but appears nowhere in the
// database's files — SQLite's database and WAL, PostgreSQL's whole data
// directory (tables, TOAST, WAL) — while an unsealed column of the same
// event does (so the scan does read the data). Rotating keys keeps it
// readable with the old key removed.
func TestEncryptedAtRest(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		k1, k2 := newKey(t), newKey(t)
		s := newServer(t, serverOptions{databaseURL: filepath.Join(dir, "hooklens.db"),
			env: map[string]string{"HOOKLENS_ENCRYPTION_KEYS": "k1:" + k1}})
		s.addSecret(k1)
		s.addSecret(k2)
		s.start()
		marker, id := deliverMarked(t, s)
		requirePayloadReadable(t, s, s.adminToken(), id, marker)
		s.stop() // a clean stop checkpoints the WAL into the database file
		requireNotOnDisk(t, dir, marker, id)

		// Rotate to k2, then run with k2 alone.
		s.env["HOOKLENS_ENCRYPTION_KEYS"] = "k2:" + k2 + ",k1:" + k1
		out, err := runCLI(t, s, "keys", "rotate")
		require.NoError(t, err, out)
		require.Contains(t, out, "re-sealed 1 event bodies")
		s.env["HOOKLENS_ENCRYPTION_KEYS"] = "k2:" + k2
		out, err = runCLI(t, s, "keys", "status")
		require.NoError(t, err, out)
		require.Contains(t, out, "0 value(s) to rotate")
		s.start()
		requirePayloadReadable(t, s, s.adminToken(), id, marker)
		s.stop()
		requireNotOnDisk(t, dir, marker, id)
		out, err = runCLI(t, s, "audit", "verify")
		require.NoError(t, err, out)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := startPrivatePostgres(t)
		k1 := newKey(t)
		s := newServer(t, serverOptions{databaseURL: pg.url(), env: map[string]string{"HOOKLENS_ENCRYPTION_KEYS": "k1:" + k1}})
		s.addSecret(k1)
		s.addSecret(pg.password)
		s.start()
		marker, id := deliverMarked(t, s)
		requirePayloadReadable(t, s, s.adminToken(), id, marker)
		// Write every dirty page to the data files, then read them all.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.url())
		require.NoError(t, err)
		_, err = conn.Exec(ctx, "CHECKPOINT")
		require.NoError(t, err)
		conn.Close(ctx)
		requireNotOnDisk(t, filepath.Join(pg.dir, "data"), marker, id)
		s.stop()
	})
}

// deliverMarked delivers an event whose body carries a random marker in a
// field hooklens does not extract into its own column.
func deliverMarked(t testing.TB, s *server) (marker, id string) {
	t.Helper()
	marker = randomSecret("plaintext-marker-")
	id = randomSecret("atrest-")
	body := []byte(fmt.Sprintf(`{"id":%q,"topic":"customer_created","created":%q,"resourceId":"c1","note":%q,"pad":%q}`,
		id, time.Now().UTC().Format(time.RFC3339), marker, strings.Repeat("x", 200)))
	status, _, raw, err := s.deliver(body, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(raw))
	return marker, id
}

func requirePayloadReadable(t testing.TB, s *server, token, id, marker string) {
	t.Helper()
	out := graphql(t, s, token, `query($id: String) { event(eventID: $id) { rawBody } }`, map[string]any{"id": id})
	require.Equal(t, 200, out["status"], "%v", out)
	ev, _ := out["data"].(map[string]any)["event"].(map[string]any)
	require.NotNil(t, ev, "%v", out)
	require.Contains(t, ev["rawBody"], marker, "the API opens sealed bodies")
}

// requireNotOnDisk scans every file under dir: the marker must be absent,
// the unsealed event id present (proving the scan reads the rows).
func requireNotOnDisk(t testing.TB, dir, marker, id string) {
	t.Helper()
	foundID := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil // sockets, vanished temp files
		}
		if bytes.Contains(raw, []byte(marker)) {
			t.Errorf("plaintext of a sealed body found in %s", path)
		}
		if bytes.Contains(raw, []byte(id)) {
			foundID = true
		}
		return nil
	})
	require.NoError(t, err)
	require.True(t, foundID, "the scan found the event's unsealed id nowhere: it does not read the table data")
}
