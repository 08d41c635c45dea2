//go:build reliability

// Package reliability runs the real hooklens binary as a subprocess and
// hurts it: kill -9 under load, a PostgreSQL that stops and comes back, a
// SQLite disk that fills up or turns read-only, hostile input and floods.
// Every test checks that no acknowledged event was lost and that no secret
// reached the logs. Run with `make test-reliability` (the build tag keeps
// these slow tests out of `go test ./...`).
package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

// binary is the hooklens executable built once for every test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hooklens-reliability-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hooklens")
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./server")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hooklens:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// randomSecret returns a fresh value that can only appear in logs if the
// server leaked it.
func randomSecret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// server is one hooklens process (restartable on the same port and data).
type server struct {
	t      testing.TB
	dir    string
	addr   string
	env    map[string]string
	wrap   []string // a command the binary runs under (unshare, …)
	cmd    *exec.Cmd
	exited chan struct{}
	secret string

	mu     sync.Mutex
	stderr bytes.Buffer // every run's logs
	stdout bytes.Buffer
	// secrets must never appear in stderr (logs); stdoutOK may appear on
	// stdout only (the bootstrap token is printed there once, by design).
	secrets  []string
	stdoutOK []string
}

type serverOptions struct {
	databaseURL string
	env         map[string]string
	wrap        []string
	// dir is the working directory (default: a fresh temp dir).
	dir string
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// newServer prepares (but does not start) a server.
func newServer(t testing.TB, o serverOptions) *server {
	t.Helper()
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	s := &server{t: t, dir: dir, addr: freeAddr(t), wrap: o.wrap, secret: randomSecret("whsec-")}
	s.env = map[string]string{
		"DATABASE_URL":            o.databaseURL,
		"DWOLLA_WEBHOOK_SECRET":   s.secret,
		"HOOKLENS_ADDR":           s.addr,
		"HOOKLENS_LOG_LEVEL":      "debug",
		"HOOKLENS_LOG_FORMAT":     "text",
		"HOOKLENS_SHUTDOWN_GRACE": "5s",
		"HOOKLENS_INGEST_TIMEOUT": "2s",
		// Loopback tests send thousands of deliveries a second from one
		// address; the limits have their own tests.
		"HOOKLENS_WEBHOOK_GLOBAL_LIMIT": "off",
	}
	for k, v := range o.env {
		s.env[k] = v
	}
	s.secrets = append(s.secrets, s.secret)
	t.Cleanup(func() {
		s.kill()
		s.checkLogs()
		if t.Failed() {
			s.mu.Lock()
			logs := s.stderr.String()
			s.mu.Unlock()
			if len(logs) > 20000 {
				logs = "…" + logs[len(logs)-20000:]
			}
			t.Logf("server logs:\n%s", logs)
		}
	})
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// start launches the process and waits until it answers /healthz.
func (s *server) start() {
	s.t.Helper()
	args := append(append([]string{}, s.wrap...), binary, "serve")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir, "TZ=UTC"}
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = writerFunc(func(p []byte) { s.mu.Lock(); s.stdout.Write(p); s.mu.Unlock() })
	cmd.Stderr = writerFunc(func(p []byte) { s.mu.Lock(); s.stderr.Write(p); s.mu.Unlock() })
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, cmd.Start())
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			s.t.Fatalf("hooklens exited during start-up: %v\n%s", cmd.ProcessState, s.logs())
		default:
		}
		resp, err := http.Get(s.url("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.captureToken()
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("hooklens did not become healthy\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// captureToken remembers the bootstrap admin token printed on stdout.
func (s *server) captureToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range strings.Fields(s.stdout.String()) {
		if strings.HasPrefix(f, "hl_") && !contains(s.stdoutOK, f) {
			s.stdoutOK = append(s.stdoutOK, f)
		}
		if i := strings.Index(f, "#token=hl_"); i >= 0 && !contains(s.stdoutOK, f[i+7:]) {
			s.stdoutOK = append(s.stdoutOK, f[i+7:])
		}
	}
}

// adminToken is the bootstrap token of the first start.
func (s *server) adminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(s.t, s.stdoutOK, "no bootstrap token was printed")
	return s.stdoutOK[0]
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop() {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("hooklens did not stop within 30s of SIGTERM")
	}
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// checkLogs fails the test if a secret reached the logs (or, except the
// bootstrap token, stdout).
func (s *server) checkLogs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	errText, outText := s.stderr.String(), s.stdout.String()
	for _, secret := range append(append([]string{}, s.secrets...), s.stdoutOK...) {
		if secret == "" {
			continue
		}
		if strings.Contains(errText, secret) {
			s.t.Errorf("a secret (%.6s…) appears in the server's logs", secret)
		}
		if !contains(s.stdoutOK, secret) && strings.Contains(outText, secret) {
			s.t.Errorf("a secret (%.6s…) appears on the server's stdout", secret)
		}
	}
}

// addSecret registers a value the logs must never contain.
func (s *server) addSecret(v string) {
	s.mu.Lock()
	s.secrets = append(s.secrets, v)
	s.mu.Unlock()
}

type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }

