package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times. It is 100 on
// every Linux architecture Go supports (the kernel's ABI fixes it).
const clockTicks = 100

// ProcStat is a process's CPU time and memory, read from /proc.
type ProcStat struct {
	// CPU is user + system time.
	CPU time.Duration
	// PeakRSS is VmHWM: the most resident memory the process ever had.
	PeakRSS int64
	// RSS is VmRSS now.
	RSS int64
	// Nice is the process's scheduling niceness (-20 to 19).
	Nice int
}

// ReadProc reads pid's CPU time and memory from /proc.
func ReadProc(pid int) (ProcStat, error) {
	var s ProcStat
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("reading process stats: %w", err)
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its closing parenthesis. utime and stime are fields
	// 14 and 15, so 12th and 13th after the name.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return s, errors.New("reading process stats: unexpected /proc format")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 17 {
		return s, errors.New("reading process stats: unexpected /proc format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, errors.New("reading process stats: unexpected /proc format")
	}
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	s.Nice, _ = strconv.Atoi(f[16])
	st, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("reading process status: %w", err)
	}
	defer st.Close()
	sc := bufio.NewScanner(st)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "VmHWM:"):
			s.PeakRSS = kib(line)
		case strings.HasPrefix(line, "VmRSS:"):
			s.RSS = kib(line)
		}
	}
	return s, sc.Err()
}

// kib reads "VmHWM:    12345 kB" as bytes.
func kib(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * 1024
}

// Server is a hooklens server started for a run.
type Server struct {
	// URL is the server's base URL.
	URL string
	// Secret is the webhook secret it accepts.
	Secret string
	// DatabaseURL is its database.
	DatabaseURL string
	cmd         *exec.Cmd
	logPath     string
	exited      chan struct{}
	waitErr     error
}

// ServerOptions start a Server.
type ServerOptions struct {
	// Binary is the hooklens executable (default: this one).
	Binary string
	// DatabaseURL is the fresh database to serve.
	DatabaseURL string
	// Args are extra `serve` flags (e.g. --workers 4).
	Args []string
	// Dir is the working directory: a place without a .env, and where the
	// server's log is written.
	Dir string
	// Secret is the webhook secret (default: a fresh random one).
	Secret string
}

// StartServer starts `hooklens serve` on a free loopback port with a fresh
// random webhook secret and waits until it is ready.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	// The generator is the only client and sends far beyond Dwolla's rate
	// on purpose: the global webhook cap (5,000/s by default) would turn a
	// load test into a test of the limiter. opts.Args come last, so a run
	// may still set it.
	return startProcess(ctx, opts, "server.log", func(addr string) []string {
		return append([]string{"serve", "--addr", addr, "--log-level", "warn", "--webhook-global-limit", "off"}, opts.Args...)
	})
}

// StartCeiling starts `hooklens bench ceiling` (the ceiling receiver) in
// its own process, as StartServer starts hooklens, so its CPU is read the
// same way. opts.DatabaseURL is its database (a SQLite path of its own, or
// a PostgreSQL database).
func StartCeiling(ctx context.Context, opts ServerOptions) (*Server, error) {
	return startProcess(ctx, opts, "ceiling.log", func(addr string) []string {
		return append([]string{"bench", "ceiling", "--addr", addr}, opts.Args...)
	})
}

func startProcess(ctx context.Context, opts ServerOptions, logName string, args func(addr string) []string) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the hooklens binary: %w", err)
		}
		bin = exe
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := opts.Secret
	if secret == "" {
		secret = randomHex(16)
	}
	logPath := filepath.Join(opts.Dir, logName)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the server log: %w", err)
	}
	argv := args(addr)
	cmd := exec.Command(bin, argv...)
	cmd.Dir = opts.Dir
	// The server's settings come only from here: the environment could
	// carry a developer's HOOKLENS_* or DATABASE_URL. Secrets go in the
	// environment, not the command line that ps shows.
	cmd.Env = append(cleanEnv(), "DATABASE_URL="+opts.DatabaseURL, "DWOLLA_WEBHOOK_SECRET="+secret)
	cmd.Stdout = io.Discard // the first admin token is printed there; it is never kept
	cmd.Stderr = logf
	// Its own session, as a service would run: a terminal's Ctrl-C does not
	// reach it (Stop ends it), and where the kernel groups scheduling by
	// session (autogroup) it gets its own share of the CPU instead of
	// splitting the generator's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s %s: %w", bin, argv[0], err)
	}
	s := &Server{URL: "http://" + addr, Secret: secret, DatabaseURL: opts.DatabaseURL, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop(5 * time.Second)
		return nil, fmt.Errorf("%w\n%s", err, s.LogTail(20))
	}
	return s, nil
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HOOKLENS_") || k == "DATABASE_URL" || k == "DWOLLA_WEBHOOK_SECRET" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited while starting: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := c.Get(s.URL + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("the server was not ready within %s", timeout)
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stat reads the server's CPU time and memory.
func (s *Server) Stat() (ProcStat, error) { return ReadProc(s.PID()) }

// Stop asks the server to shut down (SIGTERM) and kills it after grace.
func (s *Server) Stop(grace time.Duration) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the server did not stop within %s and was killed", grace)
	}
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	raw, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// backendsCPU sums the CPU time of the PostgreSQL backends serving
// database name on this machine (their command lines read
// "postgres: … user name host(port) …"). Backends that exited are missed,
// so it is a lower bound; a pooled server keeps its connections.
func backendsCPU(name string) time.Duration {
	if name == "" {
		return 0
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(raw, []byte("postgres:")) {
			continue
		}
		if !slices.Contains(strings.Fields(string(raw)), name) {
			continue
		}
		if st, err := ReadProc(pid); err == nil {
			total += st.CPU
		}
	}
	return total
}
