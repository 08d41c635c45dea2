package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hooklens/hooklens/ent"
	entalert "github.com/hooklens/hooklens/ent/alert"
	"github.com/hooklens/hooklens/ent/alertchannel"
	"github.com/hooklens/hooklens/ent/alertrule"
	"github.com/hooklens/hooklens/internal/usererr"
)

// NewRule is a rule to create. Key, Name and Condition are required; nil
// fields take the settings of the condition's built-in rule (Builtins).
type NewRule struct {
	Key       string
	Name      string
	Condition string
	Threshold *float64
	// Window, For and Renotify are Go durations ("90s", "5m", "48h").
	Window, For, Renotify *string
	Severity              *string
	NotifyResolved        *bool
	Enabled               *bool
	// Params are the condition's extra settings (Condition.Params); nil
	// takes the built-in's.
	Params map[string]any
	// ChannelIDs are where the rule's alerts go.
	ChannelIDs []int
}

// RulePatch changes a rule; nil fields stay as they are. A rule's key and
// condition never change: create another rule instead.
type RulePatch struct {
	Name                  *string
	Threshold             *float64
	Window, For, Renotify *string
	Severity              *string
	NotifyResolved        *bool
	Enabled               *bool
	// Params, when non-nil, replaces the params (absent ones take their
	// defaults).
	Params map[string]any
	// ChannelIDs, when non-nil, replaces the rule's channels.
	ChannelIDs *[]int
}

// Limits of a rule's durations.
const (
	minWindow   = time.Minute
	maxWindow   = 30 * 24 * time.Hour
	maxFor      = 24 * time.Hour
	minRenotify = time.Minute
	maxRenotify = 30 * 24 * time.Hour
)

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ruleValues are a rule's settings being validated.
type ruleValues struct {
	name, condition          string
	threshold                float64
	window, forDur, renotify string
	severity                 string
	params                   map[string]any
}

// validate checks v and normalises it (trimmed strings, typed params). Its
// errors are usererr field errors named like the GraphQL input fields.
func (v *ruleValues) validate() error {
	v.name = strings.TrimSpace(v.name)
	if v.name == "" {
		return usererr.Field("name", "name: give the rule a name")
	}
	if utf8.RuneCountInString(v.name) > 200 {
		return usererr.Field("name", "name: at most 200 characters")
	}
	cond, ok := conditionByName(v.condition)
	if !ok {
		return usererr.Field("condition", "condition: %q is not one of %s", v.condition, strings.Join(conditionNames(), ", "))
	}
	if err := checkThreshold(cond, v.threshold); err != nil {
		return err
	}
	var err error
	if v.window, err = checkDuration("window", v.window, minWindow, maxWindow, false); err != nil {
		return err
	}
	if v.forDur, err = checkDuration("for", v.forDur, 0, maxFor, false); err != nil {
		return err
	}
	if v.renotify, err = checkDuration("renotify", v.renotify, minRenotify, maxRenotify, true); err != nil {
		return err
	}
	if !slices.Contains(severities, v.severity) {
		return usererr.Field("severity", "severity: %q is not one of info, warning, critical", v.severity)
	}
	v.params, err = checkParams(cond, v.params)
	return err
}

func conditionNames() []string {
	out := make([]string, len(conditions))
	for i, c := range conditions {
		out[i] = c.Name
	}
	return out
}

func checkThreshold(c Condition, t float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return usererr.Field("threshold", "threshold: must be a finite number")
	}
	if !c.UsesThreshold {
		return nil
	}
	switch c.Unit {
	case "percent":
		if t <= 0 || t > 100 {
			return usererr.Field("threshold", "threshold: a percentage above 0 and at most 100 (5 means 5%% of attempts failed)")
		}
	case "score":
		if t <= 0 || t > 100 {
			return usererr.Field("threshold", "threshold: a score above 0 and at most 100")
		}
	case "seconds":
		if t <= 0 || t > maxWindow.Seconds() {
			return usererr.Field("threshold", "threshold: a number of seconds above 0 and at most %d (30 days)", int(maxWindow.Seconds()))
		}
	default: // count
		if t < 1 {
			return usererr.Field("threshold", "threshold: a count of at least 1")
		}
	}
	return nil
}

