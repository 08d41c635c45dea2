package alert_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	entalert "github.com/hooklens/hooklens/ent/alert"
	"github.com/hooklens/hooklens/ent/alertrule"
	"github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/ent/syncrun"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/usererr"
)

// A rule fires only after its condition held for `for`, re-notifies after
// its interval, resolves when the condition clears, keeps one alert, and
// evaluating the same minute twice changes nothing.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		ctx := context.Background()
		hook := b.webhook(t, "hook", "")
		b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters", Threshold: ptr(1.0), For: ptr("2m"), Renotify: ptr("1h")}, hook)
		sub := b.hub.Subscribe(t.Context(), 16, live.AlertFired)
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 3 })

		sum := b.evaluate(t, minutes(0))
		require.Equal(t, 1, sum.Pending)
		require.Empty(t, b.alerts(t, "dl"), "must not fire before `for` has passed")
		sum = b.evaluate(t, minutes(1))
		require.Equal(t, 1, sum.Pending)
		require.Empty(t, b.alerts(t, "dl"))

		sum = b.evaluate(t, minutes(2))
		require.Equal(t, 1, sum.Fired)
		require.Equal(t, 1, sum.Deliveries)
		require.Equal(t, 1, sum.Active)
		sum = b.evaluate(t, minutes(2)) // the same minute again
		require.Zero(t, sum.Fired+sum.Renotified+sum.Resolved)
		sum = b.evaluate(t, minutes(30))
		require.Zero(t, sum.Renotified, "re-notify waits for its interval")
		require.Len(t, b.rx.requests(), 1)

		sum = b.evaluate(t, minutes(62))
		require.Equal(t, 1, sum.Renotified)
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 0 })
		sum = b.evaluate(t, minutes(63))
		require.Equal(t, 1, sum.Resolved)
		require.Zero(t, sum.Active)
		sum = b.evaluate(t, minutes(64))
		require.Zero(t, sum.Fired+sum.Renotified+sum.Resolved)

		alerts := b.alerts(t, "dl")
		require.Len(t, alerts, 1, "one alert per rule")
		a := alerts[0]
		require.Equal(t, entalert.StatusResolved, a.Status)
		require.Equal(t, "auto", a.ResolvedBy)
		require.Equal(t, 3, a.Notifications)
		require.True(t, a.StartedAt.Equal(minutes(2)), "started %s", a.StartedAt)

		ps := b.rx.payloads(t)
		require.Len(t, ps, 3)
		for i, want := range []struct{ event, status string }{{"fired", "firing"}, {"renotified", "firing"}, {"resolved", "resolved"}} {
			p := ps[i]
			require.Equal(t, want.event, p.Event)
			require.Equal(t, want.status, p.Status)
			require.Equal(t, fmt.Sprintf("%d-%d", a.ID, i+1), p.ID)
			require.Equal(t, alert.PayloadVersion, p.Version)
			require.Equal(t, a.ID, p.AlertID)
			require.Equal(t, "dl", p.Rule)
			require.Equal(t, "dead_letters", p.Condition)
			require.Equal(t, "warning", p.Severity)
			require.Equal(t, "count", p.Unit)
			require.Equal(t, 1.0, *p.Threshold)
			require.Equal(t, fmt.Sprintf("https://hooklens.example.com/alerts/%d", a.ID), p.URL)
			require.NotEmpty(t, p.Title)
		}
		require.Equal(t, 3.0, *ps[0].Value)
		require.Equal(t, 0.0, *ps[2].Value)
		require.NotNil(t, ps[2].ResolvedAt)
		require.Equal(t, "auto", ps[2].ResolvedBy)

		log := alert.NotificationLog(a)
		require.Len(t, log, 3)
		for _, d := range log {
			require.True(t, d.OK, "%+v", d)
			require.Equal(t, hook.ID, d.ChannelID)
			require.Equal(t, 200, d.Status)
		}
		ch, err := db.Client.AlertChannel.Get(ctx, hook.ID)
		require.NoError(t, err)
		require.NotNil(t, ch.LastSuccessAt)
		require.Nil(t, ch.LastFailureAt)

		events, notified := liveEvents(t, sub, 3, a.ID)
		require.Equal(t, []string{"fired", "renotified", "resolved"}, events)
		require.Equal(t, 3, notified, "each recorded delivery tells pages to reload the log")
	})
}

