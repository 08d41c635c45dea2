package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/web"
)

// Limits on what one request may cost the server. A read-only token must
// not be able to take memory, CPU or database time from webhook ingest, so
// each is refused up front where it can be known before running, and cut
// with a clear error where it cannot.
const (
	// MaxCost bounds an operation's cost (see operationCost): roughly the
	// number of values it can resolve, with list fields counted at their
	// page size, multiplied down the tree, as GitHub's node limit does.
	MaxCost = 50_000
	// MaxAliases bounds the aliased fields in one operation (after
	// fragments are expanded): aliases are how one request repeats an
	// expensive field.
	MaxAliases = 100
	// MaxRequestBytes bounds a GraphQL request body.
	MaxRequestBytes = 1 << 20
	// DefaultMaxResponseBytes bounds the data one query or mutation may
	// produce, unless HandlerOptions say otherwise.
	DefaultMaxResponseBytes = 16 << 20
	// DefaultTimeout bounds one query or mutation (not a subscription),
	// below the HTTP server's write timeout so the client gets an answer
	// rather than a cut connection.
	DefaultTimeout = 20 * time.Second
)

// Costs of the fields that run a database query.
const (
	queryCost = 10 // a connection or nodes field: one query per parent
	countCost = 10 // totalCount: one COUNT per connection
)

// Error codes of refused requests, in extensions.code.
const (
	CodeCostLimit     = "COST_LIMIT_EXCEEDED"
	CodeAliasLimit    = "ALIAS_LIMIT_EXCEEDED"
	CodeResponseLimit = "RESPONSE_TOO_LARGE"
	CodeRequestLimit  = "REQUEST_TOO_LARGE"
	CodeTimeout       = "TIMEOUT"
)

// limits enforces the limits above; one value serves every request.
type limits struct {
	log              *slog.Logger
	timeout          time.Duration
	maxResponseBytes int64
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = (*limits)(nil)

func (l *limits) ExtensionName() string                   { return "RequestLimits" }
func (l *limits) Validate(graphql.ExecutableSchema) error { return nil }

// refused logs a refusal: which limit, by whom, from where.
func (l *limits) refused(ctx context.Context, reason string, attrs ...any) {
	p := auth.FromContext(ctx)
	who := ""
	if p != nil {
		who = p.TokenName
	}
	attrs = append(attrs, "reason", reason, "token_name", who, "remote", web.ClientAddr(ctx), "request_id", web.RequestID(ctx))
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		attrs = append(attrs, "operation", oc.OperationName)
	}
	l.log.Warn("graphql request refused", attrs...)
}

// MutateOperationContext refuses operations over the cost or alias limits
// before anything runs.
func (l *limits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	c := operationCost(oc.Operation, oc.Doc.Fragments, oc.Variables)
	switch {
	case c.aliases > MaxAliases:
		l.refused(ctx, "aliases", "aliases", c.aliases, "limit", MaxAliases)
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation has more than %d aliased fields (the limit is %d); split it into several requests", MaxAliases, MaxAliases),
			Extensions: map[string]any{"code": CodeAliasLimit, "limit": MaxAliases},
		}
	case c.cost > MaxCost:
		l.refused(ctx, "cost", "cost", c.cost, "limit", MaxCost)
		return &gqlerror.Error{
			Message: fmt.Sprintf("operation costs more than %d (the limit is %d): lists count at their page size (first/last, %d when absent) "+
				"multiplied down the tree; ask for smaller pages, fewer fields or fewer aliases", MaxCost, MaxCost, defaultPage),
			Extensions: map[string]any{"code": CodeCostLimit, "cost": c.cost, "limit": MaxCost},
		}
	}
	return nil
}

// budget is one query's or mutation's running account.
type budget struct {
	bytes    atomic.Int64
	exceeded atomic.Bool
	cancel   context.CancelFunc
}

type budgetKey struct{}

// InterceptOperation bounds each query's and mutation's time and gives it
// a byte budget. Subscriptions run as long as their client listens.
func (l *limits) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	if oc := graphql.GetOperationContext(ctx); oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	b := &budget{cancel: cancel}
	ctx = context.WithValue(ctx, budgetKey{}, b)
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		defer cancel() // a query or mutation has one response
		resp := h(ctx)
		if resp == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// Out of time before it could start: gqlgen ends the stream
			// without an answer, which POST would send as "null".
			l.refused(ctx, "timeout", "timeout", l.timeout.String())
			return &graphql.Response{Errors: gqlerror.List{timeoutError(l.timeout)}}
		}
		return resp
	}
}

// InterceptField charges the size of each resolved string to the
// operation's byte budget, and turns errors of an operation out of time
// into one clear error instead of one "internal error" per field.
func (l *limits) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	b, _ := ctx.Value(budgetKey{}).(*budget)
	if b == nil {
		return next(ctx)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, timeoutError(l.timeout) // resolve nothing more
	}
	res, err := next(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, timeoutError(l.timeout)
	}
	if n := resultSize(res); n > 0 && b.bytes.Add(n) > l.maxResponseBytes && !b.exceeded.Swap(true) {
		b.cancel() // stop the resolvers still running
	}
	if b.exceeded.Load() {
		return nil, responseTooLarge(l.maxResponseBytes)
	}
	return res, err
}

// resultSize estimates what a resolved value adds to the response, for
// the values that can be large.
func resultSize(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x))
	case *string:
		if x != nil {
			return int64(len(*x))
		}
	case []byte:
		return int64(len(x))
	case json.RawMessage:
		return int64(len(x))
	}
	return 0
}

