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
	// Cap, when set, is the most the whole score may be while the
	// component's condition lasts: a real outage must not hide in a
	// weighted mean (ten dead letters out of thousands of events are still
	// ten payments nobody processed).
	Cap *float64 `json:"cap,omitempty"`
}

// DegradedBelow is the score under which the feed is degraded: the
// low_health_score alert's threshold. Every cap is below it.
const DegradedBelow = 80.0

// weights of the health score's components (they sum to 100). A component
// that cannot be measured (no Dwolla credentials) drops out and the others
// are rescaled. docs/analytics.md and the README list them with the caps.
var weights = map[string]float64{
	"events_complete":       30, // every event Dwolla has, hooklens has
	"deliveries_succeeding": 15, // Dwolla's webhooks to us succeed
	"subscription_active":   10, // our subscription exists and is not paused
	"signatures_valid":      10, // deliveries are not rejected for their signature
	"processing":            15, // nothing stuck or dead-lettered
	"journeys_progressing":  10, // journeys are not stuck
	"freshness":             5,  // the queue is not backing up
	"journeys_consistent":   5,  // journeys agree with their events
}

// The caps, documented with the weights. Each puts the score below
// DegradedBelow while its condition lasts.
const (
	// capSubscription: our subscription is paused or missing, so Dwolla
	// sends nothing.
	capSubscription = 50.0
	// capBadSignatures: at least badSignatureShare of the latest
	// recentSignatureDeliveries deliveries (and at least
	// minSignatureDeliveries) were rejected for their signature — a wrong
	// secret after a rotation loses every event to Dwolla's retries.
	capBadSignatures          = 40.0
	badSignatureShare         = 0.5
	minSignatureDeliveries    = 5
	recentSignatureDeliveries = 20
	// capDeadLettered: 79 less one point per dead-lettered event, down to
	// 50 (one dead letter gives 78, ten give 69).
	capDeadLetteredTop, capDeadLetteredFloor = 79.0, 50.0
	// capStuckJourneys: stuckJourneysForCap or more stuck journeys: 79
	// less one point per stuck journey, down to 50 (thirty give 50).
	capStuckTop, capStuckFloor = 79.0, 50.0
	stuckJourneysForCap        = 10
)

func capAt(v float64) *float64 { return &v }

// countCap is top less one point per n, not below floor.
func countCap(n int, top, floor float64) *float64 { return capAt(math.Max(floor, top-float64(n))) }

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
// available: their weighted mean, at most the lowest cap among them.
func Score(parts []Component) *float64 {
	var sum, w float64
	ceiling := 100.0
	for _, c := range parts {
		if !c.Available {
			continue
		}
		sum += c.Weight * c.Score
		w += c.Weight
		if c.Cap != nil {
			ceiling = math.Min(ceiling, *c.Cap)
		}
	}
	if w == 0 {
		return nil
	}
	s := math.Round(10*math.Min(100*sum/w, ceiling)) / 10
	return &s
}

func componentsJSON(parts []Component) []map[string]any {
	out := make([]map[string]any, len(parts))
	for i, c := range parts {
		out[i] = map[string]any{"name": c.Name, "weight": c.Weight, "score": c.Score, "available": c.Available, "note": c.Note}
		if c.Cap != nil {
			out[i]["cap"] = *c.Cap
		}
	}
	return out
}