// A condition that clears before `for` restarts the debounce clock.
func TestDebounceRestartsWhenConditionClears(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	b.rule(t, alert.NewRule{Key: "breaker", Condition: "breaker_open", For: ptr("2m")}, b.webhook(t, "hook", ""))
	open := func(yes bool) {
		b.facts.set(func(s *pipeline.Status) {
			s.Breaker = "closed"
			if yes {
				s.Breaker = "open"
			}
		})
	}
	open(true)
	b.evaluate(t, minutes(0))
	b.evaluate(t, minutes(1))
	open(false) // a flap
	b.evaluate(t, minutes(2))
	open(true)
	require.Zero(t, b.evaluate(t, minutes(3)).Fired)
	require.Zero(t, b.evaluate(t, minutes(4)).Fired, "held 1m since the flap")
	require.Equal(t, 1, b.evaluate(t, minutes(5)).Fired)
	require.Len(t, b.rx.requests(), 1)
}

// Two evaluations at once (two instances during a leader change) fire and
// notify once.
func TestEvaluateConcurrently(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		hook := b.webhook(t, "hook", "")
		for i := range 4 {
			b.rule(t, alert.NewRule{Key: fmt.Sprintf("dl%d", i), Condition: "dead_letters", Renotify: ptr("1h")}, hook)
		}
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 1 })
		var wg sync.WaitGroup
		fired := make([]int, 6)
		for i := range fired {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum, err := b.svc.Evaluate(context.Background(), minutes(0))
				require.NoError(t, err)
				fired[i] = sum.Fired
			}()
		}
		wg.Wait()
		total := 0
		for _, n := range fired {
			total += n
		}
		require.Equal(t, 4, total)
		for i := range 4 {
			require.Len(t, b.alerts(t, fmt.Sprintf("dl%d", i)), 1)
		}
		require.Len(t, b.rx.requests(), 4)
	})
}

// An acknowledged alert is not re-notified, still resolves by itself, and
// says so.
func TestAcknowledge(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		ctx := context.Background()
		b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters", Renotify: ptr("10m")}, b.webhook(t, "hook", ""))
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 2 })
		require.Equal(t, 1, b.evaluate(t, minutes(0)).Fired)
		a := b.alerts(t, "dl")[0]

		_, err := b.svc.Acknowledge(ctx, a.ID, "")
		requireField(t, err, "by")
		b.clock.Set(minutes(1))
		acked, err := b.svc.Acknowledge(ctx, a.ID, "alice")
		require.NoError(t, err)
		require.Equal(t, entalert.StatusAcknowledged, acked.Status)
		require.Equal(t, "alice", acked.AcknowledgedBy)
		again, err := b.svc.Acknowledge(ctx, a.ID, "bob")
		require.NoError(t, err)
		require.Equal(t, "alice", again.AcknowledgedBy, "acknowledging twice changes nothing")

		sum := b.evaluate(t, minutes(30))
		require.Zero(t, sum.Renotified, "acknowledged alerts are not repeated")
		require.Equal(t, 1, sum.Active)
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 0 })
		require.Equal(t, 1, b.evaluate(t, minutes(31)).Resolved)

		ps := b.rx.payloads(t)
		require.Len(t, ps, 2)
		require.Equal(t, "resolved", ps[1].Event)
		require.Equal(t, "alice", ps[1].AcknowledgedBy)
		require.NotNil(t, ps[1].AcknowledgedAt)

		_, err = b.svc.Acknowledge(ctx, a.ID, "alice")
		ue, ok := usererr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, usererr.Conflict, ue.Kind)
		_, err = b.svc.Acknowledge(ctx, 999999, "alice")
		ue, ok = usererr.As(err)
		require.True(t, ok)
		require.Equal(t, usererr.NotFound, ue.Kind)
	})
}

