package tracker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/journey"
)

// sweepBatch bounds how many journeys one sweep transaction re-evaluates.
const sweepBatch = 500

// SweepStuck re-evaluates active journeys whose current step has outlived
// its time limit; they become stuck (and subscribers hear of it).
func (t *Tracker) SweepStuck(ctx context.Context, now time.Time) (int, error) {
	return t.sweep(ctx, now, "status = 'active' AND stuck_at <= ?")
}

// SweepAbandoned re-evaluates open journeys idle past their horizon; they
// become abandoned.
func (t *Tracker) SweepAbandoned(ctx context.Context, now time.Time) (int, error) {
	return t.sweep(ctx, now, "status IN ('active', 'stuck') AND abandon_at <= ?")
}

func (t *Tracker) sweep(ctx context.Context, now time.Time, where string) (int, error) {
	total := 0
	for {
		rows, err := t.db.Read.QueryContext(ctx, t.db.Rebind(
			"SELECT definition_key, correlation_key FROM journey_instances WHERE "+where+" ORDER BY id LIMIT ?"), now.UTC(), sweepBatch)
		if err != nil {
			return total, fmt.Errorf("finding journeys to sweep: %w", err)
		}
		var pairs []pair
		for rows.Next() {
			var p pair
			if err := rows.Scan(&p.def, &p.key); err != nil {
				rows.Close()
				return total, err
			}
			pairs = append(pairs, p)
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
		if len(pairs) == 0 {
			return total, nil
		}
		n, err := t.Reevaluate(ctx, pairs, now)
		if err != nil {
			return total, err
		}
		total += n
		if len(pairs) < sweepBatch || n == 0 {
			return total, nil
		}
	}
}

// Reevaluate recomputes the given journeys at now in one transaction and
// publishes what changed.
func (t *Tracker) Reevaluate(ctx context.Context, pairs []pair, now time.Time) (int, error) {
	tx, err := t.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	ch, err := t.evaluate(ctx, tx, pairs, nil, now)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing: %w", err)
	}
	if pub := ch.publish(t); pub != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		pub(pctx)
		cancel()
	}
	return len(ch.updated), nil
}

// Pair names one journey instance for Reevaluate.
func Pair(definition, key string) pair { return pair{definition, key} }

// Stats computes the funnel of one definition's journeys started in
// [from, to), from their stored states.
func (t *Tracker) Stats(ctx context.Context, definition string, from, to time.Time) (journey.Stats, error) {
	rows, err := t.db.Read.QueryContext(ctx, t.db.Rebind(
		"SELECT timeline FROM journey_instances WHERE definition_key = ? AND started_at >= ? AND started_at < ?"),
		definition, from.UTC(), to.UTC())
	if err != nil {
		return journey.Stats{}, fmt.Errorf("reading journeys: %w", err)
	}
	defer rows.Close()
	var states []journey.State
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return journey.Stats{}, err
		}
		st, err := DecodeState(raw)
		if err != nil {
			return journey.Stats{}, err
		}
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		return journey.Stats{}, err
	}
	s := journey.Funnel(states)
	s.Definition = definition
	if len(states) == 0 {
		if def, ok := t.router.Load().Definition(definition); ok {
			for _, step := range def.Steps {
				s.Steps = append(s.Steps, journey.StepStats{Key: step.Key, Name: step.Name})
			}
		}
	}
	return s, nil
}

// DecodeState reads a stored timeline.
func DecodeState(raw []byte) (journey.State, error) {
	var st journey.State
	if len(raw) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("decoding journey state: %w", err)
	}
	return st, nil
}
