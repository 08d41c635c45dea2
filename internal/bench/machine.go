package bench

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

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
