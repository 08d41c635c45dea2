package app

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/syncrun"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/reconcile"
	"github.com/hooklens/hooklens/internal/web"
)

// syncRunJSON is a sync run as the REST API shows it.
type syncRunJSON struct {
	ID             int        `json:"id"`
	Status         string     `json:"status"`
	Trigger        string     `json:"trigger"`
	Since          time.Time  `json:"since"`
	Pages          int        `json:"pages"`
	Seen           int        `json:"seen"`
	Imported       int        `json:"imported"`
	AlreadyPresent int        `json:"alreadyPresent"`
	Errors         int        `json:"errors"`
	TotalReported  int        `json:"totalReported"`
	Error          string     `json:"error,omitempty"`
	StartedAt      time.Time  `json:"startedAt"`
	FinishedAt     *time.Time `json:"finishedAt,omitempty"`
	DurationMS     *float64   `json:"durationMs,omitempty"`
	ResumedFrom    int        `json:"resumedFrom,omitempty"`
}

func syncRunView(r *ent.SyncRun) syncRunJSON {
	return syncRunJSON{
		ID: r.ID, Status: string(r.Status), Trigger: string(r.Trigger), Since: r.Since, Pages: r.Pages, Seen: r.Seen,
		Imported: r.Imported, AlreadyPresent: r.AlreadyPresent, Errors: r.Errors, TotalReported: r.TotalReported,
		Error: r.Error, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, DurationMS: r.DurationMs, ResumedFrom: r.ResumedFrom,
	}
}

// syncHandler serves /api/webhooks/dwolla/sync: GET for the status and
// recent runs (viewers), POST to start a sync (admins), with an optional
// body {"since": "<RFC 3339>"} or {"window": "72h"} (default 7 days).
func (a *App) syncHandler() http.Handler {
	get := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs, err := a.DB.Client.SyncRun.Query().Order(ent.Desc(syncrun.FieldStartedAt)).Limit(20).All(r.Context())
		if err != nil {
			a.Log.Error("listing sync runs", "err", err)
			web.Error(w, r, http.StatusServiceUnavailable, "unavailable", "cannot read sync runs right now")
			return
		}
		out := struct {
			Configured bool          `json:"configured"`
			Running    []syncRunJSON `json:"running"`
			Recent     []syncRunJSON `json:"recent"`
		}{Configured: a.Recon.Configured(), Running: []syncRunJSON{}, Recent: []syncRunJSON{}}
		for _, run := range runs {
			v := syncRunView(run)
			if run.Status == syncrun.StatusRunning {
				out.Running = append(out.Running, v)
			}
			out.Recent = append(out.Recent, v)
		}
		web.JSON(w, http.StatusOK, out)
	})
	post := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Since  *time.Time `json:"since"`
			Window string     `json:"window"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			web.Error(w, r, http.StatusBadRequest, "bad_request", `send {"since": "<RFC 3339 time>"} or {"window": "72h"}, or nothing`)
			return
		}
		since := time.Now().Add(-7 * 24 * time.Hour)
		switch {
		case body.Since != nil:
			since = *body.Since
		case body.Window != "":
			d, err := time.ParseDuration(body.Window)
			if err != nil || d <= 0 {
				web.Error(w, r, http.StatusBadRequest, "bad_request", "window must be a duration like 72h")
				return
			}
			since = time.Now().Add(-d)
		}
		if time.Since(since) > 31*24*time.Hour {
			web.Error(w, r, http.StatusBadRequest, "bad_request", "Dwolla keeps events for 30 days; since must be within them")
			return
		}
		if !a.Recon.Configured() {
			web.Error(w, r, http.StatusServiceUnavailable, "not_configured", reconcile.ErrNotConfigured.Error())
			return
		}
		by := "unknown"
		if p := auth.FromContext(r.Context()); p != nil {
			by = p.TokenName
		}
		run, err := a.StartSync(r.Context(), since, "manual", by)
		if err != nil {
			a.Log.Error("starting a sync", "err", err)
			web.Error(w, r, http.StatusServiceUnavailable, "unavailable", "cannot start a sync right now")
			return
		}
		w.Header().Set("Location", "/api/webhooks/dwolla/sync")
		web.JSON(w, http.StatusAccepted, struct {
			SyncRun syncRunJSON `json:"syncRun"`
		}{syncRunView(run)})
	})
	viewer, admin := a.Authn.Require(false), a.Authn.Require(true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			viewer(get).ServeHTTP(w, r)
		case http.MethodPost:
			admin(post).ServeHTTP(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			web.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use GET for the status or POST to start a sync")
		}
	})
}
