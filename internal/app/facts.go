package app

import (
	"context"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/pipeline"
)

// appFacts tells the alert rules what only the running server knows.
type appFacts struct{ a *App }

// PipelineStatus implements alert.Facts.
func (f appFacts) PipelineStatus(ctx context.Context) (pipeline.Status, error) {
	return f.a.Pipeline.Status(ctx)
}

// Subscription implements alert.Facts from what the last reconciliation
// learned: it never calls Dwolla (it is asked every minute).
func (f appFacts) Subscription(ctx context.Context) (alert.SubscriptionState, error) {
	if !f.a.Recon.Configured() {
		return alert.SubscriptionState{}, nil
	}
	run, err := f.a.DB.Client.ReconciliationRun.Query().
		Where(reconciliationrun.StatusEQ(reconciliationrun.StatusSucceeded)).
		Order(ent.Desc(reconciliationrun.FieldStartedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return alert.SubscriptionState{}, nil
	}
	if err != nil {
		return alert.SubscriptionState{}, err
	}
	st := alert.SubscriptionState{Known: true}
	if run.FinishedAt != nil {
		st.CheckedAt = *run.FinishedAt
	}
	if id, ok := run.Stats["subscriptionId"].(string); ok {
		st.ID = id
	}
	st.Paused, err = f.a.DB.Client.ReconciliationFinding.Query().Where(
		reconciliationfinding.KindEQ(reconciliationfinding.KindSubscriptionPaused),
		reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen),
	).Exist(ctx)
	return st, err
}
