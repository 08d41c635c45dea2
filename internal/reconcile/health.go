package reconcile

import (
	"fmt"
	"math"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Component is one weighted part of the health score.
type Component struct {
	Name      string  `json:"name"`
	Weight    float64 `json:"weight"`
	Score     float64 `json:"score"` // 0–1
	Available bool    `json:"available"`
	Note      string  `json:"note"`
}

// weights of the health score's components (they sum to 100). A component
// that cannot be measured (no Dwolla credentials) drops out and the others
// are rescaled.
var weights = map[string]float64{
	"events_complete":       35, // every event Dwolla has, hooklens has
	"deliveries_succeeding": 20, // Dwolla's webhooks to us succeed
	"subscription_active":   15, // our subscription exists and is not paused
	"processing":            20, // nothing stuck or dead-lettered
	"freshness":             5,  // the queue is not backing up
	"journeys_consistent":   5,  // journeys agree with their events
}

// Weights returns the health score's weights by component, for docs and the API.
func Weights() map[string]float64 {
	out := make(map[string]float64, len(weights))
	for k, v := range weights {
		out[k] = v
	}
	return out
}

func ratio(name string, good, total int, note string) Component {
	c := Component{Name: name, Weight: weights[name], Available: true, Note: note, Score: 1}
	if total > 0 {
		c.Score = math.Max(0, math.Min(1, float64(good)/float64(total)))
	}
	return c
}

func unavailable(name, why string) Component {
	return Component{Name: name, Weight: weights[name], Available: false, Note: why}
}

// freshness scores the age of the oldest queued event: a minute or less is
// healthy, half an hour or more is not, linear in between.
func freshness(oldest any, now time.Time) Component {
	t, err := store.ScanTime(oldest)
	if err != nil || t.IsZero() {
		return Component{Name: "freshness", Weight: weights["freshness"], Score: 1, Available: true, Note: "nothing queued"}
	}
	age := max(now.Sub(t), 0) // an event committed after now was read has not waited
	score := 1 - (age.Minutes()-1)/29
	score = math.Max(0, math.Min(1, score))
	return Component{Name: "freshness", Weight: weights["freshness"], Score: score, Available: true,
		Note: fmt.Sprintf("oldest queued event waited %s", age.Round(time.Second))}
}

// Score combines the available components into 0–100, or nil when none is
// available.
func Score(parts []Component) *float64 {
	var sum, w float64
	for _, c := range parts {
		if !c.Available {
			continue
		}
		sum += c.Weight * c.Score
		w += c.Weight
	}
	if w == 0 {
		return nil
	}
	s := math.Round(100*sum/w*10) / 10
	return &s
}

func componentsJSON(parts []Component) []map[string]any {
	out := make([]map[string]any, len(parts))
	for i, c := range parts {
		out[i] = map[string]any{"name": c.Name, "weight": c.Weight, "score": c.Score, "available": c.Available, "note": c.Note}
	}
	return out
}