// eventBody is a realistic customer_created event with id.
func eventBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"_links":{"customer":{"href":"https://api-sandbox.dwolla.com/customers/c-%[1]s"},`+
		`"resource":{"href":"https://api-sandbox.dwolla.com/customers/c-%[1]s"}},"created":%[2]q,"id":%[1]q,`+
		`"resourceId":"c-%[1]s","topic":"customer_created"}`, id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
}

var client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// deliver posts body signed with the server's secret.
func (s *server) deliver(body []byte, headers map[string]string) (int, http.Header, []byte, error) {
	return s.deliverSigned(body, dwolla.Sign([]byte(s.secret), body), headers)
}

func (s *server) deliverSigned(body []byte, sig string, headers map[string]string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, s.url("/api/webhooks/dwolla/v2"), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", dwolla.UserAgent)
	req.Header.Set(dwolla.TopicHeader, "customer_created")
	if sig != "" {
		req.Header.Set(dwolla.SignatureHeader, sig)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// load sends signed, distinct events from several goroutines until ctx
// ends, and remembers every event acknowledged with 200.
type load struct {
	s      *server
	prefix string
	next   atomic.Int64
	// pace is each worker's pause between deliveries (bounds the volume).
	pace time.Duration

	mu       sync.Mutex
	acked    map[string]bool
	statuses map[int]int // 0 = transport error
}

func newLoad(s *server, prefix string) *load {
	return &load{s: s, prefix: prefix, acked: map[string]bool{}, statuses: map[int]int{}}
}

func (l *load) run(ctx context.Context, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := fmt.Sprintf("%s-%07d", l.prefix, l.next.Add(1))
				status, _, body, err := l.s.deliver(eventBody(id), nil)
				l.mu.Lock()
				if err != nil {
					status = 0
				}
				l.statuses[status]++
				if status == http.StatusOK {
					var r struct {
						Received bool   `json:"received"`
						EventID  string `json:"eventId"`
					}
					if json.Unmarshal(body, &r) == nil && r.Received && r.EventID == id {
						l.acked[id] = true
					}
				}
				l.mu.Unlock()
				if status != http.StatusOK {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(l.pace)
			}
		}()
	}
	return &wg
}

func (l *load) ackedIDs() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for k := range l.acked {
		out[k] = true
	}
	return out
}

func (l *load) count(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses[status]
}

// waitAcked waits until the load has had n deliveries acknowledged in all:
// tests wait for the traffic they need rather than for a time in which a
// busy machine may not produce it.
func (l *load) waitAcked(t testing.TB, n int, why string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(l.ackedIDs()) >= n }, 60*time.Second, 10*time.Millisecond,
		"%s: %d acknowledged, waiting for %d", why, len(l.ackedIDs()), n)
}

// waitStatus waits until the load has seen n answers with status (0: a
// transport error) in all.
func (l *load) waitStatus(t testing.TB, status, n int, why string) {
	t.Helper()
	require.Eventually(t, func() bool { return l.count(status) >= n }, 60*time.Second, 10*time.Millisecond,
		"%s: %d answers %d, waiting for %d", why, l.count(status), status, n)
}

// openDB opens the server's database from the test for checks.
func openDB(t testing.TB, url string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, url, store.Options{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// requireAllStoredOnceAndProcessed waits until every stored event is
// processed, then checks that every acknowledged event is stored, that
// each is counted once in the rollups, and that nothing is stored twice.
func requireAllStoredOnceAndProcessed(t testing.TB, db *store.DB, acked map[string]bool, prefix string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var pending int
		err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM event_queue WHERE state <> 'processed'").Scan(&pending)
		if err == nil && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			rows, qerr := db.Read.QueryContext(ctx, `SELECT state, attempts, COALESCE(last_error, ''), COUNT(*)
				FROM event_queue GROUP BY state, attempts, last_error`)
			if qerr == nil {
				for rows.Next() {
					var state, lastErr string
					var attempts, n int
					_ = rows.Scan(&state, &attempts, &lastErr, &n)
					t.Logf("%d events %s after %d attempts: %s", n, state, attempts, lastErr)
				}
				rows.Close()
			}
			t.Fatalf("events still waiting to be processed after 90s (last error: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	stored := map[string]int{}
	rows, err := db.Read.QueryContext(ctx, db.Rebind("SELECT event_id FROM webhook_events WHERE event_id LIKE ?"), prefix+"-%")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		stored[id]++
	}
	require.NoError(t, rows.Close())
	var lost []string
	for id := range acked {
		if stored[id] == 0 {
			lost = append(lost, id)
		}
	}
	require.Empty(t, lost, "acknowledged events that were not stored")
	for id, n := range stored {
		require.Equal(t, 1, n, "event %s stored %d times", id, n)
	}
	var events, received, processed int64
	require.NoError(t, db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_events").Scan(&events))
	require.NoError(t, db.Read.QueryRowContext(ctx,
		"SELECT COALESCE(SUM(received), 0), COALESCE(SUM(processed), 0) FROM metric_rollups WHERE granularity = 'minute'").
		Scan(&received, &processed))
	require.Equal(t, events, processed, "every stored event is processed exactly once in the rollups")
	require.Equal(t, events, received, "every stored event is counted once as received")
}

// errorCode reads the error code of a JSON error answer.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

var errNotRoot = errors.New("this test needs root (CI runs as root)")
