package anomaly

import (
	"fmt"
	"slices"
)

// Detector runs every detector over an Input. It holds only its
// configuration, so one Detector is safe for concurrent use.
type Detector struct {
	cfg Config
}

// New returns a Detector with cfg, or an error naming the parameter that
// cannot work.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("anomaly config: %w", err)
	}
	cfg.Seasonal.OffsetsMinutes = slices.Sorted(slices.Values(cfg.Seasonal.OffsetsMinutes))
	cfg.Silence.Windows = slices.Sorted(slices.Values(cfg.Silence.Windows))
	return &Detector{cfg: cfg}, nil
}

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

// Detect evaluates the minute in.End and returns the findings, sorted by key:
// at most one per key, warning or critical when the key is anomalous, info
// when it is still elevated but below the open threshold. It reads nothing
// but in.
func (d *Detector) Detect(in *Input) []Finding {
	sc := newScratch()
	lags := newSeasonalLags(in.End, in.Location, d.cfg.Seasonal)
	var out []Finding
	for _, fam := range sortedKeys(in.Volume) {
		out = d.volume(in, fam, in.Volume[fam], lags, sc, out)
	}
	for _, fam := range sortedKeys(in.Outcomes) {
		if f, ok := d.failureRate(in, fam, in.Outcomes[fam], sc); ok {
			out = append(out, f)
		}
	}
	if present(in.Deliveries.All) {
		if f, ok := d.duplicates(in, sc); ok {
			out = append(out, f)
		}
		if f, ok := d.signatures(in); ok {
			out = append(out, f)
		}
	}
	if present(in.Processing.Processed) {
		if f, ok := d.processingErrors(in, sc); ok {
			out = append(out, f)
		}
	}
	if len(in.Lag.Counts) > 0 {
		if f, ok := d.deliveryLag(in, sc); ok {
			out = append(out, f)
		}
	}
	if present(in.Stuck) {
		if f, ok := d.stuckJourneys(in, lags, sc); ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}
