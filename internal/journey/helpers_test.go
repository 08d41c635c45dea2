package journey

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is a Monday morning, so business-day reasoning in the tests is easy.
var t0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

// at is one event of a scripted instance: a topic at an offset from t0.
type at struct {
	topic string
	after time.Duration
}

// script builds an instance's events. Both ids are the key, which suits
// both correlations: customer events name the customer, resource events the
// resource. Resource types come from the catalogue, as they would for a body
// without a resource-type.
func script(key string, steps ...at) []Event {
	out := make([]Event, len(steps))
	for i, s := range steps {
		out[i] = Event{
			ID:         fmt.Sprintf("%s-%02d-%s", key, i, s.topic),
			Topic:      s.topic,
			Created:    t0.Add(s.after),
			ResourceID: key,
			CustomerID: key,
		}
	}
	return out
}

// builtin returns the built-in definition with key.
func builtin(t testing.TB, key string) Definition {
	t.Helper()
	for _, d := range Builtins() {
		if d.Key == key {
			return d
		}
	}
	t.Fatalf("no built-in journey %q", key)
	return Definition{}
}

// shuffled returns events in a random order with some exact redeliveries
// mixed in, as Dwolla delivers them.
func shuffled(r *rand.Rand, events []Event) []Event {
	out := append([]Event(nil), events...)
	for _, e := range events {
		for r.IntN(3) == 0 {
			out = append(out, e)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// requireOrderFree evaluates events in many arrival orders with
// redeliveries and requires the same State each time.
func requireOrderFree(t *testing.T, r *rand.Rand, def Definition, events []Event, now time.Time, rounds int) State {
	t.Helper()
	want := Evaluate(def, events, now)
	for range rounds {
		got := Evaluate(def, shuffled(r, events), now)
		require.Equal(t, want, got)
	}
	return want
}

func reachedKeys(st State) []string {
	var out []string
	for _, s := range st.Steps {
		if s.Reached {
			out = append(out, s.Key)
		}
	}
	return out
}

func missedKeys(st State) []string {
	var out []string
	for _, s := range st.Steps {
		if s.Missed {
			out = append(out, s.Key)
		}
	}
	return out
}

func step(t testing.TB, st State, key string) StepState {
	t.Helper()
	for _, s := range st.Steps {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no step %q in %s", key, st.Definition)
	return StepState{}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}
