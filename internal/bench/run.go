package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
)

// Config is one benchmark run: a fixed rate, or a ramp.
type Config struct {
	// Name labels the run in reports and file names.
	Name string
	// Kind is the database of a server the run starts: SQLite or Postgres.
	Kind string
	// Target is the base URL of an already running server; empty to start
	// one. Secret is its webhook secret.
	Target string
	Secret string
	// DatabaseURL is, with Target, the server's database, read only for
	// the ledger and the end-to-end times (optional; without it the run is
	// reported as unchecked).
	DatabaseURL string
	// FreshDatabase says, with Target and DatabaseURL, that the database
	// held no events before the run, so the ledger may also require that
	// it holds nothing the run did not send.
	FreshDatabase bool
	// PGAdminURL is a PostgreSQL server where fresh databases may be
	// created (and dropped) for Postgres runs.
	PGAdminURL string
	// Dir holds SQLite files and the server log (default: a temp dir).
	Dir string
	// Binary is the hooklens executable to serve with (default: this one).
	Binary string
	// ServerArgs are extra `serve` flags.
	ServerArgs []string
	// Traffic is the run's traffic; in a ramp its Rate and Duration are
	// replaced per step.
	Traffic Traffic
	// Ramp, when set, makes this a ramp.
	Ramp *Ramp
	// Seed names the traffic (0: from the clock).
	Seed uint64
	// MaxInFlight caps concurrent requests in the steady profile.
	MaxInFlight int
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// DrainTimeout bounds the wait for the pipeline to drain (default 2 min).
	DrainTimeout time.Duration
	// Baseline adds the raw batched-insert baseline (needs Kind).
	Baseline bool
	// KeepDatabase leaves the run's database in place.
	KeepDatabase bool
	// QuietCores, when positive, makes the run first wait (up to QuietWait)
	// until the machine keeps fewer cores than this busy: on a shared
	// machine others' work would be measured as hooklens' slowness.
	QuietCores float64
	QuietWait  time.Duration
	// Progress receives progress lines; nil for none.
	Progress io.Writer
	// Command is the command line that made the run, for the report.
	Command string
}

// Ramp finds the highest rate held with p99 acknowledgement under
// P99LimitMS and no request failing.
type Ramp struct {
	// From is the first step's rate; each next step multiplies it by
	// Factor, up to MaxRate.
	From, Factor, MaxRate float64
	// Step is each step's duration.
	Step time.Duration
	// Refine is how many bisection steps follow the first failure.
	Refine int
	// P99LimitMS is the acknowledgement p99 a step must stay under (50).
	P99LimitMS float64
	// Settle bounds the wait for the queue to drain between steps.
	Settle time.Duration
}

// Step is one rate held for a while.
type Step struct {
	Rate float64 `json:"rate"`
	// EventsPerS is the distinct new events acknowledged per second.
	EventsPerS float64     `json:"eventsPerSecond"`
	Load       *LoadResult `json:"load"`
	// Pass says whether the step met the ramp's bar; Why says why not.
	Pass bool   `json:"pass"`
	Why  string `json:"why,omitempty"`
	// ServerCPUS is the server's CPU time during the step's sending
	// (-1 when unknown); ServerCores divides it by the step's duration.
	ServerCPUS  float64 `json:"serverCpuSeconds"`
	ServerCores float64 `json:"serverCores"`
	// ServerCPUPerReqUS is server CPU microseconds per request sent: a
	// cost that other work on the machine barely changes.
	ServerCPUPerReqUS float64 `json:"serverCpuPerRequestUs"`
	GeneratorCPUS     float64 `json:"generatorCpuSeconds"`
	// MachineCores is how many cores the whole machine kept busy during
	// the step: server, generator, database, and anything else running.
	MachineCores float64 `json:"machineCores"`
	// DatabaseCores is, on a PostgreSQL database the run created, the CPU
	// of the backends serving it per wall second (-1 otherwise).
	DatabaseCores float64 `json:"databaseCores"`
}

// ServerStats are the server process's resources, when the run started it.
type ServerStats struct {
	// CPUS is its CPU time (user + system) from the first request to the
	// drained queue; LoadCPUS only while requests were being sent.
	CPUS     float64 `json:"cpuSeconds"`
	LoadCPUS float64 `json:"loadCpuSeconds"`
	// PeakRSS is VmHWM in bytes.
	PeakRSS int64  `json:"peakRssBytes"`
	Args    string `json:"args,omitempty"`
	// Nice is the server's scheduling niceness: below 0 when the run was
	// given priority over other work on a shared machine.
	Nice int `json:"nice"`
}

