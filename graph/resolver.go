// Package graph is hooklens' GraphQL API: the hand-written schema
// (*.graphqls), thin resolvers over ent and the internal services, and the
// HTTP handler with its transports, limits and error presenter. Generated
// code lives in graph/generated and graph/model.
package graph

import (
	"log/slog"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/jobs"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
)

// Resolver holds what resolvers need. main builds it; it is never
// regenerated.
type Resolver struct {
	Client *ent.Client
	DB     *store.DB
	Hub    *live.Hub
	Auth   *auth.Service
	Log    *slog.Logger

	Pipeline *pipeline.Pipeline
	Tracker  *tracker.Tracker
	Jobs     *jobs.Runner
	// Instance is this process' id; Leader reports whether it runs the
	// scheduled jobs.
	Instance string
	Leader   func() bool
}
