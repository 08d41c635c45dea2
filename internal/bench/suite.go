package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Scenario is one standard benchmark with the targets it checks.
type Scenario struct {
	Name    string
	Kind    string
	Config  Config
	Targets func(*Report) []Target
	// About says what the scenario shows, for BENCHMARKS.md.
	About string
	// Closed and Contention, when set, make this a closed-loop comparison
	// with the ceiling receiver or the contention scenario instead of a
	// Config run.
	Closed     *ClosedConfig
	Contention *ContentionConfig
	// RampShare, when positive, makes this fixed run's rate that share of
	// the rate held by the ramp scenario named RampOf (run earlier in the
	// same suite, or read from its report in the output directory).
	RampOf    string
	RampShare float64
}

// SuiteOptions tune the standard suite.
type SuiteOptions struct {
	// Kinds limits the databases (default both).
	Kinds []string
	// Only runs the scenarios whose names contain one of these.
	Only []string
	// Quick shortens every scenario, to try the suite out; its numbers are
	// not the published ones.
	Quick bool
	// PGAdminURL is where PostgreSQL databases are created.
	PGAdminURL string
	// Binary is the hooklens executable.
	Binary string
	// Seed fixes the traffic (0: a fixed default, so runs compare).
	Seed uint64
	// QuietCores and QuietWait make each scenario first wait for a quiet
	// machine (see Config.QuietCores).
	QuietCores float64
	QuietWait  time.Duration
	// Progress receives progress lines.
	Progress io.Writer
	// Pairs is the number of hooklens/ceiling pairs per closed-loop level
	// (default 2; 1 when Quick).
	Pairs int
}

// DESIGN §5's targets.
const (
	targetP99MS         = 50
	targetE2EP99MS      = 1000
	targetBaselineShare = 0.5
	// DESIGN §6's, against the ceiling receiver at 64 connections.
	targetCeilingRate  = 0.75
	targetCeilingCPU   = 2.5
	targetCeilingBytes = 1.8
	// issue 17: ingest's ack p99 under contention on SQLite.
	targetContentionP99MS = 50
)

// ingestTarget is the durable-ingest target of kind, events/s.
func ingestTarget(kind string) float64 {
	if kind == Postgres {
		return 5000
	}
	return 3000
}

