// Package app assembles a hooklens server from its configuration: it opens
// the database, builds every service, mounts the HTTP routes and runs the
// background work, then takes it all down in reverse order. main and the
// end-to-end tests both build servers through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/frontend"
	"github.com/hooklens/hooklens/graph"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/enrich"
	"github.com/hooklens/hooklens/internal/ingest"
	"github.com/hooklens/hooklens/internal/jobs"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/netguard"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/reconcile"
	"github.com/hooklens/hooklens/internal/retention"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/scanner"
	"github.com/hooklens/hooklens/internal/schedule"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
	"github.com/hooklens/hooklens/internal/vault"
	"github.com/hooklens/hooklens/internal/vault/rotate"
	"github.com/hooklens/hooklens/internal/web"
)

// Options tune New beyond the configuration.
type Options struct {
	// SkipMigrate leaves the schema alone (serve --no-migrate).
	SkipMigrate bool
	// MustExist refuses to create a SQLite database that is not there
	// (commands other than serve, migrate and demo).
	MustExist bool
	// Now is the clock of what the server records and analyses (default
	// time.Now): when a delivery arrived, when an event was processed, which
	// minute a scan or an alert evaluation looks at. End-to-end tests set it
	// to replay minutes of traffic in seconds; durations, timeouts, leases
	// of outgoing notifications and the scheduler's own ticks stay on the
	// wall clock.
	Now func() time.Time
}

// App is a running (or ready to run) hooklens server.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *store.DB
	Metrics  *metrics.Metrics
	Hub      *live.Hub
	Auth     *auth.Service
	Authn    *auth.Authenticator
	Receiver *ingest.Receiver
	Trail    *audit.Trail
	Pipeline *pipeline.Pipeline
	Tracker  *tracker.Tracker
	Jobs     *jobs.Runner
	Schedule *schedule.Scheduler
	Dwolla   *dwolla.Client // nil without API credentials
	Recon    *reconcile.Service
	Alerts   *alert.Service
	// Analytics answers the overview, event statistics, REST and exports.
	Analytics *analytics.Service
	// Deliveries counts webhook deliveries into the rollups.
	Deliveries *rollup.Aggregator
	// Anomalies runs the detectors every minute on the leader.
	Anomalies *scanner.Scanner
	// Keys seal webhook bodies and alert-channel secrets; nil stores them
	// in the clear.
	Keys *vault.Keyring
	// Enrich fetches the resources events name; nil when enrichment is
	// off (no credentials, or HOOKLENS_ENRICH=false).
	Enrich       *enrich.Enricher
	moneyMetrics bool

	handler  http.Handler
	streams  *graph.Sockets // GraphQL websockets and event streams, closed at shutdown
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	instance string
	now      func() time.Time
}

