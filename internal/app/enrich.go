package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/job"
	"github.com/hooklens/hooklens/internal/customer"
	"github.com/hooklens/hooklens/internal/enrich"
	"github.com/hooklens/hooklens/internal/jobs"
	"github.com/hooklens/hooklens/internal/money"
	"github.com/hooklens/hooklens/internal/web"
)

// ErrEnrichmentOff is returned when enrichment is asked for without
// Dwolla credentials (or with HOOKLENS_ENRICH=false).
var ErrEnrichmentOff = errors.New("enrichment is off: set DWOLLA_KEY and DWOLLA_SECRET (and HOOKLENS_ENRICH=true)")

// enrichTick is the scheduled live enrichment (on the leader): read the
// new events, fetch what is due, and start the history job when stored
// events are still to be enriched.
func (a *App) enrichTick(ctx context.Context) error {
	if a.Enrich == nil {
		return nil
	}
	if err := a.Enrich.Tick(ctx, 4*time.Second); err != nil {
		return err
	}
	pending, err := a.Enrich.HistoryPending(ctx)
	if err != nil || !pending {
		return err
	}
	_, err = a.StartEnrichHistory(ctx, "schedule")
	if errors.Is(err, errJobRunning) {
		return nil
	}
	return err
}

var errJobRunning = errors.New("a history enrichment job is already running")

// StartEnrichHistory starts the job that enriches the events stored before
// enrichment started (it resumes where a previous one stopped).
func (a *App) StartEnrichHistory(ctx context.Context, by string) (*ent.Job, error) {
	if a.Enrich == nil {
		return nil, ErrEnrichmentOff
	}
	running, err := a.DB.Client.Job.Query().Where(job.Kind(enrich.JobKind), job.StatusEQ(job.StatusRunning)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if running {
		return nil, errJobRunning
	}
	return a.Jobs.Start(ctx, jobs.Spec{
		Kind: enrich.JobKind, Description: "fetch the Dwolla resources that stored events name", CreatedBy: by,
	}, a.Enrich.HistoryJob)
}

// EnrichmentStatus says whether enrichment is on and how far it is.
func (a *App) EnrichmentStatus(ctx context.Context) (enrich.Status, error) {
	if a.Enrich == nil {
		return enrich.Status{}, nil
	}
	return a.Enrich.Status(ctx)
}

// moneyRoutes mounts the money figures, the customer view and the
// enrichment status (viewers may read them), and registers the money
// metrics.
func (a *App) moneyRoutes(mux *http.ServeMux) {
	mh := a.Authn.Require(false)(money.NewHandler(a.DB.Client, a.Log.With("component", "money")))
	mux.Handle("/api/money", mh)
	mux.Handle("/api/money/", mh)
	mux.Handle("/api/customers/", a.Authn.Require(false)(customer.NewHandler(a.DB.Client, a.Log.With("component", "customer"))))
	mux.Handle("GET /api/enrichment", a.Authn.Require(false)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.EnrichmentStatus(r.Context())
		if err != nil {
			a.Log.Error("reading the enrichment status", "error", err)
			web.Error(w, r, http.StatusInternalServerError, "internal", "could not read the enrichment status")
			return
		}
		web.JSON(w, http.StatusOK, enrichmentView(st))
	})))
	if a.Enrich != nil && !a.moneyMetrics {
		a.moneyMetrics = true
		a.Metrics.Registry.MustRegister(money.NewCollector(a.DB.Client))
	}
}

// enrichmentView is the JSON of the enrichment status.
func enrichmentView(st enrich.Status) map[string]any {
	v := map[string]any{"enabled": st.Enabled}
	if !st.Enabled {
		v["reason"] = "Enrichment is off: set DWOLLA_KEY and DWOLLA_SECRET to fetch the resources events name."
		return v
	}
	v["pending"], v["fetched"], v["gone"], v["failed"] = st.Pending, st.Fetched, st.Gone, st.Failed
	v["lag"], v["historyDone"], v["historyTotal"] = st.Lag, st.HistoryDone, st.HistoryTotal
	return v
}
