package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hooklens/hooklens/internal/app"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/reconcile"
)

func init() {
	register(command{name: "sync", summary: "import missed events from Dwolla's Events API, with progress", run: syncCommand})
	register(command{name: "reconcile", summary: "compare hooklens with Dwolla and itself; print findings and the health score", run: reconcileCommand})
}

// parseSince reads "7d", "36h" or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDays(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since must be a duration like 7d or 36h, or an RFC 3339 time")
	}
	return time.Now().Add(-d), nil
}

// parseDays is time.ParseDuration that also accepts whole days ("7d").
func parseDays(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// cliApp builds the services (opening and migrating the database) without
// starting the server, so CLI commands share the server's code paths. On
// PostgreSQL, what they store is announced to running instances.
func cliApp(ctx context.Context, e *env, cfg config.Config) (*app.App, error) {
	if cfg.LogLevel < slog.LevelWarn {
		cfg.LogLevel = slog.LevelWarn // progress bars, not info lines
	}
	a, err := app.New(ctx, cfg, newLogger(e.stderr, cfg), app.Options{MustExist: true})
	if err != nil {
		return nil, err
	}
	if a.DB.Postgres() {
		a.Hub.SetBridge(live.NewPGBridge(a.Hub, a.DB.Pool, a.Log))
	}
	return a, nil
}

func syncCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sync", "[--since 7d] [--resume RUN_ID] [--output json]")
	sinceFlag := fs.String("since", "7d", "import events created since: a duration (7d, 36h) or an RFC 3339 time")
	resume := fs.Int("resume", 0, "continue the interrupted sync run with this id")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	since, err := parseSince(*sinceFlag)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	a, err := cliApp(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	if !a.Recon.Configured() {
		return reconcile.ErrNotConfigured
	}
	opts := reconcile.SyncOptions{Since: since, Trigger: "cli"}
	if *resume != 0 {
		from, err := a.DB.Client.SyncRun.Get(ctx, *resume)
		if err != nil {
			return fmt.Errorf("finding sync run %d: %w", *resume, err)
		}
		opts.Resume = from
	}
	bar := newProgressBar(e.stderr, "sync")
	run, err := a.Recon.Sync(ctx, opts, bar)
	bar.Finish()
	if run != nil && out.JSON() {
		if jerr := writeJSON(e.stdout, syncJSON{ID: run.ID, Status: string(run.Status), Since: run.Since, Pages: run.Pages,
			Seen: run.Seen, Imported: run.Imported, AlreadyPresent: run.AlreadyPresent, Errors: run.Errors, Error: run.Error}); jerr != nil {
			return jerr
		}
	} else if run != nil {
		fmt.Fprintf(e.stdout, "sync run %d %s: %d pages, %d events seen, %d imported, %d already here, %d errors (since %s)\n",
			run.ID, run.Status, run.Pages, run.Seen, run.Imported, run.AlreadyPresent, run.Errors, run.Since.Format(time.RFC3339))
		if err != nil {
			fmt.Fprintf(e.stdout, "resume it with: hooklens sync --resume %d\n", run.ID)
		}
	}
	return err
}

// syncJSON is a sync run as --output json prints it.
type syncJSON struct {
	ID             int       `json:"id"`
	Status         string    `json:"status"`
	Since          time.Time `json:"since"`
	Pages          int       `json:"pages"`
	Seen           int       `json:"seen"`
	Imported       int       `json:"imported"`
	AlreadyPresent int       `json:"alreadyPresent"`
	Errors         int       `json:"errors"`
	Error          string    `json:"error,omitempty"`
}

// reconcileJSON is a reconciliation run as --output json prints it.
type reconcileJSON struct {
	ID                  int              `json:"id"`
	Status              string           `json:"status"`
	WindowStart         time.Time        `json:"windowStart"`
	WindowEnd           time.Time        `json:"windowEnd"`
	DwollaEvents        int              `json:"dwollaEvents"`
	Missing             int              `json:"missing"`
	Imported            int              `json:"imported"`
	FailedDeliveries    int              `json:"failedDeliveries"`
	NeverSent           int              `json:"neverSent"`
	RedeliveryRequested int              `json:"redeliveryRequested"`
	Findings            int              `json:"findings"`
	HealthScore         *float64         `json:"healthScore"`
	Components          []map[string]any `json:"components"`
	Error               string           `json:"error,omitempty"`
}

func reconcileCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "reconcile", "[--window 24h] [--output json]")
	windowFlag := fs.String("window", "", "how far back to compare (default: HOOKLENS_RECONCILE_WINDOW)")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	window := cfg.ReconcileWindow
	if *windowFlag != "" {
		if window, err = parseDays(*windowFlag); err != nil || window <= 0 {
			return usageError(e, fs, "--window must be a duration like 24h or 3d")
		}
	}
	a, err := cliApp(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	if !a.Recon.Configured() {
		fmt.Fprintln(e.stderr, "Dwolla credentials are not set: only local consistency checks run (set DWOLLA_KEY and DWOLLA_SECRET).")
	}
	bar := newProgressBar(e.stderr, "reconcile")
	rec, err := a.Recon.Run(ctx, reconcile.RunOptions{Window: window, Trigger: "cli"}, bar)
	bar.Finish()
	if rec == nil {
		return err
	}
	if out.JSON() {
		comps := rec.Components
		if comps == nil {
			comps = []map[string]any{}
		}
		if jerr := writeJSON(e.stdout, reconcileJSON{ID: rec.ID, Status: string(rec.Status), WindowStart: rec.WindowStart, WindowEnd: rec.WindowEnd,
			DwollaEvents: rec.DwollaEvents, Missing: rec.Missing, Imported: rec.Imported, FailedDeliveries: rec.FailedDeliveries,
			NeverSent: rec.NeverSent, RedeliveryRequested: rec.RedeliveryRequested, Findings: rec.FindingCount,
			HealthScore: rec.HealthScore, Components: comps, Error: rec.Error}); jerr != nil {
			return jerr
		}
		return err
	}
	fmt.Fprintf(e.stdout, "reconciliation run %d %s over %s → %s\n", rec.ID, rec.Status,
		rec.WindowStart.Format(time.RFC3339), rec.WindowEnd.Format(time.RFC3339))
	fmt.Fprintf(e.stdout, "  Dwolla events %d, missing %d (imported %d), failed deliveries %d, never sent %d, redelivery requested %d, findings %d\n",
		rec.DwollaEvents, rec.Missing, rec.Imported, rec.FailedDeliveries, rec.NeverSent, rec.RedeliveryRequested, rec.FindingCount)
	if rec.HealthScore != nil {
		fmt.Fprintf(e.stdout, "  health score %.1f/100\n", *rec.HealthScore)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  COMPONENT\tWEIGHT\tSCORE\tNOTE")
	for _, c := range rec.Components {
		score := "n/a"
		if ok, _ := c["available"].(bool); ok {
			score = fmt.Sprintf("%.0f%%", 100*c["score"].(float64))
		}
		fmt.Fprintf(tw, "  %v\t%v\t%s\t%v\n", c["name"], c["weight"], score, c["note"])
	}
	_ = tw.Flush()
	return err
}