// A person resolving an alert while its condition holds does not see it
// fire again the next minute, but after the re-notify interval.
func TestResolveByHand(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		ctx := context.Background()
		b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters", Renotify: ptr("1h")}, b.webhook(t, "hook", ""))
		b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 2 })
		b.evaluate(t, minutes(0))
		a := b.alerts(t, "dl")[0]

		b.clock.Set(minutes(1))
		res, err := b.svc.Resolve(ctx, a.ID, "alice", "replayed them")
		require.NoError(t, err)
		require.Equal(t, entalert.StatusResolved, res.Status)
		require.Equal(t, "alice", res.ResolvedBy)
		require.Equal(t, "replayed them", res.ResolutionNote)
		require.Eventually(t, func() bool { return len(b.rx.requests()) == 2 }, 5*time.Second, 10*time.Millisecond,
			"the resolution is notified in the background")
		p := b.rx.payloads(t)[1]
		require.Equal(t, "resolved", p.Event)
		require.Equal(t, "alice", p.ResolvedBy)

		again, err := b.svc.Resolve(ctx, a.ID, "bob", "")
		require.NoError(t, err)
		require.Equal(t, "alice", again.ResolvedBy, "resolving twice changes nothing")
		_, err = b.svc.Resolve(ctx, a.ID, "auto", "")
		requireField(t, err, "by")

		require.Zero(t, b.evaluate(t, minutes(2)).Fired, "held: the person resolved it a minute ago")
		require.Zero(t, b.evaluate(t, minutes(60)).Fired)
		require.Equal(t, 1, b.evaluate(t, minutes(61)).Fired, "the re-notify interval after the resolution")
		require.Len(t, b.alerts(t, "dl"), 2)
	})
}

// Disabling a rule resolves its alert at the next evaluation; deleting one
// resolves it at once; built-ins are not deleted.
func TestDisableAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	hook := b.webhook(t, "hook", "")
	one := b.rule(t, alert.NewRule{Key: "one", Condition: "dead_letters"}, hook)
	two := b.rule(t, alert.NewRule{Key: "two", Condition: "dead_letters"}, hook)
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 2 })
	require.Equal(t, 2, b.evaluate(t, minutes(0)).Fired)

	_, err := b.svc.SetRuleEnabled(ctx, one.ID, false)
	require.NoError(t, err)
	sum := b.evaluate(t, minutes(1))
	require.Equal(t, 1, sum.Resolved)
	require.Equal(t, 1, sum.Rules)
	a := b.alerts(t, "one")[0]
	require.Equal(t, entalert.StatusResolved, a.Status)
	require.Contains(t, a.Message, "disabled")

	require.NoError(t, b.svc.DeleteRule(ctx, two.ID))
	a = b.alerts(t, "two")[0]
	require.Equal(t, entalert.StatusResolved, a.Status)
	require.Zero(t, a.RuleID, "past alerts outlive their rule")
	require.Eventually(t, func() bool { return len(b.rx.requests()) == 4 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, b.evaluate(t, minutes(2)).Rules, "one rule disabled, the other deleted")

	require.NoError(t, b.svc.Seed(ctx))
	builtin, err := b.db.Client.AlertRule.Query().Where(alertrule.Builtin(true)).First(ctx)
	require.NoError(t, err)
	err = b.svc.DeleteRule(ctx, builtin.ID)
	ue, ok := usererr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, usererr.Conflict, ue.Kind)
	require.Error(t, b.svc.DeleteRule(ctx, 987654))
}

// A condition that cannot be measured leaves its alert alone.
func TestFactsFailureKeepsState(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters"})
	b.rule(t, alert.NewRule{Key: "stuck", Condition: "stuck_journeys", Params: map[string]any{"scope": "all"}})
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 2 })
	b.evaluate(t, minutes(0))
	b.facts.mu.Lock()
	b.facts.err = errors.New("database unreachable")
	b.facts.mu.Unlock()
	sum, err := b.svc.Evaluate(context.Background(), minutes(1))
	require.ErrorContains(t, err, "database unreachable")
	require.ErrorContains(t, err, "alert rule dl")
	require.Equal(t, 1, sum.Failed)
	require.Equal(t, 2, sum.Rules)
	require.Equal(t, entalert.StatusFiring, b.alerts(t, "dl")[0].Status)
}

