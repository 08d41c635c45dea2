// Package schedule runs hooklens' periodic work (stuck sweeps, syncs,
// reconciliation, anomaly scans, alert evaluation, retention) with gocron.
// In a cluster on PostgreSQL exactly one instance — the holder of an
// advisory lock — runs the jobs; if it dies its lock is released with its
// connection and another instance takes over. On SQLite the single
// instance runs them.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/store"
)

// Scheduler runs named periodic jobs on the leader instance.
type Scheduler struct {
	s       gocron.Scheduler
	elector *PGElector
	log     *slog.Logger
	runs    *prometheus.CounterVec
	last    *prometheus.GaugeVec
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	jobs    []string
}

// New returns a scheduler. On PostgreSQL it elects a leader among instances.
func New(db *store.DB, m *metrics.Metrics, log *slog.Logger) (*Scheduler, error) {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &Scheduler{log: log, ctx: ctx, cancel: cancel}
	opts := []gocron.SchedulerOption{gocron.WithLocation(time.UTC), gocron.WithStopTimeout(30 * time.Second)}
	if db.Postgres() {
		sc.elector = NewPGElector(db.Pool, electionKey, log)
		opts = append(opts, gocron.WithDistributedElector(sc.elector))
	}
	s, err := gocron.NewScheduler(opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("creating scheduler: %w", err)
	}
	sc.s = s
	sc.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "scheduled_job_runs_total",
		Help: "Runs of scheduled jobs on this instance, by job_name and result (ok, error).",
	}, []string{"job_name", "result"})
	sc.last = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Name: "scheduled_job_last_success_timestamp_seconds",
		Help: "Unix time of each scheduled job's last successful run on this instance, by job_name.",
	}, []string{"job_name"})
	m.Registry.MustRegister(sc.runs, sc.last)
	return sc, nil
}

// electionKey is the advisory lock whose holder runs scheduled jobs.
const electionKey int64 = 0x686f6f6b6c656164 // "hooklead"

// Add schedules fn under name. spec is a duration ("1m", "30s") for a fixed
// interval, or a cron expression ("0 * * * *", "@weekly") in UTC.
func (sc *Scheduler) Add(name, spec string, fn func(ctx context.Context) error) error {
	def, err := Definition(spec)
	if err != nil {
		return fmt.Errorf("schedule for %s: %w", name, err)
	}
	task := func() {
		start := time.Now()
		err := fn(sc.ctx)
		switch {
		case err == nil:
			sc.runs.WithLabelValues(name, "ok").Inc()
			sc.last.WithLabelValues(name).SetToCurrentTime()
			sc.log.Debug("scheduled job done", "job", name, "duration", time.Since(start))
		case errors.Is(err, context.Canceled):
		default:
			sc.runs.WithLabelValues(name, "error").Inc()
			sc.log.Error("scheduled job failed", "job", name, "err", err, "duration", time.Since(start))
		}
	}
	_, err = sc.s.NewJob(def, gocron.NewTask(task),
		gocron.WithName(name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule))
	if err != nil {
		return fmt.Errorf("scheduling %s: %w", name, err)
	}
	sc.mu.Lock()
	sc.jobs = append(sc.jobs, name)
	sc.mu.Unlock()
	return nil
}

// Definition parses a schedule spec.
func Definition(spec string) (gocron.JobDefinition, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if d, err := time.ParseDuration(spec); err == nil {
		if d < time.Second {
			return nil, fmt.Errorf("interval %s is shorter than a second", d)
		}
		return gocron.DurationJob(d), nil
	}
	if err := validateCron(spec); err != nil {
		return nil, err
	}
	return gocron.CronJob(spec, false), nil
}

func validateCron(spec string) error {
	s, err := gocron.NewScheduler()
	if err != nil {
		return err
	}
	defer func() { _ = s.Shutdown() }()
	if _, err := s.NewJob(gocron.CronJob(spec, false), gocron.NewTask(func() {})); err != nil {
		return fmt.Errorf("%q is neither a duration (like 1m) nor a cron expression (like 0 * * * * or @hourly)", spec)
	}
	return nil
}

// Start starts the elector (on PostgreSQL) and the scheduler.
func (sc *Scheduler) Start() {
	if sc.elector != nil {
		go sc.elector.Run(sc.ctx)
	}
	sc.s.Start()
}

// Stop stops scheduling, waits for running jobs, and steps down.
func (sc *Scheduler) Stop() error {
	sc.cancel()
	err := sc.s.Shutdown()
	if sc.elector != nil {
		sc.elector.Release()
	}
	return err
}

// Leader reports whether this instance runs the scheduled jobs.
func (sc *Scheduler) Leader() bool {
	if sc.elector == nil {
		return true
	}
	return sc.elector.IsLeader(context.Background()) == nil
}

// Jobs lists the scheduled jobs with their next run.
func (sc *Scheduler) Jobs() []JobInfo {
	var out []JobInfo
	for _, j := range sc.s.Jobs() {
		info := JobInfo{Name: j.Name()}
		if t, err := j.NextRun(); err == nil {
			info.NextRun = t
		}
		if t, err := j.LastRun(); err == nil {
			info.LastRun = t
		}
		out = append(out, info)
	}
	return out
}

// JobInfo describes a scheduled job.
type JobInfo struct {
	Name    string
	NextRun time.Time
	LastRun time.Time
}

// ErrNotLeader tells gocron this instance must not run the job.
var ErrNotLeader = errors.New("another instance is the scheduler leader")

// PGElector holds a PostgreSQL session advisory lock on a dedicated
// connection; whoever holds it is the leader.
type PGElector struct {
	pool *pgxpool.Pool
	key  int64
	log  *slog.Logger

	mu     sync.Mutex
	conn   *pgxpool.Conn
	leader bool
}

// NewPGElector returns an elector competing for key.
func NewPGElector(pool *pgxpool.Pool, key int64, log *slog.Logger) *PGElector {
	return &PGElector{pool: pool, key: key, log: log}
}

// IsLeader implements gocron.Elector.
func (e *PGElector) IsLeader(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader {
		return nil
	}
	return ErrNotLeader
}

// Run campaigns until ctx ends: it tries to take the lock every few
// seconds, and while holding it checks that its connection is alive.
func (e *PGElector) Run(ctx context.Context) {
	e.campaign(ctx)
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.campaign(ctx)
		}
	}
}

func (e *PGElector) campaign(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if e.conn != nil {
		if _, err := e.conn.Exec(cctx, "SELECT 1"); err == nil {
			return
		}
		e.log.Warn("scheduler leader lost its database connection; stepping down")
		e.conn.Conn().Close(context.Background())
		e.conn.Release()
		e.conn, e.leader = nil, false
	}
	conn, err := e.pool.Acquire(cctx)
	if err != nil {
		return
	}
	var got bool
	if err := conn.QueryRow(cctx, "SELECT pg_try_advisory_lock($1)", e.key).Scan(&got); err != nil || !got {
		conn.Release()
		return
	}
	e.conn, e.leader = conn, true
	e.log.Info("this instance is now the scheduler leader")
}

// Release gives up leadership.
func (e *PGElector) Release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = e.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", e.key)
		cancel()
		e.conn.Release()
		e.conn, e.leader = nil, false
	}
}
