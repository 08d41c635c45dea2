package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
)

// Systems a closed-loop run measures.
const (
	SystemHooklens = "hooklens"
	SystemCeiling  = "ceiling"
)

// ClosedConfig is a closed-loop comparison of hooklens with the ceiling
// receiver on one kind of database: for each connection count, Pairs
// pairs of runs alternating hooklens, ceiling, hooklens, ceiling…, each on
// a fresh database of the same server, all sending the same signed bodies.
type ClosedConfig struct {
	Name string
	// Kind is SQLite or Postgres.
	Kind string
	// PGAdminURL is where PostgreSQL databases are created.
	PGAdminURL string
	// Binary is the hooklens executable (serves both systems).
	Binary string
	// ServerArgs are extra `hooklens serve` flags.
	ServerArgs []string
	// Connections are the connection counts, one level each (default 10,
	// 64, 256).
	Connections []int
	// Requests is how many requests each run sends (default 20,000);
	// MaxDuration bounds each run's sending (default 60 s).
	Requests    int
	MaxDuration time.Duration
	// Pairs is the number of hooklens/ceiling pairs per level (default 2).
	Pairs int
	// DuplicateShare is the share of requests repeating an earlier event.
	DuplicateShare float64
	Seed           uint64
	Timeout        time.Duration
	// DrainTimeout bounds the wait for hooklens' pipeline after sending.
	DrainTimeout time.Duration
	// Dir holds SQLite files and logs (default: a temp dir).
	Dir        string
	QuietCores float64
	QuietWait  time.Duration
	Progress   io.Writer
	Command    string
}

// ClosedRun is one system's run at one connection count.
type ClosedRun struct {
	System      string      `json:"system"`
	Pair        int         `json:"pair"`
	Connections int         `json:"connections"`
	Load        *LoadResult `json:"load"`
	// RequestsPerS is acknowledged requests per second of sending.
	RequestsPerS float64 `json:"requestsPerSecond"`
	// MeasuredS is the CPU window: from the first request until the last
	// answer (ceiling) or until hooklens' pipeline had processed every
	// event it stored (DrainS after the last answer).
	MeasuredS float64 `json:"measuredSeconds"`
	DrainS    float64 `json:"drainSeconds"`
	Drained   bool    `json:"drained"`
	// ServerCPUS is the receiver process's CPU over the window;
	// ServerLoadCPUS only while sending. DatabaseCPUS is the CPU of the
	// PostgreSQL backends serving the run's database over the window (0 on
	// SQLite, whose work is the server's own).
	ServerCPUS     float64 `json:"serverCpuSeconds"`
	ServerLoadCPUS float64 `json:"serverLoadCpuSeconds"`
	DatabaseCPUS   float64 `json:"databaseCpuSeconds"`
	// CPUPerWebhookUS is (server + database CPU over the window) ÷
	// acknowledged requests, in microseconds: the pipeline's work included.
	CPUPerWebhookUS       float64 `json:"cpuPerWebhookUs"`
	ServerCPUPerWebhookUS float64 `json:"serverCpuPerWebhookUs"`
	DBCPUPerWebhookUS     float64 `json:"databaseCpuPerWebhookUs"`
	// Events is the distinct events stored. BytesBefore is the database's
	// size (see BytesOnDisk) once the receiver had started on it, empty;
	// BytesOnDisk its size after the run; BytesPerEvent the growth per
	// event, so an empty schema's fixed pages (hooklens has many tables and
	// indexes) do not weigh on short runs.
	Events        int     `json:"events"`
	BytesBefore   int64   `json:"bytesBefore"`
	BytesOnDisk   int64   `json:"bytesOnDisk"`
	BytesPerEvent float64 `json:"bytesPerEvent"`
	// EndToEnd is hooklens' receipt → processed (nil for the ceiling).
	EndToEnd *EndToEnd `json:"endToEnd,omitempty"`
	// Lost counts acknowledged events missing from the database.
	Lost     int    `json:"lost"`
	Balanced bool   `json:"balanced"`
	Reason   string `json:"reason,omitempty"`
}