// Every condition, measured on a crafted database.
func TestConditionsOnCraftedState(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := t0
		c := db.Client

		// Processing: 80 processed, 15 retried, 5 dead-lettered in the
		// window (20% failed); a disaster outside it.
		batch := rollup.NewBatch()
		d := batch.At(now.Add(-3*time.Minute), "customer_created")
		d.Processed, d.Retried, d.DeadLettered = 80, 15, 5
		old := batch.At(now.Add(-40*time.Minute), "customer_created")
		old.Retried = 1000
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, rollup.Apply(ctx, db, tx, batch))
		require.NoError(t, tx.Commit())

		// Journeys: two became stuck in the last hour (one a transfer), one
		// long ago; one is active.
		for i, j := range []struct {
			def         string
			status      journeyinstance.Status
			stuckMinAgo int
		}{{"transfer", "stuck", 10}, {"personal_verification", "stuck", 50}, {"transfer", "stuck", 300}, {"transfer", "active", 0}} {
			create := c.JourneyInstance.Create().SetDefinitionKey(j.def).SetDefinitionVersion(1).
				SetCorrelationKey(fmt.Sprintf("k%d", i)).SetStatus(j.status).SetStartedAt(now.Add(-24 * time.Hour)).
				SetLastEventAt(now.Add(-12 * time.Hour))
			if j.status == "stuck" {
				create.SetStuckSince(now.Add(-time.Duration(j.stuckMinAgo) * time.Minute))
			}
			require.NoError(t, create.Exec(ctx))
		}

		// Anomalies: open critical and info ones, an acknowledged critical.
		var critical int
		for _, an := range []struct {
			sev    anomaly.Severity
			status anomaly.Status
		}{{"info", "open"}, {"critical", "open"}, {"critical", "acknowledged"}} {
			row, err := c.Anomaly.Create().SetKey("volume_spike:" + string(an.sev)).SetType("volume_spike").
				SetSeverity(an.sev).SetStatus(an.status).SetWindowStart(now.Add(-time.Hour)).SetWindowEnd(now).
				SetObserved(900).SetExpected(100).SetScore(8).SetExplanation("9× the usual volume").
				SetFirstSeenAt(now.Add(-time.Hour)).SetLastSeenAt(now).Save(ctx)
			require.NoError(t, err)
			if an.sev == "critical" && an.status == "open" {
				critical = row.ID
			}
		}

		// Syncs: a success 5 h ago, then three failures.
		for i, st := range []syncrun.Status{"succeeded", "failed", "failed", "failed"} {
			started := now.Add(-time.Duration(5-i) * time.Hour)
			require.NoError(t, c.SyncRun.Create().SetStatus(st).SetSince(started.Add(-time.Hour)).SetStartedAt(started).
				SetFinishedAt(started.Add(time.Minute)).SetError(map[bool]string{true: "dwolla: 503 Service Unavailable"}[st == "failed"]).Exec(ctx))
		}
		// Reconciliation: one success 30 h ago with a low score, then one
		// cancelled (neither success nor failure).
		started := now.Add(-30 * time.Hour)
		require.NoError(t, c.ReconciliationRun.Create().SetStatus(reconciliationrun.StatusSucceeded).
			SetWindowStart(started.Add(-24*time.Hour)).SetWindowEnd(started).SetStartedAt(started).
			SetFinishedAt(started.Add(time.Minute)).SetHealthScore(72.5).
			SetComponents([]map[string]any{{"name": "events_complete", "score": 0.8, "weight": 35.0, "available": true, "note": "12 events missing"},
				{"name": "processing", "score": 1.0, "weight": 20.0, "available": true}}).Exec(ctx))
		require.NoError(t, c.ReconciliationRun.Create().SetStatus(reconciliationrun.StatusCancelled).
			SetWindowStart(now.Add(-25*time.Hour)).SetWindowEnd(now.Add(-time.Hour)).SetStartedAt(now.Add(-time.Hour)).Exec(ctx))

		b.facts.set(func(s *pipeline.Status) {
			oldest := now.Add(-10 * time.Minute)
			s.OldestQueued, s.QueueDepth, s.Breaker, s.DeadLettered = &oldest, 42, "open", 3
		})
		b.facts.mu.Lock()
		b.facts.sub = alert.SubscriptionState{Known: true, Paused: true, ID: "sub-1", CheckedAt: now.Add(-time.Hour)}
		b.facts.mu.Unlock()

		type want struct {
			fire  bool
			value float64
		}
		cases := map[string]struct {
			rule alert.NewRule
			want want
		}{
			"err_rate":      {alert.NewRule{Condition: "processing_error_rate", Threshold: ptr(5.0), Window: ptr("10m")}, want{true, 20}},
			"err_rate_high": {alert.NewRule{Condition: "processing_error_rate", Threshold: ptr(25.0), Window: ptr("10m")}, want{}},
			"err_rate_few": {alert.NewRule{Condition: "processing_error_rate", Threshold: ptr(5.0), Window: ptr("10m"),
				Params: map[string]any{"min_attempts": 1000}}, want{}},
			"queue_age":   {alert.NewRule{Condition: "queue_age", Threshold: ptr(300.0)}, want{true, 600}},
			"queue_young": {alert.NewRule{Condition: "queue_age", Threshold: ptr(900.0)}, want{}},
			"stuck_new":   {alert.NewRule{Condition: "stuck_journeys", Threshold: ptr(2.0), Window: ptr("1h")}, want{true, 2}},
			"stuck_all":   {alert.NewRule{Condition: "stuck_journeys", Threshold: ptr(4.0), Params: map[string]any{"scope": "all"}}, want{}},
			"stuck_transfer": {alert.NewRule{Condition: "stuck_journeys", Threshold: ptr(2.0),
				Params: map[string]any{"scope": "all", "definition": "transfer"}}, want{true, 2}},
			"anomaly_warn":   {alert.NewRule{Condition: "anomaly", Params: map[string]any{"min_severity": "warning"}}, want{true, 1}},
			"anomaly_info":   {alert.NewRule{Condition: "anomaly", Threshold: ptr(2.0), Params: map[string]any{"min_severity": "info"}}, want{true, 2}},
			"anomaly_type":   {alert.NewRule{Condition: "anomaly", Params: map[string]any{"type": "duplicate_burst"}}, want{}},
			"breaker":        {alert.NewRule{Condition: "breaker_open"}, want{true, 1}},
			"paused":         {alert.NewRule{Condition: "subscription_paused"}, want{true, 1}},
			"sync":           {alert.NewRule{Condition: "sync_failing", Threshold: ptr(3.0), Window: ptr("6h")}, want{true, 3}},
			"sync_patient":   {alert.NewRule{Condition: "sync_failing", Threshold: ptr(4.0), Window: ptr("6h")}, want{}},
			"sync_stale":     {alert.NewRule{Condition: "sync_failing", Threshold: ptr(10.0), Window: ptr("4h")}, want{true, 3}},
			"reco_stale":     {alert.NewRule{Condition: "reconciliation_failing", Threshold: ptr(1.0), Window: ptr("24h")}, want{true, 0}},
			"reco_fine":      {alert.NewRule{Condition: "reconciliation_failing", Threshold: ptr(1.0), Window: ptr("48h")}, want{}},
			"health":         {alert.NewRule{Condition: "health_score", Threshold: ptr(80.0), Window: ptr("48h")}, want{true, 72.5}},
			"health_lenient": {alert.NewRule{Condition: "health_score", Threshold: ptr(70.0), Window: ptr("48h")}, want{}},
			"health_recent":  {alert.NewRule{Condition: "health_score", Threshold: ptr(80.0), Window: ptr("24h")}, want{}},
			"dead":           {alert.NewRule{Condition: "dead_letters", Threshold: ptr(3.0)}, want{true, 3}},
			"dead_many":      {alert.NewRule{Condition: "dead_letters", Threshold: ptr(5.0)}, want{}},
		}
		for key, tc := range cases {
			tc.rule.Key = key
			if tc.rule.For == nil {
				tc.rule.For = ptr("0s") // the built-ins' debounce is tested elsewhere
			}
			b.rule(t, tc.rule)
		}
		sum := b.evaluate(t, now)
		require.Zero(t, sum.Failed)
		require.Equal(t, len(cases), sum.Rules)
		b.facts.mu.Lock()
		require.Equal(t, 1, b.facts.calls, "the pipeline status is read once per evaluation")
		b.facts.mu.Unlock()
		for key, tc := range cases {
			alerts := b.alerts(t, key)
			if !tc.want.fire {
				require.Empty(t, alerts, "%s must not fire", key)
				continue
			}
			require.Len(t, alerts, 1, "%s must fire", key)
			a := alerts[0]
			require.NotNil(t, a.Value, key)
			require.InDelta(t, tc.want.value, *a.Value, 0.001, "%s: %s — %s", key, a.Title, a.Message)
			require.NotEmpty(t, a.Title, key)
			require.NotEmpty(t, a.Message, key)
			t.Logf("%s: %s — %s", key, a.Title, a.Message)
		}
		require.Equal(t, critical, b.alerts(t, "anomaly_warn")[0].AnomalyID)
		require.Nil(t, b.alerts(t, "breaker")[0].Threshold, "yes/no conditions have no threshold")
		require.Contains(t, b.alerts(t, "sync")[0].Message, "dwolla: 503")
		require.Contains(t, b.alerts(t, "health")[0].Message, "12 events missing")
		require.Contains(t, b.alerts(t, "stuck_new")[0].Message, "personal_verification 1")
	})
}

