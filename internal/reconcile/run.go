package reconcile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
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
	// created holds the creation time of every event Dwolla listed from
	// the window's start, including those too recent to judge; a webhook
	// is judged only when its event was created before the grace period.
	created map[string]time.Time

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
		stats: map[string]any{}, created: map[string]time.Time{},
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
		r.created[ae.Event.ID] = ae.Event.Created
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
	if err := r.resolveArrived(ctx); err != nil {
		return err
	}
	r.parts = append(r.parts, ratio("events_complete", r.dwollaEvents-r.missing, r.dwollaEvents,
		fmt.Sprintf("%d of %d events Dwolla lists in the window were here before this run", r.dwollaEvents-r.missing, r.dwollaEvents)))
	return nil
}

// resolveArrived closes missing-event findings whose event is stored now
// (imported later, or delivered after all).
func (r *run) resolveArrived(ctx context.Context) error {
	open, err := r.s.db.Client.ReconciliationFinding.Query().Where(
		reconciliationfinding.KindEQ(reconciliationfinding.KindMissingEvent), reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen),
	).All(ctx)
	if err != nil || len(open) == 0 {
		return err
	}
	ids := make([]string, len(open))
	for i, f := range open {
		ids[i] = f.Subject
	}
	have, err := r.s.existing(ctx, ids)
	if err != nil {
		return err
	}
	for _, f := range open {
		if !have[f.Subject] {
			continue
		}
		if err := r.resolve(ctx, f.ID, fmt.Sprintf("the event is here now (seen by run %d)", r.rec.ID)); err != nil {
			return err
		}
	}
	return nil
}

