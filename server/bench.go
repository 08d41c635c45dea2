package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/bench"
)

func init() {
	register(command{
		name:    "bench",
		summary: "load-test a receiver with signed webhooks; `bench suite` runs the standard scenarios, `bench ceiling` the minimal receiver they compare with",
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				switch args[0] {
				case "suite":
					return benchSuite(ctx, e, args[1:])
				case "ceiling":
					return benchCeiling(ctx, e, args[1:])
				case "burn":
					return benchBurn(ctx, e, args[1:])
				}
			}
			return benchRun(ctx, e, args)
		},
	})
}

func benchRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench", "[--db sqlite|postgres] [--rate N --duration D | --ramp] [--baseline] [--target URL --secret S]")
	name := fs.String("name", "", "name of the run in reports (default: db-mode)")
	kind := fs.String("db", "sqlite", "database of the server this run starts: sqlite or postgres (a fresh one, dropped after)")
	pgAdmin := fs.String("pg-admin-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server where the run may create and drop its database (default $TEST_DATABASE_URL)")
	binary := fs.String("server-bin", "", "hooklens binary to serve with (default: this one)")
	serveArgs := fs.String("serve-args", "", "extra `hooklens serve` flags, space-separated, e.g. \"--workers 4\"")
	target := fs.String("target", "", "base URL of an already running hooklens (then its CPU and memory are unknown)")
	secret := fs.String("secret", "", "with --target: its webhook secret")
	dbURL := fs.String("database-url", "", "with --target: its database, read for the ledger and end-to-end times")
	rate := fs.Float64("rate", 1000, "requests per second (fixed run)")
	duration := fs.Duration("duration", 30*time.Second, "how long to send (fixed run)")
	dups := fs.Float64("duplicates", 0.02, "share of requests that repeat an earlier event, as Dwolla sometimes does")
	profile := fs.String("profile", bench.ProfileSteady, "steady (evenly spaced) or dwolla (bursts of 1–10, at most 10 in flight)")
	ramp := fs.Bool("ramp", false, "find the highest rate held with p99 ack under --p99 and no failures")
	rampFrom := fs.Float64("ramp-from", 1000, "ramp: first rate")
	rampFactor := fs.Float64("ramp-factor", 1.25, "ramp: rate multiplier per step")
	rampMax := fs.Float64("ramp-max", 30000, "ramp: highest rate tried")
	rampStep := fs.Duration("ramp-step", 10*time.Second, "ramp: duration of each step")
	rampRefine := fs.Int("ramp-refine", 2, "ramp: bisection steps after the first failure")
	p99 := fs.Float64("p99", 50, "ramp: p99 acknowledgement limit in ms")
	baseline := fs.Bool("baseline", false, "also measure raw batched inserts of the same rows on a fresh database of the same kind")
	maxInFlight := fs.Int("max-in-flight", 2048, "steady profile: generator's in-flight cap (reaching it is reported as generator lag)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout (Dwolla's is 10s)")
	drain := fs.Duration("drain-timeout", 2*time.Minute, "longest wait for the pipeline to drain after sending")
	seed := fs.Uint64("seed", 0, "seed naming the traffic (0: from the clock)")
	jsonOut := fs.String("json", "", "write the JSON report here (- for stdout, then no table)")
	keep := fs.Bool("keep-db", false, "keep the run's database")
	quiet := fs.Float64("quiet-cores", 0, "first wait until the machine keeps fewer cores than this busy (0: don't wait)")
	quietWait := fs.Duration("quiet-wait", 3*time.Minute, "longest wait for a quiet machine")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *target != "" && *secret == "" {
		fmt.Fprintln(e.stderr, "hooklens bench: --target needs --secret")
		return errUsage
	}
	if *target != "" {
		if err := checkWebhookTarget(*target, *secret); err != nil {
			return err
		}
	}
	cfg := bench.Config{
		Name: *name, Kind: *kind, Target: *target, Secret: *secret, DatabaseURL: *dbURL, PGAdminURL: *pgAdmin,
		Binary: *binary, ServerArgs: strings.Fields(*serveArgs),
		Traffic: bench.Traffic{Rate: *rate, Duration: *duration, DuplicateShare: *dups, Profile: *profile},
		Seed:    *seed, MaxInFlight: *maxInFlight, Timeout: *timeout, DrainTimeout: *drain,
		Baseline: *baseline, KeepDatabase: *keep, Progress: e.stderr,
		QuietCores: *quiet, QuietWait: *quietWait,
	}
	if *target != "" {
		cfg.Kind = ""
	}
	if *ramp {
		cfg.Ramp = &bench.Ramp{From: *rampFrom, Factor: *rampFactor, MaxRate: *rampMax, Step: *rampStep, Refine: *rampRefine, P99LimitMS: *p99}
	}
	if cfg.Name == "" {
		mode := fmt.Sprintf("%.0f", *rate)
		if *ramp {
			mode = "ramp"
		}
		what := *kind
		if *target != "" {
			what = "target"
		}
		cfg.Name = what + "-" + mode
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	switch *jsonOut {
	case "-":
		if err := writeJSONTo(e, rep); err != nil {
			return err
		}
	case "":
		if err := bench.WriteText(e.stdout, rep); err != nil {
			return err
		}
	default:
		if err := bench.WriteJSON(*jsonOut, rep); err != nil {
			return err
		}
		if err := bench.WriteText(e.stdout, rep); err != nil {
			return err
		}
	}
	if rep.Void {
		return fmt.Errorf("the run is void: %s", rep.VoidReason)
	}
	return nil
}