// PairRatio is hooklens ÷ ceiling for one pair of runs.
type PairRatio struct {
	Pair          int     `json:"pair"`
	RequestsPerS  float64 `json:"requestsPerSecond"`
	CPUPerWebhook float64 `json:"cpuPerWebhook"`
	BytesPerEvent float64 `json:"bytesPerEvent"`
}

// ClosedLevel is every run at one connection count, with the ratios.
type ClosedLevel struct {
	Connections int         `json:"connections"`
	Runs        []ClosedRun `json:"runs"`
	Ratios      []PairRatio `json:"ratios"`
	// Median is the median of each ratio over the pairs.
	Median PairRatio `json:"median"`
}

// ClosedReport is a closed-loop comparison's result.
type ClosedReport struct {
	Requests    int           `json:"requestsPerRun"`
	MaxDuration float64       `json:"maxDurationSeconds"`
	Pairs       int           `json:"pairs"`
	Levels      []ClosedLevel `json:"levels"`
}

// Ratios computes hooklens ÷ ceiling for each complete pair of runs and
// the median of each ratio. A ratio whose ceiling figure is zero is 0.
func Ratios(runs []ClosedRun) ([]PairRatio, PairRatio) {
	byPair := map[int]map[string]ClosedRun{}
	for _, r := range runs {
		if byPair[r.Pair] == nil {
			byPair[r.Pair] = map[string]ClosedRun{}
		}
		byPair[r.Pair][r.System] = r
	}
	var pairs []int
	for p := range byPair {
		pairs = append(pairs, p)
	}
	sort.Ints(pairs)
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	var out []PairRatio
	for _, p := range pairs {
		h, okH := byPair[p][SystemHooklens]
		c, okC := byPair[p][SystemCeiling]
		if !okH || !okC {
			continue
		}
		out = append(out, PairRatio{
			Pair:          p,
			RequestsPerS:  div(h.RequestsPerS, c.RequestsPerS),
			CPUPerWebhook: div(h.CPUPerWebhookUS, c.CPUPerWebhookUS),
			BytesPerEvent: div(h.BytesPerEvent, c.BytesPerEvent),
		})
	}
	med := PairRatio{}
	var a, b, c []float64
	for _, r := range out {
		a, b, c = append(a, r.RequestsPerS), append(b, r.CPUPerWebhook), append(c, r.BytesPerEvent)
	}
	med.RequestsPerS, med.CPUPerWebhook, med.BytesPerEvent = median(a), median(b), median(c)
	return out, med
}

