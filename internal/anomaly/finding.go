package anomaly

import "time"

// Type names what kind of anomaly a finding is.
type Type string

// The anomaly types, one per detector.
const (
	TypeVolumeSpike       Type = "volume_spike"       // a family's events well above its seasonal baseline
	TypeVolumeDrop        Type = "volume_drop"        // a family's events well below its seasonal baseline
	TypeSilence           Type = "silence"            // no events where the baseline expects clearly more than zero
	TypeFailureRate       Type = "failure_rate"       // a business family's failed/created ratio rose significantly
	TypeDeliveryLag       Type = "delivery_lag"       // more deliveries than usual arrive late (Dwolla created → received)
	TypeDuplicateRate     Type = "duplicate_rate"     // Dwolla redelivers more than usual: our acks are slow
	TypeSignatureFailures Type = "signature_failures" // deliveries with a bad signature: an attack or a botched secret rotation
	TypeProcessingErrors  Type = "processing_errors"  // the pipeline fails a larger share of events than usual
	TypeStuckJourneys     Type = "stuck_journeys"     // the stuck-journey gauge rose much faster than usual
)

// Types lists every anomaly type in a stable order.
func Types() []Type {
	return []Type{
		TypeVolumeSpike, TypeVolumeDrop, TypeSilence, TypeFailureRate, TypeDeliveryLag,
		TypeDuplicateRate, TypeSignatureFailures, TypeProcessingErrors, TypeStuckJourneys,
	}
}

// SubjectAll is the subject of detectors that look at all traffic at once
// (deliveries, processing, stuck journeys).
const SubjectAll = "all"

// Key is the lifecycle identity of an anomaly, "type:subject", e.g.
// "volume_spike:transfer". At most one anomaly per key is open at a time.
func Key(t Type, subject string) string { return string(t) + ":" + subject }

// Severity grades a finding. The order is Info < Warning < Critical.
type Severity int

// Severities. Info findings are sub-threshold evidence: the signal is still
// elevated, but not enough to open an anomaly. They keep an open anomaly
// alive (hysteresis) and never open one.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityCritical
)

// String returns "info", "warning" or "critical".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "unknown"
}

// Finding is one detector's verdict for one key at one minute.
type Finding struct {
	Type     Type     // which detector
	Subject  string   // the family, or SubjectAll
	Key      string   // Key(Type, Subject)
	Severity Severity // info (still elevated, below the open threshold), warning or critical

	// WindowStart and WindowEnd bound the minutes the verdict is about:
	// [WindowStart, WindowEnd), WindowEnd being Input.End plus one minute.
	WindowStart, WindowEnd time.Time

	// Observed is the value in the window and Expected its baseline, in Unit;
	// Lower and Upper bound the normal band the threshold allows.
	Observed, Expected, Lower, Upper float64
	Unit                             string // what Observed is measured in, e.g. "events/min", "share"
	// Score is the test statistic, a z-score (standard deviations from the
	// baseline; negative for drops). Scores are comparable across detectors.
	Score float64
	// Baseline says how Expected was obtained, e.g. "same minute-of-week
	// median over 3 weeks".
	Baseline string
	// Explanation is one line for a human.
	Explanation string
}
