package reconcile

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/job"
	"github.com/hooklens/hooklens/ent/syncrun"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
)

// pageSize is how many events a sync asks for at once (Dwolla caps list
// pages at 200 elsewhere; /events documents no cap).
const pageSize = 200

// SyncOptions describe a sync.
type SyncOptions struct {
	// Since is the oldest creation time wanted.
	Since time.Time
	// Trigger says who started it: schedule, manual, cli, reconcile.
	Trigger string
	// Resume continues an interrupted run from its cursor.
	Resume *ent.SyncRun
	// JobID links the run to its job.
	JobID int
	// Run is a record made beforehand with NewSyncRun (so a caller can
	// answer with it at once); nil makes one.
	Run *ent.SyncRun
}

// NewSyncRun records a sync about to start.
func (s *Service) NewSyncRun(ctx context.Context, opts SyncOptions) (*ent.SyncRun, error) {
	trigger := syncrun.Trigger(opts.Trigger)
	if trigger == "" {
		trigger = syncrun.TriggerManual
	}
	create := s.db.Client.SyncRun.Create().SetSince(opts.Since.UTC()).SetTrigger(trigger).SetStartedAt(s.opts.Now().UTC())
	if opts.Resume != nil {
		create.SetSince(opts.Resume.Since).SetTrigger(syncrun.TriggerResume).SetResumedFrom(opts.Resume.ID).
			SetNextOffset(opts.Resume.NextOffset)
	}
	if opts.JobID != 0 {
		create.SetJobID(opts.JobID)
	}
	run, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("recording sync run: %w", err)
	}
	return run, nil
}

// Sync pages Dwolla's /events newest first until it passes Since, imports
// the events hooklens lacks (queued for processing), and records the run.
// The cursor and the imports of each page commit together, so a crash
// loses no progress and a resumed run repeats nothing that matters.
func (s *Service) Sync(ctx context.Context, opts SyncOptions, prog Progress) (*ent.SyncRun, error) {
	if s.opts.Client == nil {
		return nil, ErrNotConfigured
	}
	if prog == nil {
		prog = NopProgress{}
	}
	run := opts.Run
	if run == nil {
		var err error
		if run, err = s.NewSyncRun(ctx, opts); err != nil {
			return nil, err
		}
	}
	if opts.JobID != 0 && run.JobID == 0 {
		var err error
		if run, err = s.db.Client.SyncRun.UpdateOneID(run.ID).SetJobID(opts.JobID).Save(ctx); err != nil {
			return nil, err
		}
	}
	offset := run.NextOffset
	opts.Since = run.Since
	s.publish(ctx, live.SyncProgress, run.ID)
	start := time.Now()
	result, runErr := s.syncPages(ctx, run, opts.Since, offset, prog)
	status := syncrun.StatusSucceeded
	errText := ""
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		status, errText = syncrun.StatusCancelled, "cancelled"
	default:
		status, errText = syncrun.StatusFailed, runErr.Error()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	dur := float64(time.Since(start).Microseconds()) / 1000
	up := s.db.Client.SyncRun.UpdateOneID(run.ID).SetStatus(status).SetFinishedAt(s.opts.Now().UTC()).SetDurationMs(dur)
	if errText != "" {
		up.SetError(errText)
	}
	final, err := up.Save(fctx)
	if err != nil {
		return result, fmt.Errorf("recording sync end: %w", err)
	}
	run = final
	s.syncRuns.WithLabelValues(string(status)).Inc()
	s.publish(ctx, live.SyncProgress, run.ID)
	s.log.Info("sync finished", "run", run.ID, "status", status, "pages", run.Pages, "seen", run.Seen,
		"imported", run.Imported, "already_present", run.AlreadyPresent, "errors", run.Errors, "err", errText)
	return run, runErr
}

func (s *Service) syncPages(ctx context.Context, run *ent.SyncRun, since time.Time, offset int, prog Progress) (*ent.SyncRun, error) {
	prog.Stage("reading Dwolla's events")
	// Dwolla pages by offset, newest first: events arriving during the
	// sync push older ones onto later pages, where they are read again.
	// Each event id is counted (and imported) once per run.
	read := newEventIDSet()
	for {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		page, err := s.opts.Client.ListEvents(ctx, pageSize, offset)
		if err != nil {
			_ = s.db.Client.SyncRun.UpdateOneID(run.ID).AddErrors(1).Exec(context.WithoutCancel(ctx))
			return run, fmt.Errorf("listing events at offset %d: %w", offset, err)
		}
		if run.Pages == 0 && page.Total > 0 {
			prog.SetTotal(page.Total)
			run.TotalReported = page.Total
		}
		var wanted []dwolla.APIEvent
		done, parseErrors := false, 0
		for _, ae := range page.Events {
			if ae.Err != nil {
				parseErrors++
				continue
			}
			if ae.Event.Created.Before(since) {
				done = true
				break
			}
			if read.add(ae.Event.ID) {
				wanted = append(wanted, ae)
			}
		}
		imported, present, err := s.importEvents(ctx, "sync", wanted)
		if err != nil {
			return run, err
		}
		offset += len(page.Events)
		run, err = s.db.Client.SyncRun.UpdateOneID(run.ID).
			AddPages(1).AddSeen(len(wanted)).AddImported(len(imported)).AddAlreadyPresent(present).
			AddErrors(parseErrors).SetNextOffset(offset).SetTotalReported(run.TotalReported).
			Save(context.WithoutCancel(ctx))
		if err != nil {
			return run, fmt.Errorf("recording sync progress: %w", err)
		}
		if page.Total > run.TotalReported {
			prog.SetTotal(page.Total) // events arrived during the sync
		}
		prog.Add(len(wanted), parseErrors)
		s.publish(ctx, live.SyncProgress, run.ID)
		if done || len(page.Events) == 0 || offset >= page.Total {
			return run, nil
		}
	}
}

// eventIDSet remembers the event ids a sync has read, by 64-bit hash to
// keep a month of events in a few tens of megabytes.
type eventIDSet map[uint64]struct{}

func newEventIDSet() eventIDSet { return eventIDSet{} }

// add records id and reports whether it is new.
func (s eventIDSet) add(id string) bool {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	k := h.Sum64()
	if _, seen := s[k]; seen {
		return false
	}
	s[k] = struct{}{}
	return true
}

// MarkInterrupted marks running syncs whose job is no longer running as
// interrupted, so they can be resumed.
func (s *Service) MarkInterrupted(ctx context.Context) (int, error) {
	runs, err := s.db.Client.SyncRun.Query().Where(syncrun.StatusEQ(syncrun.StatusRunning)).All(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range runs {
		alive := false
		if r.JobID != 0 {
			j, err := s.db.Client.Job.Get(ctx, r.JobID)
			alive = err == nil && j.Status == job.StatusRunning
		} else {
			// A CLI run has no job: trust it for a day.
			alive = time.Since(r.StartedAt) < 24*time.Hour
		}
		if alive {
			continue
		}
		if err := s.db.Client.SyncRun.UpdateOneID(r.ID).SetStatus(syncrun.StatusInterrupted).
			SetError("the instance running this sync stopped; resume it").SetFinishedAt(s.opts.Now().UTC()).Exec(ctx); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