// median is the middle value (the mean of the two middle ones for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// RunClosed runs cfg: for each connection count, cfg.Pairs pairs of runs,
// hooklens then the ceiling, each on a fresh database.
func RunClosed(ctx context.Context, cfg ClosedConfig) (*Report, error) {
	if len(cfg.Connections) == 0 {
		cfg.Connections = []int{10, 64, 256}
	}
	if cfg.Requests <= 0 {
		cfg.Requests = 20000
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = time.Minute
	}
	if cfg.Pairs <= 0 {
		cfg.Pairs = 2
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 2 * time.Minute
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "hooklens-bench-")
		if err != nil {
			return nil, fmt.Errorf("creating a work directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench %s: %s\n", cfg.Name, fmt.Sprintf(format, args...))
		}
	}
	traffic := Traffic{Rate: 1000, Duration: time.Duration(cfg.Requests) * time.Millisecond, DuplicateShare: cfg.DuplicateShare, Profile: ProfileSteady}
	rep := &Report{Name: cfg.Name, Mode: "closed", Kind: cfg.Kind, StartedAt: time.Now().UTC(), Seed: cfg.Seed, Traffic: traffic, Command: cfg.Command,
		Closed: &ClosedReport{Requests: cfg.Requests, MaxDuration: cfg.MaxDuration.Seconds(), Pairs: cfg.Pairs}}
	busy, note, err := quietBefore(ctx, cfg.QuietCores, cfg.QuietWait, say)
	if err != nil {
		return nil, err
	}
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	rep.Machine = ReadMachine()
	rep.Machine.BusyBefore = busy
	if probe, err := ProbeFsync(cfg.Dir, 200); err == nil {
		rep.Machine.Fsync = probe
	}
	if cfg.Kind == Postgres {
		if err := readPostgresSettings(ctx, cfg.PGAdminURL, &rep.Machine); err != nil {
			return nil, err
		}
	} else {
		rep.Machine.Database = sqliteVersion(ctx)
	}

	for li, conns := range cfg.Connections {
		// The same signed bodies for every run of the level; one secret is
		// given to every receiver.
		secret := randomHex(16)
		gen, err := simulate.NewGenerator(simulate.Config{Seed: cfg.Seed + uint64(li)})
		if err != nil {
			return nil, err
		}
		say("planning %d requests for %d connections", cfg.Requests, conns)
		reqs, err := Plan(gen, secret, traffic, cfg.Seed+uint64(li))
		if err != nil {
			return nil, err
		}
		level := ClosedLevel{Connections: conns}
		for p := 1; p <= cfg.Pairs; p++ {
			for _, system := range []string{SystemHooklens, SystemCeiling} {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				run, err := closedRun(ctx, cfg, system, p, conns, secret, reqs, say)
				if err != nil {
					return nil, fmt.Errorf("%s, %d connections, pair %d: %w", system, conns, p, err)
				}
				level.Runs = append(level.Runs, run)
				if !run.Balanced {
					rep.Void = true
					rep.VoidReason = strings.TrimPrefix(rep.VoidReason+"; ", "; ") + fmt.Sprintf("%s at %d connections (pair %d): %s", system, conns, p, run.Reason)
				}
			}
		}
		level.Ratios, level.Median = Ratios(level.Runs)
		say("%d connections: hooklens ÷ ceiling (median of %d pairs): req/s %.2f, CPU/webhook %.2f, bytes/event %.2f",
			conns, len(level.Ratios), level.Median.RequestsPerS, level.Median.CPUPerWebhook, level.Median.BytesPerEvent)
		rep.Closed.Levels = append(rep.Closed.Levels, level)
	}
	return rep, nil
}

