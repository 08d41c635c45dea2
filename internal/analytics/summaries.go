package analytics

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/predicate"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/usererr"
)

// defaultListLimit and maxListLimit bound the lists summaries carry.
const (
	defaultListLimit = 20
	maxListLimit     = 500
)

func listLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultListLimit, nil
	case n < 0 || n > maxListLimit:
		return 0, usererr.Field("limit", "limit must be between 1 and %d", maxListLimit)
	}
	return n, nil
}

// JourneysByStatus counts every journey by status.
func (s *Service) JourneysByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT status, COUNT(*) FROM journey_instances GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("counting journeys: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("counting journeys: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// OpenAnomaliesBySeverity counts the anomalies not resolved, by severity.
func (s *Service) OpenAnomaliesBySeverity(ctx context.Context) (map[string]int64, error) {
	ac, err := s.anomalyCounts(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"info": ac.Info, "warning": ac.Warning, "critical": ac.Critical}, nil
}

// JourneyFilter selects journeys for JourneySummary and exports. Set
// filters combine with AND.
type JourneyFilter struct {
	// From and To bound started_at; zero is unbounded (the summary
	// defaults to the last 24 hours).
	From, To time.Time
	// Definitions keeps these definition keys; Statuses these statuses.
	Definitions []string
	Statuses    []string
	// CustomerID keeps one customer's journeys.
	CustomerID string
	// Limit caps the Active and Stuck lists (default 20, at most 500).
	Limit int
}

var journeyStatuses = []string{"active", "completed", "failed", "stuck", "abandoned"}

func (f JourneyFilter) validate() error {
	for _, st := range f.Statuses {
		if !contains(journeyStatuses, st) {
			return usererr.Field("status", "unknown journey status %q (want %s)", st, strings.Join(journeyStatuses, ", "))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return usererr.Field("from", "from must be before to")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// JourneySummary is the journeys page: journeys started in the window by
// definition and status, and the open ones now.
type JourneySummary struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// ByStatus counts journeys started in the window.
	ByStatus     map[string]int64    `json:"byStatus"`
	ByDefinition []DefinitionSummary `json:"byDefinition"`
	// Open are the journeys active or stuck now (whenever they started).
	Open JourneyCounts `json:"open"`
	// Active lists the most recently moved active journeys; Stuck the
	// longest stuck first.
	Active []JourneyRow `json:"active"`
	Stuck  []JourneyRow `json:"stuck"`
}

// DefinitionSummary is one definition's journeys started in the window.
type DefinitionSummary struct {
	Definition string           `json:"definition"`
	Total      int64            `json:"total"`
	ByStatus   map[string]int64 `json:"byStatus"`
	// ByOutcome counts the ended journeys by outcome (completed,
	// cancelled, failed, returned, …).
	ByOutcome map[string]int64 `json:"byOutcome"`
	// SuccessRate is completed ÷ (completed + failed + abandoned), as in
	// journeyStats; nil when none finished.
	SuccessRate *float64 `json:"successRate"`
	// AvgDurationMS is Completion.AvgMS, kept for existing clients.
	AvgDurationMS *float64 `json:"avgDurationMs"`
	// Completion is journeyStats' completion: start → end of completed
	// journeys whose start was seen, and how many were left out.
	Completion CompletionSummary `json:"completion"`
}

// CompletionSummary is journey.DurationStats in milliseconds: the figures
// of GraphQL's journeyStats.completion, from the same query.
type CompletionSummary struct {
	// Count journeys measured; their mean and nearest-rank percentiles
	// (nil when none).
	Count int      `json:"count"`
	AvgMS *float64 `json:"avgMs"`
	P50MS *float64 `json:"p50Ms"`
	P90MS *float64 `json:"p90Ms"`
	// Unknown counts completed journeys left out: their first step was
	// never seen, so their duration is unknown.
	Unknown int `json:"unknown"`
}

func completionJSON(d journey.DurationStats) CompletionSummary {
	out := CompletionSummary{Count: d.Count, Unknown: d.Unknown}
	if d.Count > 0 {
		ms := func(x journey.Duration) *float64 { v := float64(time.Duration(x).Microseconds()) / 1000; return &v }
		out.AvgMS, out.P50MS, out.P90MS = ms(d.Avg), ms(d.P50), ms(d.P90)
	}
	return out
}

// JourneyRow is one journey in a list.
type JourneyRow struct {
	ID              int        `json:"id"`
	Definition      string     `json:"definition"`
	CorrelationKey  string     `json:"correlationKey"`
	Status          string     `json:"status"`
	CurrentStep     string     `json:"currentStep"`
	CurrentStepName string     `json:"currentStepName"`
	Progress        float64    `json:"progress"`
	StartedAt       time.Time  `json:"startedAt"`
	LastEventAt     time.Time  `json:"lastEventAt"`
	EndedAt         *time.Time `json:"endedAt"`
	DurationMS      *float64   `json:"durationMs"`
	StuckSince      *time.Time `json:"stuckSince"`
	EventCount      int        `json:"eventCount"`
	CustomerID      string     `json:"customerId"`
	ResourceID      string     `json:"resourceId"`
	Note            string     `json:"note"`
}

func journeyRow(j *ent.JourneyInstance) JourneyRow {
	return JourneyRow{
		ID: j.ID, Definition: j.DefinitionKey, CorrelationKey: j.CorrelationKey, Status: string(j.Status),
		CurrentStep: j.CurrentStep, CurrentStepName: j.CurrentStepName, Progress: j.Progress,
		StartedAt: j.StartedAt.UTC(), LastEventAt: j.LastEventAt.UTC(), EndedAt: utcp(j.EndedAt), DurationMS: j.DurationMs,
		StuckSince: utcp(j.StuckSince), EventCount: j.EventCount, CustomerID: j.CustomerID, ResourceID: j.ResourceID, Note: j.Note,
	}
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// JourneySummary summarises journeys started in the filter's window (the
// last 24 hours by default) and lists the open ones.
func (s *Service) JourneySummary(ctx context.Context, f JourneyFilter) (*JourneySummary, error) {
	start := time.Now()
	defer func() { s.m.observe("journeys", start) }()
	if err := f.validate(); err != nil {
		return nil, err
	}
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if f.To.IsZero() {
		f.To = now
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-24 * time.Hour)
	}
	out := &JourneySummary{From: f.From.UTC(), To: f.To.UTC(), ByStatus: map[string]int64{}}
	where := []string{"started_at >= ?", "started_at < ?"}
	args := []any{f.From.UTC(), f.To.UTC()}
	var preds []predicate.JourneyInstance
	if len(f.Definitions) > 0 {
		where = append(where, "definition_key IN ("+placeholders(len(f.Definitions))+")")
		for _, d := range f.Definitions {
			args = append(args, d)
		}
		preds = append(preds, journeyinstance.DefinitionKeyIn(f.Definitions...))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = ?")
		args = append(args, strings.ToLower(f.CustomerID))
		preds = append(preds, journeyinstance.CustomerID(strings.ToLower(f.CustomerID)))
	}
	statusWhere, statusArgs := where, args
	if len(f.Statuses) > 0 {
		statusWhere = append(append([]string(nil), where...), "status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			statusArgs = append(append([]any(nil), statusArgs...), st)
		}
	}
	var counts statusCounts
	var completion map[string]journey.DurationStats
	err = s.parallel(ctx,
		func() (err error) {
			counts, err = s.statusCounts(ctx, strings.Join(statusWhere, " AND "), statusArgs)
			return err
		},
		func() (err error) {
			completion, err = s.completionStats(ctx, strings.Join(statusWhere, " AND "), statusArgs)
			return err
		},
		func() (err error) { out.Open, err = s.journeyCounts(ctx); return err },
		func() error {
			rows, err := s.db.Client.JourneyInstance.Query().
				Where(append(preds, journeyinstance.StatusEQ(journeyinstance.StatusActive))...).
				Order(ent.Desc(journeyinstance.FieldLastEventAt), ent.Desc(journeyinstance.FieldID)).
				Limit(limit).All(ctx)
			if err != nil {
				return fmt.Errorf("listing active journeys: %w", err)
			}
			for _, j := range rows {
				out.Active = append(out.Active, journeyRow(j))
			}
			return nil
		},
		func() error {
			rows, err := s.db.Client.JourneyInstance.Query().
				Where(append(preds, journeyinstance.StatusEQ(journeyinstance.StatusStuck))...).
				Order(ent.Asc(journeyinstance.FieldStuckSince), ent.Asc(journeyinstance.FieldID)).
				Limit(limit).All(ctx)
			if err != nil {
				return fmt.Errorf("listing stuck journeys: %w", err)
			}
			for _, j := range rows {
				out.Stuck = append(out.Stuck, journeyRow(j))
			}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	for def, byStatus := range counts.byStatus {
		d := DefinitionSummary{Definition: def, ByStatus: byStatus, ByOutcome: counts.byOutcome[def]}
		for st, n := range byStatus {
			d.Total += n
			out.ByStatus[st] += n
		}
		c, fl, ab := byStatus["completed"], byStatus["failed"], byStatus["abandoned"]
		d.SuccessRate = ratio(float64(c), float64(c+fl+ab))
		d.Completion = completionJSON(completion[def])
		d.AvgDurationMS = d.Completion.AvgMS
		out.ByDefinition = append(out.ByDefinition, d)
	}
	sort.Slice(out.ByDefinition, func(i, j int) bool { return out.ByDefinition[i].Definition < out.ByDefinition[j].Definition })
	if out.Active == nil {
		out.Active = []JourneyRow{}
	}
	if out.Stuck == nil {
		out.Stuck = []JourneyRow{}
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// AnomalyFilter selects anomalies. Set filters combine with AND.
type AnomalyFilter struct {
	// Statuses keeps open, acknowledged and/or resolved (default: open and
	// acknowledged).
	Statuses []string
	// Severities keeps info, warning and/or critical.
	Severities []string
	// Types keeps these anomaly types (volume_spike, failure_rate, …).
	Types []string
	// From and To bound first_seen_at; zero is unbounded.
	From, To time.Time
	// Limit caps the list (default 20, at most 500).
	Limit int
}

// AnomalySummary is the anomalies page.
type AnomalySummary struct {
	Open         int64 `json:"open"`
	Acknowledged int64 `json:"acknowledged"`
	Critical     int64 `json:"critical"`
	// ResolvedLast24h counts anomalies resolved in the last 24 hours.
	ResolvedLast24h int64 `json:"resolvedLast24h"`
	// ByType counts the anomalies not resolved, by type.
	ByType map[string]int64 `json:"byType"`
	// Anomalies lists the filter's matches, newest first.
	Anomalies []AnomalyRow `json:"anomalies"`
}

// AnomalyRow is one anomaly.
type AnomalyRow struct {
	ID             int        `json:"id"`
	Key            string     `json:"key"`
	Type           string     `json:"type"`
	Subject        string     `json:"subject"`
	Severity       string     `json:"severity"`
	Status         string     `json:"status"`
	WindowStart    time.Time  `json:"windowStart"`
	WindowEnd      time.Time  `json:"windowEnd"`
	Observed       float64    `json:"observed"`
	Expected       float64    `json:"expected"`
	ExpectedLow    *float64   `json:"expectedLow"`
	ExpectedHigh   *float64   `json:"expectedHigh"`
	PeakObserved   *float64   `json:"peakObserved"`
	Score          float64    `json:"score"`
	Explanation    string     `json:"explanation"`
	FirstSeenAt    time.Time  `json:"firstSeenAt"`
	LastSeenAt     time.Time  `json:"lastSeenAt"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt"`
	AcknowledgedBy string     `json:"acknowledgedBy"`
	ResolvedAt     *time.Time `json:"resolvedAt"`
	ResolvedBy     string     `json:"resolvedBy"`
	ResolutionNote string     `json:"resolutionNote"`
}

func anomalyRow(a *ent.Anomaly) AnomalyRow {
	return AnomalyRow{
		ID: a.ID, Key: a.Key, Type: a.Type, Subject: a.Subject, Severity: string(a.Severity), Status: string(a.Status),
		WindowStart: a.WindowStart.UTC(), WindowEnd: a.WindowEnd.UTC(), Observed: a.Observed, Expected: a.Expected,
		ExpectedLow: a.ExpectedLow, ExpectedHigh: a.ExpectedHigh, PeakObserved: a.PeakObserved, Score: a.Score,
		Explanation: a.Explanation, FirstSeenAt: a.FirstSeenAt.UTC(), LastSeenAt: a.LastSeenAt.UTC(),
		AcknowledgedAt: utcp(a.AcknowledgedAt), AcknowledgedBy: a.AcknowledgedBy,
		ResolvedAt: utcp(a.ResolvedAt), ResolvedBy: a.ResolvedBy, ResolutionNote: a.ResolutionNote,
	}
}

// AnomalySummary counts anomalies and lists those f selects.
func (s *Service) AnomalySummary(ctx context.Context, f AnomalyFilter) (*AnomalySummary, error) {
	start := time.Now()
	defer func() { s.m.observe("anomalies", start) }()
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	var preds []predicate.Anomaly
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{"open", "acknowledged"}
	}
	var st []anomaly.Status
	for _, x := range statuses {
		if err := anomaly.StatusValidator(anomaly.Status(x)); err != nil {
			return nil, usererr.Field("status", "unknown anomaly status %q (want open, acknowledged or resolved)", x)
		}
		st = append(st, anomaly.Status(x))
	}
	preds = append(preds, anomaly.StatusIn(st...))
	if len(f.Severities) > 0 {
		var sev []anomaly.Severity
		for _, x := range f.Severities {
			if err := anomaly.SeverityValidator(anomaly.Severity(x)); err != nil {
				return nil, usererr.Field("severity", "unknown severity %q (want info, warning or critical)", x)
			}
			sev = append(sev, anomaly.Severity(x))
		}
		preds = append(preds, anomaly.SeverityIn(sev...))
	}
	if len(f.Types) > 0 {
		preds = append(preds, anomaly.TypeIn(f.Types...))
	}
	if !f.From.IsZero() {
		preds = append(preds, anomaly.FirstSeenAtGTE(f.From.UTC()))
	}
	if !f.To.IsZero() {
		preds = append(preds, anomaly.FirstSeenAtLT(f.To.UTC()))
	}
	out := &AnomalySummary{ByType: map[string]int64{}, Anomalies: []AnomalyRow{}}
	now := s.now().UTC()
	err = s.parallel(ctx,
		func() error {
			ac, err := s.anomalyCounts(ctx)
			out.Open, out.Acknowledged, out.Critical = ac.Open, ac.Acknowledged, ac.Critical
			return err
		},
		func() error {
			n, err := s.db.Client.Anomaly.Query().Where(anomaly.StatusEQ(anomaly.StatusResolved), anomaly.ResolvedAtGTE(now.Add(-24*time.Hour))).Count(ctx)
			out.ResolvedLast24h = int64(n)
			if err != nil {
				return fmt.Errorf("counting resolved anomalies: %w", err)
			}
			return nil
		},
		func() error {
			rows, err := s.db.Read.QueryContext(ctx, "SELECT type, COUNT(*) FROM anomalies WHERE status IN ('open', 'acknowledged') GROUP BY type")
			if err != nil {
				return fmt.Errorf("counting anomalies by type: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var t string
				var n int64
				if err := rows.Scan(&t, &n); err != nil {
					return fmt.Errorf("counting anomalies by type: %w", err)
				}
				out.ByType[t] = n
			}
			return rows.Err()
		},
		func() error {
			rows, err := s.db.Client.Anomaly.Query().Where(preds...).
				Order(ent.Desc(anomaly.FieldFirstSeenAt), ent.Desc(anomaly.FieldID)).Limit(limit).All(ctx)
			if err != nil {
				return fmt.Errorf("listing anomalies: %w", err)
			}
			for _, a := range rows {
				out.Anomalies = append(out.Anomalies, anomalyRow(a))
			}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReconciliationFilter selects reconciliation findings.
type ReconciliationFilter struct {
	// Statuses keeps open and/or resolved findings (default open).
	Statuses []string
	// Kinds keeps these finding kinds (missing_event, failed_delivery, …).
	Kinds []string
	// Limit caps the runs and findings listed (default 20, at most 500).
	Limit int
}

// ReconciliationSummary is the reconciliation page.
type ReconciliationSummary struct {
	// HealthScore is the latest finished run's score (0–100); nil before
	// the first.
	HealthScore *float64 `json:"healthScore"`
	// LatestRun is the newest run, running or finished.
	LatestRun *RunRow `json:"latestRun"`
	// Runs lists the newest runs first.
	Runs []RunRow `json:"runs"`
	// OpenFindings counts findings not resolved; FindingsByKind by kind.
	OpenFindings   int64            `json:"openFindings"`
	FindingsByKind map[string]int64 `json:"findingsByKind"`
	// Findings lists the filter's matches, newest first.
	Findings []FindingRow `json:"findings"`
}

// RunRow is one reconciliation run.
type RunRow struct {
	ID                  int        `json:"id"`
	Status              string     `json:"status"`
	Trigger             string     `json:"trigger"`
	WindowStart         time.Time  `json:"windowStart"`
	WindowEnd           time.Time  `json:"windowEnd"`
	DwollaEvents        int        `json:"dwollaEvents"`
	Missing             int        `json:"missing"`
	Imported            int        `json:"imported"`
	FailedDeliveries    int        `json:"failedDeliveries"`
	NeverSent           int        `json:"neverSent"`
	RedeliveryRequested int        `json:"redeliveryRequested"`
	FindingCount        int        `json:"findingCount"`
	HealthScore         *float64   `json:"healthScore"`
	Error               string     `json:"error"`
	StartedAt           time.Time  `json:"startedAt"`
	FinishedAt          *time.Time `json:"finishedAt"`
}

func runRow(r *ent.ReconciliationRun) RunRow {
	return RunRow{
		ID: r.ID, Status: string(r.Status), Trigger: string(r.Trigger), WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
		DwollaEvents: r.DwollaEvents, Missing: r.Missing, Imported: r.Imported, FailedDeliveries: r.FailedDeliveries,
		NeverSent: r.NeverSent, RedeliveryRequested: r.RedeliveryRequested, FindingCount: r.FindingCount,
		HealthScore: r.HealthScore, Error: r.Error, StartedAt: r.StartedAt.UTC(), FinishedAt: utcp(r.FinishedAt),
	}
}

// FindingRow is one reconciliation finding.
type FindingRow struct {
	ID             int            `json:"id"`
	RunID          int            `json:"runId"`
	Kind           string         `json:"kind"`
	Severity       string         `json:"severity"`
	Subject        string         `json:"subject"`
	Topic          string         `json:"topic"`
	ResourceID     string         `json:"resourceId"`
	Detail         string         `json:"detail"`
	Data           map[string]any `json:"data"`
	Status         string         `json:"status"`
	AutoResolved   bool           `json:"autoResolved"`
	ResolvedAt     *time.Time     `json:"resolvedAt"`
	ResolvedBy     string         `json:"resolvedBy"`
	ResolutionNote string         `json:"resolutionNote"`
	CreatedAt      time.Time      `json:"createdAt"`
}

func findingRow(f *ent.ReconciliationFinding) FindingRow {
	return FindingRow{
		ID: f.ID, RunID: f.RunID, Kind: string(f.Kind), Severity: string(f.Severity), Subject: f.Subject, Topic: f.Topic,
		ResourceID: f.ResourceID, Detail: f.Detail, Data: f.Data, Status: string(f.Status), AutoResolved: f.AutoResolved,
		ResolvedAt: utcp(f.ResolvedAt), ResolvedBy: f.ResolvedBy, ResolutionNote: f.ResolutionNote, CreatedAt: f.CreatedAt.UTC(),
	}
}

// ReconciliationSummary reads the latest runs, the health score and the
// findings f selects.
func (s *Service) ReconciliationSummary(ctx context.Context, f ReconciliationFilter) (*ReconciliationSummary, error) {
	start := time.Now()
	defer func() { s.m.observe("reconciliation", start) }()
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{"open"}
	}
	var st []reconciliationfinding.Status
	for _, x := range statuses {
		if err := reconciliationfinding.StatusValidator(reconciliationfinding.Status(x)); err != nil {
			return nil, usererr.Field("status", "unknown finding status %q (want open or resolved)", x)
		}
		st = append(st, reconciliationfinding.Status(x))
	}
	preds := []predicate.ReconciliationFinding{reconciliationfinding.StatusIn(st...)}
	if len(f.Kinds) > 0 {
		var kinds []reconciliationfinding.Kind
		for _, k := range f.Kinds {
			if err := reconciliationfinding.KindValidator(reconciliationfinding.Kind(k)); err != nil {
				return nil, usererr.Field("kind", "unknown finding kind %q", k)
			}
			kinds = append(kinds, reconciliationfinding.Kind(k))
		}
		preds = append(preds, reconciliationfinding.KindIn(kinds...))
	}
	out := &ReconciliationSummary{FindingsByKind: map[string]int64{}, Runs: []RunRow{}, Findings: []FindingRow{}}
	err = s.parallel(ctx,
		func() error {
			runs, err := s.db.Client.ReconciliationRun.Query().
				Order(ent.Desc(reconciliationrun.FieldStartedAt), ent.Desc(reconciliationrun.FieldID)).Limit(limit).All(ctx)
			if err != nil {
				return fmt.Errorf("listing reconciliation runs: %w", err)
			}
			for _, r := range runs {
				out.Runs = append(out.Runs, runRow(r))
			}
			if len(out.Runs) > 0 {
				latest := out.Runs[0]
				out.LatestRun = &latest
			}
			return nil
		},
		func() error {
			r, err := s.db.Client.ReconciliationRun.Query().
				Where(reconciliationrun.HealthScoreNotNil(), reconciliationrun.FinishedAtNotNil()).
				Order(ent.Desc(reconciliationrun.FieldStartedAt), ent.Desc(reconciliationrun.FieldID)).First(ctx)
			if ent.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading the health score: %w", err)
			}
			out.HealthScore = r.HealthScore
			return nil
		},
		func() error {
			rows, err := s.db.Read.QueryContext(ctx, "SELECT kind, COUNT(*) FROM reconciliation_findings WHERE status = 'open' GROUP BY kind")
			if err != nil {
				return fmt.Errorf("counting findings: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				var n int64
				if err := rows.Scan(&k, &n); err != nil {
					return fmt.Errorf("counting findings: %w", err)
				}
				out.FindingsByKind[k] = n
				out.OpenFindings += n
			}
			return rows.Err()
		},
		func() error {
			fs, err := s.db.Client.ReconciliationFinding.Query().Where(preds...).
				Order(ent.Desc(reconciliationfinding.FieldCreatedAt), ent.Desc(reconciliationfinding.FieldID)).Limit(limit).All(ctx)
			if err != nil {
				return fmt.Errorf("listing findings: %w", err)
			}
			for _, x := range fs {
				out.Findings = append(out.Findings, findingRow(x))
			}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	return out, nil
}
