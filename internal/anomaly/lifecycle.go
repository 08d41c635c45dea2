package anomaly

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Status is where an anomaly is in its lifecycle. Users move an anomaly from
// open to acknowledged (and may resolve it); the Lifecycle opens, updates and
// auto-resolves.
type Status string

// Statuses.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Anomaly is one episode of one key: from the minute it opened until the
// signal has been normal for the quiet period.
type Anomaly struct {
	// ID is the caller's identifier (a database id); the Lifecycle carries
	// it through and leaves it zero on anomalies it opens.
	ID       int64
	Key      string   // Key(Type, Subject); one open anomaly per key
	Type     Type     // the detector
	Subject  string   // the family, or SubjectAll
	Status   Status   // open or acknowledged while active; resolved once closed
	Severity Severity // the highest severity seen in this episode
	// OpenedAt is the minute of the first finding; LastSeen the minute of
	// the latest finding of any severity (info findings count: they are the
	// lower threshold of the hysteresis); ResolvedAt is set on resolve.
	OpenedAt, LastSeen, ResolvedAt time.Time
	// Peak is the finding with the largest |Score| so far; Latest the most
	// recent one.
	Peak, Latest Finding
	// Minutes counts the minutes with a finding.
	Minutes int
}

// LifecycleConfig sets the automatic transitions.
type LifecycleConfig struct {
	// QuietFor is how long a key must have no finding at all, not even info,
	// before its anomaly resolves. Together with the detectors' lower hold
	// thresholds this is a two-threshold hysteresis: the signal must cross a
	// high bar to open and fall below a low one for QuietFor to close, so a
	// signal hovering near the threshold does not flap.
	QuietFor time.Duration
	// MinOpenSeverity is the least severity that opens an anomaly (warning).
	MinOpenSeverity Severity
	// EscalateAfter, when positive, raises a warning to critical once it has
	// kept firing at warning or above for this long.
	EscalateAfter time.Duration
}

// DefaultLifecycleConfig returns the defaults: resolve after 15 quiet
// minutes, open on warning, escalate after two hours of firing.
func DefaultLifecycleConfig() LifecycleConfig {
	return LifecycleConfig{QuietFor: 15 * time.Minute, MinOpenSeverity: SeverityWarning, EscalateAfter: 2 * time.Hour}
}

// Lifecycle is the pure state manager for anomalies: given the anomalies that
// are open or acknowledged and this minute's findings, it says what to open,
// update, escalate and resolve. It stores nothing; the caller persists.
type Lifecycle struct {
	cfg LifecycleConfig
}

// NewLifecycle returns a Lifecycle with cfg; zero fields take the defaults.
func NewLifecycle(cfg LifecycleConfig) Lifecycle {
	def := DefaultLifecycleConfig()
	if cfg.QuietFor <= 0 {
		cfg.QuietFor = def.QuietFor
	}
	if cfg.MinOpenSeverity == 0 {
		cfg.MinOpenSeverity = def.MinOpenSeverity
	}
	return Lifecycle{cfg: cfg}
}

// ChangeKind names an automatic transition worth telling someone about.
type ChangeKind string

// Change kinds.
const (
	ChangeOpened    ChangeKind = "opened"
	ChangeEscalated ChangeKind = "escalated"
	ChangeResolved  ChangeKind = "resolved"
)

// Change is one transition made by Step. From is the severity before an
// escalation.
type Change struct {
	Kind    ChangeKind // opened, escalated or resolved
	Anomaly Anomaly    // the anomaly after the change
	From    Severity   // the severity before an escalation
}

// StepResult is the state after one minute.
type StepResult struct {
	// Active are the open and acknowledged anomalies after this minute,
	// sorted by key, each updated (LastSeen, Peak, Latest, Severity): persist
	// them all.
	Active []Anomaly
	// Resolved are the anomalies this minute closed.
	Resolved []Anomaly
	// Changes list the openings, escalations and resolutions, for
	// notifications and the audit log.
	Changes []Change
}

// Step advances the lifecycle to minute now (the Input.End the findings were
// computed for). active holds the open and acknowledged anomalies, at most one
// per key (if the store holds more, the earliest opened wins and the rest are
// left alone). Severity only ever rises within an episode: lowering it as a
// signal fades would only produce noise; the episode resolves instead.
func (l Lifecycle) Step(now time.Time, active []Anomaly, findings []Finding) StepResult {
	byKey := make(map[string]Finding, len(findings))
	for _, f := range findings {
		if g, ok := byKey[f.Key]; !ok || f.Severity > g.Severity ||
			(f.Severity == g.Severity && math.Abs(f.Score) > math.Abs(g.Score)) {
			byKey[f.Key] = f
		}
	}
	var res StepResult
	seen := make(map[string]bool, len(active))
	ordered := slices.Clone(active)
	slices.SortStableFunc(ordered, func(a, b Anomaly) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.OpenedAt.Compare(b.OpenedAt)
	})
	for _, a := range ordered {
		if a.Status == StatusResolved || seen[a.Key] {
			continue
		}
		seen[a.Key] = true
		f, ok := byKey[a.Key]
		if !ok {
			if now.Sub(a.LastSeen) >= l.cfg.QuietFor {
				a.Status = StatusResolved
				a.ResolvedAt = now
				res.Resolved = append(res.Resolved, a)
				res.Changes = append(res.Changes, Change{Kind: ChangeResolved, Anomaly: a})
				continue
			}
			res.Active = append(res.Active, a)
			continue
		}
		from := a.Severity
		a = l.update(a, now, f)
		if a.Severity > from {
			res.Changes = append(res.Changes, Change{Kind: ChangeEscalated, Anomaly: a, From: from})
		}
		res.Active = append(res.Active, a)
	}
	for _, key := range sortedKeys(byKey) {
		f := byKey[key]
		if seen[key] || f.Severity < l.cfg.MinOpenSeverity {
			continue
		}
		a := Anomaly{
			Key: f.Key, Type: f.Type, Subject: f.Subject, Status: StatusOpen, Severity: f.Severity,
			OpenedAt: now, LastSeen: now, Peak: f, Latest: f, Minutes: 1,
		}
		res.Active = append(res.Active, a)
		res.Changes = append(res.Changes, Change{Kind: ChangeOpened, Anomaly: a})
	}
	slices.SortFunc(res.Active, func(a, b Anomaly) int { return strings.Compare(a.Key, b.Key) })
	return res
}

// update folds this minute's finding into an active anomaly.
func (l Lifecycle) update(a Anomaly, now time.Time, f Finding) Anomaly {
	a.LastSeen = now
	a.Latest = f
	a.Minutes++
	if math.Abs(f.Score) > math.Abs(a.Peak.Score) {
		a.Peak = f
	}
	if f.Severity > a.Severity {
		a.Severity = f.Severity
	}
	if l.cfg.EscalateAfter > 0 && a.Severity == SeverityWarning && f.Severity >= SeverityWarning &&
		now.Sub(a.OpenedAt) >= l.cfg.EscalateAfter {
		a.Severity = SeverityCritical
	}
	return a
}