// Scenarios returns the standard suite.
func Scenarios(opts SuiteOptions) []Scenario {
	scale := func(d time.Duration) time.Duration {
		if opts.Quick {
			return d / 5
		}
		return d
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 20261129
	}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = []string{SQLite, Postgres}
	}
	var out []Scenario
	for _, kind := range kinds {
		want := ingestTarget(kind)
		base := Config{Kind: kind, PGAdminURL: opts.PGAdminURL, Binary: opts.Binary, Seed: seed, Progress: opts.Progress,
			QuietCores: opts.QuietCores, QuietWait: opts.QuietWait}

		ramp := base
		ramp.Name = kind + "-ramp"
		ramp.Traffic = Traffic{DuplicateShare: 0.02, Profile: ProfileSteady}
		ramp.Ramp = &Ramp{From: 250, Factor: 1.5, MaxRate: 30000, Step: scale(10 * time.Second), Refine: 3, P99LimitMS: targetP99MS}
		ramp.Baseline = true
		out = append(out, Scenario{
			Name: ramp.Name, Kind: kind, Config: ramp,
			About: fmt.Sprintf("steady open-loop load, 2%% duplicates, rising ×1.5 every %s from 250/s until p99 ack ≥ 50 ms or any request fails, then 3 bisection steps; then the raw batched-insert baseline on the same rows", ramp.Ramp.Step),
			Targets: func(r *Report) []Target {
				held := 0.0
				if r.Held != nil {
					held = r.Held.EventsPerS
				}
				return []Target{
					{Name: fmt.Sprintf("durable ingest ≥ %.0f events/s with p99 ack < 50 ms", want), Want: fmt.Sprintf("≥ %.0f", want), Got: held, Unit: "events/s", Met: held >= want && !r.Void},
					{Name: "ingest ≥ 50% of raw batched inserts", Want: "≥ 50", Got: 100 * r.BaselineShare, Unit: "%", Met: r.BaselineShare >= targetBaselineShare && !r.Void},
				}
			},
		})

		e2e := base
		e2e.Name = kind + "-1000"
		e2e.Traffic = Traffic{Rate: 1000, Duration: scale(30 * time.Second), DuplicateShare: 0.02, Profile: ProfileSteady}
		out = append(out, Scenario{
			Name: e2e.Name, Kind: kind, Config: e2e,
			About: "1,000 requests/s for " + e2e.Traffic.Duration.String() + ", steady, 2% duplicates: does the pipeline keep up?",
			Targets: func(r *Report) []Target {
				return []Target{
					{Name: "receipt → processed p99 < 1 s at 1,000/s", Want: "< 1000", Got: r.EndToEnd.Latency.P99, Unit: "ms",
						Met: r.EndToEnd.Latency.P99 < targetE2EP99MS && r.EndToEnd.NotProcessed == 0 && !r.Void},
					ackTarget(r),
				}
			},
		})

		dw := base
		dw.Name = fmt.Sprintf("%s-dwolla-%.0f", kind, want)
		dw.Traffic = Traffic{Rate: want, Duration: scale(20 * time.Second), DuplicateShare: 0.05, Profile: ProfileDwolla}
		out = append(out, Scenario{
			Name: dw.Name, Kind: kind, Config: dw,
			About: fmt.Sprintf("the target rate (%.0f/s) in Dwolla's shape: bursts of 1–10 simultaneous deliveries, at most 10 in flight, 5%% duplicates", want),
			Targets: func(r *Report) []Target {
				return []Target{ackTarget(r)}
			},
		})

		e80 := base
		e80.Name = kind + "-e2e-80"
		e80.Traffic = Traffic{Duration: scale(30 * time.Second), DuplicateShare: 0.02, Profile: ProfileSteady}
		out = append(out, Scenario{
			Name: e80.Name, Kind: kind, Config: e80, RampOf: ramp.Name, RampShare: 0.8,
			About: "80% of the rate " + ramp.Name + " held, for " + e80.Traffic.Duration.String() + ", steady, 2% duplicates: does the pipeline keep up near the limit?",
			Targets: func(r *Report) []Target {
				return []Target{
					{Name: "receipt → processed p99 < 1 s at 80% of the highest rate held, no backlog after the run", Want: "< 1000", Got: r.EndToEnd.Latency.P99, Unit: "ms",
						Met: r.EndToEnd.Latency.P99 < targetE2EP99MS && r.EndToEnd.NotProcessed == 0 && r.EndToEnd.Drained && !r.Void},
				}
			},
		})

		cl := &ClosedConfig{
			Name: kind + "-closed", Kind: kind, PGAdminURL: opts.PGAdminURL, Binary: opts.Binary,
			Connections: []int{10, 64, 256}, Requests: 20000, MaxDuration: time.Minute, Pairs: opts.Pairs,
			DuplicateShare: 0.02, Seed: seed, Progress: opts.Progress, QuietCores: opts.QuietCores, QuietWait: opts.QuietWait,
		}
		if opts.Quick {
			cl.Requests, cl.MaxDuration, cl.DrainTimeout = 1500, 15*time.Second, time.Minute
			if opts.Pairs <= 0 {
				cl.Pairs = 1
			}
		}
		out = append(out, Scenario{
			Name: cl.Name, Kind: kind, Closed: cl,
			About:   fmt.Sprintf("closed loop at 10, 64 and 256 connections, %d requests a run (at most %s), 2%% duplicates: hooklens and the ceiling receiver alternating, each on a fresh database", cl.Requests, cl.MaxDuration),
			Targets: closedTargets,
		})

		if kind == SQLite {
			ct := &ContentionConfig{Name: "sqlite-contention", Binary: opts.Binary, Prefill: 100_000, Rate: 200, Duration: 30 * time.Second, Seed: seed, Progress: opts.Progress}
			if opts.Quick {
				ct.Prefill, ct.Duration = 20_000, 8*time.Second
			}
			out = append(out, Scenario{
				Name: ct.Name, Kind: kind, Contention: ct,
				About: fmt.Sprintf("%.0f webhooks/s for %s on SQLite filled with %d events, while the pipeline runs, a bulk replay of every event and a rollup rebuild start 1 s in, and a burner spins one thread per core", ct.Rate, ct.Duration, ct.Prefill),
				Targets: func(r *Report) []Target {
					p99, ok := 0.0, false
					if c := r.Contention; c != nil && c.Load != nil {
						p99 = c.Load.Ack.P99
						ok = p99 < targetContentionP99MS && c.Load.Acked == c.Load.Scheduled && c.ReplayError == "" && c.RebuildError == ""
					}
					return []Target{{Name: "p99 ack < 50 ms under contention, every request acknowledged", Want: "< 50", Got: p99, Unit: "ms", Met: ok && !r.Void}}
				},
			})
		}
	}
	if len(opts.Only) > 0 {
		var kept []Scenario
		for _, s := range out {
			for _, o := range opts.Only {
				if strings.Contains(s.Name, o) {
					kept = append(kept, s)
					break
				}
			}
		}
		out = kept
	}
	return out
}