// Report is a run's result.
type Report struct {
	Name      string    `json:"name"`
	Mode      string    `json:"mode"` // fixed, ramp, closed or contention
	Kind      string    `json:"database"`
	Target    string    `json:"target,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	Seed      uint64    `json:"seed"`
	Traffic   Traffic   `json:"traffic"`
	Machine   Machine   `json:"machine"`
	Steps     []Step    `json:"steps"`
	// Held is the highest passing step of a ramp (nil when none passed).
	Held *Step `json:"held,omitempty"`
	// Throughput is, for a fixed run, the acknowledged requests per
	// second; for a ramp, the held rate.
	Throughput float64  `json:"throughput"`
	EventsPerS float64  `json:"eventsPerSecond"`
	Ledger     Ledger   `json:"ledger"`
	EndToEnd   EndToEnd `json:"endToEnd"`
	// Server is nil when unknown (a --target run).
	Server *ServerStats `json:"server"`
	// Metrics are the server's batching counters (nil when unreadable).
	Metrics  *ServerMetrics `json:"serverMetrics,omitempty"`
	Baseline *Baseline      `json:"baseline,omitempty"`
	// BaselineShare is Throughput as a share of the baseline's rate.
	BaselineShare float64 `json:"baselineShare,omitempty"`
	// Void is true when the ledger does not balance: the numbers mean
	// nothing then.
	Void       bool     `json:"void"`
	VoidReason string   `json:"voidReason,omitempty"`
	Targets    []Target `json:"targets,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	// Command is the command line that made the run.
	Command string `json:"command,omitempty"`
	// Closed is a closed-loop comparison with the ceiling receiver.
	Closed *ClosedReport `json:"closedLoop,omitempty"`
	// Contention is the SQLite ingest-under-contention scenario.
	Contention *ContentionReport `json:"contention,omitempty"`
}

// Target is one performance target checked against a report.
type Target struct {
	Name string  `json:"name"`
	Want string  `json:"want"`
	Got  float64 `json:"got"`
	Unit string  `json:"unit"`
	Met  bool    `json:"met"`
}

