package audit

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/web"
)

// ActorOf describes the principal in ctx as an entry's actor ("system"
// when there is none).
func ActorOf(ctx context.Context) Entry {
	p := auth.FromContext(ctx)
	if p == nil {
		return Entry{Actor: "system", ActorKind: KindSystem, RequestID: web.RequestID(ctx), RemoteAddr: web.ClientAddr(ctx)}
	}
	kind := KindToken
	if p.Via() == "session" {
		kind = KindSession
	}
	return Entry{Actor: p.TokenName, ActorKind: kind, ActorTokenID: p.TokenID, RequestID: web.RequestID(ctx), RemoteAddr: web.ClientAddr(ctx)}
}

// Record appends an entry for an action by the principal in ctx, logging
// (not returning) a failure: the action already happened, and refusing its
// answer would not undo it. Use Append where the action must not proceed
// without its entry.
func (t *Trail) Record(ctx context.Context, action, target string, detail map[string]any) {
	e := ActorOf(ctx)
	e.Action, e.Target, e.Detail = action, target, detail
	t.record(ctx, e)
}

func (t *Trail) record(ctx context.Context, e Entry) {
	// The request may be over, but its entry must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := t.Append(ctx, e); err != nil {
		t.log.Error("writing the audit trail", "err", err, "action", e.Action, "request_id", e.RequestID)
	}
}

// RecordCLI appends an entry for a command-line action (keys rotate,
// token create, …), returning any failure.
func (t *Trail) RecordCLI(ctx context.Context, action, target string, detail map[string]any) error {
	_, err := t.Append(ctx, Entry{Actor: "cli", ActorKind: KindCLI, Action: action, Target: target, Detail: detail})
	return err
}

// SignIn records a sign-in attempt; its signature fits
// auth.Authenticator.OnSignIn. Failed attempts are recorded too, with the
// address they came from.
func (t *Trail) SignIn(r *http.Request, p *auth.Principal, err error) {
	e := Entry{Actor: "anonymous", ActorKind: KindSystem, Action: "session.create", RemoteAddr: web.ClientIP(r),
		RequestID: web.RequestID(r.Context())}
	if p != nil {
		e.Actor, e.ActorKind, e.ActorTokenID = p.TokenName, KindToken, p.TokenID
		e.Detail = map[string]any{"role": string(p.Role)}
	}
	if err != nil {
		e.Action = "session.create_failed"
		e.Detail = map[string]any{"reason": err.Error()}
	}
	t.record(r.Context(), e)
}

// TokenUse records a token's use at most once a minute per token on this
// instance; its signature fits auth.Service.OnTokenUse (which itself calls
// at most once a minute per token).
func (t *Trail) TokenUse(ctx context.Context, p *auth.Principal) {
	if p == nil {
		return
	}
	now := t.now()
	t.mu.Lock()
	if last, ok := t.lastUse[p.TokenID]; ok && now.Sub(last) < time.Minute {
		t.mu.Unlock()
		return
	}
	t.lastUse[p.TokenID] = now
	t.mu.Unlock()
	e := ActorOf(ctx)
	e.Actor, e.ActorKind, e.ActorTokenID = p.TokenName, KindToken, p.TokenID
	e.Action = "token.use"
	t.record(ctx, e)
}

// redactedWords mark variable names whose values never reach the trail,
// besides the values at @secret positions of the schema (redact.go).
var redactedWords = []string{"token", "secret", "password", "passphrase", "authorization", "cookie", "apikey", "privatekey"}

// AroundResponses records every GraphQL mutation after it ran: the
// operation name, the mutation fields, the variables (values at @secret
// positions of the schema, and under names that may hold secrets,
// redacted) and whether it failed. Install it with
// handler.Server.AroundResponses. Mutations refused before they ran (a
// viewer's) are not recorded.
func (t *Trail) AroundResponses(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return resp
	}
	var fields []string
	for _, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			fields = append(fields, f.Name)
		}
	}
	sort.Strings(fields)
	detail := map[string]any{"fields": fields, "variables": redact(redactBySchema(t.schema, oc.Operation, oc.Variables))}
	if oc.OperationName != "" {
		detail["operation"] = oc.OperationName
	}
	if resp != nil && len(resp.Errors) > 0 {
		detail["failed"] = true
		detail["error"] = resp.Errors[0].Message
	}
	t.Record(ctx, "mutation."+strings.Join(fields, "+"), mutationTarget(oc), detail)
	return resp
}

// mutationTarget names what the first mutation field acts on: its id, key
// or definition argument, or its input's key or name.
func mutationTarget(oc *graphql.OperationContext) string {
	for _, sel := range oc.Operation.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		args := f.ArgumentMap(oc.Variables)
		for _, name := range []string{"id", "key", "definition"} {
			if v, ok := args[name]; ok && v != nil {
				return fmt.Sprint(v)
			}
		}
		if in, ok := args["input"].(map[string]any); ok {
			for _, name := range []string{"key", "name"} {
				if v, ok := in[name]; ok && v != nil {
					return fmt.Sprint(v)
				}
			}
		}
		return ""
	}
	return ""
}

func redact(vars map[string]any) map[string]any {
	if len(vars) == 0 {
		return nil
	}
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		out[k] = redactValue(k, v)
	}
	return out
}

func redactValue(name string, v any) any {
	lower := strings.ToLower(name)
	if lower == "key" || lower == "url" || strings.HasSuffix(lower, "url") {
		return "[redacted]" // alert channel URLs carry secrets (Slack's do)
	}
	for _, r := range redactedWords {
		if strings.Contains(lower, r) {
			return "[redacted]"
		}
	}
	switch x := v.(type) {
	case map[string]any:
		return redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(name, e)
		}
		return out
	case string:
		if strings.HasPrefix(x, auth.TokenPrefix) {
			return "[redacted]"
		}
	}
	return v
}