// New opens the database and builds the services. It starts nothing.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{CacheBytes: cfg.SQLiteCacheBytes(), MustExist: opts.MustExist})
	if err != nil {
		return nil, err
	}
	if !opts.SkipMigrate {
		if err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{Config: cfg, Log: log, DB: db, instance: instanceID(), now: opts.Now}
	if cfg.EncryptionKeys != "" {
		if a.Keys, err = vault.ParseKeys(cfg.EncryptionKeys); err != nil {
			db.Close()
			return nil, fmt.Errorf("HOOKLENS_ENCRYPTION_KEYS: %w", err)
		}
	}
	a.Metrics = metrics.New()
	a.Hub = live.NewHub(a.instance)
	a.Hub.OnDrop = func(k live.Kind) { a.Metrics.LiveDropped.WithLabelValues(string(k)).Inc() }
	a.Auth = auth.NewService(db.Client, cfg.SessionTTL)
	a.Authn = auth.NewAuthenticator(a.Auth, log, isHTTPS(cfg.BaseURL()))
	a.Trail = audit.New(db, log.With("component", "audit"))
	a.Authn.LimitAttempts(netguard.NewAttempts(cfg.SignInLimit, 0))
	a.Authn.OnSignIn(a.Trail.SignIn)
	a.Auth.OnTokenUse(a.Trail.TokenUse)
	if bad, older, err := rotate.StartCheck(ctx, db, a.Keys); err != nil {
		log.Warn("could not check which keys the stored data needs", "err", err)
	} else if len(bad) > 0 {
		log.Error("some stored data is sealed with keys missing from HOOKLENS_ENCRYPTION_KEYS; add them back after the active key", "encodings", bad)
	} else if older {
		log.Info("some stored values may be under an older key than the active one; `hooklens keys status` counts them and `hooklens keys rotate` moves them", "active", a.Keys.ActiveEncoding())
	}
	a.Receiver = ingest.NewReceiver(db, a.Hub, a.Metrics, log.With("component", "ingest"), ingest.Options{
		Verifier:     dwolla.NewVerifier(cfg.WebhookSecrets...),
		MaxBodyBytes: cfg.MaxBodyBytes,
		Timeout:      cfg.IngestTimeout,
		Vault:        a.Keys,
		Now:          opts.Now,
		Guard: netguard.NewGuard(netguard.GuardOptions{
			Allow: cfg.WebhookAllow, Rejections: cfg.WebhookSourceLimit, Global: cfg.WebhookGlobalLimit,
		}),
	})
	a.Tracker = tracker.New(db, a.Hub, log.With("component", "journeys"))
	if !opts.SkipMigrate {
		if err := a.Tracker.Seed(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := a.Tracker.Reload(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a.Pipeline = pipeline.New(db, a.Hub, a.Metrics, log.With("component", "pipeline"), a.instance, pipeline.Options{
		Workers:     cfg.Workers,
		MaxAttempts: cfg.MaxAttempts,
		Now:         opts.Now,
	}, a.Tracker)
	a.Metrics.WatchQueue(a.Pipeline)
	if cfg.DwollaConfigured() {
		a.Dwolla, err = dwolla.NewClient(dwolla.ClientOptions{
			Env: cfg.DwollaEnv, BaseURL: cfg.DwollaAPIURL, Key: cfg.DwollaKey, Secret: cfg.DwollaSecret,
			RequestTimeout: cfg.DwollaAPITimeout, Logger: log.With("component", "dwolla"),
			OnBreakerChange: func(_, to dwolla.BreakerState) {
				a.Metrics.Breaker.WithLabelValues("dwolla").Set(dwollaBreakerValue(to))
			},
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("configuring the Dwolla client: %w", err)
		}
		a.Metrics.Breaker.WithLabelValues("dwolla").Set(0)
		if cfg.Enrich {
			if a.Enrich, err = enrich.New(db.Client, a.Dwolla, log.With("component", "enrich"), enrich.Options{
				Rate: cfg.EnrichRate, PersonalData: cfg.EnrichPersonalData,
			}); err != nil {
				db.Close()
				return nil, fmt.Errorf("configuring enrichment: %w", err)
			}
		}
	}
	a.Recon = reconcile.New(db, a.Hub, a.Tracker, a.Metrics, log.With("component", "reconcile"), reconcile.Options{
		Client: a.Dwolla, WebhookURL: cfg.WebhookURL(), AutoRedeliver: cfg.DwollaAutoRedeliver,
		Wake: a.Pipeline.Wake, Seal: a.Keys.Seal,
	})
	if a.Analytics, err = analytics.New(db, analytics.Options{Registerer: a.Metrics.Registry, Open: a.Keys.Open}); err != nil {
		db.Close()
		return nil, fmt.Errorf("configuring analytics: %w", err)
	}
	a.Deliveries = rollup.NewAggregator(db, log.With("component", "rollup"), rollup.AggregatorOptions{Registerer: a.Metrics.Registry, Now: opts.Now})
	if a.Anomalies, err = scanner.New(db, a.Hub, log.With("component", "anomalies"), scanner.Options{Registerer: a.Metrics.Registry, Now: opts.Now}); err != nil {
		db.Close()
		return nil, fmt.Errorf("configuring anomaly detection: %w", err)
	}
	if _, err := a.Anomalies.RepairBounds(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if a.Alerts, err = alert.New(db, appFacts{a}, a.Keys, a.Hub, log.With("component", "alerts"), alert.Options{
		BaseURL: cfg.BaseURL(), AllowedHosts: cfg.AlertAllowedHosts, Timeout: cfg.AlertTimeout, Registerer: a.Metrics.Registry,
		Now: opts.Now,
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("configuring alerts: %w", err)
	}
	if !opts.SkipMigrate {
		if err := a.Alerts.Seed(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	a.Jobs = jobs.NewRunner(db.Client, a.Hub, log.With("component", "jobs"), a.instance)
	if a.Schedule, err = schedule.New(db, a.Metrics, log.With("component", "schedule")); err != nil {
		db.Close()
		return nil, err
	}
	if err := a.scheduleJobs(); err != nil {
		db.Close()
		return nil, err
	}
	a.streams = graph.NewSockets(cfg.AllowedOrigins, 0, log.With("component", "graphql"))
	a.handler = a.routes()
	return a, nil
}

// scheduleJobs registers the periodic work.
func (a *App) scheduleJobs() error {
	for _, j := range []struct {
		name, spec string
		fn         func(context.Context) error
	}{
		{"audit-checkpoint", a.Config.AuditCheckpoint, func(ctx context.Context) error {
			_, err := a.Trail.Checkpoint(ctx)
			return err
		}},
		{"retention", "1h", func(ctx context.Context) error {
			_, err := retention.New(a.DB, a.Trail, a.Log.With("component", "retention"),
				retention.Options{Days: a.Config.RetentionDays, RejectedDays: a.Config.RejectedRetentionDays}).Run(ctx)
			return err
		}},
		{"analyze", "1h", func(ctx context.Context) error {
			if on, err := a.DB.AutovacuumOn(ctx); err != nil || on {
				return err
			}
			return a.DB.Analyze(ctx)
		}},
		{"interrupted-jobs", "1m", func(ctx context.Context) error {
			n, err := a.Jobs.MarkInterrupted(ctx)
			if n > 0 {
				a.Log.Warn("marked jobs whose instance stopped as interrupted", "jobs", n)
			}
			if err != nil {
				return err
			}
			n, err = a.Recon.MarkInterrupted(ctx)
			if n > 0 {
				a.Log.Warn("marked syncs whose instance stopped as interrupted; resume them", "syncs", n)
			}
			return err
		}},
		{"sync", a.Config.SyncSchedule, func(ctx context.Context) error {
			if !a.Recon.Configured() {
				return nil
			}
			_, err := a.StartSync(ctx, a.now().Add(-a.Config.SyncWindow), "schedule", "schedule")
			return err
		}},
		{"reconcile", a.Config.ReconcileSchedule, func(ctx context.Context) error {
			_, err := a.StartReconciliation(ctx, a.Config.ReconcileWindow, "schedule", "schedule")
			return err
		}},
		{"stuck-journeys", a.Config.StuckSweep, func(ctx context.Context) error {
			n, err := a.Tracker.SweepStuck(ctx, a.now())
			if n > 0 {
				a.Log.Info("stuck sweep re-evaluated journeys", "journeys", n)
			}
			return err
		}},
		{"abandoned-journeys", a.Config.AbandonSweep, func(ctx context.Context) error {
			n, err := a.Tracker.SweepAbandoned(ctx, a.now())
			if n > 0 {
				a.Log.Info("abandonment sweep re-evaluated journeys", "journeys", n)
			}
			return err
		}},
		{"rollup-deliveries", "15s", func(ctx context.Context) error {
			_, err := a.Deliveries.Flush(ctx)
			return err
		}},
		{"anomalies", "1m", func(ctx context.Context) error {
			_, err := a.Anomalies.Scan(ctx)
			return err
		}},
		{"alerts", a.Config.AlertSchedule, func(ctx context.Context) error {
			_, err := a.Alerts.Evaluate(ctx, a.now())
			return err
		}},
		{"enrich", "5s", a.enrichTick},
		{"expired-sessions", "1h", func(ctx context.Context) error {
			_, err := a.Auth.PurgeExpiredSessions(ctx)
			return err
		}},
	} {
		if j.spec == "off" {
			continue
		}
		if err := a.Schedule.Add(j.name, j.spec, j.fn); err != nil {
			return err
		}
	}
	return nil
}

func dwollaBreakerValue(s dwolla.BreakerState) float64 {
	switch s {
	case dwolla.BreakerHalfOpen:
		return 1
	case dwolla.BreakerOpen:
		return 2
	}
	return 0
}

// StartSync records a sync from since and runs it as a background job.
func (a *App) StartSync(ctx context.Context, since time.Time, trigger, by string) (*ent.SyncRun, error) {
	run, err := a.Recon.NewSyncRun(ctx, reconcile.SyncOptions{Since: since, Trigger: trigger})
	if err != nil {
		return nil, err
	}
	return run, a.runSync(ctx, run, by)
}

// ResumeSync continues an interrupted sync in the background.
func (a *App) ResumeSync(ctx context.Context, from *ent.SyncRun, by string) (*ent.SyncRun, error) {
	run, err := a.Recon.NewSyncRun(ctx, reconcile.SyncOptions{Resume: from})
	if err != nil {
		return nil, err
	}
	return run, a.runSync(ctx, run, by)
}

func (a *App) runSync(ctx context.Context, run *ent.SyncRun, by string) error {
	_, err := a.Jobs.Start(ctx, jobs.Spec{
		Kind: "sync", Description: "import events since " + run.Since.Format(time.RFC3339) + " from Dwolla",
		Params: map[string]any{"syncRun": run.ID}, CreatedBy: by,
	}, func(ctx context.Context, p *jobs.Progress) (map[string]any, error) {
		r, err := a.Recon.Sync(ctx, reconcile.SyncOptions{Run: run, JobID: p.ID()}, p)
		if r == nil {
			return nil, err
		}
		return map[string]any{"syncRun": r.ID, "pages": r.Pages, "seen": r.Seen, "imported": r.Imported,
			"alreadyPresent": r.AlreadyPresent, "errors": r.Errors}, err
	})
	return err
}

// StartReconciliation records a reconciliation and runs it as a background job.
func (a *App) StartReconciliation(ctx context.Context, window time.Duration, trigger, by string) (*ent.ReconciliationRun, error) {
	rec, err := a.Recon.NewRun(ctx, reconcile.RunOptions{Window: window, Trigger: trigger})
	if err != nil {
		return nil, err
	}
	_, err = a.Jobs.Start(ctx, jobs.Spec{
		Kind: "reconcile", Description: "reconcile the last " + window.String(),
		Params: map[string]any{"reconciliationRun": rec.ID}, CreatedBy: by,
	}, func(ctx context.Context, p *jobs.Progress) (map[string]any, error) {
		r, err := a.Recon.Run(ctx, reconcile.RunOptions{Record: rec, JobID: p.ID()}, p)
		if r == nil {
			return nil, err
		}
		out := map[string]any{"reconciliationRun": r.ID, "missing": r.Missing, "imported": r.Imported, "findings": r.FindingCount}
		if r.HealthScore != nil {
			out["healthScore"] = *r.HealthScore
		}
		return out, err
	})
	return rec, err
}

func instanceID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "hooklens"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), web.NewID()[:6])
}

func isHTTPS(base string) bool { return len(base) > 8 && base[:8] == "https://" }

// Handler is the root HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(ingest.Path, a.Receiver)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		web.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/api/session", a.Authn.SessionHandler())
	mux.Handle("/api/webhooks/dwolla/sync", a.syncHandler())
	mux.Handle("/api/analytics/", a.Authn.Require(false)(analytics.NewHandler(a.Analytics, a.Log.With("component", "analytics"))))
	a.moneyRoutes(mux)

	gql := graph.NewHandler(&graph.Resolver{
		Client: a.DB.Client, DB: a.DB, Hub: a.Hub, Auth: a.Auth, Log: a.Log.With("component", "graphql"),
		Pipeline: a.Pipeline, Tracker: a.Tracker, Recon: a.Recon, Ops: a, Jobs: a.Jobs, Alerts: a.Alerts, Keys: a.Keys, Trail: a.Trail, Analytics: a.Analytics, Anomalies: a.Anomalies, Instance: a.instance, Leader: a.Schedule.Leader,
		Enrichment: a.EnrichmentStatus,
	}, graph.HandlerOptions{
		Authenticator: a.Authn, AllowedOrigins: a.Config.AllowedOrigins, Streams: a.streams,
		Timeout: a.Config.GraphQLTimeout, MaxResponseBytes: a.Config.GraphQLMaxResponse,
	})
	requireAuth := graph.GraphQLShapedErrors(a.Authn.Require(false)(gql))
	optionalAuth := a.Authn.Optional(gql)
	mux.Handle("/graphql", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.IsWebsocket(r) {
			optionalAuth.ServeHTTP(w, r)
			return
		}
		requireAuth.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		web.Error(w, r, http.StatusNotFound, "not_found", "no such endpoint")
	})
	mux.Handle("/", frontend.Handler())

	return web.Chain(a.Metrics.InstrumentHTTP(mux),
		netguard.NewResolver(a.Config.TrustedProxies).Middleware,
		web.WithRequestID,
		web.Recover(a.Log),
		web.AccessLog(a.Log.With("component", "http")),
		web.CloseAmbiguousFraming,
		web.SecurityHeaders(a.Config.PublicURL),
		web.CORS(a.Config.AllowedOrigins),
	)
}

// readiness is the JSON body of /readyz.
type readiness struct {
	Status   string `json:"status"`
	Database string `json:"database"`
	Schema   string `json:"schema"`
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := readiness{Status: "ready", Database: "ok", Schema: "current"}
	status := http.StatusOK
	if err := a.DB.Ping(ctx); err != nil {
		res.Status, res.Database, res.Schema, status = "not_ready", "unreachable", "unknown", http.StatusServiceUnavailable
	} else if err := a.DB.CheckSchema(ctx); err != nil {
		res.Status, status = "not_ready", http.StatusServiceUnavailable
		res.Schema = "outdated: run hooklens migrate"
		if !errors.Is(err, store.ErrSchemaOutdated) {
			res.Schema = "unknown"
		}
	}
	web.JSON(w, status, res)
}

// Start runs the background work: the receiver's writers and, on
// PostgreSQL, the live bridge to other instances.
func (a *App) Start(ctx context.Context) {
	if a.started {
		return
	}
	a.started = true
	ctx, a.cancel = context.WithCancel(ctx)
	a.Receiver.Start()
	if a.DB.Postgres() {
		bridge := live.NewPGBridge(a.Hub, a.DB.Pool, a.Log.With("component", "live"))
		a.Hub.SetBridge(bridge)
		a.wg.Add(1)
		go func() { defer a.wg.Done(); bridge.Run(ctx) }()
	}
	a.wg.Add(4)
	go func() { defer a.wg.Done(); a.reportRefusals(ctx) }()
	go func() { defer a.wg.Done(); a.Tracker.Watch(ctx) }()
	go func() { defer a.wg.Done(); a.Pipeline.Run(ctx) }()
	go func() { defer a.wg.Done(); a.analyzeIfNoAutovacuum(ctx) }()
	a.Schedule.Start()
}

// analyzeIfNoAutovacuum warns when PostgreSQL's autovacuum is off (a
// fresh table is then never analysed, and the planner may scan where it
// should look up) and analyses the hot tables once, in the background so
// the start does not wait; the "analyze" job repeats it hourly.
func (a *App) analyzeIfNoAutovacuum(ctx context.Context) {
	on, err := a.DB.AutovacuumOn(ctx)
	if err != nil {
		a.Log.Warn("could not read autovacuum's setting", "err", err)
		return
	}
	if on {
		return
	}
	a.Log.Warn("PostgreSQL's autovacuum is off: hooklens analyses its own tables (at start and hourly); dead rows are not reclaimed until you VACUUM")
	start := time.Now()
	if err := a.DB.Analyze(ctx); err != nil {
		if ctx.Err() == nil {
			a.Log.Warn("analysing the hot tables failed", "err", err)
		}
		return
	}
	a.Log.Info("analysed the hot tables", "took", time.Since(start).Round(time.Millisecond))
}

// FlushRefusals logs the rejected deliveries counted rather than recorded
// in the minutes over by now, and adds them to the rollups (see
// reportRefusals).
func (a *App) FlushRefusals(ctx context.Context, now time.Time) {
	log := a.Log.With("component", "ingest")
	counts := a.Receiver.TakeRefusals(now)
	batch := rollup.NewBatch()
	for _, c := range counts {
		log.Warn("rejected webhook deliveries counted, not recorded one by one",
			"minute", c.Minute, "source", c.Source, "outcome", c.Outcome, "count", c.Count)
		for range c.Count {
			rollup.CountDelivery(batch, c.Minute, c.Outcome, "")
		}
	}
	// The rollups count recorded deliveries through the aggregator; the
	// ones only counted reach them here, so rejection figures and the
	// signature-failure detector see the whole flood.
	if !batch.Empty() {
		if err := a.applyRollups(ctx, batch); err != nil && ctx.Err() == nil {
			log.Warn("could not add counted rejections to the rollups", "err", err)
		}
	}
}

// applyRollups adds batch to the rollups in a transaction of its own.
func (a *App) applyRollups(ctx context.Context, batch *rollup.Batch) error {
	tx, err := a.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := rollup.Apply(ctx, a.DB, tx, batch); err != nil {
		return err
	}
	return tx.Commit()
}

// reportRefusals logs, every 15 s on each instance, the rejected webhook
// deliveries that were counted rather than recorded one row each (see
// ingest.RefusalCount): a flood stays visible without growing the database.
func (a *App) reportRefusals(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.FlushRefusals(ctx, time.Now())
	}
}

// Bootstrap makes the first admin token when there is none and returns it
// ("" otherwise). On PostgreSQL an advisory lock keeps two instances
// starting together from making two.
func (a *App) Bootstrap(ctx context.Context) (string, error) {
	var lock func(context.Context, func(context.Context) error) error
	if a.DB.Postgres() {
		lock = a.DB.WithAdvisoryLock
	}
	return a.Auth.Bootstrap(ctx, lock)
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// stop accepting, finish in-flight requests, then the background work.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	a.Start(ctx)
	ln = netguard.LimitListener(ln, netguard.ConnLimits{
		Max: a.Config.MaxConnections, PerSource: a.Config.SourceConnections,
		Exempt: netguard.PrefixSet(a.Config.TrustedProxies), Registerer: a.Metrics.Registry,
	})
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(a.streams.GoingAway)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "grace", a.Config.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.Log.Warn("in-flight requests did not finish in time; closing them")
		_ = srv.Close()
	}
	return errors.Join(ignoreClosed(err), a.Stop(sctx))
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Stop ends the background work in reverse order of start: pending
// commits are written first, then the scheduler, jobs and workers stop.
func (a *App) Stop(ctx context.Context) error {
	if !a.started {
		return nil
	}
	a.started = false
	errs := []error{a.Receiver.Close(ctx)}
	errs = append(errs, a.Schedule.Stop(), a.Jobs.Stop(ctx), a.Alerts.Close(ctx))
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	return errors.Join(errs...)
}

// Close stops everything and closes the database.
func (a *App) Close(ctx context.Context) error {
	err := a.Stop(ctx)
	return errors.Join(err, a.DB.Close())
}