// Run runs cfg and reports. An error means the run could not be made; a
// run that was made but does not balance is a Report with Void set.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 2 * time.Minute
	}
	if cfg.Traffic.Profile == "" {
		cfg.Traffic.Profile = ProfileSteady
	}
	if cfg.Ramp != nil {
		r := cfg.Ramp
		if r.Factor <= 1 {
			r.Factor = 1.25
		}
		if r.P99LimitMS <= 0 {
			r.P99LimitMS = 50
		}
		if r.Step <= 0 {
			r.Step = 10 * time.Second
		}
		if r.Settle <= 0 {
			r.Settle = time.Minute
		}
		if r.From <= 0 || r.MaxRate < r.From {
			return nil, errors.New("a ramp needs 0 < from ≤ max rate")
		}
		cfg.Traffic.Rate, cfg.Traffic.Duration = r.From, r.Step
	}
	if err := cfg.Traffic.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "hooklens-bench-")
		if err != nil {
			return nil, fmt.Errorf("creating a work directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	rep := &Report{Name: cfg.Name, Mode: "fixed", Kind: cfg.Kind, StartedAt: time.Now().UTC(), Seed: cfg.Seed, Traffic: cfg.Traffic, Command: cfg.Command}
	if cfg.Ramp != nil {
		rep.Mode = "ramp"
	}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench %s: %s\n", cfg.Name, fmt.Sprintf(format, args...))
		}
	}
	var busy float64
	if cfg.QuietCores <= 0 {
		b, err := busyCores(ctx, 2*time.Second)
		if err != nil {
			return nil, err
		}
		busy = b
	} else {
		say("waiting up to %s for the machine to be quiet (< %.2f cores busy)", cfg.QuietWait, cfg.QuietCores)
		b, quiet, err := WaitQuiet(ctx, cfg.QuietCores, cfg.QuietWait)
		if err != nil {
			return nil, err
		}
		busy = b
		if !quiet {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the machine was not quiet: %.2f cores busy before the run", b))
			say("the machine is still busy (%.2f cores); running anyway and saying so", b)
		}
	}
	rep.Machine = ReadMachine()
	rep.Machine.BusyBefore = busy
	if probe, err := ProbeFsync(cfg.Dir, 200); err == nil {
		rep.Machine.Fsync = probe
	}

	// The server and its database.
	var srv *Server
	var pgName string
	baseURL, secret, dbURL, fresh := cfg.Target, cfg.Secret, cfg.DatabaseURL, cfg.FreshDatabase
	if cfg.Target == "" {
		fdb, err := NewDatabase(ctx, cfg.Kind, cfg.Dir, cfg.PGAdminURL, safeName(cfg.Name))
		if err != nil {
			return nil, err
		}
		if !cfg.KeepDatabase {
			defer func() { _ = fdb.Drop(context.WithoutCancel(ctx)) }()
		} else {
			rep.Notes = append(rep.Notes, "database kept: "+config.RedactURL(fdb.URL))
		}
		say("starting hooklens serve on a fresh %s database", cfg.Kind)
		srv, err = StartServer(ctx, ServerOptions{Binary: cfg.Binary, DatabaseURL: fdb.URL, Args: cfg.ServerArgs, Dir: cfg.Dir})
		if err != nil {
			return nil, err
		}
		defer func() { _ = srv.Stop(30 * time.Second) }()
		baseURL, secret, dbURL, fresh = srv.URL, srv.Secret, fdb.URL, true
		pgName = fdb.Name()
		rep.Server = &ServerStats{Args: strings.Join(cfg.ServerArgs, " ")}
	} else {
		rep.Target = cfg.Target
	}
	var db *store.DB
	if dbURL != "" {
		var err error
		db, err = store.Open(ctx, dbURL, store.Options{MaxConns: 2, ReadConns: 2})
		if err != nil {
			return nil, fmt.Errorf("opening the server's database for the ledger: %w", err)
		}
		defer db.Close()
		rep.Machine.Database = databaseVersion(ctx, db)
		if db.Postgres() {
			if err := readPostgresSettings(ctx, dbURL, &rep.Machine); err != nil {
				return nil, err
			}
		}
		if rep.Kind == "" {
			rep.Kind = SQLite
			if db.Postgres() {
				rep.Kind = Postgres
			}
		}
	}
	gen, err := simulate.NewGenerator(simulate.Config{Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(baseURL, "/") + "/api/webhooks/dwolla/v2"
	maxInFlight, profileCap := cfg.MaxInFlight, false
	if cfg.Traffic.Profile == ProfileDwolla {
		maxInFlight, profileCap = DwollaMaxInFlight, true
	}

	// The steps.
	var allReqs [][]Request
	var results []*LoadResult
	var firstCPU, loadCPU time.Duration
	serverCPU := func() time.Duration {
		if srv == nil {
			return 0
		}
		st, err := srv.Stat()
		if err != nil {
			return 0
		}
		return st.CPU
	}
	firstCPU = serverCPU()
	step := func(rate float64) (Step, error) {
		t := cfg.Traffic
		if cfg.Ramp != nil {
			t.Rate, t.Duration = rate, cfg.Ramp.Step
		}
		say("planning %d requests at %.0f/s (%s profile, %.0f%% duplicates)", t.Count(), t.Rate, t.Profile, 100*t.DuplicateShare)
		reqs, err := Plan(gen, secret, t, cfg.Seed+uint64(len(results)))
		if err != nil {
			return Step{}, err
		}
		genBefore, _ := ReadProc(os.Getpid())
		cpuBefore := serverCPU()
		machBefore, _, _ := cpuTimes()
		dbBefore := backendsCPU(pgName)
		res, err := Send(ctx, reqs, LoadOptions{URL: url, MaxInFlight: maxInFlight, Timeout: cfg.Timeout,
			Progress: cfg.Progress, Label: fmt.Sprintf("%s %.0f/s", cfg.Name, t.Rate)}, profileCap)
		if err != nil {
			return Step{}, err
		}
		cpu := serverCPU() - cpuBefore
		machAfter, _, _ := cpuTimes()
		dbCPU := backendsCPU(pgName) - dbBefore
		loadCPU += cpu
		genAfter, _ := ReadProc(os.Getpid())
		allReqs = append(allReqs, reqs)
		results = append(results, res)
		s := Step{Rate: t.Rate, Load: res, ServerCPUS: -1, DatabaseCores: -1, GeneratorCPUS: (genAfter.CPU - genBefore.CPU).Seconds()}
		if srv != nil {
			s.ServerCPUS = cpu.Seconds()
			if res.Sent > 0 {
				s.ServerCPUPerReqUS = float64(cpu.Microseconds()) / float64(res.Sent)
			}
			if res.ElapsedS > 0 {
				s.ServerCores = s.ServerCPUS / res.ElapsedS
			}
		}
		if res.ElapsedS > 0 {
			s.EventsPerS = float64(res.Acked-res.Duplicates) / res.ElapsedS
			s.MachineCores = (machAfter - machBefore).Seconds() / res.ElapsedS
			if pgName != "" {
				s.DatabaseCores = dbCPU.Seconds() / res.ElapsedS
			}
		}
		s.Pass, s.Why = judge(res, cfg.Ramp)
		dbCores := ""
		if s.DatabaseCores >= 0 {
			dbCores = fmt.Sprintf(", database %.2f", s.DatabaseCores)
		}
		say("%.0f/s: acked %d/%d, p50 %.1f ms, p99 %.1f ms, max %.1f ms; cores busy: server %.2f%s, generator %.2f, machine %.2f — %s",
			t.Rate, res.Acked, res.Scheduled, res.Ack.P50, res.Ack.P99, res.Ack.Max, s.ServerCores, dbCores,
			s.GeneratorCPUS/max(res.ElapsedS, 1e-9), s.MachineCores, verdict(s))
		return s, nil
	}

	if cfg.Ramp == nil {
		s, err := step(cfg.Traffic.Rate)
		if err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, s)
		rep.Throughput = s.Load.Throughput
		rep.EventsPerS = s.EventsPerS
	} else {
		r := cfg.Ramp
		var lastPass, firstFail float64
		rate := r.From
		for ctx.Err() == nil && rate <= r.MaxRate*1.0001 {
			s, err := step(rate)
			if err != nil {
				return nil, err
			}
			rep.Steps = append(rep.Steps, s)
			if !s.Pass {
				firstFail = rate
				break
			}
			lastPass = rate
			rep.Held = &rep.Steps[len(rep.Steps)-1]
			if err := settle(ctx, baseURL, r.Settle, say); err != nil {
				return nil, err
			}
			rate = math.Round(rate * r.Factor)
		}
		for i := 0; i < r.Refine && firstFail > 0 && lastPass > 0 && ctx.Err() == nil; i++ {
			mid := math.Round((lastPass + firstFail) / 2)
			if mid <= lastPass || mid >= firstFail {
				break
			}
			if err := settle(ctx, baseURL, r.Settle, say); err != nil {
				return nil, err
			}
			s, err := step(mid)
			if err != nil {
				return nil, err
			}
			rep.Steps = append(rep.Steps, s)
			if s.Pass {
				lastPass = mid
			} else {
				firstFail = mid
			}
		}
		for i := range rep.Steps {
			if rep.Steps[i].Pass && (rep.Held == nil || rep.Steps[i].Rate > rep.Held.Rate) {
				rep.Held = &rep.Steps[i]
			}
		}
		if rep.Held != nil {
			rep.Throughput = rep.Held.Rate
			rep.EventsPerS = rep.Held.EventsPerS
		}
	}

	// Drain, then the ledger and the end-to-end times.
	balancedRequests := true
	for _, res := range results {
		balancedRequests = balancedRequests && res.Balanced()
	}
	events, order := tally(allReqs, results)
	if db == nil {
		rep.Ledger = Ledger{Checked: false, Balanced: false, Reason: "no database to check against (give --database-url)"}
		rep.Void, rep.VoidReason = true, "the ledger could not be checked against the database"
	} else {
		say("waiting for the pipeline to drain")
		drain, drained, err := waitPipelineDrained(ctx, baseURL, cfg.DrainTimeout)
		if err != nil {
			return nil, err
		}
		rows, err := readEvents(ctx, db, order)
		if err != nil {
			return nil, err
		}
		total := -1
		if fresh {
			if total, err = countRows(ctx, db); err != nil {
				return nil, err
			}
		}
		rep.Ledger = checkLedger(events, rows, total, fresh, balancedRequests)
		rep.EndToEnd = endToEnd(events, rows)
		rep.EndToEnd.DrainS, rep.EndToEnd.Drained = drain.Seconds(), drained
		if !rep.Ledger.Balanced {
			rep.Void, rep.VoidReason = true, rep.Ledger.Reason
		}
		say("ledger %s; %d of %d acknowledged events processed, receipt → processed p50 %.0f ms, p99 %.0f ms (drained in %.1fs)",
			map[bool]string{true: "balances", false: "DOES NOT BALANCE: " + rep.Ledger.Reason}[rep.Ledger.Balanced],
			rep.EndToEnd.Processed, rep.Ledger.UniqueAcked, rep.EndToEnd.Latency.P50, rep.EndToEnd.Latency.P99, drain.Seconds())
	}
	if m, err := scrapeMetrics(ctx, baseURL); err == nil {
		rep.Metrics = m
	}
	if srv != nil {
		st, err := srv.Stat()
		if err == nil {
			rep.Server.CPUS = (st.CPU - firstCPU).Seconds()
			rep.Server.LoadCPUS = loadCPU.Seconds()
			rep.Server.PeakRSS = st.PeakRSS
			rep.Server.Nice = st.Nice
		}
		if err := srv.Stop(30 * time.Second); err != nil {
			rep.Notes = append(rep.Notes, err.Error())
		}
		if tail := srv.LogTail(5); strings.Contains(tail, "level=ERROR") {
			rep.Notes = append(rep.Notes, "the server logged errors; see its log")
		}
	}

	if cfg.Baseline && cfg.Target == "" {
		say("measuring the raw batched-insert baseline with the same rows")
		b, err := runBaseline(ctx, cfg, allReqs)
		if err != nil {
			return nil, err
		}
		rep.Baseline = &b
		if b.RequestsPerS > 0 {
			rep.BaselineShare = rep.Throughput / b.RequestsPerS
		}
		say("baseline: %.0f requests/s in batches of %d from %d writer(s); ingest reached %.0f%% of it",
			b.RequestsPerS, b.Batch, b.Writers, 100*rep.BaselineShare)
	}
	return rep, nil
}

