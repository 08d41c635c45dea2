package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
)

// RunOptions describe a reconciliation.
type RunOptions struct {
	// Window is how far back to compare.
	Window time.Duration
	// Trigger: schedule, manual or cli.
	Trigger string
	// JobID links the run to its job.
	JobID int
	// Record is a run made beforehand with NewRun; nil makes one.
	Record *ent.ReconciliationRun
}

// NewRun records a reconciliation about to start.
func (s *Service) NewRun(ctx context.Context, opts RunOptions) (*ent.ReconciliationRun, error) {
	if opts.Window <= 0 {
		opts.Window = 24 * time.Hour
	}
	now := s.opts.Now().UTC()
	trigger := reconciliationrun.Trigger(opts.Trigger)
	if trigger == "" {
		trigger = reconciliationrun.TriggerManual
	}
	create := s.db.Client.ReconciliationRun.Create().SetTrigger(trigger).
		SetWindowStart(now.Add(-opts.Window)).SetWindowEnd(now.Add(-s.opts.Grace)).SetStartedAt(now)
	if opts.JobID != 0 {
		create.SetJobID(opts.JobID)
	}
	rec, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("recording reconciliation run: %w", err)
	}
	return rec, nil
}

// maxFindingsPerKind caps the findings one run writes per kind, so a
// thousand dead letters make one summary-sized list, not a flood; the run's
// counters still count them all.
const maxFindingsPerKind = 200

// run is the state of one reconciliation in progress.
type run struct {
	s        *Service
	rec      *ent.ReconciliationRun
	now      time.Time
	from, to time.Time
	seen     map[reconciliationfinding.Kind]map[string]bool // subjects checked this run: true = found again
	written  map[reconciliationfinding.Kind]int
	stats    map[string]any
	parts    []Component

	missing, imported, dwollaEvents, failed, neverSent, redelivered int
}

// Run reconciles hooklens with Dwolla and with itself over the window and
// records the run, its findings and its health score.
func (s *Service) Run(ctx context.Context, opts RunOptions, prog Progress) (*ent.ReconciliationRun, error) {
	if prog == nil {
		prog = NopProgress{}
	}
	rec := opts.Record
	if rec == nil {
		var err error
		if rec, err = s.NewRun(ctx, opts); err != nil {
			return nil, err
		}
	}
	if opts.JobID != 0 && rec.JobID == 0 {
		var err error
		if rec, err = s.db.Client.ReconciliationRun.UpdateOneID(rec.ID).SetJobID(opts.JobID).Save(ctx); err != nil {
			return nil, err
		}
	}
	r := &run{
		s: s, rec: rec, now: s.opts.Now().UTC(), from: rec.WindowStart, to: rec.WindowEnd,
		seen: map[reconciliationfinding.Kind]map[string]bool{}, written: map[reconciliationfinding.Kind]int{},
		stats: map[string]any{},
	}
	s.publish(ctx, live.ReconcileProgress, rec.ID)

	runErr := r.steps(ctx, prog)
	status := reconciliationrun.StatusSucceeded
	errText := ""
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		status, errText = reconciliationrun.StatusCancelled, "cancelled"
	default:
		status, errText = reconciliationrun.StatusFailed, runErr.Error()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	score := Score(r.parts)
	findings, _ := s.db.Client.ReconciliationFinding.Query().Where(reconciliationfinding.RunID(rec.ID)).Count(fctx)
	up := s.db.Client.ReconciliationRun.UpdateOneID(rec.ID).
		SetStatus(status).SetFinishedAt(s.opts.Now().UTC()).
		SetDwollaEvents(r.dwollaEvents).SetMissing(r.missing).SetImported(r.imported).
		SetFailedDeliveries(r.failed).SetNeverSent(r.neverSent).SetRedeliveryRequested(r.redelivered).
		SetFindingCount(findings).SetComponents(componentsJSON(r.parts)).SetStats(r.stats)
	if score != nil && runErr == nil {
		up.SetHealthScore(*score)
	}
	if errText != "" {
		up.SetError(errText)
	}
	rec, err := up.Save(fctx)
	if err != nil {
		return rec, fmt.Errorf("recording reconciliation end: %w", err)
	}
	s.reconcileRuns.WithLabelValues(string(status)).Inc()
	s.publish(ctx, live.ReconcileProgress, rec.ID)
	s.log.Info("reconciliation finished", "run", rec.ID, "status", status, "missing", r.missing, "imported", r.imported,
		"failed_deliveries", r.failed, "never_sent", r.neverSent, "findings", findings, "health", scoreValue(rec.HealthScore), "err", errText)
	return rec, runErr
}

