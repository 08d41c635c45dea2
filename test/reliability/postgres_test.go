//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pgBin is where Debian installs PostgreSQL 15's server binaries.
const pgBin = "/usr/lib/postgresql/15/bin"

// privatePostgres is a PostgreSQL cluster of the test's own, on a free
// port, that the test may stop and start: the machine's shared server is
// used by other tests and must never be stopped. Connections need a
// password (scram-sha-256), so the password is a secret to look for in
// logs.
type privatePostgres struct {
	t        testing.TB
	dir      string
	port     int
	password string
}

// startPrivatePostgres initialises and starts a cluster. PostgreSQL refuses
// to run as root, so as root it runs as the postgres user (runuser), in a
// directory that user owns.
func startPrivatePostgres(t testing.TB) *privatePostgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL server binaries not found in %s: %v", pgBin, err)
	}
	dir, err := os.MkdirTemp("", "hooklens-pg-")
	require.NoError(t, err)
	p := &privatePostgres{t: t, dir: dir, password: randomSecret("pgpw-")}
	t.Cleanup(func() {
		_ = p.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs the postgres user to run the cluster")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600))
	if os.Geteuid() == 0 {
		u, _ := user.Lookup("postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(pwfile, uid, gid))
	}
	out, err := p.run(filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8")
	require.NoError(t, err, "initdb: %s", out)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p.start()
	return p
}

func (p *privatePostgres) run(name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir = p.dir
	return cmd.CombinedOutput()
}

func (p *privatePostgres) ctl(args ...string) error {
	out, err := p.run(filepath.Join(pgBin, "pg_ctl"), append([]string{"-D", filepath.Join(p.dir, "data"), "-w", "-t", "60"}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// start (re)starts the cluster on its port.
func (p *privatePostgres) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=60", p.port, p.dir)
	require.NoError(p.t, p.ctl("start", "-l", filepath.Join(p.dir, "log"), "-o", opts))
}

// stop shuts the cluster down at once, dropping every connection.
func (p *privatePostgres) stop() {
	p.t.Helper()
	require.NoError(p.t, p.ctl("stop", "-m", "fast"))
}

// url is the hooklens DATABASE_URL for the cluster's postgres database.
func (p *privatePostgres) url() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", p.password),
		Host: fmt.Sprintf("127.0.0.1:%d", p.port), Path: "/postgres", RawQuery: "sslmode=disable"}
	return u.String()
}

// TestPostgresOutage: PostgreSQL stops in the middle of a load. While it is
// down the receiver answers 503 (never 200); when it returns, the server
// recovers by itself, without a restart, and no acknowledged event is lost.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	s := newServer(t, serverOptions{databaseURL: pg.url(), env: map[string]string{"HOOKLENS_LOG_FORMAT": "json"}})
	s.addSecret(pg.password)
	s.start()

	l := newLoad(s, "outage")
	l.pace = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	wg := l.run(ctx, 6)
	l.waitAcked(t, 200, "the stream before the outage")

	pg.stop()
	// Deliveries made while it is down: every answer is a 503 with
	// Retry-After, within the ingest timeout (2s here).
	for i := 0; i < 10; i++ {
		start := time.Now()
		status, h, body, err := s.deliver(eventBody(fmt.Sprintf("down-%d", i)), nil)
		require.NoError(t, err)
		require.Equal(t, 503, status, "while PostgreSQL is down: %s", body)
		require.NotEmpty(t, h.Get("Retry-After"))
		require.Less(t, time.Since(start), 4*time.Second)
	}
	resp, err := client.Get(s.url("/readyz"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 503, resp.StatusCode, "/readyz reports the outage")

	pg.start()
	// Recovery by itself: a fresh delivery is accepted again soon.
	require.Eventually(t, func() bool {
		status, _, _, err := s.deliver(eventBody(fmt.Sprintf("back-%d", time.Now().UnixNano())), nil)
		return err == nil && status == 200
	}, 30*time.Second, 200*time.Millisecond, "the receiver did not recover after PostgreSQL came back")
	l.waitAcked(t, len(l.ackedIDs())+200, "the stream after the outage")
	cancel()
	wg.Wait()

	acked := l.ackedIDs()
	t.Logf("%d acknowledged, %d×503 during the outage", len(acked), l.count(503))
	require.Positive(t, l.count(503), "the load saw the outage as 503s")
	requireAllStoredOnceAndProcessed(t, openDB(t, pg.url()), acked, "outage")
	s.stop()
}