func runBaseline(ctx context.Context, cfg Config, allReqs [][]Request) (Baseline, error) {
	var reqs []Request
	for _, rs := range allReqs {
		reqs = append(reqs, rs...)
	}
	fdb, err := NewDatabase(ctx, cfg.Kind, cfg.Dir, cfg.PGAdminURL, "baseline")
	if err != nil {
		return Baseline{}, err
	}
	defer func() { _ = fdb.Drop(context.WithoutCancel(ctx)) }()
	db, err := store.Open(ctx, fdb.URL, store.Options{})
	if err != nil {
		return Baseline{}, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return Baseline{}, err
	}
	writers := 1
	if db.Postgres() {
		writers = 2 // the receiver's default group-commit writers
	}
	return RunBaseline(ctx, db, reqs, writers)
}

// settle waits (bounded) for the queue to drain between ramp steps, so a
// step's backlog does not weigh on the next.
func settle(ctx context.Context, baseURL string, limit time.Duration, say func(string, ...any)) error {
	d, ok, err := waitPipelineDrained(ctx, baseURL, limit)
	if err != nil {
		return err
	}
	if !ok {
		say("the queue did not drain within %s; going on (the pipeline is behind)", limit)
	} else if d > 2*time.Second {
		say("the queue drained in %.1fs", d.Seconds())
	}
	return nil
}

// judge decides whether a step held its rate.
func judge(res *LoadResult, r *Ramp) (bool, string) {
	limit := 50.0
	if r != nil {
		limit = r.P99LimitMS
	}
	var why []string
	if n := res.Rejected + res.Errors + res.Timeouts; n > 0 {
		why = append(why, fmt.Sprintf("%d requests not acknowledged", n))
	}
	if res.CutOff > 0 {
		why = append(why, fmt.Sprintf("%d never sent", res.CutOff))
	}
	if res.Ack.P99 >= limit {
		why = append(why, fmt.Sprintf("p99 %.1f ms ≥ %.0f ms", res.Ack.P99, limit))
	}
	if res.Generator.Lagging {
		why = append(why, "generator lagging: "+res.Generator.Reason)
	}
	return len(why) == 0, strings.Join(why, "; ")
}

func verdict(s Step) string {
	if s.Pass {
		return "held"
	}
	return "not held: " + s.Why
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "run"
	}
	return b.String()
}
