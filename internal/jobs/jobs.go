// Package jobs runs long background work — bulk replays, syncs,
// reconciliations, rebuilds — and records its progress in the jobs table,
// so any instance (and the dashboard, the CLI and GraphQL subscribers) can
// watch it and any instance can cancel it.
//
// A running job refreshes a heartbeat; a job whose heartbeat stops (its
// instance died) is marked interrupted by whichever instance notices.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/job"
	"github.com/hooklens/hooklens/internal/live"
)

// Heartbeat is how often a running job proves it is alive and checks
// whether it was asked to stop.
const Heartbeat = 2 * time.Second

// staleAfter is how old a heartbeat may get before the job counts as dead.
const staleAfter = 30 * time.Second

// Func is a job's work. It reports progress through p and stops early when
// ctx is cancelled (the job was cancelled or the server is stopping).
type Func func(ctx context.Context, p *Progress) (result map[string]any, err error)

// Runner starts jobs on this instance.
type Runner struct {
	client   *ent.Client
	hub      *live.Hub
	log      *slog.Logger
	instance string

	mu      sync.Mutex
	running map[int]*runningJob
	wg      sync.WaitGroup
	base    context.Context
	stop    context.CancelFunc
}

type runningJob struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRunner returns a runner for this instance.
func NewRunner(client *ent.Client, hub *live.Hub, log *slog.Logger, instance string) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{client: client, hub: hub, log: log, instance: instance, running: map[int]*runningJob{}, base: ctx, stop: cancel}
}

// Spec describes a job to start.
type Spec struct {
	Kind        string
	Description string
	Params      map[string]any
	CreatedBy   string
}

// Start records a job and runs fn in the background.
func (r *Runner) Start(ctx context.Context, spec Spec, fn Func) (*ent.Job, error) {
	now := time.Now().UTC()
	j, err := r.client.Job.Create().
		SetKind(spec.Kind).
		SetDescription(spec.Description).
		SetParams(spec.Params).
		SetCreatedBy(spec.CreatedBy).
		SetInstance(r.instance).
		SetStatus(job.StatusRunning).
		SetStage("starting").
		SetCreatedAt(now).
		SetStartedAt(now).
		SetHeartbeatAt(now).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("recording job: %w", err)
	}
	jctx, cancel := context.WithCancel(r.base)
	rj := &runningJob{cancel: cancel, done: make(chan struct{})}
	r.mu.Lock()
	r.running[j.ID] = rj
	r.mu.Unlock()
	r.wg.Add(1)
	go r.run(jctx, rj, j, fn)
	r.publish(j.ID)
	return j, nil
}

// Run records a job and runs fn in the calling goroutine (for the CLI),
// returning when it ends.
func (r *Runner) Run(ctx context.Context, spec Spec, fn Func) (*ent.Job, error) {
	j, err := r.Start(ctx, spec, fn)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	rj := r.running[j.ID]
	r.mu.Unlock()
	if rj != nil {
		select {
		case <-rj.done:
		case <-ctx.Done():
			r.cancelLocal(j.ID)
			<-rj.done
		}
	}
	return r.client.Job.Get(context.WithoutCancel(ctx), j.ID)
}

func (r *Runner) cancelLocal(id int) {
	r.mu.Lock()
	if rj, ok := r.running[id]; ok {
		rj.cancel()
	}
	r.mu.Unlock()
}

func (r *Runner) run(ctx context.Context, rj *runningJob, j *ent.Job, fn Func) {
	defer r.wg.Done()
	defer close(rj.done)
	defer rj.cancel()
	p := &Progress{r: r, id: j.ID}
	hbDone := make(chan struct{})
	go r.heartbeat(ctx, rj.cancel, p, hbDone)

	result, err := func() (res map[string]any, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("internal error: %v", v)
			}
		}()
		return fn(ctx, p)
	}()
	close(hbDone)

	status := job.StatusSucceeded
	errText := ""
	cancelled, stopping := p.cancelRequested(), r.base.Err() != nil
	switch {
	case err != nil && (cancelled || errors.Is(err, context.Canceled) && !stopping):
		status, errText = job.StatusCancelled, "cancelled"
	case err != nil && stopping:
		status, errText = job.StatusInterrupted, "the server stopped while the job ran"
	case err != nil:
		status, errText = job.StatusFailed, err.Error()
	case cancelled:
		status = job.StatusCancelled
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer fcancel()
	p.flush(fctx, false)
	up := r.client.Job.UpdateOneID(j.ID).
		SetStatus(status).
		SetFinishedAt(time.Now().UTC()).
		SetStage(string(status))
	if result != nil {
		up.SetResult(result)
	}
	if errText != "" {
		up.SetError(errText)
	}
	if err := up.Exec(fctx); err != nil {
		r.log.Error("recording job end", "err", err, "job", j.ID)
	}
	r.mu.Lock()
	delete(r.running, j.ID)
	r.mu.Unlock()
	r.publish(j.ID)
	r.log.Info("job finished", "job", j.ID, "kind", j.Kind, "status", status, "done", p.done, "failed", p.failed, "err", errText)
}

