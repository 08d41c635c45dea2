package bench

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Meter reports a benchmark's cost in the units that decide hooklens'
// throughput on a small shared machine: this process's CPU time per op
// (cpu-ns/op, which other work hardly changes; on SQLite it includes the
// database's work) and, on SQLite, the write-ahead log written per op
// (wal-pages/op): every page a commit dirties is appended to the WAL,
// checksummed, written with pwrite and later copied back by a checkpoint,
// so pages per event is the storage cost that batching and lean
// statements must cut.
type Meter struct {
	b       *testing.B
	wal     string
	cpu0    time.Duration
	frames0 int64
}

// walFrameSize is a WAL frame: a 24-byte header and a page (4 KiB, the
// default page size hooklens keeps).
const walFrameSize = 24 + 4096

// NewMeter prepares db for metering: on SQLite it turns the automatic
// checkpoint off on the single writer connection, so the WAL only grows
// and its size counts every frame written.
func NewMeter(b *testing.B, db *store.DB) *Meter {
	b.Helper()
	m := &Meter{b: b}
	if !db.Postgres() {
		if _, err := db.Write.ExecContext(context.Background(), "PRAGMA wal_autocheckpoint = 0"); err != nil {
			b.Fatal(err)
		}
		m.wal = db.URL + "-wal"
	}
	return m
}

// Start begins metering (call it right before the timed loop).
func (m *Meter) Start() {
	m.cpu0 = cpuTime()
	m.frames0 = m.frames()
}

// Stop reports the metrics per op.
func (m *Meter) Stop() {
	n := float64(m.b.N)
	m.b.ReportMetric(float64(cpuTime()-m.cpu0)/n, "cpu-ns/op")
	if m.wal != "" {
		m.b.ReportMetric(float64(m.frames()-m.frames0)/n, "wal-pages/op")
	}
}

func (m *Meter) frames() int64 {
	if m.wal == "" {
		return 0
	}
	st, err := os.Stat(m.wal)
	if err != nil {
		return 0
	}
	return max(0, st.Size()-32) / walFrameSize
}

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