// benchCeiling serves the ceiling receiver: the least a durable webhook
// receiver does (HMAC, the event id, a group commit of the raw body into
// one table), which the suite runs beside hooklens.
func benchCeiling(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench ceiling", "--addr 127.0.0.1:8090 [--database-url URL|PATH] (secret from $DWOLLA_WEBHOOK_SECRET)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "a postgres:// URL (its table "+bench.CeilingTable+" is created there) or a SQLite file of its own (default $DATABASE_URL)")
	writers := fs.Int("writers", 0, "group-commit writers on PostgreSQL (default 2, as hooklens' receiver; always 1 on SQLite)")
	if err := parse(fs, args); err != nil {
		return err
	}
	secret := os.Getenv("DWOLLA_WEBHOOK_SECRET")
	if secret == "" {
		return fmt.Errorf("hooklens bench ceiling: set DWOLLA_WEBHOOK_SECRET (the secret is read from the environment, never from the command line)")
	}
	if *dbURL == "" {
		fmt.Fprintln(e.stderr, "hooklens bench ceiling: give --database-url or DATABASE_URL")
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return bench.ServeCeiling(ctx, *addr, bench.CeilingOptions{DatabaseURL: *dbURL, Secret: secret, Writers: *writers, Log: log})
}

// benchBurn keeps cores busy for a bounded time: the other work of a
// shared machine, for the contention scenario.
func benchBurn(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench burn", "[--threads N] --duration D")
	threads := fs.Int("threads", runtime.NumCPU(), "spinning threads")
	duration := fs.Duration("duration", 30*time.Second, "how long to burn (at most 10m)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *duration <= 0 || *duration > 10*time.Minute || *threads <= 0 || *threads > 64 {
		return fmt.Errorf("hooklens bench burn: --duration must be in (0, 10m] and --threads in [1, 64]")
	}
	bench.Burn(ctx, *threads, *duration)
	return nil
}

func writeJSONTo(e *env, rep *bench.Report) error {
	f, err := os.CreateTemp("", "hooklens-bench-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	f.Close()
	if err := bench.WriteJSON(f.Name(), rep); err != nil {
		return err
	}
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(raw)
	return err
}

func benchSuite(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench suite", "[--out bench/results] [--markdown BENCHMARKS.md] [--db sqlite,postgres] [--only NAME,…] [--quick]")
	out := fs.String("out", "bench/results", "directory for the JSON reports")
	md := fs.String("markdown", "BENCHMARKS.md", "file whose results section is rewritten (empty: none)")
	dbs := fs.String("db", "sqlite,postgres", "databases to run on")
	only := fs.String("only", "", "run only scenarios whose names contain one of these (comma-separated)")
	quick := fs.Bool("quick", false, "shorter scenarios, to try the suite out (does not touch --markdown)")
	pgAdmin := fs.String("pg-admin-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server where runs may create and drop databases (default $TEST_DATABASE_URL)")
	binary := fs.String("server-bin", "", "hooklens binary to serve with (default: this one)")
	seed := fs.Uint64("seed", 0, "seed naming the traffic (0: the suite's fixed seed)")
	render := fs.String("render", "", "run nothing: rewrite --markdown from the JSON reports in this directory")
	quiet := fs.Float64("quiet-cores", 0.4, "before each scenario, wait until the machine keeps fewer cores than this busy (0: don't wait)")
	quietWait := fs.Duration("quiet-wait", 3*time.Minute, "longest wait for a quiet machine; a scenario run on a busy one says so")
	pairs := fs.Int("pairs", 0, "closed-loop scenarios: hooklens/ceiling pairs per connection count (default 2, 1 with --quick)")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := bench.SuiteOptions{Pairs: *pairs,
		Kinds: splitList(*dbs), Only: splitList(*only), Quick: *quick, PGAdminURL: *pgAdmin,
		Binary: *binary, Seed: *seed, Progress: e.stderr, QuietCores: *quiet, QuietWait: *quietWait,
	}
	for _, k := range opts.Kinds {
		if k == bench.Postgres && *pgAdmin == "" && *render == "" {
			return fmt.Errorf("the PostgreSQL scenarios need --pg-admin-url or TEST_DATABASE_URL")
		}
	}
	scenarios := bench.Scenarios(opts)
	if len(scenarios) == 0 {
		return fmt.Errorf("no scenario matches --db %q --only %q", *dbs, *only)
	}
	if *render != "" {
		reps, err := bench.ReadReports(*render, scenarios)
		if err != nil {
			return err
		}
		command := reps[0].Command
		if command == "" {
			command = suiteCommand(args) // reports from before commands were recorded
		}
		if err := bench.UpdateMarkdown(*md, reps, command); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s from %d reports in %s\n", *md, len(reps), *render)
		return nil
	}
	command := suiteCommand(args)
	for i := range scenarios {
		scenarios[i].Config.Command = command
	}
	reps, err := bench.RunSuite(ctx, scenarios, *out)
	for _, r := range reps {
		if werr := bench.WriteText(e.stdout, r); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if *md != "" && !*quick {
		if err := bench.UpdateMarkdown(*md, reps, command); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nwrote %s and %s\n", filepath.Join(*out, "*.json"), *md)
	}
	var void []string
	for _, r := range reps {
		if r.Void {
			void = append(void, r.Name)
		}
	}
	if len(void) > 0 {
		return fmt.Errorf("void runs (ledger did not balance): %s", strings.Join(void, ", "))
	}
	return nil
}

// suiteCommand is the command line that reproduces a suite's numbers:
// where its files were written does not matter.
func suiteCommand(args []string) string {
	out := []string{"hooklens", "bench", "suite"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		if k, _, ok := strings.Cut(name, "="); ok {
			name = k
		}
		if name == "out" || name == "markdown" || name == "render" {
			if !strings.Contains(a, "=") {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
