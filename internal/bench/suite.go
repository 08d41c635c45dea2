package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// DESIGN §5's targets.
const (
	targetP99MS         = 50
	targetE2EP99MS      = 1000
	targetBaselineShare = 0.5
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
		rep, err := Run(ctx, s.Config)
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
		b.WriteString(mdHeader + "\n")
		for _, r := range reps {
			b.WriteString(mdRow(r) + "\n")
		}
		b.WriteString("\nRate, events/s and ack latency are the held step of a ramp or the whole of a fixed run; latency runs from each request's *scheduled* time to its answer. Receipt → processed covers every acknowledged event, read from the database. Server cores = server CPU seconds ÷ wall seconds while sending; PostgreSQL cores the same for the backends serving the run's database. Raw JSON: `bench/results/<scenario>.json`.\n\n")
		for _, r := range reps {
			fmt.Fprintf(&b, "- **%s** — %s\n", r.Name, lastNote(r))
		}
		b.WriteString("\n")
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
