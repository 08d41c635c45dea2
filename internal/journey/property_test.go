package journey

import (
	"fmt"
	mathrand "math/rand"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/require"
)

// walk generates a plausible event set for def: a random path through its
// steps (optional ones taken or not, loops through repeatable blocks, twin
// events, missing events, equal timestamps), an outcome or none, and a
// little noise that must land in State.Unexpected.
func walk(r *rand.Rand, def Definition, key string) []Event {
	var out []Event
	at := t0.Add(time.Duration(r.IntN(5000)) * time.Hour)
	emit := func(topic string, when time.Time, k string) {
		out = append(out, Event{
			ID: fmt.Sprintf("%s-%03d-%x", k, len(out), r.Uint32()), Topic: topic, Created: when,
			ResourceID: k, CustomerID: k,
		})
	}
	gap := func(limit Duration) time.Duration {
		switch r.IntN(4) {
		case 0:
			return 0 // Dwolla often stamps a whole leg with one millisecond
		case 1:
			return time.Duration(r.IntN(1000)) * time.Millisecond
		default:
			lim := max(time.Duration(limit), time.Hour)
			return time.Duration(r.Int64N(int64(lim)*3/2 + 1)) // sometimes over the limit
		}
	}
	pick := func(ts []string) string { return ts[r.IntN(len(ts))] }

	stop := len(def.Steps)
	if r.IntN(3) == 0 {
		stop = r.IntN(len(def.Steps)) // still under way
	}
	loops := 0
	for i := 0; i < stop; i++ {
		s := def.Steps[i]
		if s.Optional && r.IntN(2) == 0 {
			continue
		}
		at = at.Add(gap(s.Within))
		if r.IntN(10) != 0 { // now and then an event is simply missing
			emit(pick(s.Topics), at, key)
			if r.IntN(4) == 0 {
				emit(pick(s.Topics), at.Add(time.Duration(r.IntN(2))*time.Millisecond), key) // a twin
			}
		}
		if s.Repeatable && loops < 3 && r.IntN(3) == 0 {
			loops++
			j := i
			for j > 0 && def.Steps[j-1].Repeatable {
				j--
			}
			i = j - 1
		}
	}
	switch r.IntN(5) {
	case 0:
		if len(def.FailureTopics) > 0 {
			emit(pick(def.FailureTopics), at.Add(gap(days)), key)
		}
	case 1:
		if len(def.FailureTopics) > 0 && stop == len(def.Steps) {
			emit(pick(def.FailureTopics), at.Add(gap(30*days)), key) // after success
		}
	case 2:
		emit(pick(def.SuccessTopics), at.Add(gap(days)), key)
	}
	all := def.Topics()
	if r.IntN(5) == 0 {
		emit(pick(all), at.Add(-time.Duration(r.Int64N(int64(30*day)))), key) // anywhere in time
	}
	if r.IntN(8) == 0 {
		emit("customer_label_created", at, key) // not this journey's topic
	}
	if r.IntN(8) == 0 {
		emit(pick(all), at, "another-key")
	}
	if len(def.ExcludeTopics) > 0 && r.IntN(8) == 0 {
		emit(pick(def.ExcludeTopics), at.Add(gap(days)), key)
	}
	if len(out) > 0 && r.IntN(10) == 0 {
		// The same event id recorded with different content, like v6.
		c := out[r.IntN(len(out))]
		c.Created = c.Created.Add(2 * time.Minute)
		c.Topic = pick(all)
		out = append(out, c)
	}
	return out
}

func randomNow(r *rand.Rand, events []Event) time.Time {
	last := t0
	for _, e := range events {
		if e.Created.After(last) {
			last = e.Created
		}
	}
	return last.Add(time.Duration(r.Int64N(int64(70 * day))))
}

// TestEvaluateIsOrderFree is the engine's central promise: for random event
// sets of every built-in journey, every arrival order and any number of
// redeliveries give an identical State.
func TestEvaluateIsOrderFree(t *testing.T) {
	t.Parallel()
	for di, def := range Builtins() {
		t.Run(def.Key, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(di), 2024))
			for n := range 300 {
				events := walk(r, def, fmt.Sprintf("k%d", n))
				now := randomNow(r, events)
				want := Evaluate(def, events, now)
				for range 8 {
					got := Evaluate(def, shuffled(r, events), now)
					require.Equal(t, want, got, "walk %d", n)
				}
				requireSane(t, def, want)
			}
		})
	}
}

