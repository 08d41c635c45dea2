package anomaly

import (
	"fmt"
	"time"
)

// Config holds every detector's parameters. DefaultConfig is tuned on the
// synthetic traffic of cmd/evalanomaly (docs/anomalies.md has the numbers);
// change a value only with a new evaluation run.
type Config struct {
	Seasonal         SeasonalConfig   // the count baselines shared by volume, silence and stuck journeys
	Volume           VolumeConfig     // volume spikes and drops
	Silence          SilenceConfig    // silences
	FailureRate      ProportionConfig // failed/created per business family
	Duplicates       ProportionConfig // duplicate deliveries / verified deliveries
	ProcessingErrors ProportionConfig // errors / processing attempts
	DeliveryLag      LagConfig        // deliveries slower than the usual tail
	Signatures       SignatureConfig  // deliveries with a bad signature
	Stuck            StuckConfig      // journeys becoming stuck
}

// Rule is one window of a detector: the statistic over the last Minutes
// minutes must reach Z, and the effect must be at least Ratio times (spikes)
// or at most Ratio times (drops) the baseline. Short windows react fast but
// need a larger effect; long windows find subtle changes later.
type Rule struct {
	Minutes int     // window length
	Z       float64 // least score that opens (greatest negative score for drops)
	Ratio   float64 // least observed/expected ratio (greatest, for drops)
}

// SeasonalConfig shapes the count baselines of the volume, silence and
// stuck-journey detectors.
type SeasonalConfig struct {
	// Weeks is how many past weeks give same-minute-of-week samples.
	Weeks int
	// Days is how many recent days of the same kind (weekday or weekend, not
	// a whole number of weeks back) give same-time-of-day samples.
	Days int
	// MinLags is how many of those periods the history must hold before the
	// seasonal baseline is used instead of the short-history fallback.
	MinLags int
	// OffsetsMinutes shift every seasonal sample by a few minutes either way,
	// so a daily burst that drifts by a minute or two stays in the baseline.
	OffsetsMinutes []int
	// RecentMinutes is the look-back of the fallback baseline (preceding
	// windows) used when there is less than two days of history.
	RecentMinutes int
	// DayCV is the floor on day-to-day variation beyond Poisson noise, as a
	// coefficient of variation: traffic at 10:00 is never exactly last
	// week's, even when the samples happen to agree.
	DayCV float64
}

// VolumeConfig configures the volume spike and drop detectors.
type VolumeConfig struct {
	Spike []Rule // windows for spikes, shortest first
	Drop  []Rule // windows for drops; Ratio is a ceiling
	// HoldZ is the |score| that keeps an open anomaly alive (an info
	// finding) once the open threshold is no longer met.
	HoldZ float64
	// MinExcess is the fewest extra events a spike must have in its window.
	MinExcess float64
	// MinExpectedDrop is the fewest events the baseline must expect in the
	// window before a drop can be told from noise.
	MinExpectedDrop float64
	// DispersionHours is the look-back for a family's clumpiness.
	DispersionHours int
	// A finding is critical when |score| ≥ CriticalZ and the ratio is at
	// least CriticalSpikeRatio (spikes) or at most CriticalDropRatio (drops).
	CriticalZ          float64
	CriticalSpikeRatio float64 // see CriticalZ
	CriticalDropRatio  float64 // see CriticalZ
}

// SilenceConfig configures the silence detector.
type SilenceConfig struct {
	// Windows are the silent spans tested, shortest first.
	Windows []int
	// LowQuantile picks the conservative expectation: that quantile of the
	// baseline samples, not their median.
	LowQuantile float64
	// MinExpected is the conservative expected count that makes a window of
	// zero events significant: P(0 | Poisson(14)) = 8·10⁻⁷, small enough for
	// a test run every minute on every family.
	MinExpected float64
	// HoldExpected keeps an open silence alive while zero persists.
	HoldExpected float64
	// CriticalExpected makes a silence critical.
	CriticalExpected float64
}

// ProportionConfig configures a detector that compares a share (failed of
// created, duplicates of deliveries, errors of attempts) with its baseline.
type ProportionConfig struct {
	// Rules' Ratio is the least observed/expected share ratio.
	Rules []Rule
	// MinLift is the least absolute rise of the share (0.01 = one point).
	MinLift float64
	// MinTrials and MinEvents are the fewest attempts and failures in the
	// window: 2 of 3 is a rate of 67 % and proves nothing.
	MinTrials, MinEvents float64
	// MinMinutes is the fewest distinct minutes with failures in the
	// window: a burst inside one minute is a blip, not an incident.
	MinMinutes int
	// ReferenceMinutes is the baseline period, ending where the longest
	// window starts; BucketMinutes cuts it into buckets to measure
	// overdispersion. MinReferenceMinutes is the least history needed.
	ReferenceMinutes, BucketMinutes, MinReferenceMinutes int
	// HoldZ keeps an open anomaly alive.
	HoldZ float64
	// A finding is critical at score ≥ CriticalZ and ratio ≥ CriticalRatio.
	CriticalZ, CriticalRatio float64
}