// scoreValue is a score for a log line: its value, or null when there is
// none (never the pointer).
func scoreValue(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (r *run) steps(ctx context.Context, prog Progress) error {
	prog.SetTotal(5)
	steps := []struct {
		stage string
		fn    func(context.Context) error
	}{
		{"comparing events with Dwolla", r.missingEvents},
		{"checking webhook deliveries", r.deliveries},
		{"analysing duplicates", r.duplicates},
		{"checking stuck and dead-lettered events", r.consistency},
		{"checking journeys", r.journeys},
	}
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		prog.Stage(st.stage)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.stage, err)
		}
		prog.Add(1, 0)
		r.s.publish(ctx, live.ReconcileProgress, r.rec.ID)
	}
	return nil
}

// missingEvents lists Dwolla's events in the window and imports those
// hooklens lacks, each recorded as a finding.
func (r *run) missingEvents(ctx context.Context) error {
	if r.s.opts.Client == nil {
		r.parts = append(r.parts, unavailable("events_complete", "Dwolla API credentials are not configured"))
		return nil
	}
	var batch []dwolla.APIEvent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids := make([]string, 0, len(batch))
		for _, ae := range batch {
			ids = append(ids, ae.Event.ID)
		}
		have, err := r.s.existing(ctx, ids)
		if err != nil {
			return err
		}
		var lacking []dwolla.APIEvent
		for _, ae := range batch {
			if !have[ae.Event.ID] {
				lacking = append(lacking, ae)
			}
		}
		batch = batch[:0]
		if len(lacking) == 0 {
			return nil
		}
		imported, _, err := r.s.importEvents(ctx, "reconcile", lacking)
		if err != nil {
			return err
		}
		done := map[string]bool{}
		for _, st := range imported {
			done[st.EventID] = true
		}
		for _, ae := range lacking {
			ev := ae.Event
			r.missing++
			detail := fmt.Sprintf("Dwolla has event %s (%s, created %s) but no webhook brought it", ev.ID, ev.Topic, ev.Created.Format(time.RFC3339))
			f := finding{kind: reconciliationfinding.KindMissingEvent, severity: reconciliationfinding.SeverityWarning,
				subject: ev.ID, topic: ev.Topic, resource: ev.ResourceID, detail: detail,
				data: map[string]any{"created": ev.Created}}
			if done[ev.ID] {
				r.imported++
				f.detail += "; imported"
				f.autoResolve = "imported from the Events API"
			}
			if err := r.record(ctx, f); err != nil {
				return err
			}
		}
		return nil
	}
	for ae, err := range r.s.opts.Client.EventsSince(ctx, r.from, pageSize) {
		if err != nil {
			return err
		}
		if ae.Err != nil || ae.Event == nil {
			continue
		}
		if ae.Event.Created.After(r.to) {
			continue // too recent: its delivery may be in flight
		}
		r.dwollaEvents++
		batch = append(batch, ae)
		if len(batch) >= 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	r.parts = append(r.parts, ratio("events_complete", r.dwollaEvents-r.missing, r.dwollaEvents,
		fmt.Sprintf("%d of %d events Dwolla lists in the window were here before this run", r.dwollaEvents-r.missing, r.dwollaEvents)))
	return nil
}

