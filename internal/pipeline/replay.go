package pipeline

import (
	"context"
	"fmt"
	"time"
)

// ErrBeingProcessed means a replay found the event leased by a worker.
var ErrBeingProcessed = fmt.Errorf("the event is being processed right now; try again in a moment")

// Requeue sends events back through the pipeline: state queued, due now,
// attempts and last error cleared. Events a worker holds under a live lease
// are left alone and counted in busy. Replayed events are processed again
// (journeys are recomputed from their events) but never counted twice in
// the rollups.
func (p *Pipeline) Requeue(ctx context.Context, ids []int) (requeued, busy int, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	now := p.opts.Now().UTC()
	args := make([]any, 0, len(ids)+2)
	args = append(args, now, now)
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := p.db.Write.ExecContext(ctx, p.db.Rebind(`UPDATE webhook_events
		SET processing_state = 'queued', next_attempt_at = ?, attempts = 0, last_error = NULL, locked_until = NULL, locked_by = NULL
		WHERE NOT (processing_state = 'processing' AND locked_until >= ?) AND id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return 0, 0, fmt.Errorf("requeueing events: %w", err)
	}
	n, _ := res.RowsAffected()
	p.m.ReplayedEvents.Add(float64(n))
	p.Wake()
	return int(n), len(ids) - int(n), nil
}

// Pending counts how many of ids are still queued or processing, and how
// many are dead-lettered.
func (p *Pipeline) Pending(ctx context.Context, ids []int) (pending, failed int, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	err = p.db.Read.QueryRowContext(ctx, p.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN processing_state IN ('queued', 'processing') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN processing_state = 'failed' THEN 1 ELSE 0 END), 0)
		FROM webhook_events WHERE id IN (`+placeholders(len(ids))+`)`), args...).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("checking replay progress: %w", err)
	}
	return pending, failed, nil
}

// WaitProcessed waits until none of ids is queued or processing, checking
// every interval, and returns how many ended dead-lettered.
func (p *Pipeline) WaitProcessed(ctx context.Context, ids []int, interval time.Duration) (failed int, err error) {
	for {
		pending, failed, err := p.Pending(ctx, ids)
		if err != nil {
			return 0, err
		}
		if pending == 0 {
			return failed, nil
		}
		select {
		case <-ctx.Done():
			return failed, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// replayChunk is how many events a bulk replay requeues at once; it waits
// for each chunk to be processed before the next, so a replay of millions
// never floods the queue ahead of live traffic.
const replayChunk = 500

// IDSource pages through the ids of the events to replay, in ascending
// order: the ids after after, at most limit of them.
type IDSource func(ctx context.Context, after, limit int) ([]int, error)

// Progress is what a bulk replay reports.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

// BulkReplay requeues every event from ids, chunk by chunk, waiting for
// each chunk to be processed; it stops between chunks when ctx ends.
func (p *Pipeline) BulkReplay(ctx context.Context, total int, ids IDSource, prog Progress) (map[string]any, error) {
	prog.SetTotal(total)
	after, replayed, busy, failed := 0, 0, 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return map[string]any{"replayed": replayed, "skippedBusy": busy, "deadLettered": failed}, err
		}
		prog.Stage("queueing")
		chunk, err := ids(ctx, after, replayChunk)
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			break
		}
		after = chunk[len(chunk)-1]
		n, b, err := p.Requeue(ctx, chunk)
		if err != nil {
			return nil, err
		}
		busy += b
		prog.Stage("processing")
		f, err := p.WaitProcessed(ctx, chunk, 100*time.Millisecond)
		if err != nil {
			return map[string]any{"replayed": replayed, "skippedBusy": busy, "deadLettered": failed}, err
		}
		replayed += n
		failed += f
		prog.Add(len(chunk)-f, f)
	}
	return map[string]any{"replayed": replayed, "skippedBusy": busy, "deadLettered": failed}, nil
}