// Sync and reconciliation rules stay quiet where neither ever ran.
func TestRunRulesQuietWithoutRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	b.rule(t, alert.NewRule{Key: "sync", Condition: "sync_failing", Window: ptr("1h")})
	b.rule(t, alert.NewRule{Key: "reco", Condition: "reconciliation_failing", Window: ptr("1h")})
	b.rule(t, alert.NewRule{Key: "health", Condition: "health_score"})
	b.rule(t, alert.NewRule{Key: "paused", Condition: "subscription_paused"})
	sum := b.evaluate(t, minutes(0))
	require.Equal(t, 4, sum.Rules)
	require.Zero(t, sum.Fired)
	require.Zero(t, sum.Pending)
}

// The seeded rules are on, go to the log channel, and seeding twice (or on
// two instances) adds nothing; an evaluation of an idle server is quiet.
func TestSeed(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db)
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); require.NoError(t, b.svc.Seed(ctx)) }()
		}
		wg.Wait()
		require.NoError(t, b.svc.Seed(ctx))
		rules, err := db.Client.AlertRule.Query().WithChannels().All(ctx)
		require.NoError(t, err)
		require.Len(t, rules, len(alert.Builtins()))
		conditions := map[string]bool{}
		for _, r := range rules {
			require.True(t, r.Enabled && r.Builtin, r.Key)
			require.Len(t, r.Edges.Channels, 1, r.Key)
			require.Equal(t, "log", r.Edges.Channels[0].Name)
			conditions[string(r.Condition)] = true
		}
		require.Len(t, conditions, len(alert.Conditions()), "a built-in for every condition")
		chans, err := db.Client.AlertChannel.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, chans)

		sum := b.evaluate(t, minutes(0))
		require.Equal(t, len(rules), sum.Rules)
		require.Zero(t, sum.Fired+sum.Failed+sum.Pending)

		// A built-in edited, then restored.
		r := rules[0]
		_, err = b.svc.UpdateRule(ctx, r.ID, alert.RulePatch{Threshold: ptr(50.0), Severity: ptr("critical")})
		require.NoError(t, err)
		restored, err := b.svc.RestoreRule(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, r.Threshold, restored.Threshold)
		require.Equal(t, r.Severity, restored.Severity)
	})
}

