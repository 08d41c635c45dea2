package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hooklens/hooklens/internal/simulate"
)

// Traffic profiles: how requests are spaced in time and how many may be in
// flight at once.
const (
	// ProfileSteady spaces requests evenly at the rate; only the generator's
	// in-flight cap (high, so it never binds unless the server stalls)
	// limits concurrency.
	ProfileSteady = "steady"
	// ProfileDwolla sends bursts of 1 to 10 deliveries at the same instant,
	// at the same average rate, with at most 10 in flight: Dwolla's sender
	// delivers a subscription's webhooks with bounded concurrency.
	ProfileDwolla = "dwolla"
)

// DwollaMaxInFlight is the concurrency of the Dwolla profile.
const DwollaMaxInFlight = 10

// Request is one scheduled webhook delivery.
type Request struct {
	// At is when to send it, from the start of the run.
	At        time.Duration
	EventID   string
	Topic     string
	Body      []byte
	Signature string
	// Duplicate marks a repeated delivery of an event sent before.
	Duplicate bool
}

// Traffic describes the requests of one run.
type Traffic struct {
	// Rate is requests per second (duplicates included).
	Rate float64
	// Duration is how long requests are scheduled for.
	Duration time.Duration
	// DuplicateShare is the share of requests that repeat an earlier event.
	DuplicateShare float64
	// Profile is ProfileSteady (default) or ProfileDwolla.
	Profile string
}

// Count is the number of requests the traffic schedules.
func (t Traffic) Count() int {
	return max(1, int(t.Rate*t.Duration.Seconds()+0.5))
}

// Validate checks t.
func (t Traffic) Validate() error {
	switch {
	case t.Rate <= 0 || t.Rate > 200000:
		return fmt.Errorf("the rate must be between 0 and 200000 requests/s")
	case t.Duration <= 0 || t.Duration > time.Hour:
		return fmt.Errorf("the duration must be between 0 and 1h")
	case t.DuplicateShare < 0 || t.DuplicateShare >= 1:
		return fmt.Errorf("the duplicate share must be from 0 to below 1")
	case t.Profile != "" && t.Profile != ProfileSteady && t.Profile != ProfileDwolla:
		return fmt.Errorf("unknown traffic profile %q (want %s or %s)", t.Profile, ProfileSteady, ProfileDwolla)
	}
	return nil
}

// Plan renders t's requests from g's lifecycles, signed with secret. It is
// done before a run starts, so rendering and signing never slow the
// sending down. seed draws the burst sizes of the Dwolla profile.
func Plan(g *simulate.Generator, secret string, t Traffic, seed uint64) ([]Request, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := t.Count()
	payloads, err := g.Payloads(n, secret, simulate.StreamOptions{Rate: t.Rate, DuplicateShare: t.DuplicateShare})
	if err != nil {
		return nil, fmt.Errorf("rendering payloads: %w", err)
	}
	out := make([]Request, len(payloads))
	start := payloads[0].At
	for i, p := range payloads {
		out[i] = Request{
			At: p.At.Sub(start), EventID: p.ID, Topic: p.Topic, Body: p.Body,
			Signature: p.Signature, Duplicate: p.Duplicate,
		}
	}
	if t.Profile == ProfileDwolla {
		// A burst leaves at its first request's time; the average rate is
		// unchanged.
		rnd := rand.New(rand.NewPCG(seed, seed^0xb0b5))
		for i := 0; i < len(out); {
			k := 1 + rnd.IntN(DwollaMaxInFlight)
			at := out[i].At
			for j := i; j < min(i+k, len(out)); j++ {
				out[j].At = at
			}
			i += k
		}
	}
	return out, nil
}