// closedRun is one system's run on a fresh database.
func closedRun(ctx context.Context, cfg ClosedConfig, system string, pair, conns int, secret string, reqs []Request, say func(string, ...any)) (ClosedRun, error) {
	run := ClosedRun{System: system, Pair: pair, Connections: conns}
	label := fmt.Sprintf("%s_%s_%d_%d", cfg.Kind, system, conns, pair)
	fdb, err := NewDatabase(ctx, cfg.Kind, cfg.Dir, cfg.PGAdminURL, label)
	if err != nil {
		return run, err
	}
	defer func() { _ = fdb.Drop(context.WithoutCancel(ctx)) }()
	opts := ServerOptions{Binary: cfg.Binary, DatabaseURL: fdb.URL, Dir: cfg.Dir, Secret: secret}
	start := StartServer
	if system == SystemCeiling {
		start = StartCeiling
	} else {
		opts.Args = cfg.ServerArgs
	}
	say("%s, %d connections, pair %d: starting on a fresh %s database", system, conns, pair, cfg.Kind)
	srv, err := start(ctx, opts)
	if err != nil {
		return run, err
	}
	defer func() { _ = srv.Stop(30 * time.Second) }()

	if run.BytesBefore, err = BytesOnDisk(ctx, fdb.URL); err != nil {
		return run, err
	}
	pgName := fdb.Name()
	st0, err := srv.Stat()
	if err != nil {
		return run, err
	}
	db0 := backendsCPU(pgName)
	t0 := time.Now()
	res, err := SendClosed(ctx, reqs, ClosedOptions{URL: srv.URL + "/api/webhooks/dwolla/v2", Connections: conns,
		MaxDuration: cfg.MaxDuration, Timeout: cfg.Timeout, Progress: cfg.Progress, Label: label})
	if err != nil {
		return run, err
	}
	run.Load = res
	run.RequestsPerS = res.Throughput
	stLoad, _ := srv.Stat()
	run.ServerLoadCPUS = (stLoad.CPU - st0.CPU).Seconds()
	if system == SystemHooklens {
		drain, drained, err := waitPipelineDrained(ctx, srv.URL, cfg.DrainTimeout)
		if err != nil {
			return run, err
		}
		run.DrainS, run.Drained = drain.Seconds(), drained
	} else {
		run.Drained = true
	}
	st1, err := srv.Stat()
	if err != nil {
		return run, err
	}
	run.MeasuredS = time.Since(t0).Seconds()
	run.ServerCPUS = (st1.CPU - st0.CPU).Seconds()
	run.DatabaseCPUS = (backendsCPU(pgName) - db0).Seconds()
	if res.Acked > 0 {
		per := 1e6 / float64(res.Acked)
		run.ServerCPUPerWebhookUS = run.ServerCPUS * per
		run.DBCPUPerWebhookUS = run.DatabaseCPUS * per
		run.CPUPerWebhookUS = run.ServerCPUPerWebhookUS + run.DBCPUPerWebhookUS
	}

	events, order := tally([][]Request{reqs}, []*LoadResult{res})
	if system == SystemHooklens {
		if err := hooklensOutcome(ctx, &run, srv.URL, fdb.URL, events, order, res); err != nil {
			return run, err
		}
	} else {
		if err := ceilingOutcome(ctx, &run, fdb.URL, events, res); err != nil {
			return run, err
		}
	}
	// The size as the running receiver left it (SQLite's WAL included),
	// measured before it stops.
	if run.BytesOnDisk, err = BytesOnDisk(ctx, fdb.URL); err != nil {
		return run, err
	}
	if run.Events > 0 {
		run.BytesPerEvent = float64(run.BytesOnDisk-run.BytesBefore) / float64(run.Events)
	}
	e2e := ""
	if run.EndToEnd != nil {
		e2e = fmt.Sprintf(", receipt → processed p50 %.0f ms p99 %.0f ms, drained in %.1f s", run.EndToEnd.Latency.P50, run.EndToEnd.Latency.P99, run.DrainS)
	}
	say("%s, %d connections, pair %d: %.0f req/s, ack p50 %.1f ms p99 %.1f ms, %.0f µs CPU/webhook (server %.0f + database %.0f)%s, %.0f bytes/event",
		system, conns, pair, run.RequestsPerS, res.Ack.P50, res.Ack.P99, run.CPUPerWebhookUS, run.ServerCPUPerWebhookUS, run.DBCPUPerWebhookUS, e2e, run.BytesPerEvent)
	if err := srv.Stop(30 * time.Second); err != nil {
		return run, err
	}
	return run, nil
}

// hooklensOutcome reads what hooklens stored: the ledger, the receipt →
// processed times and the number of events.
func hooklensOutcome(ctx context.Context, run *ClosedRun, baseURL, dbURL string, events map[string]*sentEvent, order []string, res *LoadResult) error {
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2, ReadConns: 2})
	if err != nil {
		return fmt.Errorf("opening hooklens' database for the ledger: %w", err)
	}
	defer db.Close()
	rows, err := readEvents(ctx, db, order)
	if err != nil {
		return err
	}
	total, err := countRows(ctx, db)
	if err != nil {
		return err
	}
	l := checkLedger(events, rows, total, true, res.Balanced())
	e := endToEnd(events, rows)
	e.DrainS, e.Drained = run.DrainS, run.Drained
	run.EndToEnd = &e
	run.Lost, run.Balanced, run.Reason = l.Lost, l.Balanced, l.Reason
	run.Events = l.Stored
	if m, err := readMetrics(ctx, baseURL); err == nil {
		// hooklens' own count of the events it stored, which must agree.
		if n := int(sumMetric(m, "hooklens_events_stored_total")); n != l.Stored && run.Balanced {
			run.Balanced, run.Reason = false, fmt.Sprintf("hooklens counted %d events stored, the database holds %d", n, l.Stored)
		}
	}
	return nil
}