// resolve closes one finding automatically.
func (r *run) resolve(ctx context.Context, id int, note string) error {
	return r.s.db.Client.ReconciliationFinding.UpdateOneID(id).
		SetStatus(reconciliationfinding.StatusResolved).SetAutoResolved(true).
		SetResolvedAt(r.now).SetResolvedBy("auto").SetResolutionNote(note).Exec(ctx)
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
			Note: "no subscription delivers to " + r.s.opts.WebhookURL, Cap: capAt(capSubscription)},
			unavailable("deliveries_succeeding", "no subscription to inspect"))
		return r.resolveUnseen(ctx, reconciliationfinding.KindSubscriptionPaused)
	}
	r.stats["subscriptionId"] = sub.ID
	if sub.Paused {
		if err := r.record(ctx, finding{kind: reconciliationfinding.KindSubscriptionPaused, severity: reconciliationfinding.SeverityCritical,
			subject: sub.ID, detail: "the webhook subscription is paused: Dwolla records webhooks but sends none (unpause with hooklens dwolla unpause, then redeliver)"}); err != nil {
			return err
		}
		r.parts = append(r.parts, Component{Name: "subscription_active", Weight: weights["subscription_active"], Score: 0, Available: true,
			Note: "paused", Cap: capAt(capSubscription)})
	} else {
		r.parts = append(r.parts, Component{Name: "subscription_active", Weight: weights["subscription_active"], Score: 1, Available: true, Note: "active"})
	}
	// The subscription is active or paused now: a finding about another
	// state (paused, or missing) has ended.
	if err := r.resolveUnseen(ctx, reconciliationfinding.KindSubscriptionPaused); err != nil {
		return err
	}
	have := map[string]bool{}
	total, ok, inFlight := 0, 0, 0
	start := r.from.Format("2006-01-02")
	for wh, err := range r.s.opts.Client.Webhooks(ctx, sub.ID, dwolla.WebhookListOptions{StartDate: r.from, Limit: 200}) {
		if err != nil {
			return err
		}
		if !wh.Delivered() {
			judge, err := r.settled(ctx, wh.EventID)
			if err != nil {
				return err
			}
			if !judge {
				// Its event is younger than the grace period: the webhook
				// may still be on its way, as a missing event may.
				inFlight++
				continue
			}
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
	r.stats["webhooksInFlight"] = inFlight
	r.parts = append(r.parts, ratio("deliveries_succeeding", ok, total,
		fmt.Sprintf("%d of %d webhooks to our subscription since %s were delivered (%d younger than the %s grace period not judged)",
			ok, total, start, inFlight, r.s.opts.Grace)))
	return r.resolveUnseen(ctx, reconciliationfinding.KindFailedDelivery, reconciliationfinding.KindNeverSent)
}

// settled reports whether the event of an undelivered webhook was created
// before the run's grace period, so the webhook's failure is final enough
// to report. The creation time comes from Dwolla's listing or, for an
// event created before the window, from the stored event; an event in
// neither is newer than the listing, so in flight.
func (r *run) settled(ctx context.Context, eventID string) (bool, error) {
	if c, ok := r.created[eventID]; ok {
		return !c.After(r.to), nil
	}
	var created any
	err := r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind("SELECT created_at FROM webhook_events WHERE event_id = ?"), eventID).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading an event's creation time: %w", err)
	}
	c, err := store.ScanTime(created)
	if err != nil {
		return false, err
	}
	return !c.After(r.to), nil
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
// records. A delivery answered "duplicate" is one of two things: Dwolla
// sending an event again (a redelivery: Dwolla retries what it thinks
// failed, or a retry someone asked for), or the first webhook of an event
// that a sync or reconciliation imported before its webhook came. Only the
// first says anything about our answers; they are counted apart.
func (r *run) duplicates(ctx context.Context) error {
	d, err := analytics.CountDuplicates(ctx, r.s.db, r.from, r.now)
	if err != nil {
		return err
	}
	var multi, maxCount int
	err = r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT COUNT(*), COALESCE(MAX(delivery_count), 0)
		FROM webhook_events WHERE received_at >= ? AND delivery_count > 1`), r.from).Scan(&multi, &maxCount)
	if err != nil {
		return fmt.Errorf("counting duplicated events: %w", err)
	}
	rate := d.RedeliveryRate()
	r.stats["deliveriesAccepted"] = d.Accepted
	r.stats["deliveriesDuplicate"] = d.Duplicates
	r.stats["redeliveries"] = d.Redeliveries
	r.stats["deliveriesAfterImport"] = d.AfterImport
	r.stats["duplicateRate"] = rate
	r.stats["eventsDeliveredMoreThanOnce"] = multi
	r.stats["maxDeliveriesOfOneEvent"] = maxCount
	// Dwolla redelivers now and then; a high share means our answers are
	// slow or failing (Dwolla retries what it thinks failed).
	if d.Accepted+d.Duplicates >= 100 && rate > 0.05 {
		detail := fmt.Sprintf("%.1f%% of %d webhook deliveries in the window were redeliveries of an event already here (%d events came more than once, one %d times): Dwolla may be retrying because our answers are slow",
			100*rate, d.Accepted+d.Duplicates, multi, maxCount)
		if d.AfterImport > 0 {
			detail += fmt.Sprintf("; another %d duplicates were first webhooks of events a sync or reconciliation had imported, which is expected", d.AfterImport)
		}
		r.observe(reconciliationfinding.KindDuplicateDeliveries, "window", true)
		return r.record(ctx, finding{kind: reconciliationfinding.KindDuplicateDeliveries, severity: reconciliationfinding.SeverityInfo,
			subject: "window", detail: detail,
			data: map[string]any{"rate": rate, "redeliveries": d.Redeliveries, "afterImport": d.AfterImport}})
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
	proc := ratio("processing", denom-bad, denom,
		fmt.Sprintf("%d stuck and %d dead-lettered events against %d received in the window", stuck, allDead, inWindow))
	if allDead > 0 {
		proc.Cap = countCap(allDead, capDeadLetteredTop, capDeadLetteredFloor)
		proc.Note += fmt.Sprintf("; dead letters cap the score at %.0f", *proc.Cap)
	}
	r.parts = append(r.parts, proc)
	if err := r.signatures(ctx); err != nil {
		return err
	}
	if err := r.stuckJourneys(ctx); err != nil {
		return err
	}

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

// signatures scores the deliveries hooklens rejected for their signature
// in the window. Dwolla retries a rejected webhook and then gives up, so an
// instance with a wrong secret loses every event while answering quickly.
func (r *run) signatures(ctx context.Context) error {
	var good, badSig int
	err := r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN outcome IN ('accepted', 'duplicate') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN outcome = 'bad_signature' THEN 1 ELSE 0 END), 0)
		FROM webhook_deliveries WHERE received_at >= ? AND received_at < ?`), r.from, r.now).Scan(&good, &badSig)
	if err != nil {
		return fmt.Errorf("counting rejected signatures: %w", err)
	}
	// The cap looks at the latest deliveries: a secret that went wrong an
	// hour ago hides among a day of good deliveries in the window's share.
	var recentBad, recent int
	err = r.s.db.Read.QueryRowContext(ctx, r.s.db.Rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'bad_signature' THEN 1 ELSE 0 END), 0)
		FROM (SELECT outcome FROM webhook_deliveries WHERE received_at >= ? AND received_at < ?
		      AND outcome IN ('accepted', 'duplicate', 'bad_signature') ORDER BY received_at DESC LIMIT ?) latest`),
		r.from, r.now, recentSignatureDeliveries).Scan(&recent, &recentBad)
	if err != nil {
		return fmt.Errorf("counting rejected signatures: %w", err)
	}
	r.stats["badSignatures"] = badSig
	c := ratio("signatures_valid", good, good+badSig,
		fmt.Sprintf("%d of %d deliveries in the window had a valid signature", good, good+badSig))
	if recentBad >= minSignatureDeliveries && float64(recentBad) >= badSignatureShare*float64(recent) {
		c.Cap = capAt(capBadSignatures)
		c.Note += fmt.Sprintf("; %d of the latest %d deliveries were rejected (a wrong webhook secret?), capping the score at %.0f",
			recentBad, recent, capBadSignatures)
	}
	r.parts = append(r.parts, c)
	return nil
}

// stuckJourneys scores the open journeys that are stuck: a step overdue.
func (r *run) stuckJourneys(ctx context.Context) error {
	var open, stuck int
	err := r.s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'stuck' THEN 1 ELSE 0 END), 0)
		FROM journey_instances WHERE status IN ('active', 'stuck')`).Scan(&open, &stuck)
	if err != nil {
		return fmt.Errorf("counting stuck journeys: %w", err)
	}
	r.stats["stuckJourneys"] = stuck
	c := ratio("journeys_progressing", open-stuck, open, fmt.Sprintf("%d of %d open journeys are stuck", stuck, open))
	if stuck >= stuckJourneysForCap {
		c.Cap = countCap(stuck, capStuckTop, capStuckFloor)
		c.Note += fmt.Sprintf("; %d or more stuck journeys cap the score at %.0f", stuckJourneysForCap, *c.Cap)
	}
	r.parts = append(r.parts, c)
	return nil
}

