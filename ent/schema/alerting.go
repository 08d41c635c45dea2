package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Anomaly is an unusual pattern the detectors found: one open anomaly per
// key (type and subject), open → acknowledged → resolved, resolved
// automatically once normal for a while.
type Anomaly struct {
	ent.Schema
}

// Fields of the Anomaly.
func (Anomaly) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Comment("Type and subject, e.g. volume_spike:transfer."),
		field.String("type").Annotations(entgql.OrderField("TYPE")),
		field.String("subject").Optional().Comment("Topic family, or empty for system-wide."),
		field.Enum("severity").Values("info", "warning", "critical").
			Annotations(entgql.OrderField("SEVERITY")),
		field.Enum("status").Values("open", "acknowledged", "resolved").Default("open").
			Annotations(entgql.OrderField("STATUS")),
		field.Time("window_start"),
		field.Time("window_end"),
		field.Float("observed"),
		field.Float("expected"),
		field.Float("expected_low").Optional().Nillable(),
		field.Float("expected_high").Optional().Nillable(),
		field.Float("peak_observed").Optional().Nillable(),
		field.Float("score"),
		field.String("explanation"),
		field.Time("first_seen_at").Annotations(entgql.OrderField("FIRST_SEEN_AT")),
		field.Time("last_seen_at"),
		field.Time("acknowledged_at").Optional().Nillable(),
		field.String("acknowledged_by").Optional(),
		field.Time("resolved_at").Optional().Nillable(),
		field.String("resolved_by").Optional().Comment("A token name, or \"auto\"."),
		field.String("resolution_note").Optional(),
	}
}

// Indexes of the Anomaly.
func (Anomaly) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("key", "status"),
		index.Fields("status", "first_seen_at"),
		index.Fields("first_seen_at"),
	}
}

// Annotations of the Anomaly.
func (Anomaly) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("anomalies").Description("Detected anomalies, newest first by default."),
	}
}

// AlertChannel is where alerts go: an outgoing webhook (generic JSON or
// Slack-compatible) or the log. Its URL may hold a secret (Slack's do) and
// is encrypted at rest when encryption keys are configured.
type AlertChannel struct {
	ent.Schema
}

// Fields of the AlertChannel.
func (AlertChannel) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty(),
		field.Enum("kind").Values("webhook", "slack", "log"),
		field.Bytes("url_sealed").Optional().Sensitive().
			Comment("The destination URL, sealed by internal/vault.").
			Annotations(entgql.Skip()),
		field.String("url_hint").Optional().
			Comment("The URL's scheme and host only, safe to show."),
		field.Bytes("secret_sealed").Optional().Sensitive().
			Comment("Optional HMAC secret to sign generic webhook payloads, sealed.").
			Annotations(entgql.Skip()),
		field.Bool("enabled").Default(true),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
		field.Time("last_success_at").Optional().Nillable(),
		field.Time("last_failure_at").Optional().Nillable(),
		field.String("last_error").Optional(),
	}
}

// Edges of the AlertChannel.
func (AlertChannel) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("rules", AlertRule.Type).Ref("channels"),
	}
}

// Annotations of the AlertChannel.
func (AlertChannel) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("alertChannels"),
	}
}

// AlertRule says when to alert: a condition over hooklens' own state, a
// threshold, how long it must hold (debounce), how often to re-notify, and
// where to send it.
type AlertRule struct {
	ent.Schema
}

// Fields of the AlertRule.
func (AlertRule) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Unique().NotEmpty(),
		field.String("name").NotEmpty(),
		field.Enum("condition").Values(
			"processing_error_rate", "queue_age", "stuck_journeys", "anomaly", "breaker_open",
			"subscription_paused", "sync_failing", "reconciliation_failing", "health_score", "dead_letters",
		),
		field.Float("threshold").Default(0),
		field.String("window").Default("5m").Comment("How far back the condition looks."),
		field.String("for").Default("0s").Comment("How long the condition must hold before firing (debounce)."),
		field.String("renotify").Default("1h").Comment("How often to repeat a firing alert; 0s never."),
		field.Enum("severity").Values("info", "warning", "critical").Default("warning"),
		field.Bool("notify_resolved").Default(true),
		field.Bool("enabled").Default(true),
		field.Bool("builtin").Default(false),
		field.JSON("params", map[string]any{}).Optional().Annotations(entgql.Type("Map")),
		field.Time("pending_since").Optional().Nillable().
			Comment("When the condition started holding (debounce clock)."),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
	}
}

// Edges of the AlertRule.
func (AlertRule) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("channels", AlertChannel.Type),
		edge.To("alerts", Alert.Type).Annotations(entgql.Skip()),
	}
}

// Annotations of the AlertRule.
func (AlertRule) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("alertRules"),
	}
}

// Alert is one firing of a rule, from first firing to resolution.
type Alert struct {
	ent.Schema
}

// Fields of the Alert.
func (Alert) Fields() []ent.Field {
	return []ent.Field{
		field.String("rule_key"),
		field.Enum("status").Values("firing", "acknowledged", "resolved").Default("firing").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("severity").Values("info", "warning", "critical").
			Annotations(entgql.OrderField("SEVERITY")),
		field.String("title"),
		field.String("message"),
		field.Float("value").Optional().Nillable(),
		field.Float("threshold").Optional().Nillable(),
		field.Time("started_at").Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("last_evaluated_at"),
		field.Time("last_notified_at").Optional().Nillable(),
		field.Int("notifications").Default(0),
		field.JSON("notification_log", []map[string]any{}).Optional().
			Comment("The latest deliveries to channels (status, error).").
			Annotations(entgql.Skip()),
		field.Time("acknowledged_at").Optional().Nillable(),
		field.String("acknowledged_by").Optional(),
		field.Time("resolved_at").Optional().Nillable(),
		field.String("resolved_by").Optional().Comment("A token name, or \"auto\"."),
		field.String("resolution_note").Optional().Comment("Why a person resolved it."),
		field.Int("rule_id").Optional(),
		field.Int("anomaly_id").Optional(),
	}
}

// Edges of the Alert.
func (Alert) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("rule", AlertRule.Type).Ref("alerts").Field("rule_id").Unique(),
	}
}

// Indexes of the Alert.
func (Alert) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("rule_key", "status"),
		index.Fields("status", "started_at"),
	}
}

// Annotations of the Alert.
func (Alert) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("alerts").Description("Alerts, newest first by default."),
	}
}

// AlertNotification is one notification of an alert to one channel, written
// in the transaction that changed the alert: an outbox. An instance that
// stops between that commit and the delivery leaves it pending, and the next
// alert evaluation, on any instance, sends it once it is due.
type AlertNotification struct {
	ent.Schema
}

// Fields of the AlertNotification.
func (AlertNotification) Fields() []ent.Field {
	return []ent.Field{
		field.Int("alert_id"),
		field.Int("channel_id"),
		field.String("event").Comment("fired, renotified or resolved"),
		field.Bytes("payload").Comment("The webhook payload (JSON) as built when the alert changed."),
		field.Enum("status").Values("pending", "sent", "failed").Default("pending"),
		field.Int("attempts").Default(0),
		field.String("last_error").Optional(),
		field.Time("created_at"),
		field.Time("due_at").Comment("While pending, when another instance may take it over."),
		field.Time("finished_at").Optional().Nillable(),
	}
}

// Indexes of the AlertNotification.
func (AlertNotification) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "due_at"),
		index.Fields("created_at"),
	}
}

// Annotations of the AlertNotification.
func (AlertNotification) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
