package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hooklens/hooklens/internal/web"
)

// GraphQLShapedErrors wraps the middleware in front of /graphql (the auth
// check, rate limits) so that the errors they answer reach GraphQL clients
// in GraphQL's shape, {"errors":[{"message":…,"extensions":{"code":…}}]},
// with the same status and headers (401 keeps WWW-Authenticate, 429 its
// Retry-After). Introspection tools and GraphQL client libraries read
// errors only from there; a REST error body looks to them like an empty
// answer. The code is the REST code in upper case (unauthenticated →
// UNAUTHENTICATED). Answers from the GraphQL handler itself pass through.
func GraphQLShapedErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.IsWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &shapeWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

// shapeWriter buffers a REST error answer (a 4xx/5xx in web.ErrorBody's
// JSON shape written before anything else) and rewrites it; any other
// answer goes straight through.
type shapeWriter struct {
	http.ResponseWriter
	status    int
	buffering bool
	decided   bool
	buf       bytes.Buffer
}

func (s *shapeWriter) WriteHeader(code int) {
	if s.decided {
		s.ResponseWriter.WriteHeader(code)
		return
	}
	s.decided = true
	if code >= 400 && strings.HasPrefix(s.Header().Get("Content-Type"), "application/json") {
		s.status, s.buffering = code, true
		return
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *shapeWriter) Write(b []byte) (int, error) {
	if !s.decided {
		s.WriteHeader(http.StatusOK)
	}
	if s.buffering {
		return s.buf.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

func (s *shapeWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *shapeWriter) Flush() {
	if s.buffering {
		return
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *shapeWriter) finish() {
	if !s.buffering {
		return
	}
	body := s.buf.Bytes()
	var rest web.ErrorBody
	if err := json.Unmarshal(body, &rest); err == nil && rest.Error.Code != "" {
		ext := map[string]any{"code": strings.ToUpper(rest.Error.Code)}
		if rest.RequestID != "" {
			ext["requestId"] = rest.RequestID
		}
		body, _ = json.Marshal(map[string]any{"errors": []map[string]any{{"message": rest.Error.Message, "extensions": ext}}})
		body = append(body, '\n')
		s.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	s.ResponseWriter.WriteHeader(s.status)
	_, _ = s.ResponseWriter.Write(body)
}