// checkDuration parses s and checks it lies in [lo, hi]; zero is allowed
// when zeroOK (it then means "never").
func checkDuration(field, s string, lo, hi time.Duration, zeroOK bool) (string, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return s, usererr.Field(field, "%s: %q is not a duration; use a number and a unit, like 90s, 5m or 48h", field, s)
	}
	if d == 0 && zeroOK {
		return s, nil
	}
	if d < lo || d > hi {
		if zeroOK {
			return s, usererr.Field(field, "%s: 0s (never) or between %s and %s", field, fmtDuration(lo), fmtDuration(hi))
		}
		return s, usererr.Field(field, "%s: between %s and %s", field, fmtDuration(lo), fmtDuration(hi))
	}
	return s, nil
}

// checkParams validates params against the condition's and returns them
// typed (ints as int), with unknown keys refused.
func checkParams(c Condition, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k := range in {
		if !slices.ContainsFunc(c.Params, func(p Param) bool { return p.Name == k }) {
			if len(c.Params) == 0 {
				return nil, usererr.Field("params."+k, "params.%s: condition %s takes no params", k, c.Name)
			}
			names := make([]string, len(c.Params))
			for i, p := range c.Params {
				names[i] = p.Name
			}
			return nil, usererr.Field("params."+k, "params.%s: condition %s takes only %s", k, c.Name, strings.Join(names, ", "))
		}
	}
	for _, p := range c.Params {
		raw, ok := in[p.Name]
		if !ok || raw == nil {
			continue
		}
		field := "params." + p.Name
		switch p.Type {
		case "int":
			n, ok := asInt(raw)
			if !ok || n < 0 {
				return nil, usererr.Field(field, "%s: a whole number, 0 or more", field)
			}
			out[p.Name] = n
		default:
			str, ok := raw.(string)
			if !ok {
				return nil, usererr.Field(field, "%s: a string", field)
			}
			str = strings.TrimSpace(str)
			if len(p.Values) > 0 && !slices.Contains(p.Values, str) {
				return nil, usererr.Field(field, "%s: %q is not one of %s", field, str, strings.Join(p.Values, ", "))
			}
			if len(str) > 200 {
				return nil, usererr.Field(field, "%s: at most 200 characters", field)
			}
			if str != "" {
				out[p.Name] = str
			}
		}
	}
	return out, nil
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1e9 {
			return 0, false
		}
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// paramString returns a string param or its default.
func paramString(r *ent.AlertRule, name string) string {
	if v, ok := r.Params[name].(string); ok {
		return v
	}
	c, _ := conditionByName(string(r.Condition))
	for _, p := range c.Params {
		if p.Name == name {
			if s, ok := p.Default.(string); ok {
				return s
			}
		}
	}
	return ""
}

// paramInt returns an int param or its default.
func paramInt(r *ent.AlertRule, name string) int {
	if n, ok := asInt(r.Params[name]); ok {
		return n
	}
	c, _ := conditionByName(string(r.Condition))
	for _, p := range c.Params {
		if p.Name == name {
			if n, ok := p.Default.(int); ok {
				return n
			}
		}
	}
	return 0
}

// mustDuration parses a stored (validated) duration; a value edited behind
// hooklens' back that does not parse counts as zero.
func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// CreateRule validates and stores a new rule.
func (s *Service) CreateRule(ctx context.Context, in NewRule) (*ent.AlertRule, error) {
	in.Key = strings.TrimSpace(in.Key)
	if !keyPattern.MatchString(in.Key) {
		return nil, usererr.Field("key", "key: lower-case letters, digits and _, starting with a letter, at most 64 characters")
	}
	b, ok := builtinFor(in.Condition)
	if !ok {
		return nil, usererr.Field("condition", "condition: %q is not one of %s", in.Condition, strings.Join(conditionNames(), ", "))
	}
	v := ruleValues{
		name: in.Name, condition: in.Condition, threshold: deref(in.Threshold, b.Threshold),
		window: deref(in.Window, b.Window), forDur: deref(in.For, b.For), renotify: deref(in.Renotify, b.Renotify),
		severity: deref(in.Severity, b.Severity), params: b.Params,
	}
	if in.Params != nil {
		v.params = in.Params
	}
	if err := v.validate(); err != nil {
		return nil, err
	}
	if err := s.checkChannels(ctx, in.ChannelIDs); err != nil {
		return nil, err
	}
	if exists, err := s.client.AlertRule.Query().Where(alertrule.Key(in.Key)).Exist(ctx); err != nil {
		return nil, fmt.Errorf("checking rule key: %w", err)
	} else if exists {
		return nil, usererr.Field("key", "key: a rule with key %q exists", in.Key)
	}
	now := s.opts.Now().UTC()
	r, err := s.client.AlertRule.Create().
		SetKey(in.Key).SetName(v.name).SetCondition(alertrule.Condition(v.condition)).
		SetThreshold(v.threshold).SetWindow(v.window).SetFor(v.forDur).SetRenotify(v.renotify).
		SetSeverity(alertrule.Severity(v.severity)).SetNotifyResolved(deref(in.NotifyResolved, true)).
		SetEnabled(deref(in.Enabled, true)).SetParams(v.params).
		SetCreatedAt(now).SetUpdatedAt(now).
		AddChannelIDs(in.ChannelIDs...).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, usererr.Field("key", "key: a rule with key %q exists", in.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("creating rule %s: %w", in.Key, err)
	}
	return r, nil
}

// UpdateRule validates and applies a patch. Changing what the rule measures
// (threshold, window, for, params) restarts its debounce clock; an active
// alert stays until the next evaluation decides.
func (s *Service) UpdateRule(ctx context.Context, id int, p RulePatch) (*ent.AlertRule, error) {
	r, err := s.rule(ctx, id)
	if err != nil {
		return nil, err
	}
	v := ruleValues{
		name: deref(p.Name, r.Name), condition: string(r.Condition), threshold: deref(p.Threshold, r.Threshold),
		window: deref(p.Window, r.Window), forDur: deref(p.For, r.For), renotify: deref(p.Renotify, r.Renotify),
		severity: deref(p.Severity, string(r.Severity)), params: r.Params,
	}
	if p.Params != nil {
		v.params = p.Params
	}
	if err := v.validate(); err != nil {
		return nil, err
	}
	if p.ChannelIDs != nil {
		if err := s.checkChannels(ctx, *p.ChannelIDs); err != nil {
			return nil, err
		}
	}
	upd := r.Update().SetName(v.name).SetThreshold(v.threshold).SetWindow(v.window).SetFor(v.forDur).
		SetRenotify(v.renotify).SetSeverity(alertrule.Severity(v.severity)).SetParams(v.params).
		SetUpdatedAt(s.opts.Now().UTC())
	if p.NotifyResolved != nil {
		upd.SetNotifyResolved(*p.NotifyResolved)
	}
	if p.Enabled != nil {
		upd.SetEnabled(*p.Enabled)
	}
	if p.ChannelIDs != nil {
		upd.ClearChannels().AddChannelIDs(*p.ChannelIDs...)
	}
	if v.threshold != r.Threshold || v.window != r.Window || v.forDur != r.For || !sameParams(v.params, r.Params) {
		upd.ClearPendingSince()
	}
	r, err = upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("updating rule %d: %w", id, err)
	}
	return r, nil
}

