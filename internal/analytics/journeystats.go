package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/usererr"
)

// JourneyStats is the one implementation of a definition's journey
// statistics over the journeys started in [from, to): GraphQL's
// journeyStats, and the REST journey summary's per-definition figures
// (through completionStats), use it. Counts by status and outcome and the
// completion times are SQL aggregates over journey_instances; the step
// funnel streams the stored timelines through journey.FunnelBuilder,
// holding one timeline at a time. journey.Funnel is the reference these
// figures are tested against.
func (s *Service) JourneyStats(ctx context.Context, definition string, from, to time.Time) (journey.Stats, error) {
	start := time.Now()
	defer func() { s.m.observe("journey_stats", start) }()
	if !from.Before(to) {
		return journey.Stats{}, usererr.Field("from", "from must be before to")
	}
	where := "definition_key = ? AND started_at >= ? AND started_at < ?"
	args := []any{definition, from.UTC(), to.UTC()}
	out := journey.NewFunnelBuilder()
	var counts statusCounts
	var completion map[string]journey.DurationStats
	err := s.parallel(ctx,
		func() (err error) { counts, err = s.statusCounts(ctx, where, args); return err },
		func() (err error) { completion, err = s.completionStats(ctx, where, args); return err },
		func() error {
			rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind("SELECT timeline FROM journey_instances WHERE "+where), args...)
			if err != nil {
				return fmt.Errorf("reading journey timelines: %w", err)
			}
			defer rows.Close()
			var raw []byte
			for rows.Next() {
				if err := rows.Scan(&raw); err != nil {
					return fmt.Errorf("reading journey timelines: %w", err)
				}
				var st journey.State
				if len(raw) > 0 {
					if err := json.Unmarshal(raw, &st); err != nil {
						return fmt.Errorf("decoding a journey timeline: %w", err)
					}
				}
				out.Add(st)
			}
			return rows.Err()
		},
	)
	if err != nil {
		return journey.Stats{}, err
	}
	st := out.Stats()
	st.Definition = definition
	st.Instances = 0
	for _, status := range []journey.Status{journey.StatusActive, journey.StatusCompleted, journey.StatusFailed, journey.StatusStuck, journey.StatusAbandoned} {
		st.ByStatus[status] = int(counts.byStatus[definition][string(status)])
		st.Instances += st.ByStatus[status]
	}
	st.ByOutcome = map[journey.Outcome]int{}
	for o, n := range counts.byOutcome[definition] {
		st.ByOutcome[journey.Outcome(o)] = int(n)
	}
	st.Completion = completion[definition]
	return st, nil
}

// statusCounts counts journeys by definition and status, and ended ones by
// outcome.
type statusCounts struct {
	byStatus  map[string]map[string]int64
	byOutcome map[string]map[string]int64
}

func (s *Service) statusCounts(ctx context.Context, where string, args []any) (statusCounts, error) {
	out := statusCounts{byStatus: map[string]map[string]int64{}, byOutcome: map[string]map[string]int64{}}
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT definition_key, status, COALESCE(outcome, ''), COUNT(*)
		FROM journey_instances WHERE `+where+` GROUP BY definition_key, status, outcome`), args...)
	if err != nil {
		return out, fmt.Errorf("counting journeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var def, status, outcome string
		var n int64
		if err := rows.Scan(&def, &status, &outcome, &n); err != nil {
			return out, fmt.Errorf("counting journeys: %w", err)
		}
		if out.byStatus[def] == nil {
			out.byStatus[def], out.byOutcome[def] = map[string]int64{}, map[string]int64{}
		}
		out.byStatus[def][status] += n
		if outcome != "" {
			out.byOutcome[def][outcome] += n
		}
	}
	return out, rows.Err()
}

// completionStats summarises the completion times of completed journeys by
// definition: count, mean and nearest-rank p50 and p90 (what PostgreSQL's
// percentile_disc computes) over those with a known duration, and how many
// were left out because their start was never seen (duration_ms NULL).
// A journey that began and ended with one event counts with 0 s.
func (s *Service) completionStats(ctx context.Context, where string, args []any) (map[string]journey.DurationStats, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT definition_key, COUNT(duration_ms), AVG(duration_ms),
		SUM(CASE WHEN duration_ms IS NULL THEN 1 ELSE 0 END)
		FROM journey_instances WHERE status = 'completed' AND `+where+` GROUP BY definition_key`), args...)
	if err != nil {
		return nil, fmt.Errorf("summarising journey durations: %w", err)
	}
	out := map[string]journey.DurationStats{}
	for rows.Next() {
		var def string
		var d journey.DurationStats
		var avg *float64
		if err := rows.Scan(&def, &d.Count, &avg, &d.Unknown); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summarising journey durations: %w", err)
		}
		if avg != nil {
			d.Avg = msDuration(*avg)
		}
		out[def] = d
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("summarising journey durations: %w", err)
	}
	defs := make([]string, 0, len(out))
	for def := range out {
		defs = append(defs, def)
	}
	sort.Strings(defs)
	for _, def := range defs {
		d := out[def]
		if d.Count == 0 {
			continue
		}
		for _, p := range []struct {
			pct float64
			dst *journey.Duration
		}{{50, &d.P50}, {90, &d.P90}} {
			rank := max(int(math.Ceil(p.pct/100*float64(d.Count))), 1)
			var ms float64
			err := s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT duration_ms FROM journey_instances
				WHERE status = 'completed' AND duration_ms IS NOT NULL AND `+where+`
				AND definition_key = ? ORDER BY duration_ms LIMIT 1 OFFSET ?`), append(append([]any(nil), args...), def, rank-1)...).Scan(&ms)
			if err != nil {
				return nil, fmt.Errorf("reading journey duration percentiles: %w", err)
			}
			*p.dst = msDuration(ms)
		}
		out[def] = d
	}
	return out, nil
}

// msDuration converts stored milliseconds (to the microsecond) back to a
// duration.
func msDuration(ms float64) journey.Duration {
	return journey.Duration(time.Duration(math.Round(ms*1000)) * time.Microsecond)
}
