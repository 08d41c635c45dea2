package alert

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/alertrule"
	"github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/ent/syncrun"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/rollup"
)

// observation is what a rule's condition looks like now.
type observation struct {
	holds     bool
	value     *float64 // nil when there is nothing to measure
	title     string   // one line, with the figure
	message   string   // what it means and what to do
	anomalyID int      // the most severe matching anomaly, for the anomaly condition
}

// facts caches the Facts answers for one evaluation: every rule sees the
// same pipeline status, and it is asked for at most once.
type facts struct {
	src       Facts
	status    *pipeline.Status
	statusErr error
	sub       *SubscriptionState
	subErr    error
}

func (f *facts) pipeline(ctx context.Context) (pipeline.Status, error) {
	if f.status == nil && f.statusErr == nil {
		st, err := f.src.PipelineStatus(ctx)
		f.status, f.statusErr = &st, err
		if err != nil {
			f.statusErr = fmt.Errorf("reading the pipeline status: %w", err)
		}
	}
	return *f.status, f.statusErr
}

func (f *facts) subscription(ctx context.Context) (SubscriptionState, error) {
	if f.sub == nil && f.subErr == nil {
		st, err := f.src.Subscription(ctx)
		f.sub, f.subErr = &st, err
		if err != nil {
			f.subErr = fmt.Errorf("reading the Dwolla subscription state: %w", err)
		}
	}
	return *f.sub, f.subErr
}

// observe measures r's condition at now.
func (s *Service) observe(ctx context.Context, r *ent.AlertRule, now time.Time, f *facts) (observation, error) {
	switch r.Condition {
	case alertrule.ConditionProcessingErrorRate:
		return s.observeErrorRate(ctx, r, now)
	case alertrule.ConditionQueueAge:
		return observeQueueAge(ctx, r, now, f)
	case alertrule.ConditionStuckJourneys:
		return s.observeStuck(ctx, r, now)
	case alertrule.ConditionAnomaly:
		return s.observeAnomalies(ctx, r)
	case alertrule.ConditionBreakerOpen:
		return observeBreaker(ctx, f)
	case alertrule.ConditionSubscriptionPaused:
		return observeSubscription(ctx, f)
	case alertrule.ConditionSyncFailing:
		h, err := s.syncHistory(ctx)
		if err != nil {
			return observation{}, err
		}
		return observeRuns(r, now, h, "sync", "syncs", "imports from Dwolla's Events API"), nil
	case alertrule.ConditionReconciliationFailing:
		h, err := s.reconcileHistory(ctx)
		if err != nil {
			return observation{}, err
		}
		return observeRuns(r, now, h, "reconciliation", "reconciliations", "reconciliation runs"), nil
	case alertrule.ConditionHealthScore:
		return s.observeHealth(ctx, r, now)
	case alertrule.ConditionDeadLetters:
		return observeDeadLetters(ctx, r, f)
	}
	return observation{}, fmt.Errorf("unknown condition %q", r.Condition)
}

func ptr(v float64) *float64 { return &v }

