package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/store"
)

// Inconsistency is a journey whose stored state contradicts its events.
type Inconsistency struct {
	ID             int
	Definition     string
	Key            string
	StoredStatus   string
	ComputedStatus string
	StoredCount    int
	ComputedCount  int
}

// openStatus groups statuses that only time changes: a journey stored
// active that evaluates stuck now is waiting for the sweep, not wrong.
func openStatus(s string) bool { return s == "active" || s == "stuck" || s == "abandoned" }

// Check re-evaluates up to limit journeys updated since (most recent
// first) and reports those whose stored status or event count disagrees
// with their events. It writes nothing; Repair fixes what it finds.
func (t *Tracker) Check(ctx context.Context, since, now time.Time, limit int) (checked int, bad []Inconsistency, err error) {
	rows, err := t.db.Read.QueryContext(ctx, t.db.Rebind(`SELECT id, definition_key, correlation_key, status, event_count
		FROM journey_instances WHERE updated_at >= ? ORDER BY updated_at DESC LIMIT ?`), since.UTC(), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("reading journeys to check: %w", err)
	}
	type stored struct {
		id     int
		p      pair
		status string
		count  int
	}
	var list []stored
	for rows.Next() {
		var s stored
		if err := rows.Scan(&s.id, &s.p.def, &s.p.key, &s.status, &s.count); err != nil {
			rows.Close()
			return 0, nil, err
		}
		list = append(list, s)
	}
	if err := rows.Close(); err != nil {
		return 0, nil, err
	}
	r := t.router.Load()
	for _, s := range list {
		def, ok := r.Definition(s.p.def)
		if !ok {
			continue
		}
		evs, err := t.memberEvents(ctx, s.p)
		if err != nil {
			return checked, bad, err
		}
		checked++
		st := journey.Evaluate(def, evs, now)
		computed := string(st.Status)
		same := computed == s.status || openStatus(computed) && openStatus(s.status)
		if st.Excluded || !same || st.EventCount != s.count {
			bad = append(bad, Inconsistency{ID: s.id, Definition: s.p.def, Key: s.p.key,
				StoredStatus: s.status, ComputedStatus: computed, StoredCount: s.count, ComputedCount: st.EventCount})
		}
	}
	return checked, bad, nil
}

// Repair re-evaluates the given journeys and writes their true state.
func (t *Tracker) Repair(ctx context.Context, bad []Inconsistency, now time.Time) (int, error) {
	pairs := make([]pair, len(bad))
	for i, b := range bad {
		pairs[i] = pair{b.Definition, b.Key}
	}
	return t.Reevaluate(ctx, pairs, now)
}

func (t *Tracker) memberEvents(ctx context.Context, p pair) ([]journey.Event, error) {
	key := store.JourneyKey{Definition: p.def, Key: p.key}
	got, err := t.db.JourneyMembers(ctx, t.db.Read, []store.JourneyKey{key})
	if err != nil {
		return nil, err
	}
	return memberJourneyEvents(got[key]), nil
}
