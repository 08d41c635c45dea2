package journey

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/stretchr/testify/require"
)

// captureEvents parses every recorded payload. The payload's topic is the
// truth: the capture files mislabel two of them (v1 and v6).
func captureEvents(t testing.TB) []Event {
	t.Helper()
	caps, err := dwolla.LoadCaptures("../dwolla/testdata/captures")
	require.NoError(t, err)
	require.NotEmpty(t, caps)
	out := make([]Event, 0, len(caps))
	for _, c := range caps {
		ev, err := dwolla.ParseEvent(c.Payload)
		require.NoError(t, err, "%s leg %d", c.File, c.Leg)
		out = append(out, FromDwolla(ev))
	}
	return out
}

type instanceID struct{ def, key string }

// routeAll routes events like the pipeline does: every event is kept with
// its key, and an instance exists once any of its events may open it.
func routeAll(t testing.TB, r *Router, events []Event) (map[instanceID][]Event, map[instanceID]bool) {
	t.Helper()
	byInstance := map[instanceID][]Event{}
	opened := map[instanceID]bool{}
	for _, e := range events {
		for _, a := range r.Route(e) {
			id := instanceID{a.Definition, a.Key}
			byInstance[id] = append(byInstance[id], e)
			opened[id] = opened[id] || a.Opens
		}
	}
	return byInstance, opened
}

// TestCaptures routes Dwolla's real sandbox transfer webhooks, shuffled and
// redelivered, and requires every transfer resource to end completed with
// the timeline the payloads imply.
func TestCaptures(t *testing.T) {
	t.Parallel()
	events := captureEvents(t)

	// What the payloads say, worked out independently of the engine: per
	// transfer resource, its journey, and the first event (by created time,
	// then id) of its created and completed topics.
	type expect struct {
		def                 string
		created, completed  Event
		hasCreated, hasDone bool
	}
	first := func(have bool, cur, e Event) bool {
		return !have || e.Created.Before(cur.Created) || (e.Created.Equal(cur.Created) && e.ID < cur.ID)
	}
	want := map[string]*expect{}
	for _, e := range events {
		require.Equal(t, "transfer", e.ResourceType, e.ID)
		x := want[e.ResourceID]
		if x == nil {
			x = &expect{def: "transfer"}
			want[e.ResourceID] = x
		}
		if strings.Contains(e.Topic, "bank_transfer") {
			x.def = "bank_transfer"
		}
		switch {
		case strings.HasSuffix(e.Topic, "_created"):
			if first(x.hasCreated, x.created, e) {
				x.created, x.hasCreated = e, true
			}
		case strings.HasSuffix(e.Topic, "_completed"):
			if first(x.hasDone, x.completed, e) {
				x.completed, x.hasDone = e, true
			}
		default:
			t.Fatalf("captures are all successful transfers; got %s", e.Topic)
		}
	}
	require.Len(t, want, 15, "nine captures, fifteen transfer resources")

	router, err := NewRouter(Builtins())
	require.NoError(t, err)
	defs := map[string]Definition{}
	for _, d := range Builtins() {
		defs[d.Key] = d
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	for round := range 25 {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		byInstance, opened := routeAll(t, router, shuffled(r, events))
		require.Len(t, byInstance, len(want), "one instance per transfer resource and nothing else")
		for id, evs := range byInstance {
			x := want[id.key]
			require.NotNil(t, x, "instance %v is not a transfer resource", id)
			require.Equal(t, x.def, id.def, id.key)
			require.True(t, opened[id], "%v never opened", id)

			st := Evaluate(defs[id.def], evs, now)
			require.Equal(t, StatusCompleted, st.Status, "%v: %s", id, st.Note())
			require.Equal(t, 100.0, st.Progress)
			require.Equal(t, "completed", st.CurrentStep)
			require.Empty(t, st.Unexpected, "%v", id)
			require.False(t, st.Excluded)

			done := step(t, st, "completed")
			require.True(t, done.Reached)
			require.Equal(t, x.completed.Created, done.ReachedAt, id.key)
			require.Equal(t, x.completed.ID, done.EventID, id.key)
			require.Equal(t, x.completed.Created, st.EndedAt)
			require.True(t, done.WithinLimit)

			created := step(t, st, "created")
			if x.hasCreated {
				require.True(t, created.Reached, id.key)
				require.Equal(t, x.created.Created, created.ReachedAt, id.key)
				require.Equal(t, x.created.ID, created.EventID, id.key)
				require.Equal(t, Duration(x.completed.Created.Sub(x.created.Created)), done.SincePrevious, id.key)
				require.Equal(t, Duration(x.completed.Created.Sub(x.created.Created)), st.Duration, id.key)
				require.Equal(t, x.created.Created, st.StartedAt)
			} else {
				// v6's last leg: its created event is missing from the
				// capture (recorded as a second copy of the completion).
				require.True(t, created.Missed, id.key)
				require.Contains(t, st.Note(), `never saw step "created"`)
			}
		}
	}
}

// TestCaptureSlips pins down how the two mislabelled captures are read.
func TestCaptureSlips(t *testing.T) {
	t.Parallel()
	events := captureEvents(t)
	router, err := NewRouter(Builtins())
	require.NoError(t, err)
	byInstance, _ := routeAll(t, router, events)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// v6: event 183f076c… is recorded twice, both copies saying completed
	// but two minutes apart. One event, so the earlier copy is used and the
	// conflict is noted.
	v6 := instanceID{"bank_transfer", "b0feae54-ce6c-ec11-813c-f6ddd36b41b8"}
	require.Len(t, byInstance[v6], 2)
	st := Evaluate(builtin(t, "bank_transfer"), byInstance[v6], now)
	require.Equal(t, StatusCompleted, st.Status)
	require.Equal(t, 1, st.EventCount)
	require.Equal(t, time.Date(2022, 1, 3, 19, 50, 12, 26_000_000, time.UTC), st.EndedAt)
	require.Contains(t, st.Note(), "event 183f076c-cb06-49a4-9e08-b24dc6019b26 was recorded with differing content")

	// v1: the event labelled customer_transfer_completed is, by its
	// payload, a second customer_transfer_created stamped with the same
	// millisecond as transfer_completed. It repeats a step already reached
	// and does not disturb the timeline.
	v1 := instanceID{"transfer", "9e81ab80-3c6c-ec11-813c-f6ddd36b41b8"}
	st = Evaluate(builtin(t, "transfer"), byInstance[v1], now)
	require.Equal(t, StatusCompleted, st.Status)
	require.Equal(t, 4, st.EventCount)
	require.Empty(t, st.Unexpected)
	require.Equal(t, "transfer_completed", st.EndTopic)
	require.Equal(t, []string{"1a640ca1-cdae-4f98-83a0-f6b89958ac49"}, st.CustomerIDs)
}