// InterceptResponse replaces the answer of an operation that ran out of
// time or bytes with one error saying so, and enforces the byte limit on
// the marshalled data.
func (l *limits) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	b, _ := ctx.Value(budgetKey{}).(*budget)
	if resp == nil || b == nil {
		return resp
	}
	switch {
	case b.exceeded.Load() || int64(len(resp.Data)) > l.maxResponseBytes:
		l.refused(ctx, "response_bytes", "bytes", max(b.bytes.Load(), int64(len(resp.Data))), "limit", l.maxResponseBytes)
		return &graphql.Response{Errors: gqlerror.List{responseTooLarge(l.maxResponseBytes)}}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		l.refused(ctx, "timeout", "timeout", l.timeout.String())
		return &graphql.Response{Errors: gqlerror.List{timeoutError(l.timeout)}}
	}
	return resp
}

func responseTooLarge(limit int64) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("the answer would exceed %d KiB; ask for smaller pages or fewer fields", limit>>10),
		Extensions: map[string]any{"code": CodeResponseLimit, "limit": limit},
	}
}

func timeoutError(d time.Duration) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("the request ran longer than %s and was stopped; ask for less at once", d),
		Extensions: map[string]any{"code": CodeTimeout},
	}
}

// limitBody reads a POSTed GraphQL request body of at most MaxRequestBytes
// into memory, and answers 413 for a larger one; it reports whether the
// request may go on. Other methods carry no body worth limiting (GET
// queries are bounded by the header limit, websockets by their frame
// limit).
func (l *limits) limitBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost || web.IsWebsocket(r) {
		return true
	}
	var body []byte
	if r.ContentLength <= MaxRequestBytes {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
		if err != nil {
			web.Error(w, r, http.StatusBadRequest, "bad_request", "could not read the request body")
			return false
		}
	}
	if r.ContentLength > MaxRequestBytes || len(body) > MaxRequestBytes {
		l.refused(r.Context(), "request_bytes", "content_length", r.ContentLength, "limit", MaxRequestBytes)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_ = json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{
			Message:    fmt.Sprintf("GraphQL requests are limited to %d KiB", MaxRequestBytes>>10),
			Extensions: map[string]any{"code": CodeRequestLimit, "limit": MaxRequestBytes},
		}}})
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// cost is what operationCost found.
type cost struct {
	cost    int
	aliases int
}

// operationCost prices an operation before it runs. Every field costs
// one per time it resolves; a list field with first/last resolves its
// edges and nodes that many times (defaultPage when neither is given),
// nodes(ids:) once per id, and the multipliers compound down the tree. A
// connection or nodes field costs queryCost and totalCount countCost per
// time they resolve: each is a database query. The walk stops as soon as a
// limit is passed, so a fragment bomb costs no more than the limit to price.
func operationCost(op *ast.OperationDefinition, frags ast.FragmentDefinitionList, vars map[string]any) cost {
	var c cost
	w := costWalker{frags: frags, vars: vars, c: &c}
	w.walk(op.SelectionSet, 1, 0)
	return c
}

type costWalker struct {
	frags ast.FragmentDefinitionList
	vars  map[string]any
	c     *cost
}

func (w costWalker) over() bool { return w.c.cost > MaxCost || w.c.aliases > MaxAliases }

func (w costWalker) walk(set ast.SelectionSet, mult, depth int) {
	if depth > 64 {
		return // cyclic fragments are rejected by validation; stop here
	}
	for _, sel := range set {
		if w.over() {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			w.field(s, mult, depth)
		case *ast.InlineFragment:
			w.walk(s.SelectionSet, mult, depth+1)
		case *ast.FragmentSpread:
			if f := w.frags.ForName(s.Name); f != nil {
				w.walk(f.SelectionSet, mult, depth+1)
			}
		}
	}
}

func (w costWalker) field(f *ast.Field, mult, depth int) {
	if f.Alias != "" && f.Alias != f.Name {
		w.c.aliases++
	}
	own, items := 1, 0
	if def := f.Definition; def != nil {
		args := f.ArgumentMap(w.vars)
		switch {
		case def.Arguments.ForName("first") != nil || def.Arguments.ForName("last") != nil:
			own, items = queryCost, pageOf(args)
		case def.Name == "nodes" && def.Arguments.ForName("ids") != nil:
			ids, _ := args["ids"].([]any)
			own, items = queryCost, len(ids)
		case def.Name == "totalCount":
			own = countCost
		}
	}
	w.c.cost = addCapped(w.c.cost, mulCapped(own, mult))
	if len(f.SelectionSet) == 0 {
		return
	}
	if items == 0 {
		w.walk(f.SelectionSet, mult, depth+1)
		return
	}
	// A connection's edges and nodes repeat per item; its totalCount and
	// pageInfo do not.
	for _, sel := range f.SelectionSet {
		if sf, ok := sel.(*ast.Field); ok && (sf.Name == "totalCount" || sf.Name == "pageInfo" || sf.Name == "__typename") {
			w.field(sf, mult, depth+1)
			continue
		}
		w.walk(ast.SelectionSet{sel}, mulCapped(mult, items), depth+1)
	}
}

// pageOf is the most items a connection with these arguments returns.
func pageOf(args map[string]any) int {
	n := 0
	for _, k := range []string{"first", "last"} {
		if v, ok := asInt(args[k]); ok && v > n {
			n = v
		}
	}
	if args["first"] == nil && args["last"] == nil {
		n = defaultPage
	}
	return n
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		return int(x), true
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}

const costCap = 1 << 40 // far above any limit, far below overflow

func mulCapped(a, b int) int {
	if a != 0 && b > costCap/a {
		return costCap
	}
	return min(a*b, costCap)
}

func addCapped(a, b int) int { return min(a+b, costCap) }