// LagConfig configures the delivery-lag detector: a proportion test on the
// share of deliveries slower than the baseline's tail bound.
type LagConfig struct {
	ProportionConfig
	// TailFraction picks the bound: the smallest histogram bound that at most
	// this share of the baseline's deliveries exceed (0.05: about its p95).
	TailFraction float64
	// MinLagSeconds is the least bound used: seconds of lag do not matter.
	MinLagSeconds float64
}

// SignatureConfig configures the signature-failure detector, a Poisson test
// on the count of rejected deliveries.
type SignatureConfig struct {
	// Rules' Ratio is the least observed/expected count ratio.
	Rules []Rule
	// MinEvents is the fewest rejected deliveries in the window, and
	// MinMinutes the fewest distinct minutes they arrive in (a scanner tries
	// a few requests at once, an attack keeps going).
	MinEvents  float64
	MinMinutes int // see MinEvents
	// ReferenceMinutes is the baseline period; HourCap caps each hour of it at
	// HourCap times the median hour (at least 3) so a past attack does not
	// raise the baseline.
	ReferenceMinutes int
	HourCap          float64 // see ReferenceMinutes
	// HoldZ keeps an open anomaly alive.
	HoldZ float64
	// A finding is critical when at least CriticalShare of deliveries fail
	// (a secret rotation gone wrong loses events) or at score ≥ CriticalZ
	// with at least CriticalCount rejections.
	CriticalShare float64
	CriticalZ     float64 // see CriticalShare
	CriticalCount float64 // see CriticalShare
}

// StuckConfig configures the stuck-journey surge detector: a spike test on
// the journeys becoming stuck (the gauge's upward steps) over each rule's
// window, against the same seasonal baseline as volumes.
type StuckConfig struct {
	// Rules' Ratio is the least observed/expected ratio.
	Rules []Rule
	// MinRise is the fewest extra newly stuck journeys in the window.
	MinRise float64
	// HoldZ keeps an open anomaly alive.
	HoldZ float64
	// A finding is critical at score ≥ CriticalZ with ≥ CriticalRise extra.
	CriticalZ, CriticalRise float64
}

// DefaultConfig returns the tuned parameters.
func DefaultConfig() Config {
	return Config{
		Seasonal: SeasonalConfig{
			Weeks: 4, Days: 5, MinLags: 2,
			OffsetsMinutes: []int{-4, -2, 0, 2, 4},
			RecentMinutes:  180,
			DayCV:          0.10,
		},
		Volume: VolumeConfig{
			Spike:              []Rule{{5, 5.0, 2.0}, {15, 4.5, 1.6}, {60, 4.0, 1.35}},
			Drop:               []Rule{{5, 5.0, 0.35}, {15, 4.5, 0.55}, {60, 4.0, 0.7}},
			HoldZ:              3,
			MinExcess:          12,
			MinExpectedDrop:    20,
			DispersionHours:    72,
			CriticalZ:          8,
			CriticalSpikeRatio: 3,
			CriticalDropRatio:  0.25,
		},
		Silence: SilenceConfig{
			Windows:          []int{3, 10, 30, 90, 240},
			LowQuantile:      0.25,
			MinExpected:      14,
			HoldExpected:     3,
			CriticalExpected: 50,
		},
		FailureRate: ProportionConfig{
			Rules:     []Rule{{30, 4.5, 2.0}, {120, 4.0, 1.6}, {360, 4.0, 1.4}},
			MinLift:   0.005,
			MinTrials: 20, MinEvents: 5, MinMinutes: 3,
			ReferenceMinutes: 7 * 24 * 60, BucketMinutes: 60, MinReferenceMinutes: 12 * 60,
			HoldZ:     2.5,
			CriticalZ: 8, CriticalRatio: 3,
		},
		Duplicates: ProportionConfig{
			Rules:     []Rule{{5, 5.0, 3.0}, {15, 4.5, 2.0}, {60, 4.0, 1.5}},
			MinLift:   0.005,
			MinTrials: 50, MinEvents: 5, MinMinutes: 3,
			ReferenceMinutes: 3 * 24 * 60, BucketMinutes: 60, MinReferenceMinutes: 6 * 60,
			HoldZ:     2.5,
			CriticalZ: 8, CriticalRatio: 5,
		},
		ProcessingErrors: ProportionConfig{
			Rules:     []Rule{{5, 5.0, 3.0}, {15, 4.5, 2.0}, {60, 4.0, 1.5}},
			MinLift:   0.002,
			MinTrials: 50, MinEvents: 5, MinMinutes: 3,
			ReferenceMinutes: 3 * 24 * 60, BucketMinutes: 60, MinReferenceMinutes: 6 * 60,
			HoldZ:     2.5,
			CriticalZ: 8, CriticalRatio: 5,
		},
		DeliveryLag: LagConfig{
			ProportionConfig: ProportionConfig{
				Rules:     []Rule{{5, 5.0, 3.0}, {15, 4.5, 2.0}, {60, 4.0, 1.6}},
				MinLift:   0.02,
				MinTrials: 50, MinEvents: 8, MinMinutes: 3,
				ReferenceMinutes: 2 * 24 * 60, BucketMinutes: 60, MinReferenceMinutes: 6 * 60,
				HoldZ:     2.5,
				CriticalZ: 8, CriticalRatio: 5,
			},
			TailFraction:  0.05,
			MinLagSeconds: 10,
		},
		Signatures: SignatureConfig{
			Rules:            []Rule{{5, 5.0, 5}, {15, 4.5, 4}, {60, 4.5, 3}},
			MinEvents:        6,
			MinMinutes:       3,
			ReferenceMinutes: 7 * 24 * 60,
			HourCap:          3,
			HoldZ:            3,
			CriticalShare:    0.5,
			CriticalZ:        10,
			CriticalCount:    100,
		},
		Stuck: StuckConfig{
			Rules:     []Rule{{30, 4.5, 2}, {60, 4.5, 1.6}, {180, 4.0, 1.35}},
			MinRise:   10,
			HoldZ:     3,
			CriticalZ: 8, CriticalRise: 50,
		},
	}
}