// requireSane checks invariants every State keeps.
func requireSane(t *testing.T, def Definition, st State) {
	t.Helper()
	require.Len(t, st.Steps, len(def.Steps))
	require.GreaterOrEqual(t, st.Progress, 0.0)
	require.LessOrEqual(t, st.Progress, 100.0)
	require.Equal(t, st.Status.Ended(), !st.EndedAt.IsZero())
	switch st.Status {
	case StatusCompleted:
		require.Equal(t, 100.0, st.Progress)
	case StatusActive, StatusStuck, StatusAbandoned:
		require.Less(t, st.Progress, 100.0)
	}
	if st.CurrentStep != "" {
		require.True(t, step(t, st, st.CurrentStep).Reached)
		require.True(t, step(t, st, st.FurthestStep).Reached)
	}
	for _, s := range st.Steps {
		require.False(t, s.Reached && s.Missed, s.Key)
		if s.Reached {
			require.False(t, s.ReachedAt.Before(st.StartedAt))
			require.False(t, s.ReachedAt.After(st.LastEventAt))
		}
	}
}

// TestTwinsDoNotChangeTheState adds, for random events, a second event of
// the same topic at the same instant with a new id (Dwolla's sender and
// receiver twins). The state may name a different event (of the same
// instant) as the one that reached a step, and counts one more event;
// nothing else may change.
func TestTwinsDoNotChangeTheState(t *testing.T) {
	t.Parallel()
	// Which event (and so which of a step's topics) reached a step is a
	// tie-break among events of one instant; a twin may win it.
	normalize := func(st State) State {
		st.EventCount = 0
		st.EndEventID, st.EndTopic = "", ""
		st.Steps = append([]StepState(nil), st.Steps...)
		for i := range st.Steps {
			st.Steps[i].EventID, st.Steps[i].Topic = "", ""
		}
		return st
	}
	for di, def := range Builtins() {
		r := rand.New(rand.NewPCG(uint64(di), 77))
		for n := range 200 {
			events := walk(r, def, "k")
			now := randomNow(r, events)
			want := Evaluate(def, events, now)
			// Twin only events that fit: a twin of an unexpected event is
			// one more unexpected event, and a twin of a discarded copy of a
			// conflicting id is a new event in its own right.
			odd := map[string]bool{}
			for _, u := range want.Unexpected {
				odd[u.EventID] = true
			}
			seen := map[string]bool{}
			for _, e := range events {
				odd[e.ID] = odd[e.ID] || seen[e.ID]
				seen[e.ID] = true
			}
			for _, e := range events {
				if odd[e.ID] || e.ResourceID != want.Key || r.IntN(3) != 0 {
					continue
				}
				twin := e
				twin.ID = fmt.Sprintf("%x", r.Uint64()) // sorts before or after the original
				got := Evaluate(def, shuffled(r, append(append([]Event(nil), events...), twin)), now)
				require.Equal(t, normalize(want), normalize(got), "%s walk %d twin of %s", def.Key, n, e.ID)
			}
		}
	}
}

// TestEvaluateIsOrderFreeQuick lets testing/quick pick seeds and journeys.
func TestEvaluateIsOrderFreeQuick(t *testing.T) {
	t.Parallel()
	defs := Builtins()
	f := func(seed uint64, which uint8) bool {
		r := rand.New(rand.NewPCG(seed, uint64(which)))
		def := defs[int(which)%len(defs)]
		events := walk(r, def, "q")
		now := randomNow(r, events)
		want := Evaluate(def, events, now)
		for range 4 {
			if !reflect.DeepEqual(want, Evaluate(def, shuffled(r, events), now)) {
				t.Logf("seed %d journey %s differs by order", seed, def.Key)
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 1000, Rand: mathrand.New(mathrand.NewSource(42))}))
}
