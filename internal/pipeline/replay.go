package pipeline

import (
	"context"
	"time"
)

// Requeue sends events back through the pipeline: queued, due now,
// attempts and last error cleared. An event a worker is processing right
// now is queued again once that worker commits. Replayed events are
// processed again (journeys are recomputed from their events) but never
// counted twice in the rollups. busy is always 0 and kept for callers that
// report it.
func (p *Pipeline) Requeue(ctx context.Context, ids []int) (requeued, busy int, err error) {
	n, err := p.db.Requeue(ctx, p.opts.Now(), ids)
	if err != nil {
		return 0, 0, err
	}
	p.m.ReplayedEvents.Add(float64(n))
	p.Wake()
	return n, 0, nil
}

// Pending counts how many of ids are still queued, and how many are
// dead-lettered.
func (p *Pipeline) Pending(ctx context.Context, ids []int) (pending, failed int, err error) {
	return p.db.QueueProgress(ctx, ids)
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