// journeyCheckLimit bounds the journeys one run re-derives.
const journeyCheckLimit = 500

// journeys re-derives recently changed journeys from their events and
// repairs any whose stored state disagrees.
func (r *run) journeys(ctx context.Context) error {
	if r.s.tracker == nil {
		return nil
	}
	// The pipeline's watermark: the check must compare journeys with
	// events the pipeline has finished with. A journey the pipeline is
	// about to update (a redelivery or an import still queued) is not
	// inconsistent, only behind; so a disagreement counts only if it
	// survives until the pipeline has passed the moment of the first check,
	// and a second check.
	mark := r.s.opts.Now().UTC()
	checked, bad, err := r.s.tracker.Check(ctx, r.from, r.now, journeyCheckLimit)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		passed, err := r.s.waitPipeline(ctx, mark)
		if err != nil {
			return err
		}
		if !passed {
			r.stats["journeysNotRechecked"] = len(bad)
			r.parts = append(r.parts, ratio("journeys_consistent", checked, checked,
				fmt.Sprintf("%d recently changed journeys checked; %d disagreed while the pipeline was still busy, so none was judged", checked, len(bad))))
			return nil
		}
		_, again, err := r.s.tracker.Check(ctx, r.from, r.s.opts.Now().UTC(), journeyCheckLimit)
		if err != nil {
			return err
		}
		bad = stillBad(bad, again)
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

// stillBad keeps the inconsistencies found by both checks.
func stillBad(first, second []tracker.Inconsistency) []tracker.Inconsistency {
	seen := make(map[int]bool, len(second))
	for _, b := range second {
		seen[b.ID] = true
	}
	var out []tracker.Inconsistency
	for _, b := range first {
		if seen[b.ID] {
			out = append(out, b)
		}
	}
	return out
}

// pipelineWait bounds how long a check waits for the pipeline to pass its
// watermark; a busier pipeline leaves the journeys unjudged this run.
const pipelineWait = 30 * time.Second

// waitPipeline waits until every event received at or before mark has left
// the queue (processed or dead-lettered), polling, for at most
// pipelineWait. It reports whether the pipeline got there.
func (s *Service) waitPipeline(ctx context.Context, mark time.Time) (bool, error) {
	deadline := time.Now().Add(pipelineWait)
	for {
		pending, err := s.db.QueuedThrough(ctx, mark)
		if err != nil {
			return false, fmt.Errorf("reading the pipeline's watermark: %w", err)
		}
		if pending == 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		s.opts.Wake()
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
