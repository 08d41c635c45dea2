package graph

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
)

// PersistedQueryCacheSize bounds the automatic persisted queries kept in
// memory (per instance): the least recently used are forgotten, and a
// client whose hash is unknown gets PERSISTED_QUERY_NOT_FOUND and sends
// the query again, as the APQ protocol expects.
const PersistedQueryCacheSize = 1000

// persistedQueries is Apollo's automatic persisted queries: a client may
// send only the query's SHA-256 (extensions.persistedQuery.sha256Hash) once
// the server has seen the query with it.
func persistedQueries() graphql.HandlerExtension {
	return extension.AutomaticPersistedQuery{Cache: lru.New[string](PersistedQueryCacheSize)}
}

// isEventStream reports whether r asks for a subscription over server-sent
// events (gqlgen's SSE transport takes it).
func isEventStream(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// stream prepares a server-sent event request: the server's write timeout
// is for ordinary answers, not for a subscription that lasts hours, and a
// shutdown ends the stream (the client reconnects) rather than waiting for
// it until the grace period runs out.
func (s *Sockets) stream(w http.ResponseWriter, r *http.Request) *http.Request {
	if !isEventStream(r) {
		return r
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	ctx, cancel := context.WithCancel(r.Context())
	s.mu.Lock()
	if s.goingAway == nil {
		s.goingAway = make(chan struct{})
	}
	gone := s.goingAway
	s.mu.Unlock()
	go func() {
		defer cancel()
		select {
		case <-gone:
		case <-ctx.Done():
		}
	}()
	return r.WithContext(ctx)
}