// existing says which of ids are stored.
func (s *Service) existing(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind("SELECT event_id FROM webhook_events WHERE event_id IN ("+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("checking stored events: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Subscription finds our webhook subscription: the one delivering to the
// configured webhook URL, or the account's only one.
func (s *Service) Subscription(ctx context.Context) (*dwolla.WebhookSubscription, error) {
	if s.opts.Client == nil {
		return nil, ErrNotConfigured
	}
	list, err := s.opts.Client.ListWebhookSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	subs := list.Embedded.Subscriptions
	for i := range subs {
		if SameURL(subs[i].URL, s.opts.WebhookURL) {
			return &subs[i], nil
		}
	}
	if len(subs) == 1 {
		return &subs[0], nil
	}
	return nil, nil
}

// SameURL reports whether two webhook URLs name the same endpoint: scheme
// and host compared without case, paths without trailing slashes.
func SameURL(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

// deliveries checks our subscription and its webhooks in the window.
func (r *run) deliveries(ctx context.Context) error {
	if r.s.opts.Client == nil {
		r.parts = append(r.parts, unavailable("deliveries_succeeding", "Dwolla API credentials are not configured"),
			unavailable("subscription_active", "Dwolla API credentials are not configured"))
		return nil
	}
	sub, err := r.s.Subscription(ctx)
	if err != nil {
		return err
	}
	if sub == nil {
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindSubscriptionPaused, severity: reconciliationfinding.SeverityCritical,
			subject: r.s.opts.WebhookURL, detail: "no webhook subscription delivers to " + r.s.opts.WebhookURL + ": nothing is being sent here (hooklens dwolla subscribe)"}); err != nil {
			return err
		}
		r.parts = append(r.parts, Component{Name: "subscription_active", Weight: weights["subscription_active"], Score: 0, Available: true,
			Note: "no subscription delivers to " + r.s.opts.WebhookURL},
			unavailable("deliveries_succeeding", "no subscription to inspect"))
		return nil
	}
	r.stats["subscriptionId"] = sub.ID
	if sub.Paused {
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindSubscriptionPaused, severity: reconciliationfinding.SeverityCritical,
			subject: sub.ID, detail: "the webhook subscription is paused: Dwolla records webhooks but sends none (unpause with hooklens dwolla unpause, then redeliver)"}); err != nil {
			return err
		}
		r.parts = append(r.parts, Component{Name: "subscription_active", Weight: weights["subscription_active"], Score: 0, Available: true, Note: "paused"})
	} else {
		r.parts = append(r.parts, Component{Name: "subscription_active", Weight: weights["subscription_active"], Score: 1, Available: true, Note: "active"})
	}
	have := map[string]bool{}
	total, ok := 0, 0
	start := r.from.Format("2006-01-02")
	for wh, err := range r.s.opts.Client.Webhooks(ctx, sub.ID, dwolla.WebhookListOptions{StartDate: r.from, Limit: 200}) {
		if err != nil {
			return err
		}
		total++
		switch {
		case wh.Delivered():
			ok++
			r.observe(reconciliationfinding.KindFailedDelivery, wh.ID, false)
			r.observe(reconciliationfinding.KindNeverSent, wh.ID, false)
		case wh.NeverSent():
			r.neverSent++
			if err := r.deliveryFinding(ctx, wh, reconciliationfinding.KindNeverSent, have); err != nil {
				return err
			}
		default:
			r.failed++
			if err := r.deliveryFinding(ctx, wh, reconciliationfinding.KindFailedDelivery, have); err != nil {
				return err
			}
		}
	}
	r.parts = append(r.parts, ratio("deliveries_succeeding", ok, total,
		fmt.Sprintf("%d of %d webhooks to our subscription since %s were delivered", ok, total, start)))
	return r.resolveUnseen(ctx, reconciliationfinding.KindFailedDelivery, reconciliationfinding.KindNeverSent)
}

func (r *run) deliveryFinding(ctx context.Context, wh dwolla.Webhook, kind reconciliationfinding.Kind, have map[string]bool) error {
	stored, err := r.s.existing(ctx, []string{wh.EventID})
	if err != nil {
		return err
	}
	sev := reconciliationfinding.SeverityWarning
	what := "failed"
	if kind == reconciliationfinding.KindNeverSent {
		what = "was never sent (the subscription was paused)"
	} else if n := len(wh.Attempts); n > 0 {
		last := wh.Attempts[n-1]
		what = fmt.Sprintf("failed %d time(s)", n)
		if last.Response != nil && last.Response.StatusCode > 0 {
			what += fmt.Sprintf(", last with HTTP %d", last.Response.StatusCode)
		} else {
			what += ", last without an answer"
		}
	}
	detail := fmt.Sprintf("webhook %s for event %s (%s) %s", wh.ID, wh.EventID, wh.Topic, what)
	if stored[wh.EventID] {
		sev = reconciliationfinding.SeverityInfo
		detail += "; the event is here anyway (imported or delivered otherwise)"
	}
	data := map[string]any{"eventId": wh.EventID, "attempts": len(wh.Attempts)}
	if r.s.opts.AutoRedeliver {
		if _, err := r.s.opts.Client.RetryWebhook(ctx, wh.ID); err != nil {
			detail += "; asking Dwolla to redeliver failed: " + err.Error()
		} else {
			r.redelivered++
			detail += "; redelivery requested"
			data["redeliveryRequested"] = true
		}
	}
	return r.record(ctx, finding{kind: kind, severity: sev, subject: wh.ID, topic: wh.Topic, detail: detail, data: data})
}