func (s *Service) observeErrorRate(ctx context.Context, r *ent.AlertRule, now time.Time) (observation, error) {
	window := mustDuration(r.Window)
	granularity := "minute"
	if window > 24*time.Hour {
		granularity = "hour" // minute rows may be gone; hours cover long windows cheaply
	}
	from := rollup.Truncate(now.Add(-window), granularity)
	// Rollups count attempts in the bucket of the event's receipt, so this
	// is the failure rate of attempts on events received in the window.
	var processed, retried, dead float64
	err := s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT COALESCE(SUM(processed), 0), COALESCE(SUM(retried), 0),
		COALESCE(SUM(dead_lettered), 0) FROM metric_rollups WHERE granularity = ? AND bucket >= ? AND bucket <= ?`),
		granularity, from.UTC(), now.UTC()).Scan(&processed, &retried, &dead)
	if err != nil {
		return observation{}, fmt.Errorf("reading the processing rollups: %w", err)
	}
	attempts, failed := processed+retried+dead, retried+dead
	o := observation{}
	if attempts == 0 {
		o.title = "No processing attempts"
		o.message = fmt.Sprintf("No events received in the last %s were processed or failed.", fmtDuration(window))
		return o, nil
	}
	rate := 100 * failed / attempts
	o.value = ptr(math.Round(rate*100) / 100)
	minAttempts := paramInt(r, "min_attempts")
	o.holds = rate >= r.Threshold && attempts >= float64(minAttempts)
	o.title = fmt.Sprintf("%s of processing attempts failed", fmtPercent(rate))
	o.message = fmt.Sprintf("%.0f of %.0f processing attempts on events received in the last %s failed "+
		"(%.0f will be retried, %.0f were dead-lettered); the threshold is %s.",
		failed, attempts, fmtDuration(window), retried, dead, fmtPercent(r.Threshold))
	if attempts < float64(minAttempts) {
		o.message += fmt.Sprintf(" Fewer than %d attempts never fire this rule.", minAttempts)
	}
	if o.holds {
		o.message += " The events' last errors say why (events with processingState queued or failed)."
	}
	return o, nil
}

func observeQueueAge(ctx context.Context, r *ent.AlertRule, now time.Time, f *facts) (observation, error) {
	st, err := f.pipeline(ctx)
	if err != nil {
		return observation{}, err
	}
	age := time.Duration(0)
	if st.OldestQueued != nil {
		age = max(now.Sub(*st.OldestQueued), 0)
	}
	o := observation{value: ptr(math.Round(age.Seconds()))}
	o.holds = st.OldestQueued != nil && age.Seconds() >= r.Threshold
	if st.OldestQueued == nil {
		o.title = "Nothing is waiting to be processed"
		o.message = "The queue is empty."
		return o, nil
	}
	o.title = fmt.Sprintf("The oldest queued event has waited %s", fmtDuration(age))
	o.message = fmt.Sprintf("%d events are queued; the oldest was received %s ago (threshold %s). "+
		"Processing is %.1f events/s against %.1f received/s; the circuit breaker is %s.",
		st.QueueDepth, fmtDuration(age), fmtDuration(time.Duration(r.Threshold*float64(time.Second))),
		st.OutPerSecond, st.InPerSecond, st.Breaker)
	return o, nil
}

func (s *Service) observeStuck(ctx context.Context, r *ent.AlertRule, now time.Time) (observation, error) {
	window := mustDuration(r.Window)
	scope := paramString(r, "scope")
	q := s.client.JourneyInstance.Query().Where(journeyinstance.StatusEQ(journeyinstance.StatusStuck))
	if scope != "all" {
		q = q.Where(journeyinstance.StuckSinceGTE(now.Add(-window)))
	}
	if def := paramString(r, "definition"); def != "" {
		q = q.Where(journeyinstance.DefinitionKey(def))
	}
	var groups []struct {
		Key   string `json:"definition_key"`
		Count int    `json:"count"`
	}
	if err := q.GroupBy(journeyinstance.FieldDefinitionKey).Aggregate(ent.Count()).Scan(ctx, &groups); err != nil {
		return observation{}, fmt.Errorf("counting stuck journeys: %w", err)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Count != groups[j].Count {
			return groups[i].Count > groups[j].Count
		}
		return groups[i].Key < groups[j].Key
	})
	n := 0
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		n += g.Count
		parts = append(parts, fmt.Sprintf("%s %d", g.Key, g.Count))
	}
	o := observation{value: ptr(float64(n)), holds: float64(n) >= r.Threshold}
	if scope == "all" {
		o.title = fmt.Sprintf("%d journeys are stuck", n)
	} else {
		o.title = fmt.Sprintf("%d journeys became stuck in the last %s", n, fmtDuration(window))
	}
	o.message = fmt.Sprintf("%s (threshold %s).", o.title, fmtCount(r.Threshold))
	if n > 0 {
		o.message += " By journey: " + strings.Join(parts, ", ") + ". A stuck journey's current step outlived its time limit; " +
			"look at its timeline for the event that did not come."
	}
	return o, nil
}

// severityRank orders severities; higher is worse.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 2
	case "warning":
		return 1
	}
	return 0
}

func (s *Service) observeAnomalies(ctx context.Context, r *ent.AlertRule) (observation, error) {
	least := severityRank(paramString(r, "min_severity"))
	var sev []anomaly.Severity
	for _, v := range severities {
		if severityRank(v) >= least {
			sev = append(sev, anomaly.Severity(v))
		}
	}
	q := s.client.Anomaly.Query().Where(anomaly.StatusEQ(anomaly.StatusOpen), anomaly.SeverityIn(sev...))
	if t := paramString(r, "type"); t != "" {
		q = q.Where(anomaly.Type(t))
	}
	n, err := q.Clone().Count(ctx)
	if err != nil {
		return observation{}, fmt.Errorf("counting open anomalies: %w", err)
	}
	o := observation{value: ptr(float64(n)), holds: n > 0 && float64(n) >= r.Threshold}
	o.title = fmt.Sprintf("%d open anomalies", n)
	if n == 1 {
		o.title = "1 open anomaly"
	}
	o.message = fmt.Sprintf("%s at %s or above (threshold %s).", o.title, paramString(r, "min_severity"), fmtCount(r.Threshold))
	if n == 0 {
		return o, nil
	}
	list, err := q.Order(ent.Desc(anomaly.FieldLastSeenAt)).Limit(50).All(ctx)
	if err != nil {
		return observation{}, fmt.Errorf("reading open anomalies: %w", err)
	}
	sort.SliceStable(list, func(i, j int) bool {
		return severityRank(string(list[i].Severity)) > severityRank(string(list[j].Severity))
	})
	o.anomalyID = list[0].ID
	for i, a := range list[:min(3, len(list))] {
		subject := ""
		if a.Subject != "" {
			subject = " (" + a.Subject + ")"
		}
		o.message += fmt.Sprintf("\n%d. %s %s%s: %s", i+1, a.Severity, a.Type, subject, a.Explanation)
	}
	if len(list) > 3 {
		o.message += fmt.Sprintf("\n… and %d more.", n-3)
	}
	return o, nil
}

func observeBreaker(ctx context.Context, f *facts) (observation, error) {
	st, err := f.pipeline(ctx)
	if err != nil {
		return observation{}, err
	}
	o := observation{value: ptr(0)}
	if st.Breaker != "open" {
		o.title = "The pipeline's circuit breaker is " + st.Breaker
		o.message = o.title + "."
		return o, nil
	}
	o.holds, o.value = true, ptr(1)
	o.title = "The pipeline's circuit breaker is open"
	o.message = fmt.Sprintf("Processing is paused because the database keeps failing; webhooks are still received and stored "+
		"while the database takes writes. %d events are queued. Check the database's health and the server's log.", st.QueueDepth)
	return o, nil
}

func observeSubscription(ctx context.Context, f *facts) (observation, error) {
	sub, err := f.subscription(ctx)
	if err != nil {
		return observation{}, err
	}
	o := observation{value: ptr(0)}
	switch {
	case !sub.Known:
		o.title = "The Dwolla subscription's state is unknown"
		o.message = "hooklens has not checked its Dwolla webhook subscription (no API credentials, or no reconciliation yet)."
	case !sub.Paused:
		o.title = "The Dwolla webhook subscription is active"
		o.message = o.title + "."
	default:
		o.holds, o.value = true, ptr(1)
		o.title = "Dwolla paused the webhook subscription"
		o.message = fmt.Sprintf("Dwolla paused webhook subscription %s (checked %s): it records webhooks but sends none. "+
			"Fix what made deliveries fail, unpause it (hooklens dwolla unpause), then redeliver the webhooks that were not sent.",
			sub.ID, sub.CheckedAt.UTC().Format(time.RFC3339))
	}
	return o, nil
}

func observeDeadLetters(ctx context.Context, r *ent.AlertRule, f *facts) (observation, error) {
	st, err := f.pipeline(ctx)
	if err != nil {
		return observation{}, err
	}
	n := st.DeadLettered
	o := observation{value: ptr(float64(n)), holds: float64(n) >= r.Threshold}
	o.title = fmt.Sprintf("%d events are dead-lettered", n)
	if n == 1 {
		o.title = "1 event is dead-lettered"
	}
	o.message = fmt.Sprintf("%s: they failed their last processing attempt and are not processed again until replayed "+
		"(threshold %s). Fix the cause in their lastError, then replay them (replayEvents with processingState failed).",
		o.title, fmtCount(r.Threshold))
	return o, nil
}

// runHistory summarises the runs of a periodic task (sync, reconciliation).
type runHistory struct {
	any         bool       // at least one run was ever recorded
	consecutive int        // failed runs since the last success, newest first
	lastError   string     // the newest failure's error
	lastSuccess *time.Time // when the newest success finished
	firstRun    time.Time  // the oldest run's start
}

// historyLimit bounds the runs read to count consecutive failures.
const historyLimit = 100

func (s *Service) syncHistory(ctx context.Context) (runHistory, error) {
	var h runHistory
	first, err := s.client.SyncRun.Query().Order(ent.Asc(syncrun.FieldStartedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("reading sync runs: %w", err)
	}
	h.any, h.firstRun = true, first.StartedAt
	runs, err := s.client.SyncRun.Query().
		Where(syncrun.StatusIn(syncrun.StatusSucceeded, syncrun.StatusFailed)).
		Order(ent.Desc(syncrun.FieldStartedAt)).Limit(historyLimit).All(ctx)
	if err != nil {
		return h, fmt.Errorf("reading sync runs: %w", err)
	}
	for _, r := range runs {
		if r.Status == syncrun.StatusSucceeded {
			h.lastSuccess = finishedOrStarted(r.FinishedAt, r.StartedAt)
			return h, nil
		}
		if h.consecutive == 0 {
			h.lastError = r.Error
		}
		h.consecutive++
	}
	last, err := s.client.SyncRun.Query().Where(syncrun.StatusEQ(syncrun.StatusSucceeded)).
		Order(ent.Desc(syncrun.FieldStartedAt)).First(ctx)
	if err == nil {
		h.lastSuccess = finishedOrStarted(last.FinishedAt, last.StartedAt)
	} else if !ent.IsNotFound(err) {
		return h, fmt.Errorf("reading sync runs: %w", err)
	}
	return h, nil
}

func (s *Service) reconcileHistory(ctx context.Context) (runHistory, error) {
	var h runHistory
	first, err := s.client.ReconciliationRun.Query().Order(ent.Asc(reconciliationrun.FieldStartedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("reading reconciliation runs: %w", err)
	}
	h.any, h.firstRun = true, first.StartedAt
	runs, err := s.client.ReconciliationRun.Query().
		Where(reconciliationrun.StatusIn(reconciliationrun.StatusSucceeded, reconciliationrun.StatusFailed)).
		Order(ent.Desc(reconciliationrun.FieldStartedAt)).Limit(historyLimit).All(ctx)
	if err != nil {
		return h, fmt.Errorf("reading reconciliation runs: %w", err)
	}
	for _, r := range runs {
		if r.Status == reconciliationrun.StatusSucceeded {
			h.lastSuccess = finishedOrStarted(r.FinishedAt, r.StartedAt)
			return h, nil
		}
		if h.consecutive == 0 {
			h.lastError = r.Error
		}
		h.consecutive++
	}
	last, err := s.client.ReconciliationRun.Query().Where(reconciliationrun.StatusEQ(reconciliationrun.StatusSucceeded)).
		Order(ent.Desc(reconciliationrun.FieldStartedAt)).First(ctx)
	if err == nil {
		h.lastSuccess = finishedOrStarted(last.FinishedAt, last.StartedAt)
	} else if !ent.IsNotFound(err) {
		return h, fmt.Errorf("reading reconciliation runs: %w", err)
	}
	return h, nil
}

func finishedOrStarted(finished *time.Time, started time.Time) *time.Time {
	if finished != nil {
		return finished
	}
	return &started
}

// observeRuns applies a *_failing rule to a task's history. Cancelled and
// interrupted runs neither fail nor succeed; a task that never ran is
// quiet (it may not be configured).
func observeRuns(r *ent.AlertRule, now time.Time, h runHistory, one, many, what string) observation {
	window := mustDuration(r.Window)
	o := observation{value: ptr(float64(h.consecutive))}
	if !h.any {
		o.title = fmt.Sprintf("No %s has run", one)
		o.message = fmt.Sprintf("No %s has run yet; this rule stays quiet until one does.", one)
		return o
	}
	since := h.firstRun
	if h.lastSuccess != nil {
		since = *h.lastSuccess
	}
	quiet := now.Sub(since)
	failing := h.consecutive > 0 && float64(h.consecutive) >= r.Threshold
	stale := quiet > window
	o.holds = failing || stale
	switch {
	case failing:
		o.title = fmt.Sprintf("The last %d %s failed", h.consecutive, many)
		if h.consecutive == 1 {
			o.title = fmt.Sprintf("The last %s failed", one)
		}
	case stale && h.lastSuccess == nil:
		o.title = fmt.Sprintf("No %s has succeeded yet", one)
	case stale:
		o.title = fmt.Sprintf("No %s has succeeded for %s", one, fmtDuration(quiet))
	default:
		o.title = fmt.Sprintf("The last %s succeeded", one)
		if h.consecutive > 0 {
			o.title = fmt.Sprintf("%d %s failed since the last success", h.consecutive, many)
		}
	}
	var b strings.Builder
	b.WriteString(o.title + ".")
	switch {
	case stale:
		// the title already says how long
	case h.lastSuccess != nil:
		fmt.Fprintf(&b, " The last success finished %s ago.", fmtDuration(quiet))
	default:
		fmt.Fprintf(&b, " None has succeeded since the first run, %s ago.", fmtDuration(quiet))
	}
	fmt.Fprintf(&b, " The rule fires after %s in a row or %s without a success.",
		plural(r.Threshold, "failure", "failures"), fmtDuration(window))
	if h.lastError != "" {
		fmt.Fprintf(&b, " Latest error: %s", sentence(clip(h.lastError, 300)))
	}
	if o.holds {
		fmt.Fprintf(&b, " Look at the %s for details.", what)
	}
	o.message = b.String()
	return o
}

func (s *Service) observeHealth(ctx context.Context, r *ent.AlertRule, now time.Time) (observation, error) {
	window := mustDuration(r.Window)
	run, err := s.client.ReconciliationRun.Query().
		Where(reconciliationrun.StatusEQ(reconciliationrun.StatusSucceeded), reconciliationrun.HealthScoreNotNil(),
			reconciliationrun.StartedAtGTE(now.Add(-window))).
		Order(ent.Desc(reconciliationrun.FieldStartedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return observation{title: "No recent health score",
			message: fmt.Sprintf("No reconciliation in the last %s produced a health score.", fmtDuration(window))}, nil
	}
	if err != nil {
		return observation{}, fmt.Errorf("reading the latest health score: %w", err)
	}
	score := *run.HealthScore
	o := observation{value: ptr(score), holds: score < r.Threshold}
	o.title = fmt.Sprintf("Health score %s", fmtScore(score))
	if o.holds {
		o.title = fmt.Sprintf("Health score %s is below %s", fmtScore(score), fmtScore(r.Threshold))
	}
	o.message = fmt.Sprintf("The reconciliation started %s scored %s (threshold %s).",
		run.StartedAt.UTC().Format(time.RFC3339), fmtScore(score), fmtScore(r.Threshold))
	var weak []string
	for _, c := range run.Components {
		name, _ := c["name"].(string)
		sc, _ := c["score"].(float64)
		avail, _ := c["available"].(bool)
		if !avail || sc >= 1 {
			continue
		}
		part := fmt.Sprintf("%s %s", name, fmtPercent(100*sc))
		if note, _ := c["note"].(string); note != "" {
			part += " (" + clip(note, 120) + ")"
		}
		weak = append(weak, part)
	}
	if len(weak) > 0 {
		o.message += " Below full marks: " + strings.Join(weak, "; ") + "."
	}
	return o, nil
}

// Formatting of values in titles and messages.

func fmtPercent(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%.1f%%", v)
}

func fmtScore(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtCount(v float64) string { return fmtScore(v) }

// fmtDuration renders d for people: 45s, 6m12s, 3h5m, 2d4h.
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		m, sec := int(d.Minutes()), int(d.Seconds())%60
		if sec == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, sec)
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// fmtValue renders a rule's value in its condition's unit.
func fmtValue(condition string, v float64) string {
	c, _ := conditionByName(condition)
	switch c.Unit {
	case "percent":
		return fmtPercent(v)
	case "seconds":
		return fmtDuration(time.Duration(v * float64(time.Second)))
	}
	return fmtScore(v)
}

// plural renders a count with the right noun.
func plural(n float64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(n) + " " + many
}

// sentence ends s with a full stop unless it ends in punctuation.
func sentence(s string) string {
	if s == "" || strings.ContainsAny(s[len(s)-1:], ".!?…") {
		return s
	}
	return s + "."
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
