package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hooklens/hooklens/internal/store"
)

// Machine describes where a run was made.
type Machine struct {
	CPU      string  `json:"cpu"`
	Cores    int     `json:"cores"`
	MemoryGB float64 `json:"memoryGB"`
	Go       string  `json:"go"`
	OS       string  `json:"os"`
	Database string  `json:"database,omitempty"`
	// LoadAvg is the 1-minute load average when the run started: other
	// work on the machine skews the numbers, and this says how much there
	// was.
	LoadAvg float64 `json:"loadAvg1m"`
	// BusyBefore is how many cores the machine kept busy over the two
	// seconds before the run: other work that competed with it.
	BusyBefore float64 `json:"busyCoresBefore"`
	// Fsync is the disk's fsync latency measured just before the run.
	Fsync FsyncProbe `json:"fsync"`
	// Autovacuum and TrackCounts are PostgreSQL's settings of the same
	// names: with either off, tables are never analysed on their own and
	// plans depend on whatever statistics there are.
	Autovacuum  string `json:"postgresAutovacuum,omitempty"`
	TrackCounts string `json:"postgresTrackCounts,omitempty"`
}

// ReadMachine describes this machine.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "MemTotal:") {
				m.MemoryGB = float64(kib(sc.Text())) / (1 << 30)
				break
			}
		}
		f.Close()
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

// databaseVersion names the database engine and version.
func databaseVersion(ctx context.Context, db *store.DB) string {
	var v string
	if db.Postgres() {
		if err := db.Read.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
			return "PostgreSQL (version unknown)"
		}
		return "PostgreSQL " + v
	}
	if err := db.Read.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "SQLite (version unknown)"
	}
	return "SQLite " + v + " (modernc.org/sqlite, WAL, synchronous=FULL)"
}

// readPostgresSettings records the version, autovacuum and track_counts of
// the PostgreSQL server at url in m.
func readPostgresSettings(ctx context.Context, url string, m *Machine) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL to read its settings: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return fmt.Errorf("reading PostgreSQL's version: %w", err)
	}
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&m.Autovacuum); err != nil {
		return fmt.Errorf("reading PostgreSQL's autovacuum setting: %w", err)
	}
	if err := conn.QueryRow(ctx, "SHOW track_counts").Scan(&m.TrackCounts); err != nil {
		return fmt.Errorf("reading PostgreSQL's track_counts setting: %w", err)
	}
	m.Database = fmt.Sprintf("PostgreSQL %s (autovacuum %s, track_counts %s)", v, m.Autovacuum, m.TrackCounts)
	return nil
}

// cpuTimes is the machine's CPU time so far, from /proc/stat: busy (every
// state but idle and iowait) and total.
func cpuTimes() (busy, total time.Duration, err error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("reading /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, errors.New("reading /proc/stat: unexpected format")
	}
	var sum, idle int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, errors.New("reading /proc/stat: unexpected format")
		}
		// guest and guest_nice (fields 9 and 10) are already in user and nice.
		if i >= 8 {
			break
		}
		sum += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	tick := time.Second / clockTicks
	return time.Duration(sum-idle) * tick, time.Duration(sum) * tick, nil
}

// busyCores is how many cores the whole machine kept busy over d.
func busyCores(ctx context.Context, d time.Duration) (float64, error) {
	b0, _, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	b1, _, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	return (b1 - b0).Seconds() / time.Since(start).Seconds(), nil
}

// WaitQuiet waits until the machine keeps fewer than maxCores busy over
// two seconds, or until limit passes, and returns the last measurement:
// other work on a shared machine would otherwise be measured as hooklens'
// slowness. It never hides that work: the caller records what it found.
func WaitQuiet(ctx context.Context, maxCores float64, limit time.Duration) (float64, bool, error) {
	deadline := time.Now().Add(limit)
	for {
		busy, err := busyCores(ctx, 2*time.Second)
		if err != nil {
			return 0, false, err
		}
		if busy < maxCores {
			return busy, true, nil
		}
		if time.Now().After(deadline) {
			return busy, false, nil
		}
	}
}

// FsyncProbe is the latency of fsync on the disk a run writes to: each
// acknowledgement waits for at least one, so its tail bounds the ack tail.
type FsyncProbe struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// ProbeFsync times n appends of 8 KiB, each followed by fsync, in dir.
func ProbeFsync(dir string, n int) (FsyncProbe, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return FsyncProbe{}, fmt.Errorf("probing fsync: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 8<<10)
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		if _, err := f.Write(buf); err != nil {
			return FsyncProbe{}, fmt.Errorf("probing fsync: %w", err)
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return FsyncProbe{}, fmt.Errorf("probing fsync: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	s := statsOf(lat)
	return FsyncProbe{Count: n, P50: s.P50, P99: s.P99, Max: s.Max}, nil
}
