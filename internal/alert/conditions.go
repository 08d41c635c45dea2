package alert

import (
	"github.com/hooklens/hooklens/ent/alertrule"
)

// Condition describes one kind of rule: what its value measures, how the
// threshold applies and which parameters it takes. The API lists them so a
// client can build a rule editor without hard-coding them.
type Condition struct {
	// Name is the rule's condition value, e.g. "queue_age".
	Name string
	// Description says what the rule watches, in words.
	Description string
	// Unit of the value and threshold: percent, seconds, count or score.
	Unit string
	// Below means the rule holds when the value is below the threshold;
	// otherwise it holds when the value is at or above it.
	Below bool
	// UsesThreshold is false for yes/no conditions (breaker open,
	// subscription paused), whose threshold is ignored.
	UsesThreshold bool
	// Window says what the rule's window means, or "" when it is unused.
	Window string
	// Params are the extra settings the condition takes.
	Params []Param
}

// Param is one extra setting of a condition, kept in the rule's params.
type Param struct {
	Name        string
	Description string
	// Type is "string" or "int".
	Type string
	// Values, when set, are the only values allowed.
	Values []string
	// Default applies when the param is absent.
	Default any
}

var severities = []string{"info", "warning", "critical"}

// conditions is the catalogue, in the order the API lists it.
var conditions = []Condition{
	{
		Name: string(alertrule.ConditionProcessingErrorRate),
		Description: "Failed processing attempts (retried or dead-lettered) as a percentage of all attempts, " +
			"for events received in the window (from the per-minute rollups).",
		Unit: "percent", UsesThreshold: true,
		Window: "events received this far back count",
		Params: []Param{{Name: "min_attempts", Type: "int", Default: 20,
			Description: "Fewer attempts than this in the window never fire (a rate over a handful of events is noise)."}},
	},
	{
		Name:        string(alertrule.ConditionQueueAge),
		Description: "Age in seconds of the oldest event waiting to be processed: the processing delay.",
		Unit:        "seconds", UsesThreshold: true,
	},
	{
		Name:        string(alertrule.ConditionStuckJourneys),
		Description: "Journeys in status stuck: those that became stuck within the window (scope new), or all of them (scope all).",
		Unit:        "count", UsesThreshold: true,
		Window: "with scope new, journeys that became stuck this far back count",
		Params: []Param{
			{Name: "scope", Type: "string", Values: []string{"new", "all"}, Default: "new",
				Description: "new: journeys that became stuck within the window; all: every journey stuck now."},
			{Name: "definition", Type: "string", Default: "",
				Description: "Only journeys of this definition key (empty: all)."},
		},
	},
	{
		Name:        string(alertrule.ConditionAnomaly),
		Description: "Open (not acknowledged, not resolved) anomalies at or above a severity.",
		Unit:        "count", UsesThreshold: true,
		Params: []Param{
			{Name: "min_severity", Type: "string", Values: severities, Default: "warning",
				Description: "The least anomaly severity that counts."},
			{Name: "type", Type: "string", Default: "",
				Description: "Only anomalies of this type, e.g. volume_spike (empty: all)."},
		},
	},
	{
		Name:        string(alertrule.ConditionBreakerOpen),
		Description: "The pipeline's circuit breaker is open on the evaluating instance: the database keeps failing and processing is paused.",
		Unit:        "count",
	},
	{
		Name:        string(alertrule.ConditionSubscriptionPaused),
		Description: "Dwolla paused hooklens' webhook subscription (after 400 consecutive failures and a day without success): Dwolla records webhooks but sends none.",
		Unit:        "count",
	},
	{
		Name:        string(alertrule.ConditionSyncFailing),
		Description: "Imports from Dwolla's Events API are failing: at least threshold runs in a row failed, or none succeeded within the window. Quiet while no sync has ever run.",
		Unit:        "count", UsesThreshold: true,
		Window: "the longest time allowed without a successful run",
	},
	{
		Name:        string(alertrule.ConditionReconciliationFailing),
		Description: "Reconciliation runs are failing: at least threshold runs in a row failed, or none succeeded within the window. Quiet while no reconciliation has ever run.",
		Unit:        "count", UsesThreshold: true,
		Window: "the longest time allowed without a successful run",
	},
	{
		Name:        string(alertrule.ConditionHealthScore),
		Description: "The health score (0–100) of the latest successful reconciliation is below the threshold.",
		Unit:        "score", Below: true, UsesThreshold: true,
		Window: "a score older than this is ignored",
	},
	{
		Name:        string(alertrule.ConditionDeadLetters),
		Description: "Events dead-lettered (failed after their last attempt) and not replayed since.",
		Unit:        "count", UsesThreshold: true,
	},
}

