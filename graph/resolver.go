// Package graph is hooklens' GraphQL API: the hand-written schema
// (*.graphqls), thin resolvers over ent and the internal services, and the
// HTTP handler with its transports, limits and error presenter. Generated
// code lives in graph/generated and graph/model.
package graph

import (
	"context"
	"log/slog"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/enrich"
	"github.com/hooklens/hooklens/internal/jobs"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/reconcile"
	"github.com/hooklens/hooklens/internal/scanner"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
	"github.com/hooklens/hooklens/internal/vault"
)

// Operations are the long-running operations started from the API.
type Operations interface {
	StartSync(ctx context.Context, since time.Time, trigger, by string) (*ent.SyncRun, error)
	ResumeSync(ctx context.Context, from *ent.SyncRun, by string) (*ent.SyncRun, error)
	StartReconciliation(ctx context.Context, window time.Duration, trigger, by string) (*ent.ReconciliationRun, error)
}

// Resolver holds what resolvers need. main builds it; it is never
// regenerated.
type Resolver struct {
	// Trail records mutations in the audit trail (nil: not recorded).
	Trail  *audit.Trail
	Client *ent.Client
	DB     *store.DB
	Hub    *live.Hub
	Auth   *auth.Service
	Log    *slog.Logger

	Pipeline *pipeline.Pipeline
	Tracker  *tracker.Tracker
	Recon    *reconcile.Service
	Alerts   *alert.Service
	// Analytics answers overview and eventStats; Anomalies acknowledges
	// and resolves anomalies.
	Analytics *analytics.Service
	Anomalies *scanner.Scanner
	// Keys open stored bodies (a nil keyring opens bodies stored in the clear).
	Keys *vault.Keyring
	// Ops starts the long operations the app owns (syncs, reconciliations).
	Ops  Operations
	Jobs *jobs.Runner
	// Instance is this process' id; Leader reports whether it runs the
	// scheduled jobs.
	Instance string
	Leader   func() bool

	// Enrichment reports the enrichment status (nil: enrichment is off).
	Enrichment func(ctx context.Context) (enrich.Status, error)
}