// The log channel writes one line per notification and always succeeds.
func TestLogChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	require.NoError(t, b.svc.Seed(ctx))
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 4 })
	sum := b.evaluate(t, minutes(0))
	require.Equal(t, 1, sum.Fired)
	require.Equal(t, 1, sum.Deliveries)
	require.Zero(t, sum.DeliveryFailures)
	a := b.alerts(t, "dead_letters")[0]
	log := alert.NotificationLog(a)
	require.Len(t, log, 1)
	require.Equal(t, "log", log[0].Kind)
	require.True(t, log[0].OK)
	require.Empty(t, b.rx.requests())
}

// A rule that does not notify resolutions still resolves, is counted, and
// tells live subscribers; its channels hear nothing.
func TestQuietResolution(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Open(t, "sqlite"))
	sub := b.hub.Subscribe(t.Context(), 16, live.AlertFired)
	b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters", NotifyResolved: ptr(false)}, b.webhook(t, "hook", ""))
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 1 })
	require.Equal(t, 1, b.evaluate(t, minutes(0)).Fired)
	b.facts.set(func(s *pipeline.Status) { s.DeadLettered = 0 })
	sum := b.evaluate(t, minutes(1))
	require.Equal(t, 1, sum.Resolved)
	require.Zero(t, sum.Deliveries)
	require.Len(t, b.rx.requests(), 1, "only the firing was sent")
	require.Equal(t, entalert.StatusResolved, b.alerts(t, "dl")[0].Status)
	events, notified := liveEvents(t, sub, 2, b.alerts(t, "dl")[0].ID)
	require.Equal(t, []string{"fired", "resolved"}, events)
	require.Equal(t, 1, notified, "only the firing was delivered")
}
