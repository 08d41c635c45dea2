package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/graph/generated"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/usererr"
	"github.com/hooklens/hooklens/internal/web"
)

// MaxDepth limits how deeply one operation may nest; cost.go has the rest.
const MaxDepth = 12

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Authenticator authenticates websocket connection_init payloads.
	Authenticator *auth.Authenticator
	// AllowedOrigins lists extra origins (scheme://host[:port]) allowed to
	// open websockets; the server's own origin is always allowed.
	AllowedOrigins []string
	// KeepAlive is the keep-alive interval of websockets (both protocols)
	// and server-sent event streams (default 10s).
	KeepAlive time.Duration
	// InitTimeout is how long a websocket may take to send
	// connection_init before it is closed with 4408 (default 10s).
	InitTimeout time.Duration
	// Streams tracks open websockets and event streams for shutdown; nil
	// makes one from AllowedOrigins.
	Streams *Sockets
	// Timeout bounds each query and mutation (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxResponseBytes bounds the data of each query and mutation
	// (DefaultMaxResponseBytes when zero).
	MaxResponseBytes int64
}

// NewHandler returns the /graphql handler. HTTP requests must already carry
// a principal (the auth middleware runs first); websocket connections may
// bring theirs in connection_init.
func NewHandler(r *Resolver, opts HandlerOptions) http.Handler {
	es := generated.NewExecutableSchema(generated.Config{
		Resolvers:  r,
		Directives: generated.DirectiveRoot{Admin: adminDirective},
	})
	srv := handler.New(es)
	keepAlive := opts.KeepAlive
	if keepAlive <= 0 {
		keepAlive = 10 * time.Second
	}
	initTimeout := opts.InitTimeout
	if initTimeout <= 0 {
		initTimeout = 10 * time.Second
	}
	streams := opts.Streams
	if streams == nil {
		streams = NewSockets(opts.AllowedOrigins, initTimeout, r.Log)
	}
	streams.initTimeout = initTimeout
	srv.AddTransport(transport.Websocket{
		Implementation: streams.implementation(),
		// graphql-ws (legacy) gets "ka" messages, graphql-transport-ws gets
		// pings; a client that does not answer is not cut off for it.
		KeepAlivePingInterval: keepAlive,
		PingPongInterval:      keepAlive,
		MissingPongOk:         true,
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			p := auth.FromContext(ctx)
			if p == nil {
				var err error
				if p, err = opts.Authenticator.PrincipalFromInit(ctx, payload); err != nil {
					ctx = transport.WithWebsocketCloseCode(ctx, 4403)
					ctx = transport.AppendCloseReason(ctx, "Forbidden")
					return ctx, nil, errors.New("authentication required: send {\"authorization\": \"Bearer <token>\"} in connection_init, or sign in")
				}
				ctx = auth.WithPrincipal(ctx, p)
			}
			// The connection ends when its credentials are revoked or expire.
			return opts.Authenticator.Watch(ctx, p), nil, nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(preferredSSE{transport.SSE{KeepAlivePingInterval: keepAlive}}) // before POST, which would take it
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	srv.Use(persistedQueries())
	lim := &limits{log: r.Log, timeout: cmp.Or(opts.Timeout, DefaultTimeout), maxResponseBytes: cmp.Or(opts.MaxResponseBytes, DefaultMaxResponseBytes)}
	srv.Use(depthLimit{max: MaxDepth})
	srv.Use(lim)
	srv.Use(newObjectAuth(es.Schema()))
	srv.AroundOperations(requireAdminForMutations)
	srv.AroundOperations(withQueueLoader)
	if r.Trail != nil {
		r.Trail.UseSchema(es.Schema())
		srv.AroundResponses(r.Trail.AroundResponses)
	}
	srv.SetErrorPresenter(errorPresenter(r.Log))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		r.Log.Error("graphql resolver panic", "panic", v, "request_id", web.RequestID(ctx))
		return errors.New("internal error")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if web.IsWebsocket(req) && !streams.originAllowed(req) {
			streams.refuse(w, req)
			return
		}
		if !lim.limitBody(w, req) {
			return
		}
		req = streams.stream(w, req)
		box := &statusBox{}
		ctx := context.WithValue(req.Context(), statusKey{}, box)
		srv.ServeHTTP(&statusWriter{ResponseWriter: w, box: box}, req.WithContext(ctx))
	})
}

// adminDirective implements @admin.
func adminDirective(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if !auth.FromContext(ctx).IsAdmin() {
		return nil, usererr.New(usererr.Forbidden, "%s", auth.ErrForbidden.Error())
	}
	return next(ctx)
}