// ceilingOutcome checks the ceiling's table against what it acknowledged.
func ceilingOutcome(ctx context.Context, run *ClosedRun, dbURL string, events map[string]*sentEvent, res *LoadResult) error {
	ids, err := ceilingIDs(ctx, dbURL)
	if err != nil {
		return err
	}
	var why []string
	if !res.Balanced() {
		why = append(why, "the request ledger does not balance")
	}
	for id, e := range events {
		_, stored := ids[id]
		switch {
		case e.acked && !stored:
			run.Lost++
		case !e.acked && stored && !e.unresolved:
			why = append(why, "an event stored was never sent")
		}
	}
	for id := range ids {
		if events[id] == nil {
			why = append(why, "the table holds an event that was not sent")
			break
		}
	}
	if run.Lost > 0 {
		why = append(why, fmt.Sprintf("%d acknowledged events are not stored", run.Lost))
	}
	run.Events = len(ids)
	run.Balanced, run.Reason = len(why) == 0, strings.Join(why, "; ")
	return nil
}

// ceilingIDs reads the event ids in the ceiling's table.
func ceilingIDs(ctx context.Context, dbURL string) (map[string]struct{}, error) {
	out := map[string]struct{}{}
	if config.IsPostgresURL(dbURL) {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, fmt.Errorf("reading the ceiling's table: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		rows, err := conn.Query(ctx, "SELECT event_id FROM "+CeilingTable)
		if err != nil {
			return nil, fmt.Errorf("reading the ceiling's table: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("reading the ceiling's table: %w", err)
			}
			out[id] = struct{}{}
		}
		return out, rows.Err()
	}
	db, err := store.Open(ctx, dbURL, store.Options{ReadConns: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the ceiling's table: %w", err)
	}
	defer db.Close()
	rows, err := db.Read.QueryContext(ctx, "SELECT event_id FROM "+CeilingTable)
	if err != nil {
		return nil, fmt.Errorf("reading the ceiling's table: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading the ceiling's table: %w", err)
		}
		out[id] = struct{}{}
	}
	return out, rows.Err()
}

// quietBefore measures (or waits for) a quiet machine before a run, as Run
// does, and returns a note when it never got quiet.
func quietBefore(ctx context.Context, quiet float64, wait time.Duration, say func(string, ...any)) (float64, string, error) {
	if quiet <= 0 {
		b, err := busyCores(ctx, 2*time.Second)
		return b, "", err
	}
	say("waiting up to %s for the machine to be quiet (< %.2f cores busy)", wait, quiet)
	b, ok, err := WaitQuiet(ctx, quiet, wait)
	if err != nil {
		return 0, "", err
	}
	if !ok {
		say("the machine is still busy (%.2f cores); running anyway and saying so", b)
		return b, fmt.Sprintf("the machine was not quiet: %.2f cores busy before the run", b), nil
	}
	return b, "", nil
}

// sqliteVersion names the SQLite engine the server links.
func sqliteVersion(ctx context.Context) string {
	dir, err := os.MkdirTemp("", "hooklens-sqlite-version-")
	if err != nil {
		return "SQLite"
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "v.db"), store.Options{ReadConns: 1})
	if err != nil {
		return "SQLite"
	}
	defer db.Close()
	return databaseVersion(ctx, db)
}