func ackTarget(r *Report) Target {
	m := r.Main()
	p99, ok := 0.0, false
	if m != nil {
		l := m.Load
		p99 = l.Ack.P99
		ok = p99 < targetP99MS && l.Rejected+l.Errors+l.Timeouts+l.CutOff == 0
	}
	return Target{Name: "p99 ack < 50 ms, every request acknowledged", Want: "< 50", Got: p99, Unit: "ms", Met: ok && !r.Void}
}

// RunSuite runs scenarios one after another, writing each report to
// outDir/<name>.json as it finishes, and returns them.
func RunSuite(ctx context.Context, scenarios []Scenario, outDir string) ([]*Report, error) {
	var reps []*Report
	for _, s := range scenarios {
		if ctx.Err() != nil {
			return reps, ctx.Err()
		}
		var rep *Report
		var err error
		switch {
		case s.Closed != nil:
			c := *s.Closed
			c.Command = s.Config.Command
			rep, err = RunClosed(ctx, c)
		case s.Contention != nil:
			c := *s.Contention
			c.Command = s.Config.Command
			rep, err = RunContention(ctx, c)
		default:
			cfg := s.Config
			if s.RampShare > 0 {
				held, herr := heldRate(reps, outDir, s.RampOf)
				if herr != nil {
					// Nothing to run at: say so, and its targets are missed.
					rep = &Report{Name: s.Name, Mode: "fixed", Kind: s.Kind, StartedAt: time.Now().UTC(), Traffic: cfg.Traffic,
						Command: cfg.Command, Machine: ReadMachine(), Notes: []string{"not run: " + herr.Error()}}
					break
				}
				cfg.Traffic.Rate = math.Round(s.RampShare * held)
			}
			rep, err = Run(ctx, cfg)
		}
		if err != nil {
			return reps, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		if s.Targets != nil {
			rep.Targets = s.Targets(rep)
		}
		rep.Notes = append(rep.Notes, s.About)
		if err := WriteJSON(filepath.Join(outDir, s.Name+".json"), rep); err != nil {
			return reps, err
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// heldRate is the rate the ramp scenario named ramp held: from its report
// in reps (this suite run) or, failing that, in dir.
func heldRate(reps []*Report, dir, ramp string) (float64, error) {
	var r *Report
	for _, x := range reps {
		if x.Name == ramp {
			r = x
		}
	}
	if r == nil {
		raw, err := os.ReadFile(filepath.Join(dir, ramp+".json"))
		if err != nil {
			return 0, fmt.Errorf("it runs at a share of the rate %s held: run that scenario first (%w)", ramp, err)
		}
		r = &Report{}
		if err := json.Unmarshal(raw, r); err != nil {
			return 0, fmt.Errorf("reading %s: %w", ramp, err)
		}
	}
	if r.Held == nil || r.Held.Rate <= 0 {
		return 0, fmt.Errorf("%s held no rate", ramp)
	}
	return r.Held.Rate, nil
}

// closedTargets checks a closed-loop comparison against DESIGN §6: at 64
// connections, the median ratios over the pairs; and no backlog after any
// hooklens run.
func closedTargets(r *Report) []Target {
	var lv *ClosedLevel
	if r.Closed != nil {
		for i := range r.Closed.Levels {
			if r.Closed.Levels[i].Connections == 64 {
				lv = &r.Closed.Levels[i]
			}
		}
	}
	if lv == nil {
		return nil
	}
	m := lv.Median
	drained := true
	for _, l := range r.Closed.Levels {
		for _, run := range l.Runs {
			drained = drained && run.Drained
		}
	}
	return []Target{
		{Name: "req/s ≥ 0.75× the ceiling's at 64 connections", Want: "≥ 0.75", Got: m.RequestsPerS, Unit: "×", Met: m.RequestsPerS >= targetCeilingRate && !r.Void},
		{Name: "CPU per webhook incl. the pipeline ≤ 2.5× the ceiling's at 64 connections", Want: "≤ 2.5", Got: m.CPUPerWebhook, Unit: "×", Met: m.CPUPerWebhook > 0 && m.CPUPerWebhook <= targetCeilingCPU && !r.Void},
		{Name: "bytes on disk per event ≤ 1.8× the ceiling's", Want: "≤ 1.8", Got: m.BytesPerEvent, Unit: "×", Met: m.BytesPerEvent > 0 && m.BytesPerEvent <= targetCeilingBytes && !r.Void},
		{Name: "no backlog after any hooklens run", Want: "drained", Got: map[bool]float64{true: 1, false: 0}[drained], Unit: "", Met: drained && !r.Void},
	}
}

// ReadReports reads the JSON reports of scenarios from dir, in the
// scenarios' order, skipping those not there.
func ReadReports(dir string, scenarios []Scenario) ([]*Report, error) {
	var reps []*Report
	for _, s := range scenarios {
		raw, err := os.ReadFile(filepath.Join(dir, s.Name+".json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Name, err)
		}
		var r Report
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Name, err)
		}
		reps = append(reps, &r)
	}
	if len(reps) == 0 {
		return nil, fmt.Errorf("no reports in %s", dir)
	}
	return reps, nil
}

// Markers delimit the generated part of BENCHMARKS.md.
const (
	beginMarker = "<!-- bench:results:begin (written by `hooklens bench suite`; edit outside the markers) -->"
	endMarker   = "<!-- bench:results:end -->"
)

// UpdateMarkdown rewrites the generated part of the file at path with
// reps, the machine and the commands that reproduce them. The rest of the
// file is left as it is.
func UpdateMarkdown(path string, reps []*Report, command string) error {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i < 0 || j < i {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + beginMarker + "\n" + endMarker + "\n"
		i, j = strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	}
	var b strings.Builder
	b.WriteString(beginMarker + "\n\n")
	if len(reps) > 0 {
		m := reps[0].Machine
		dbs := map[string]string{}
		var notes []string
		for _, r := range reps {
			if r.Machine.Database != "" {
				dbs[r.Kind] = r.Machine.Database
			}
			n := fmt.Sprintf("%s: %.2f busy cores, load %.1f, fsync p50/p99 %.1f/%.1f ms", r.Name, r.Machine.BusyBefore, r.Machine.LoadAvg,
				r.Machine.Fsync.P50, r.Machine.Fsync.P99)
			if r.Server != nil && r.Server.Nice != 0 {
				n += fmt.Sprintf(", server nice %d", r.Server.Nice)
			}
			notes = append(notes, n)
		}
		fmt.Fprintf(&b, "Measured %s by `%s`.\n\n", reps[0].StartedAt.Format("2006-01-02 15:04 MST"), command)
		var engines []string
		for _, k := range []string{SQLite, Postgres} {
			if dbs[k] != "" {
				engines = append(engines, dbs[k])
			}
		}
		fmt.Fprintf(&b, "**Machine:** %s, %d cores, %.0f GB RAM, %s %s; %s. Server, database and load generator share the machine.\n\n",
			m.CPU, m.Cores, m.MemoryGB, m.Go, m.OS, strings.Join(engines, "; "))
		fmt.Fprintf(&b, "Conditions when each scenario started — other work on the machine (cores busy over the 2 s before it, 1-minute load average) and the disk's fsync latency (200 × 8 KiB): %s.\n\n", strings.Join(notes, "; "))
		var open []*Report
		for _, r := range reps {
			if r.Closed == nil && r.Contention == nil {
				open = append(open, r)
			}
		}
		if len(open) > 0 {
			b.WriteString(mdHeader + "\n")
			for _, r := range open {
				b.WriteString(mdRow(r) + "\n")
			}
			b.WriteString("\nRate, events/s and ack latency are the held step of a ramp or the whole of a fixed run; latency runs from each request's *scheduled* time to its answer. Receipt → processed covers every acknowledged event, read from the database. Server cores = server CPU seconds ÷ wall seconds while sending; PostgreSQL cores the same for the backends serving the run's database. Raw JSON: `bench/results/<scenario>.json`.\n\n")
			for _, r := range open {
				fmt.Fprintf(&b, "- **%s** — %s\n", r.Name, lastNote(r))
			}
			b.WriteString("\n")
		}
		mdClosed(&b, reps)
		mdContention(&b, reps)
	}
	b.WriteString(endMarker)
	out := doc[:i] + b.String() + doc[j+len(endMarker):]
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func lastNote(r *Report) string {
	if len(r.Notes) == 0 {
		return ""
	}
	return r.Notes[len(r.Notes)-1]
}