// Validate reports the first parameter that cannot work.
func (c Config) Validate() error {
	check := func(name string, rules []Rule) error {
		if len(rules) == 0 {
			return fmt.Errorf("%s: no rules", name)
		}
		for _, r := range rules {
			if r.Minutes < 1 || r.Z <= 0 {
				return fmt.Errorf("%s: rule %+v needs Minutes ≥ 1 and Z > 0", name, r)
			}
		}
		return nil
	}
	for name, rules := range map[string][]Rule{
		"volume spike": c.Volume.Spike, "volume drop": c.Volume.Drop,
		"failure rate": c.FailureRate.Rules, "duplicates": c.Duplicates.Rules,
		"processing errors": c.ProcessingErrors.Rules, "delivery lag": c.DeliveryLag.Rules,
		"signatures": c.Signatures.Rules, "stuck": c.Stuck.Rules,
	} {
		if err := check(name, rules); err != nil {
			return err
		}
	}
	if c.Seasonal.Weeks < 1 || c.Seasonal.MinLags < 2 || len(c.Seasonal.OffsetsMinutes) == 0 {
		return fmt.Errorf("seasonal: Weeks ≥ 1, MinLags ≥ 2 and OffsetsMinutes must be set")
	}
	if len(c.Silence.Windows) == 0 {
		return fmt.Errorf("silence: no windows")
	}
	for name, p := range map[string]ProportionConfig{
		"failure rate": c.FailureRate, "duplicates": c.Duplicates,
		"processing errors": c.ProcessingErrors, "delivery lag": c.DeliveryLag.ProportionConfig,
	} {
		if p.BucketMinutes < 1 || p.ReferenceMinutes < p.BucketMinutes || p.MinReferenceMinutes < p.BucketMinutes {
			return fmt.Errorf("%s: reference and bucket minutes must be positive and nested", name)
		}
	}
	return nil
}

// Lookback is how much history the detectors read: load at least this much
// into every series (more is ignored).
func (c Config) Lookback() time.Duration {
	maxOff := 0
	for _, o := range c.Seasonal.OffsetsMinutes {
		maxOff = max(maxOff, o, -o)
	}
	need := 0
	longest := func(rules []Rule) int {
		m := 0
		for _, r := range rules {
			m = max(m, r.Minutes)
		}
		return m
	}
	// Seasonal count baselines: a week further back than the last week lag
	// and an hour of spare for daylight-saving shifts.
	seasonal := c.Seasonal.Weeks*7*24*60 + 60 + maxOff
	for _, w := range c.Silence.Windows {
		need = max(need, seasonal+w)
	}
	need = max(need, seasonal+longest(c.Volume.Spike), seasonal+longest(c.Volume.Drop))
	for _, p := range []ProportionConfig{c.FailureRate, c.Duplicates, c.ProcessingErrors, c.DeliveryLag.ProportionConfig} {
		need = max(need, longest(p.Rules)+p.ReferenceMinutes)
	}
	need = max(need, longest(c.Signatures.Rules)+c.Signatures.ReferenceMinutes)
	need = max(need, seasonal+longest(c.Stuck.Rules)+1)
	return time.Duration(need) * time.Minute
}