// SetRuleEnabled turns a rule on or off. A disabled rule's active alert is
// resolved (and the resolution notified) at the next evaluation.
func (s *Service) SetRuleEnabled(ctx context.Context, id int, enabled bool) (*ent.AlertRule, error) {
	r, err := s.rule(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err = r.Update().SetEnabled(enabled).SetUpdatedAt(s.opts.Now().UTC()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("updating rule %d: %w", id, err)
	}
	return r, nil
}

// RestoreRule puts a built-in rule's settings (threshold, durations,
// severity, params, name) back as shipped; its channels and enabled flag
// stay.
func (s *Service) RestoreRule(ctx context.Context, id int) (*ent.AlertRule, error) {
	r, err := s.rule(ctx, id)
	if err != nil {
		return nil, err
	}
	b, ok := builtinByKey(r.Key)
	if !r.Builtin || !ok {
		return nil, usererr.New(usererr.Conflict, "rule %q is not built in; there is nothing to restore", r.Key)
	}
	r, err = r.Update().SetName(b.Name).SetThreshold(b.Threshold).SetWindow(b.Window).SetFor(b.For).
		SetRenotify(b.Renotify).SetSeverity(alertrule.Severity(b.Severity)).SetParams(b.Params).
		SetNotifyResolved(true).ClearPendingSince().SetUpdatedAt(s.opts.Now().UTC()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("restoring rule %s: %w", b.Key, err)
	}
	return r, nil
}

// DeleteRule deletes a rule that is not built in (built-ins are disabled
// instead, or they would be seeded again). Its active alert is resolved
// first, and the resolution notified when the rule says so; past alerts
// stay, without their rule.
func (s *Service) DeleteRule(ctx context.Context, id int) error {
	r, err := s.rule(ctx, id)
	if err != nil {
		return err
	}
	if r.Builtin {
		return usererr.New(usererr.Conflict, "rule %q is built in; disable it instead", r.Key)
	}
	var notes []*notification
	err = s.withTx(ctx, func(tx *ent.Tx) error {
		r, err := s.lockRule(ctx, tx, id)
		if err != nil || r == nil {
			return err
		}
		cur, err := tx.Alert.Query().Where(entalert.RuleID(id), entalert.StatusIn(activeStatuses...)).All(ctx)
		if err != nil {
			return fmt.Errorf("reading the rule's alerts: %w", err)
		}
		now := s.opts.Now().UTC()
		for _, a := range cur {
			upd := tx.Alert.UpdateOne(a).SetStatus(entalert.StatusResolved).SetResolvedAt(now).
				SetResolvedBy(resolvedAuto).SetMessage(a.Message + "\n\nThe rule was deleted.")
			notify := r.NotifyResolved && a.Notifications > 0
			if notify {
				upd.AddNotifications(1).SetLastNotifiedAt(now)
			}
			saved, err := upd.Save(ctx)
			if err != nil {
				return fmt.Errorf("resolving alert %d: %w", a.ID, err)
			}
			n, err := s.noteFor(ctx, tx, r, saved, EventResolved, notify)
			if err != nil {
				return err
			}
			notes = append(notes, n)
		}
		if err := tx.AlertRule.DeleteOneID(id).Exec(ctx); err != nil {
			return fmt.Errorf("deleting rule %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range notes {
		s.publish(ctx, n.alert, n.event)
	}
	s.background(func(ctx context.Context) { s.deliver(ctx, notes) })
	return nil
}

func (s *Service) rule(ctx context.Context, id int) (*ent.AlertRule, error) {
	r, err := s.client.AlertRule.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, usererr.New(usererr.NotFound, "no alert rule with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading rule %d: %w", id, err)
	}
	return r, nil
}

// checkChannels makes sure every id names a channel.
func (s *Service) checkChannels(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := s.client.AlertChannel.Query().Where(alertchannel.IDIn(ids...)).IDs(ctx)
	if err != nil {
		return fmt.Errorf("checking channels: %w", err)
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return usererr.Field("channelIDs", "channelIDs: no alert channel with id %d", id)
		}
	}
	return nil
}

func sameParams(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// logChannelName names the log channel seeded with the built-in rules.
const logChannelName = "log"

// Seed stores the built-in rules that are missing, enabled and sent to a
// log channel (created with them). Rules already stored are left as the
// admins made them, and a deleted log channel is only recreated when a
// built-in rule is. Safe to run on several instances at once.
func (s *Service) Seed(ctx context.Context) error {
	var logID int
	for _, b := range builtins {
		exists, err := s.client.AlertRule.Query().Where(alertrule.Key(b.Key)).Exist(ctx)
		if err != nil {
			return fmt.Errorf("seeding alert rule %s: %w", b.Key, err)
		}
		if exists {
			continue
		}
		if logID == 0 {
			if logID, err = s.ensureLogChannel(ctx); err != nil {
				return err
			}
		}
		now := s.opts.Now().UTC()
		err = s.client.AlertRule.Create().
			SetKey(b.Key).SetName(b.Name).SetCondition(alertrule.Condition(b.Condition)).
			SetThreshold(b.Threshold).SetWindow(b.Window).SetFor(b.For).SetRenotify(b.Renotify).
			SetSeverity(alertrule.Severity(b.Severity)).SetParams(cloneParams(b.Params)).
			SetBuiltin(true).SetEnabled(true).SetNotifyResolved(true).
			SetCreatedAt(now).SetUpdatedAt(now).
			AddChannelIDs(logID).
			Exec(ctx)
		if err != nil && !ent.IsConstraintError(err) { // another instance seeded it first
			return fmt.Errorf("seeding alert rule %s: %w", b.Key, err)
		}
	}
	return nil
}

func (s *Service) ensureLogChannel(ctx context.Context) (int, error) {
	for range 2 {
		ch, err := s.client.AlertChannel.Query().Where(alertchannel.Name(logChannelName)).Only(ctx)
		if err == nil {
			return ch.ID, nil
		}
		if !ent.IsNotFound(err) {
			return 0, fmt.Errorf("reading the log channel: %w", err)
		}
		now := s.opts.Now().UTC()
		ch, err = s.client.AlertChannel.Create().SetName(logChannelName).SetKind(alertchannel.KindLog).
			SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
		if err == nil {
			return ch.ID, nil
		}
		if !ent.IsConstraintError(err) {
			return 0, fmt.Errorf("creating the log channel: %w", err)
		}
	}
	return 0, fmt.Errorf("creating the log channel: it keeps being created and removed")
}
