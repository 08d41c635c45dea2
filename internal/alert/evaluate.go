package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	entalert "github.com/hooklens/hooklens/ent/alert"
	"github.com/hooklens/hooklens/ent/alertchannel"
	"github.com/hooklens/hooklens/ent/alertrule"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Why a notification is sent (the payload's event).
const (
	EventFired      = "fired"
	EventRenotified = "renotified"
	EventResolved   = "resolved"
	EventTest       = "test"
)

// eventNotified is the live message (never a payload's event) sent once an
// alert's deliveries are recorded, so that pages showing its notification
// log reload it.
const eventNotified = "notified"

// resolvedAuto is resolved_by for alerts hooklens resolved itself.
const resolvedAuto = "auto"

var activeStatuses = []entalert.Status{entalert.StatusFiring, entalert.StatusAcknowledged}

// Summary counts what one evaluation did.
type Summary struct {
	// Rules is the number of enabled rules evaluated.
	Rules int
	// Failed counts rules whose condition could not be measured; their
	// state was left as it was.
	Failed int
	// Pending counts rules whose condition holds but not yet for their
	// `for` (or that a person resolved while it still held).
	Pending int
	// Fired, Renotified and Resolved count the transitions made.
	Fired, Renotified, Resolved int
	// Active is the number of alerts firing or acknowledged afterwards.
	Active int
	// Deliveries and DeliveryFailures count notifications sent to channels.
	Deliveries, DeliveryFailures int
}

// notification is one alert transition: published to live subscribers,
// and sent to channels (none when the rule does not notify this one).
type notification struct {
	alert    *ent.Alert
	rule     *ent.AlertRule
	channels []*ent.AlertChannel
	event    string
	// payload is what the channels receive, built when the alert changed.
	payload Payload
	// outbox holds, for each channel, its AlertNotification row (written
	// in the transaction that changed the alert), marked when sent.
	outbox []int
}

type outcome int

const (
	quiet outcome = iota
	pending
	firing
)

// Evaluate measures every rule at now and moves its alert: fire once the
// condition has held for the rule's `for`, re-notify a firing alert every
// `renotify`, resolve when the condition clears (or the rule is disabled),
// and send the notifications. It is safe to run on two instances at once or
// twice for the same minute: each rule's transition happens under a lock on
// its row and re-reads the alert. A condition that cannot be measured (a
// query fails) leaves its rule's state alone; the errors are returned
// together after the other rules are done.
//
// Notifications are delivered after every rule's state is saved, in
// parallel; Evaluate returns when they are recorded, within about
// Attempts × Timeout plus the backoff, however slow the receivers.
func (s *Service) Evaluate(ctx context.Context, now time.Time) (Summary, error) {
	now = now.UTC()
	var sum Summary
	rules, err := s.client.AlertRule.Query().Order(ent.Asc(alertrule.FieldID)).All(ctx)
	if err != nil {
		return sum, fmt.Errorf("reading alert rules: %w", err)
	}
	activeRules := map[int]bool{}
	ruleIDs, err := s.client.Alert.Query().Where(entalert.StatusIn(activeStatuses...), entalert.RuleIDNotNil()).
		Select(entalert.FieldRuleID).Ints(ctx)
	if err != nil {
		return sum, fmt.Errorf("reading active alerts: %w", err)
	}
	for _, id := range ruleIDs {
		activeRules[id] = true
	}

	f := &facts{src: s.facts}
	var errs []error
	// Notifications an instance committed and never sent (it stopped
	// before delivering them) go first.
	notes, err := s.pendingNotes(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range rules {
		var obs *observation
		if r.Enabled {
			sum.Rules++
			o, err := s.observe(ctx, r, now, f)
			if err != nil {
				sum.Failed++
				errs = append(errs, fmt.Errorf("alert rule %s: %w", r.Key, err))
				continue
			}
			obs = &o
		}
		if (obs == nil || !obs.holds) && r.PendingSince == nil && !activeRules[r.ID] {
			continue // nothing to change, no need to lock
		}
		var note *notification
		var out outcome
		err := s.withTx(ctx, func(tx *ent.Tx) error {
			var err error
			note, out, err = s.transition(ctx, tx, r.ID, obs, now)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("alert rule %s: %w", r.Key, err))
			continue
		}
		if out == pending {
			sum.Pending++
		}
		if note == nil {
			continue
		}
		switch note.event {
		case EventFired:
			sum.Fired++
		case EventRenotified:
			sum.Renotified++
		case EventResolved:
			sum.Resolved++
		}
		s.publish(ctx, note.alert, note.event)
		if len(note.channels) > 0 {
			notes = append(notes, note)
		}
	}

	for _, d := range s.deliver(ctx, notes) {
		sum.Deliveries++
		if !d.OK {
			sum.DeliveryFailures++
		}
	}
	if err := s.countActive(ctx, &sum); err != nil {
		errs = append(errs, err)
	}
	return sum, errors.Join(errs...)
}

// countActive sets Summary.Active and the firing gauge.
func (s *Service) countActive(ctx context.Context, sum *Summary) error {
	list, err := s.client.Alert.Query().Where(entalert.StatusIn(activeStatuses...)).
		Select(entalert.FieldStatus, entalert.FieldSeverity).All(ctx)
	if err != nil {
		return fmt.Errorf("counting active alerts: %w", err)
	}
	sum.Active = len(list)
	counts := map[string]float64{}
	for _, a := range list {
		if a.Status == entalert.StatusFiring {
			counts[string(a.Severity)]++
		}
	}
	for _, sev := range severities {
		s.firing.WithLabelValues(sev).Set(counts[sev])
	}
	return nil
}

// lockRule reads a rule inside tx, locking its row on PostgreSQL (on SQLite
// the transaction already holds the only writer). nil when it is gone.
func (s *Service) lockRule(ctx context.Context, tx *ent.Tx, id int) (*ent.AlertRule, error) {
	q := tx.AlertRule.Query().Where(alertrule.ID(id))
	if s.db.Postgres() {
		q = q.ForUpdate()
	}
	r, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("locking rule %d: %w", id, err)
	}
	return r, nil
}

// transition moves rule ruleID's alert given obs (nil: the rule is
// disabled), inside tx, and returns the transition made, if any.
func (s *Service) transition(ctx context.Context, tx *ent.Tx, ruleID int, obs *observation, now time.Time) (*notification, outcome, error) {
	r, err := s.lockRule(ctx, tx, ruleID)
	if err != nil || r == nil {
		return nil, quiet, err
	}
	if !r.Enabled {
		obs = nil // disabled since it was measured
	}
	actives, err := tx.Alert.Query().Where(entalert.RuleID(r.ID), entalert.StatusIn(activeStatuses...)).
		Order(ent.Desc(entalert.FieldStartedAt), ent.Desc(entalert.FieldID)).All(ctx)
	if err != nil {
		return nil, quiet, fmt.Errorf("reading the rule's alerts: %w", err)
	}
	var cur *ent.Alert
	if len(actives) > 0 {
		cur = actives[0]
		// One active alert per rule; anything else (written by hand, or by
		// an older version) is closed without a word.
		for _, extra := range actives[1:] {
			if err := tx.Alert.UpdateOne(extra).SetStatus(entalert.StatusResolved).SetResolvedAt(now).
				SetResolvedBy(resolvedAuto).Exec(ctx); err != nil {
				return nil, quiet, fmt.Errorf("closing duplicate alert %d: %w", extra.ID, err)
			}
		}
	}

	if obs == nil || !obs.holds {
		if r.PendingSince != nil {
			if err := tx.AlertRule.UpdateOne(r).ClearPendingSince().Exec(ctx); err != nil {
				return nil, quiet, fmt.Errorf("clearing the rule's pending time: %w", err)
			}
		}
		if cur == nil {
			return nil, quiet, nil
		}
		msg := "The rule was disabled."
		upd := tx.Alert.UpdateOne(cur).SetStatus(entalert.StatusResolved).SetResolvedAt(now).
			SetResolvedBy(resolvedAuto).SetLastEvaluatedAt(now)
		if obs != nil {
			msg = "Resolved: " + obs.title + ". " + obs.message
			if obs.value != nil {
				upd.SetValue(*obs.value)
			}
		}
		upd.SetMessage(msg)
		notify := r.NotifyResolved && cur.Notifications > 0
		if notify {
			upd.AddNotifications(1).SetLastNotifiedAt(now)
		}
		a, err := upd.Save(ctx)
		if err != nil {
			return nil, quiet, fmt.Errorf("resolving alert %d: %w", cur.ID, err)
		}
		note, err := s.noteFor(ctx, tx, r, a, EventResolved, notify)
		return note, quiet, err
	}

	since := now
	if r.PendingSince != nil {
		since = r.PendingSince.UTC()
	} else if err := tx.AlertRule.UpdateOne(r).SetPendingSince(now).Exec(ctx); err != nil {
		return nil, quiet, fmt.Errorf("starting the rule's pending time: %w", err)
	}

	if cur != nil {
		upd := tx.Alert.UpdateOne(cur).SetLastEvaluatedAt(now).SetTitle(obs.title).SetMessage(obs.message)
		if obs.value != nil {
			upd.SetValue(*obs.value)
		}
		if obs.anomalyID != 0 {
			upd.SetAnomalyID(obs.anomalyID)
		}
		renotify := mustDuration(r.Renotify)
		due := cur.Status == entalert.StatusFiring && renotify > 0 &&
			(cur.LastNotifiedAt == nil || now.Sub(*cur.LastNotifiedAt) >= renotify)
		if due {
			upd.AddNotifications(1).SetLastNotifiedAt(now)
		}
		a, err := upd.Save(ctx)
		if err != nil {
			return nil, firing, fmt.Errorf("updating alert %d: %w", cur.ID, err)
		}
		if !due {
			return nil, firing, nil
		}
		note, err := s.noteFor(ctx, tx, r, a, EventRenotified, true)
		return note, firing, err
	}

	forDur := mustDuration(r.For)
	if now.Sub(since) < forDur {
		return nil, pending, nil
	}
	if held, err := s.heldByPerson(ctx, tx, r, since, now); err != nil || held {
		return nil, pending, err
	}
	c, _ := conditionByName(string(r.Condition))
	create := tx.Alert.Create().SetRuleKey(r.Key).SetRuleID(r.ID).SetStatus(entalert.StatusFiring).
		SetSeverity(entalert.Severity(r.Severity)).SetTitle(obs.title).SetMessage(obs.message).
		SetStartedAt(now).SetLastEvaluatedAt(now).SetLastNotifiedAt(now).SetNotifications(1)
	if obs.value != nil {
		create.SetValue(*obs.value)
	}
	if c.UsesThreshold {
		create.SetThreshold(r.Threshold)
	}
	if obs.anomalyID != 0 {
		create.SetAnomalyID(obs.anomalyID)
	}
	a, err := create.Save(ctx)
	if err != nil {
		return nil, quiet, fmt.Errorf("creating the alert: %w", err)
	}
	note, err := s.noteFor(ctx, tx, r, a, EventFired, true)
	return note, firing, err
}

// heldByPerson reports whether a person resolved the rule's last alert
// while its condition was holding, and it has held ever since: then a new
// alert waits for max(for, renotify) after that resolution (forever when
// renotify is 0, until the condition clears), so "resolve" is neither
// "fire again next minute" nor "ignore for good".
func (s *Service) heldByPerson(ctx context.Context, tx *ent.Tx, r *ent.AlertRule, since, now time.Time) (bool, error) {
	last, err := tx.Alert.Query().Where(entalert.RuleID(r.ID), entalert.StatusEQ(entalert.StatusResolved)).
		Order(ent.Desc(entalert.FieldResolvedAt), ent.Desc(entalert.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the rule's last alert: %w", err)
	}
	if last.ResolvedBy == resolvedAuto || last.ResolvedAt == nil || since.After(*last.ResolvedAt) {
		return false, nil
	}
	renotify := mustDuration(r.Renotify)
	if renotify == 0 {
		return true, nil
	}
	return now.Sub(*last.ResolvedAt) < max(renotify, mustDuration(r.For)), nil
}

// noteFor describes a's transition; when notify is set it carries the
// rule's enabled channels to send it to.
func (s *Service) noteFor(ctx context.Context, tx *ent.Tx, r *ent.AlertRule, a *ent.Alert, event string, notify bool) (*notification, error) {
	n := &notification{alert: a, rule: r, event: event}
	if !notify {
		return n, nil
	}
	chans, err := tx.AlertRule.QueryChannels(r).Where(alertchannel.Enabled(true)).
		Order(ent.Asc(alertchannel.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the rule's channels: %w", err)
	}
	if len(chans) == 0 {
		return n, nil
	}
	// The outbox rows: they commit with the alert's change, so a crash
	// before the delivery leaves them pending for the next evaluation.
	now := time.Now().UTC() // the lease is on the wall clock (see pendingNotes)
	n.channels, n.payload = chans, s.payloadFor(a, r, event, s.opts.Now())
	body, err := json.Marshal(n.payload)
	if err != nil {
		return nil, fmt.Errorf("encoding the notification: %w", err)
	}
	creates := make([]*ent.AlertNotificationCreate, len(chans))
	for i, ch := range chans {
		creates[i] = tx.AlertNotification.Create().SetAlertID(a.ID).SetChannelID(ch.ID).SetEvent(event).
			SetPayload(body).SetCreatedAt(now).SetDueAt(now.Add(s.outboxLease()))
	}
	rows, err := tx.AlertNotification.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("queueing the notifications: %w", err)
	}
	for _, row := range rows {
		n.outbox = append(n.outbox, row.ID)
	}
	return n, nil
}

// publish tells live subscribers an alert changed: IDs holds the alert's
// id, Keys its rule's key, Data {"event","status","severity"}.
func (s *Service) publish(ctx context.Context, a *ent.Alert, event string) {
	data, _ := json.Marshal(map[string]string{"event": event, "status": string(a.Status), "severity": string(a.Severity)})
	err := s.hub.Publish(context.WithoutCancel(ctx), live.Message{
		Kind: live.AlertFired, IDs: []int{a.ID}, Keys: []string{a.RuleKey}, Data: data,
	})
	if err != nil {
		s.log.Warn("publishing an alert change", "alert_id", a.ID, "err", err)
	}
}

// Acknowledge marks a firing alert as seen by a person (by: a token name):
// it is not re-notified, and still resolves by itself when its condition
// clears. Acknowledging an acknowledged alert changes nothing.
func (s *Service) Acknowledge(ctx context.Context, alertID int, by string) (*ent.Alert, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return nil, usererr.Field("by", "by: say who acknowledges")
	}
	var out *ent.Alert
	changed := false
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		a, err := s.lockAlert(ctx, tx, alertID)
		if err != nil {
			return err
		}
		switch a.Status {
		case entalert.StatusAcknowledged:
			out = a
			return nil
		case entalert.StatusResolved:
			return usererr.New(usererr.Conflict, "alert %d is resolved; there is nothing to acknowledge", alertID)
		}
		out, err = tx.Alert.UpdateOne(a).SetStatus(entalert.StatusAcknowledged).
			SetAcknowledgedAt(s.opts.Now().UTC()).SetAcknowledgedBy(by).Save(ctx)
		changed = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.publish(ctx, out, "acknowledged")
	}
	return out, nil
}