// requireAdminForMutations refuses every mutation to non-admins, so no
// mutation can be forgotten, and answers HTTP 403.
func requireAdminForMutations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == ast.Mutation && !auth.FromContext(ctx).IsAdmin() {
		setStatus(ctx, http.StatusForbidden)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    "viewers cannot run mutations; this needs an admin token",
			Extensions: map[string]any{"code": string(usererr.Forbidden)},
		}}})
	}
	if oc.Operation != nil && auth.FromContext(ctx) == nil {
		setStatus(ctx, http.StatusUnauthorized)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    auth.ErrUnauthenticated.Error(),
			Extensions: map[string]any{"code": string(usererr.Unauthorized)},
		}}})
	}
	return next(ctx)
}

// errorPresenter is the one place errors become GraphQL errors. User-facing
// errors keep their message and get a code; ent's not-found and validation
// errors are translated; anything else is logged and masked.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var ue *usererr.Error
		var nf *ent.NotFoundError
		var ve *ent.ValidationError
		var ce *ent.ConstraintError
		var already *gqlerror.Error
		switch {
		case errors.As(err, &ue):
			gerr.Message = ue.Message
			setCode(gerr, string(ue.Kind))
			if ue.Field != "" {
				gerr.Extensions["field"] = ue.Field
			}
		case errors.As(err, &nf):
			gerr.Message = "not found"
			setCode(gerr, string(usererr.NotFound))
		case errors.As(err, &ve):
			gerr.Message = ve.Error()
			setCode(gerr, string(usererr.Invalid))
		case errors.As(err, &ce):
			gerr.Message = "conflicts with existing data"
			setCode(gerr, string(usererr.Conflict))
		case strings.Contains(err.Error(), "ent: empty predicate"):
			// An empty object inside and/or/not in a where filter.
			gerr.Message = "a filter in where is empty: remove it or give it a condition"
			setCode(gerr, string(usererr.Invalid))
		case isInput(err, gerr):
			// A malformed cursor, time or id: the caller's mistake.
		case errors.As(err, &already) && already.Extensions != nil:
			// Parse, validation and complexity errors from gqlgen.
		case errors.As(err, &already) && already.Err == nil:
			setCode(gerr, "GRAPHQL_VALIDATION_FAILED")
		default:
			log.Error("graphql error", "err", err, "path", fmt.Sprint(gerr.Path), "request_id", web.RequestID(ctx))
			gerr.Message = "internal error (request " + web.RequestID(ctx) + ")"
			setCode(gerr, "INTERNAL")
		}
		return gerr
	}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

type statusKey struct{}

type statusBox struct{ code int }

func setStatus(ctx context.Context, code int) {
	if b, ok := ctx.Value(statusKey{}).(*statusBox); ok {
		b.code = code
	}
}

// statusWriter lets an operation middleware choose the HTTP status of a
// response that gqlgen would otherwise send as 200.
type statusWriter struct {
	http.ResponseWriter
	box     *statusBox
	written bool
}

func (s *statusWriter) WriteHeader(code int) {
	s.written = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.written {
		s.written = true
		if s.box.code != 0 {
			s.ResponseWriter.WriteHeader(s.box.code)
		}
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// depthLimit rejects operations nested deeper than max.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (d depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (d depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	// Introspection (__schema, __type) is exempt: GraphiQL's standard query
	// nests 15 levels, and it is bounded by the schema, not by data.
	var set ast.SelectionSet
	for _, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && strings.HasPrefix(f.Name, "__") {
			continue
		}
		set = append(set, sel)
	}
	if depth := selectionDepth(set, oc.Doc.Fragments, 0); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation is nested %d levels deep; the limit is %d", depth, d.max),
			Extensions: map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"},
		}
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) int {
	if seen > 64 {
		return seen // cyclic fragments are rejected by validation; stop here
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = 1
			} else {
				d = 1 + selectionDepth(s.SelectionSet, frags, seen+1)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, seen+1)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				d = selectionDepth(f.SelectionSet, frags, seen+1)
			}
		}
		if d > deepest {
			deepest = d
		}
	}
	return deepest
}

// preferredSSE is gqlgen's server-sent-events transport, chosen only when
// the client names text/event-stream first in Accept. gqlgen's own check
// takes any Accept that mentions it, and urql (the dashboard's client)
// lists it after JSON for incremental delivery: every query was then
// answered as a stream, which urql aborts when a page moves on.
type preferredSSE struct{ transport.SSE }

// Supports implements graphql.Transport.
func (t preferredSSE) Supports(r *http.Request) bool {
	first, _, _ := strings.Cut(r.Header.Get("Accept"), ",")
	mediaType, _, _ := strings.Cut(first, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/event-stream") && t.SSE.Supports(r)
}