func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelFunc, p *Progress, done <-chan struct{}) {
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		p.flush(hctx, true)
		j, err := r.client.Job.Get(hctx, p.id)
		hcancel()
		if err == nil && j.CancelRequested {
			p.setCancelled()
			cancel()
			return
		}
	}
}

// Cancel asks a job to stop, wherever it runs.
func (r *Runner) Cancel(ctx context.Context, id int) (*ent.Job, error) {
	j, err := r.client.Job.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Status != job.StatusRunning && j.Status != job.StatusPending {
		return j, nil
	}
	if err := r.client.Job.UpdateOneID(id).SetCancelRequested(true).Exec(ctx); err != nil {
		return nil, fmt.Errorf("cancelling job: %w", err)
	}
	r.cancelLocal(id) // at once when it runs here; elsewhere at its next heartbeat
	return r.client.Job.Get(ctx, id)
}

// MarkInterrupted marks running jobs whose heartbeat stopped as interrupted.
func (r *Runner) MarkInterrupted(ctx context.Context) (int, error) {
	return r.client.Job.Update().
		Where(job.StatusEQ(job.StatusRunning), job.HeartbeatAtLT(time.Now().UTC().Add(-staleAfter))).
		SetStatus(job.StatusInterrupted).
		SetError("the instance running this job stopped").
		SetFinishedAt(time.Now().UTC()).
		Save(ctx)
}

// Stop cancels this instance's running jobs (they end interrupted) and waits
// for them, within ctx.
func (r *Runner) Stop(ctx context.Context) error {
	r.stop()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for jobs to stop: %w", ctx.Err())
	}
}

func (r *Runner) publish(id int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.hub.Publish(ctx, live.Message{Kind: live.JobProgress, IDs: []int{id}})
}

// Progress is a running job's view of its own record. Updates are batched:
// the database and subscribers see them at most a few times a second.
type Progress struct {
	r  *Runner
	id int

	mu        sync.Mutex
	total     int
	done      int
	failed    int
	stage     string
	dirty     bool
	lastFlush time.Time
	cancelled bool
}

// ID is the job's id.
func (p *Progress) ID() int { return p.id }

// SetTotal sets the expected units of work.
func (p *Progress) SetTotal(n int) { p.update(func() { p.total = n }) }

// Add counts finished units of work.
func (p *Progress) Add(done, failed int) { p.update(func() { p.done += done; p.failed += failed }) }

// Stage names the current phase.
func (p *Progress) Stage(s string) { p.update(func() { p.stage = s }) }

// Counts returns what was reported so far.
func (p *Progress) Counts() (total, done, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.done, p.failed
}

func (p *Progress) update(fn func()) {
	p.mu.Lock()
	fn()
	p.dirty = true
	due := time.Since(p.lastFlush) > 250*time.Millisecond
	p.mu.Unlock()
	if due {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p.flush(ctx, false)
		cancel()
	}
}

// flush writes progress when it changed, or always (a heartbeat) when force.
func (p *Progress) flush(ctx context.Context, force bool) {
	p.mu.Lock()
	if !p.dirty && !force {
		p.mu.Unlock()
		return
	}
	total, done, failed, stage := p.total, p.done, p.failed, p.stage
	p.dirty = false
	p.lastFlush = time.Now()
	p.mu.Unlock()
	err := p.r.client.Job.UpdateOneID(p.id).
		SetTotal(total).SetDone(done).SetFailed(failed).SetStage(stage).
		SetHeartbeatAt(time.Now().UTC()).
		Exec(ctx)
	if err != nil {
		p.r.log.Warn("recording job progress", "err", err, "job", p.id)
		return
	}
	p.r.publish(p.id)
}

func (p *Progress) setCancelled() {
	p.mu.Lock()
	p.cancelled = true
	p.mu.Unlock()
}

func (p *Progress) cancelRequested() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cancelled
}