// Resolve closes an active alert by hand (by: a token name; note: why,
// optional, appended to its message). The resolution is notified in the
// background when the rule says so. If the condition still holds, a new
// alert waits (see Evaluate). Resolving a resolved alert changes nothing.
func (s *Service) Resolve(ctx context.Context, alertID int, by, note string) (*ent.Alert, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return nil, usererr.Field("by", "by: say who resolves")
	}
	if by == resolvedAuto {
		return nil, usererr.Field("by", "by: %q is reserved for hooklens itself", resolvedAuto)
	}
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		return nil, usererr.Field("note", "note: at most 2000 characters")
	}
	var out *ent.Alert
	var n *notification
	changed := false
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		a, err := s.lockAlert(ctx, tx, alertID)
		if err != nil {
			return err
		}
		if a.Status == entalert.StatusResolved {
			out = a
			return nil
		}
		now := s.opts.Now().UTC()
		upd := tx.Alert.UpdateOne(a).SetStatus(entalert.StatusResolved).SetResolvedAt(now).
			SetResolvedBy(by)
		if note != "" {
			upd.SetResolutionNote(note)
		}
		var r *ent.AlertRule
		if a.RuleID != 0 {
			r, err = tx.AlertRule.Get(ctx, a.RuleID)
			if err != nil && !ent.IsNotFound(err) {
				return fmt.Errorf("reading rule %d: %w", a.RuleID, err)
			}
		}
		notify := r != nil && r.NotifyResolved && a.Notifications > 0
		if notify {
			upd.AddNotifications(1).SetLastNotifiedAt(now)
		}
		if out, err = upd.Save(ctx); err != nil {
			return fmt.Errorf("resolving alert %d: %w", alertID, err)
		}
		changed = true
		if notify {
			n, err = s.noteFor(ctx, tx, r, out, EventResolved, true)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.publish(ctx, out, EventResolved)
	}
	if n != nil && len(n.channels) > 0 {
		s.background(func(ctx context.Context) { s.deliver(ctx, []*notification{n}) })
	}
	return out, nil
}

// lockAlert reads an alert inside tx after locking its rule's row (so a
// person's change and an evaluation never interleave), then its own row.
func (s *Service) lockAlert(ctx context.Context, tx *ent.Tx, id int) (*ent.Alert, error) {
	a, err := tx.Alert.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, usererr.New(usererr.NotFound, "no alert with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading alert %d: %w", id, err)
	}
	if !s.db.Postgres() {
		return a, nil
	}
	if a.RuleID != 0 {
		if _, err := s.lockRule(ctx, tx, a.RuleID); err != nil {
			return nil, err
		}
	}
	a, err = tx.Alert.Query().Where(entalert.ID(id)).ForUpdate().Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("locking alert %d: %w", id, err)
	}
	return a, nil
}