// duplicates analyses duplicate deliveries in the window from hooklens' own
// records.
func (r *run) duplicates(ctx context.Context) error {
	var accepted, dups, multi, maxCount int
	err := r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END), 0)
		FROM webhook_deliveries WHERE received_at >= ? AND received_at < ?`), r.from, r.now).Scan(&accepted, &dups)
	if err != nil {
		return fmt.Errorf("counting deliveries: %w", err)
	}
	err = r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT COUNT(*), COALESCE(MAX(delivery_count), 0)
		FROM webhook_events WHERE received_at >= ? AND delivery_count > 1`), r.from).Scan(&multi, &maxCount)
	if err != nil {
		return fmt.Errorf("counting duplicated events: %w", err)
	}
	rate := 0.0
	if accepted+dups > 0 {
		rate = float64(dups) / float64(accepted+dups)
	}
	r.stats["deliveriesAccepted"] = accepted
	r.stats["deliveriesDuplicate"] = dups
	r.stats["duplicateRate"] = rate
	r.stats["eventsDeliveredMoreThanOnce"] = multi
	r.stats["maxDeliveriesOfOneEvent"] = maxCount
	// Dwolla duplicates now and then; a high share means our answers are
	// slow (Dwolla retries what it thinks failed).
	if accepted+dups >= 100 && rate > 0.05 {
		return r.record(ctx, finding{kind: reconciliationfinding.KindDuplicateDeliveries, severity: reconciliationfinding.SeverityInfo,
			subject: "window", detail: fmt.Sprintf("%.1f%% of %d deliveries in the window were duplicates (%d events came more than once, one %d times): Dwolla may be retrying because our answers are slow",
				100*rate, accepted+dups, multi, maxCount), data: map[string]any{"rate": rate}})
	}
	return r.resolveUnseen(ctx, reconciliationfinding.KindDuplicateDeliveries)
}

// consistency finds events stuck in the queue and dead-lettered events.
func (r *run) consistency(ctx context.Context) error {
	stuckBefore := r.now.Add(-r.s.opts.StuckAfter)
	var inWindow, stuck, dead int
	if err := r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT COUNT(*) FROM webhook_events WHERE received_at >= ?`), r.from).Scan(&inWindow); err != nil {
		return err
	}
	staleList, err := r.s.db.StaleQueued(ctx, stuckBefore, r.now, maxFindingsPerKind)
	if err != nil {
		return err
	}
	for _, e := range staleList {
		stuck++
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindStuckEvent, severity: reconciliationfinding.SeverityWarning,
			subject: e.EventID, topic: e.Topic, detail: fmt.Sprintf("event %s (%s) has been queued for over %s (attempts: %d)", e.EventID, e.Topic, r.s.opts.StuckAfter, e.Attempts)}); err != nil {
			return err
		}
	}
	deads, allDead, err := r.s.db.DeadLetters(ctx, maxFindingsPerKind)
	if err != nil {
		return err
	}
	for _, e := range deads {
		dead++
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindDeadLettered, severity: reconciliationfinding.SeverityWarning,
			subject: e.EventID, topic: e.Topic, detail: fmt.Sprintf("event %s (%s) was dead-lettered after %d attempts: %s (replay it once fixed)", e.EventID, e.Topic, e.Attempts, e.LastError)}); err != nil {
			return err
		}
	}
	r.stats["stuckEvents"] = stuck
	r.stats["deadLettered"] = allDead
	bad := stuck + allDead
	denom := max(inWindow, bad)
	r.parts = append(r.parts, ratio("processing", denom-bad, denom,
		fmt.Sprintf("%d stuck and %d dead-lettered events against %d received in the window", stuck, allDead, inWindow)))

	depth, err := r.s.db.QueueDepth(ctx)
	if err != nil {
		return err
	}
	var oldest any
	if !depth.OldestQueued.IsZero() {
		oldest = depth.OldestQueued
	}
	r.parts = append(r.parts, freshness(oldest, r.now))
	return r.resolveUnseen(ctx, reconciliationfinding.KindStuckEvent, reconciliationfinding.KindDeadLettered)
}

// journeyCheckLimit bounds the journeys one run re-derives.
const journeyCheckLimit = 500

// journeys re-derives recently changed journeys from their events and
// repairs any whose stored state disagrees.
func (r *run) journeys(ctx context.Context) error {
	if r.s.tracker == nil {
		return nil
	}
	checked, bad, err := r.s.tracker.Check(ctx, r.from, r.now, journeyCheckLimit)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		if _, err := r.s.tracker.Repair(ctx, bad, r.now); err != nil {
			return fmt.Errorf("repairing journeys: %w", err)
		}
	}
	for _, b := range bad {
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindJourneyInconsistent, severity: reconciliationfinding.SeverityWarning,
			subject: b.Definition + "/" + b.Key, resource: b.Key,
			detail: fmt.Sprintf("journey %s/%s was stored %s with %d events but its events say %s with %d; re-evaluated",
				b.Definition, b.Key, b.StoredStatus, b.StoredCount, b.ComputedStatus, b.ComputedCount),
			autoResolve: "re-evaluated from its events"}); err != nil {
			return err
		}
	}
	r.stats["journeysChecked"] = checked
	r.stats["journeysInconsistent"] = len(bad)
	r.parts = append(r.parts, ratio("journeys_consistent", checked-len(bad), checked,
		fmt.Sprintf("%d of %d recently changed journeys matched their events", checked-len(bad), checked)))
	return nil
}