// Conditions lists the kinds of rule.
func Conditions() []Condition {
	out := make([]Condition, len(conditions))
	copy(out, conditions)
	return out
}

func conditionByName(name string) (Condition, bool) {
	for _, c := range conditions {
		if c.Name == name {
			return c, true
		}
	}
	return Condition{}, false
}

// Builtin is a rule hooklens seeds (enabled, sent to the log channel). Each
// condition has one; their settings are also the defaults of a new rule of
// that condition.
type Builtin struct {
	Key, Name, Condition string
	Threshold            float64
	Window, For          string
	Renotify             string
	Severity             string
	Params               map[string]any
}

// builtins are the seeded rules.
var builtins = []Builtin{
	{Key: "processing_errors", Name: "Processing errors", Condition: "processing_error_rate",
		Threshold: 5, Window: "10m", For: "5m", Renotify: "1h", Severity: "warning",
		Params: map[string]any{"min_attempts": 20}},
	{Key: "processing_delay", Name: "Processing delay", Condition: "queue_age",
		Threshold: 300, Window: "5m", For: "2m", Renotify: "1h", Severity: "warning"},
	{Key: "stuck_journeys", Name: "Journeys getting stuck", Condition: "stuck_journeys",
		Threshold: 10, Window: "1h", For: "0s", Renotify: "6h", Severity: "warning",
		Params: map[string]any{"scope": "new"}},
	{Key: "open_anomalies", Name: "Open anomalies", Condition: "anomaly",
		Threshold: 1, Window: "5m", For: "0s", Renotify: "4h", Severity: "warning",
		Params: map[string]any{"min_severity": "warning"}},
	{Key: "pipeline_breaker_open", Name: "Pipeline circuit breaker open", Condition: "breaker_open",
		Threshold: 0, Window: "5m", For: "1m", Renotify: "30m", Severity: "critical"},
	{Key: "subscription_paused", Name: "Dwolla webhook subscription paused", Condition: "subscription_paused",
		Threshold: 0, Window: "5m", For: "0s", Renotify: "4h", Severity: "critical"},
	// The sync runs weekly by default (HOOKLENS_SYNC_SCHEDULE): one failure
	// matters, and only 8 days without a success is overdue.
	{Key: "sync_failing", Name: "Event sync failing", Condition: "sync_failing",
		Threshold: 1, Window: "192h", For: "0s", Renotify: "24h", Severity: "warning"},
	// Reconciliation runs hourly by default: two failures in a row, or six
	// hours without a success.
	{Key: "reconciliation_failing", Name: "Reconciliation failing", Condition: "reconciliation_failing",
		Threshold: 2, Window: "6h", For: "0s", Renotify: "6h", Severity: "warning"},
	{Key: "low_health_score", Name: "Health score low", Condition: "health_score",
		Threshold: 80, Window: "24h", For: "0s", Renotify: "12h", Severity: "warning"},
	{Key: "dead_letters", Name: "Dead-lettered events", Condition: "dead_letters",
		Threshold: 1, Window: "5m", For: "0s", Renotify: "24h", Severity: "warning"},
}

// Builtins lists the seeded rules.
func Builtins() []Builtin {
	out := make([]Builtin, len(builtins))
	for i, b := range builtins {
		b.Params = cloneParams(b.Params)
		out[i] = b
	}
	return out
}

func builtinFor(condition string) (Builtin, bool) {
	for _, b := range builtins {
		if b.Condition == condition {
			b.Params = cloneParams(b.Params)
			return b, true
		}
	}
	return Builtin{}, false
}

func builtinByKey(key string) (Builtin, bool) {
	for _, b := range builtins {
		if b.Key == key {
			b.Params = cloneParams(b.Params)
			return b, true
		}
	}
	return Builtin{}, false
}

func cloneParams(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}
