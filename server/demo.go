package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/app"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/web"
)

func init() {
	register(command{
		name:    "demo",
		summary: "run hooklens with a fake Dwolla and live simulated traffic (a separate demo database)",
		run:     demoCommand,
	})
}

// demoCommand starts, on loopback: a fake Dwolla (dropping a few first
// deliveries, as the real one sometimes fails to deliver), hooklens on a
// separate demo database using the fake as its Dwolla API and subscribed
// to its webhooks, a day of history imported through a sync, and the
// simulator feeding live traffic until interrupted.
func demoCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "[--addr 127.0.0.1:8080] [--rate 4] [--fresh]")
	addr := fs.String("addr", "127.0.0.1:8080", "address hooklens listens on")
	fakeAddr := fs.String("fake-addr", "127.0.0.1:9090", "address the fake Dwolla listens on")
	dataDir := fs.String("data", "./demo-data", "directory of the demo database (separate from ./data)")
	rate := fs.Float64("rate", 4, "live events per second")
	history := fs.Int("history", 3000, "events of the past day imported at start (0: none)")
	drop := fs.Float64("drop", 0.03, "share of first deliveries the fake Dwolla loses, for reconciliation to find")
	fresh := fs.Bool("fresh", false, "start over: delete the demo database first (otherwise the demo keeps its data and adds to it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *rate > 500 {
		return usageError(e, fs, "--rate must be between 0 and 500 events/s")
	}
	dbPath := filepath.Join(*dataDir, "hooklens.db")
	reused := false
	if *fresh {
		if err := removeDemoDatabase(dbPath); err != nil {
			return err
		}
	} else if _, err := os.Stat(dbPath); err == nil {
		reused = true
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	apiKey, apiSecret, hookSecret := web.NewID(), web.NewID(), web.NewID()
	clock := &simulate.ShiftClock{}
	fake, err := fakedwolla.NewServer(*fakeAddr, fakedwolla.Options{
		Key: apiKey, Secret: apiSecret, Seed: uint64(time.Now().UnixNano()),
		Faults: fakedwolla.Faults{DropFirst: *drop, Duplicate: 0.01},
		Logger: log.With("component", "fake-dwolla"),
		Now:    clock.Now,
	})
	if err != nil {
		return fmt.Errorf("starting the fake Dwolla: %w", err)
	}
	defer fake.Close()

	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return err
	}
	lookup, err := config.Environment(e.dir)
	if err != nil {
		return err
	}
	cfg, err := (&config.Loader{}).Load(func(key string) (string, bool) {
		switch key {
		case "HOOKLENS_ADDR":
			return *addr, true
		case "DATABASE_URL":
			return dbPath, true
		case "DWOLLA_WEBHOOK_SECRET":
			return hookSecret, true
		case "DWOLLA_API_URL":
			return fake.URL, true
		case "DWOLLA_KEY":
			return apiKey, true
		case "DWOLLA_SECRET":
			return apiSecret, true
		case "HOOKLENS_RECONCILE_SCHEDULE":
			return "2m", true
		case "HOOKLENS_RECONCILE_WINDOW":
			return "6h", true
		case "HOOKLENS_SYNC_SCHEDULE":
			return "off", true
		case "HOOKLENS_ENRICH_RATE":
			return "50", true // the fake is local
		case "HOOKLENS_LOG_LEVEL", "HOOKLENS_LOG_FORMAT":
			return lookup(key)
		}
		return "", false
	})
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, newLogger(e.stderr, cfg), app.Options{})
	if err != nil {
		return err
	}
	defer a.DB.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	token, err := demoToken(ctx, a)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.Serve(ctx, ln) }()

	// The simulator plays journeys through the fake's API, so the
	// resources behind every event exist (and enrichment finds them).
	driver, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: fake.URL, Key: apiKey, Secret: apiSecret,
		Seed: uint64(time.Now().UnixNano()), Logger: log.With("component", "simulate")})
	if err != nil {
		return err
	}
	if reused {
		*history = 0 // the history was imported on the first start; a second import would add another day
	}
	if *history > 0 {
		// A day of history, played before hooklens subscribes: it is in
		// the fake's Events API only, and a sync imports it.
		if err := driver.Backfill(ctx, clock, 24*time.Hour, int(float64(*history)/simulate.EventsPerJourney), 2*time.Hour); err != nil {
			return fmt.Errorf("simulating the history: %w", err)
		}
	}
	hookURL := "http://" + ln.Addr().String() + "/api/webhooks/dwolla/v2"
	if _, err := fake.Subscribe(hookURL, hookSecret); err != nil {
		return fmt.Errorf("subscribing hooklens to the fake Dwolla: %w", err)
	}
	if *history > 0 {
		if _, err := a.StartSync(ctx, time.Now().Add(-25*time.Hour), "manual", "demo"); err != nil {
			return fmt.Errorf("importing the history: %w", err)
		}
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "\nhooklens demo is running.\n\n")
	fmt.Fprintf(e.stdout, "  Dashboard:   %s/login#token=%s\n", base, token)
	fmt.Fprintf(e.stdout, "  Admin token: %s\n", token)
	fmt.Fprintf(e.stdout, "  GraphQL:     %s/graphql (playground: %s/playground)\n", base, base)
	fmt.Fprintf(e.stdout, "  Fake Dwolla: %s (drops %.0f%% of first deliveries; reconciliation runs every 2 minutes)\n", fake.URL, 100**drop)
	fmt.Fprintf(e.stdout, "  Database:    %s\n", cfg.DatabaseURL)
	if reused {
		fmt.Fprintf(e.stdout, "               (kept from the last demo, with its history; `hooklens demo --fresh` starts over)\n")
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "Live traffic: %.1f events/s. Press Ctrl+C to stop.\n", *rate)

	simErr := make(chan error, 1)
	go func() {
		err := driver.Drive(ctx, simulate.DriveOptions{Rate: *rate / simulate.EventsPerJourney})
		simErr <- err
	}()
	select {
	case err := <-serveErr:
		return err
	case err := <-simErr:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("simulator: %w", err)
		}
		return <-serveErr
	}
}

// demoAdminToken prefixes the demo's admin token's name. Each start
// revokes the previous demo's token (a token is stored only as its hash, so
// it cannot be shown again) instead of leaving one more working admin token
// behind every time.
const demoAdminToken = "demo admin"

func demoToken(ctx context.Context, a *app.App) (string, error) {
	toks, err := a.Auth.ListTokens(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range toks {
		if t.RevokedAt == nil && strings.HasPrefix(t.Name, demoAdminToken) {
			if _, err := a.Auth.RevokeTokenID(ctx, t.ID); err != nil {
				return "", fmt.Errorf("revoking the last demo's token: %w", err)
			}
		}
	}
	token, _, err := a.Auth.CreateToken(ctx, demoAdminToken+" "+time.Now().Format(time.DateTime), auth.RoleAdmin, nil)
	return token, err
}

// removeDemoDatabase deletes the demo's SQLite database and its WAL files.
func removeDemoDatabase(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("starting over: %w", err)
		}
	}
	return nil
}
