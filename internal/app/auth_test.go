package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/graph"
	"github.com/hooklens/hooklens/graph/generated"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/dbtest"
)

func TestGraphQLAuth(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})

	r := s.GraphQL("", `{ viewer { name } }`, nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	r = s.GraphQL("hl_not-a-real-token", `{ viewer { name } }`, nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)

	r = s.GraphQL(s.Viewer, `{ viewer { name role via } }`, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.JSONEq(t, `{"viewer":{"name":"test viewer","role":"viewer","via":"token"}}`, string(r.Data))

	// Viewers run no mutation.
	r = s.GraphQL(s.Viewer, `mutation { createAPIToken(input: {name: "x", role: viewer}) { token } }`, nil)
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	// Nor admin-only queries.
	r = s.GraphQL(s.Viewer, `{ apiTokens { name } }`, nil)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])

	// Admins create tokens; the new token works until revoked.
	var created struct {
		CreateAPIToken struct {
			Token    string `json:"token"`
			APIToken struct {
				ID     string `json:"id"`
				Prefix string `json:"prefix"`
			} `json:"apiToken"`
		} `json:"createAPIToken"`
	}
	s.MustGraphQL(`mutation { createAPIToken(input: {name: "ci", role: viewer}) { token apiToken { id prefix } } }`, nil, &created)
	tok := created.CreateAPIToken.Token
	require.True(t, strings.HasPrefix(tok, auth.TokenPrefix))
	require.True(t, strings.HasPrefix(tok, created.CreateAPIToken.APIToken.Prefix))
	require.Equal(t, http.StatusOK, s.GraphQL(tok, `{ viewer { name } }`, nil).Status)
	s.MustGraphQL(`mutation($id: ID!) { revokeAPIToken(id: $id) { revokedAt } }`, map[string]any{"id": created.CreateAPIToken.APIToken.ID}, nil)
	require.Equal(t, http.StatusUnauthorized, s.GraphQL(tok, `{ viewer { name } }`, nil).Status)

	// The revocation is in the audit trail: who, from where, on what.
	var trail struct {
		AuditLogs struct {
			Edges []struct {
				Node struct {
					Actor      string `json:"actor"`
					Target     string `json:"target"`
					RemoteAddr string `json:"remoteAddr"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"auditLogs"`
	}
	s.MustGraphQL(`{ auditLogs(where: {action: "mutation.revokeAPIToken"}) { edges { node { actor target remoteAddr } } } }`, nil, &trail)
	require.Len(t, trail.AuditLogs.Edges, 1)
	require.Equal(t, "test admin", trail.AuditLogs.Edges[0].Node.Actor)
	require.Equal(t, created.CreateAPIToken.APIToken.ID, trail.AuditLogs.Edges[0].Node.Target)
	require.Equal(t, "127.0.0.1", trail.AuditLogs.Edges[0].Node.RemoteAddr)

	// Introspection is exempt from the depth limit (GraphiQL's query nests deeper).
	r = s.GraphQL(s.Viewer, `{ __schema { types { name fields { name type { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { name } } } } } } } } } } } }`, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Empty(t, r.Errors)

	// An empty filter is the caller's mistake, not an internal error.
	r = s.GraphQL(s.Viewer, `{ events(where: {and: [{}]}) { totalCount } }`, nil)
	require.NotEmpty(t, r.Errors)
	require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])

	// Limits: a deeply nested query is refused before it runs.
	deep := `{ events { edges { node { deliveries { edges { node { event { deliveries { edges { node { event { deliveries { edges { node { id } } } } } } } } } } } } } } }`
	r = s.GraphQL(s.Admin, deep, nil)
	require.NotEmpty(t, r.Errors)
	require.Equal(t, "DEPTH_LIMIT_EXCEEDED", r.Errors[0].Extensions["code"])
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	post := func(path string, body any, headers map[string]string) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		return resp
	}

	resp := post("/api/session", map[string]string{"token": "hl_wrong"}, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp.Body.Close()

	resp = post("/api/session", map[string]string{"token": s.Viewer}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var sess struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		CSRFToken string `json:"csrfToken"`
	}
	apptest.ReadJSON(t, resp, &sess)
	require.Equal(t, "viewer", sess.Role)
	require.NotEmpty(t, sess.CSRFToken)
	var sessionCookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == auth.SessionCookie {
			sessionCookie = ck
		}
	}
	require.NotNil(t, sessionCookie)
	require.True(t, sessionCookie.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sessionCookie.SameSite)

	gql := map[string]any{"query": "{ viewer { name via } }"}
	resp = post("/graphql", gql, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a cookie alone is not enough for a POST")
	resp.Body.Close()
	resp = post("/graphql", gql, map[string]string{auth.CSRFHeader: "wrong"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp.Body.Close()
	resp = post("/graphql", gql, map[string]string{auth.CSRFHeader: sess.CSRFToken})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Data struct {
			Viewer struct{ Name, Via string } `json:"viewer"`
		} `json:"data"`
	}
	apptest.ReadJSON(t, resp, &out)
	require.Equal(t, "session", out.Data.Viewer.Via)

	// GET /api/session says who is signed in.
	g, err := c.Get(s.URL + "/api/session")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, g.StatusCode)
	g.Body.Close()

	// A websocket authenticates with the cookie alone.
	ws, ack, err := s.DialWS("graphql-transport-ws", http.Header{"Cookie": {sessionCookie.Name + "=" + sessionCookie.Value}}, nil)
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.Close()

	// Signing out ends the session.
	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/api/session", nil)
	req.Header.Set(auth.CSRFHeader, sess.CSRFToken)
	resp, err = c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { name } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(sessionCookie)
	req.Header.Set(auth.CSRFHeader, sess.CSRFToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp.Body.Close()
}

func TestWebsocketAuth(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})

	t.Run("no credentials", func(t *testing.T) {
		ws, _, err := s.DialWS("graphql-transport-ws", nil, map[string]any{})
		if err == nil {
			// The server answers with an error, then closes with 4403.
			_, err = ws.Next(5 * time.Second)
			for err == nil {
				_, err = ws.Next(5 * time.Second)
			}
		}
		require.Equal(t, 4403, apptest.CloseError(err), "err: %v", err)
	})
	t.Run("bad token", func(t *testing.T) {
		ws, _, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer hl_nope"})
		for err == nil {
			_, err = ws.Next(5 * time.Second)
		}
		require.Equal(t, 4403, apptest.CloseError(err))
	})
	t.Run("token in payload, legacy protocol", func(t *testing.T) {
		ws, ack, err := s.DialWS("graphql-ws", nil, map[string]any{"token": s.Viewer})
		require.NoError(t, err)
		require.Equal(t, "connection_ack", ack.Type)
		ws.SubscribeWait("a", `subscription { eventReceived { eventID } }`, nil)
		code, _ := receive(t, s, eventBody("legacy-1", "customer_created"))
		require.Equal(t, http.StatusOK, code)
		var got struct {
			EventReceived struct{ EventID string } `json:"eventReceived"`
		}
		ws.NextData(5*time.Second, &got)
		require.Equal(t, "legacy-1", got.EventReceived.EventID)
	})
	t.Run("foreign origin", func(t *testing.T) {
		_, _, err := s.DialWS("graphql-transport-ws", http.Header{"Origin": {"https://evil.example"}}, map[string]any{"token": s.Admin})
		require.Error(t, err)
		require.Contains(t, err.Error(), "403")
	})
}

// TestNodeAuthorisation walks every node type through node and nodes with
// a viewer token: admin-only types (those listed by an @admin query field)
// are refused whatever the path, every other type reads as it does for an
// admin. Global ids are allocated in ranges of 2^32 per type, so the walk
// tries the first ids of every range.
func TestNodeAuthorisation(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	code, _ := receive(t, s, eventBody("node-auth-1", "customer_created"))
	require.Equal(t, http.StatusOK, code)
	// An audit entry, and a token with a name worth hiding.
	s.MustGraphQL(`mutation { createAPIToken(input: {name: "secret-admin-name", role: admin}) { token } }`, nil, nil)

	adminOnly := graph.AdminOnlyTypes(generated.NewExecutableSchema(generated.Config{}).Schema())
	require.Equal(t, map[string]bool{"APIToken": true, "AuditLog": true}, adminOnly)

	const q = `query($id: ID!) { node(id: $id) { __typename id
		... on APIToken { name role prefix lastUsedAt }
		... on AuditLog { action actor detail } } }`
	seen := map[string]bool{}
	var forbiddenIDs []string
	for k := range 24 {
		for j := 1; j <= 3; j++ {
			id := strconv.Itoa(k<<32 + j)
			admin := s.GraphQL(s.Admin, q, map[string]any{"id": id})
			var got struct {
				Node *struct {
					Typename string `json:"__typename"`
				} `json:"node"`
			}
			require.NoError(t, json.Unmarshal(admin.Data, &got))
			if got.Node == nil {
				continue
			}
			typ := got.Node.Typename
			seen[typ] = true
			viewer := s.GraphQL(s.Viewer, q, map[string]any{"id": id})
			if !adminOnly[typ] {
				require.Empty(t, viewer.Errors, "%s %s", typ, id)
				require.JSONEq(t, string(admin.Data), string(viewer.Data), "%s %s", typ, id)
				continue
			}
			forbiddenIDs = append(forbiddenIDs, id)
			require.NotEmpty(t, viewer.Errors, "%s %s", typ, id)
			for _, e := range viewer.Errors {
				require.Equal(t, "FORBIDDEN", e.Extensions["code"], "%s %s: %s", typ, id, e.Message)
			}
			require.JSONEq(t, `{"node": null}`, string(viewer.Data), "%s %s", typ, id)
		}
	}
	for typ := range adminOnly {
		require.True(t, seen[typ], "the walk found no %s", typ)
	}
	require.True(t, seen["WebhookEvent"] && seen["WebhookDelivery"], "seen: %v", seen)

	// nodes: the same refusal, and nothing of them in the answer.
	r := s.GraphQL(s.Viewer, `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on APIToken { name prefix } ... on AuditLog { actor } } }`,
		map[string]any{"ids": forbiddenIDs})
	require.NotEmpty(t, r.Errors)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])
	require.NotContains(t, string(r.Data), "secret-admin-name")
	require.NotContains(t, string(r.Data), "test admin")
}

// TestFailedAuthLimiterCoversWebsocketsAndCookies: bad tokens in a
// websocket's connection_init and forged session cookies spend the
// address's failed-authentication budget like bad bearer tokens; past it
// even a good token is refused.
func TestFailedAuthLimiterCoversWebsocketsAndCookies(t *testing.T) {
	t.Parallel()
	t.Run("connection_init", func(t *testing.T) {
		t.Parallel()
		s := apptest.Start(t, "sqlite", apptest.Options{})
		for range 10 { // HOOKLENS_SIGNIN_LIMIT's default burst
			ws, _, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer hl_forged"})
			for err == nil {
				_, err = ws.Next(5 * time.Second)
			}
			require.Equal(t, 4403, apptest.CloseError(err), "err: %v", err)
		}
		ws, _, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer " + s.Viewer})
		for err == nil {
			_, err = ws.Next(5 * time.Second)
		}
		require.Equal(t, 4403, apptest.CloseError(err), "a good token past the budget is refused too")
		require.Equal(t, http.StatusTooManyRequests, s.GraphQL(s.Viewer, `{ viewer { name } }`, nil).Status)
	})
	t.Run("session cookie", func(t *testing.T) {
		t.Parallel()
		s := apptest.Start(t, "sqlite", apptest.Options{})
		for i := range 10 {
			req, err := http.NewRequest(http.MethodGet, s.URL+"/api/session", nil)
			require.NoError(t, err)
			req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: "forged-" + strconv.Itoa(i)})
			resp, err := s.Client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			// The stale cookie is dropped.
			require.Contains(t, resp.Header.Values("Set-Cookie")[0], auth.SessionCookie+"=;")
		}
		require.Equal(t, http.StatusTooManyRequests, s.GraphQL(s.Viewer, `{ viewer { name } }`, nil).Status)
	})
}

// waitClosed reads ws until the server closes it, and fails if it is still
// open after d (keep-alives and data do not count).
func waitClosed(t *testing.T, ws *apptest.WS, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		remaining := time.Until(deadline)
		require.Positive(t, remaining, "the websocket is still open")
		_, err := ws.Next(remaining)
		if err == nil {
			continue
		}
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the websocket is still open after %s", d)
		return
	}
}

// TestRevocationClosesWebsockets is issue 20's finding 5: a revoked token
// and a signed-out session kept streaming over their open websockets. They
// now close within seconds, also on another instance than the one that
// revoked them.
func TestRevocationClosesWebsockets(t *testing.T) {
	t.Parallel()
	// Two instances on one PostgreSQL database.
	u := dbtest.URL(t, "postgres")
	a := apptest.Start(t, "postgres", apptest.Options{DatabaseURL: u})
	b := apptest.Start(t, "postgres", apptest.Options{DatabaseURL: u})
	const sub = `subscription { eventReceived { eventID } }`

	t.Run("token", func(t *testing.T) {
		var created struct {
			CreateAPIToken struct {
				Token    string              `json:"token"`
				APIToken struct{ ID string } `json:"apiToken"`
			} `json:"createAPIToken"`
		}
		a.MustGraphQL(`mutation { createAPIToken(input: {name: "wall screen", role: viewer}) { token apiToken { id } } }`, nil, &created)
		ws, ack, err := b.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer " + created.CreateAPIToken.Token})
		require.NoError(t, err)
		require.Equal(t, "connection_ack", ack.Type)
		ws.Subscribe("1", sub, nil)
		// Streaming until revoked.
		require.Eventually(t, func() bool {
			code, _ := receive(t, b, eventBody("rev-"+strconv.FormatInt(time.Now().UnixNano(), 10), "customer_created"))
			require.Equal(t, http.StatusOK, code)
			m, err := ws.Next(500 * time.Millisecond)
			return err == nil && m.Type == "next"
		}, 10*time.Second, 10*time.Millisecond)

		a.MustGraphQL(`mutation($id: ID!) { revokeAPIToken(id: $id) { revokedAt } }`, map[string]any{"id": created.CreateAPIToken.APIToken.ID}, nil)
		waitClosed(t, ws, 4*auth.RecheckEvery)
	})

	t.Run("session", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"token": b.Viewer})
		resp, err := http.Post(a.URL+"/api/session", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		var sess struct {
			CSRFToken string `json:"csrfToken"`
		}
		apptest.ReadJSON(t, resp, &sess)
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == auth.SessionCookie {
				cookie = ck
			}
		}
		require.NotNil(t, cookie)
		ws, ack, err := b.DialWS("graphql-transport-ws", http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}, nil)
		require.NoError(t, err)
		require.Equal(t, "connection_ack", ack.Type)
		ws.Subscribe("1", sub, nil)

		// Signing out on instance a ends the socket on instance b.
		req, _ := http.NewRequest(http.MethodDelete, a.URL+"/api/session", nil)
		req.AddCookie(cookie)
		req.Header.Set(auth.CSRFHeader, sess.CSRFToken)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		waitClosed(t, ws, 4*auth.RecheckEvery)
	})

	t.Run("a valid token stays open", func(t *testing.T) {
		ws, ack, err := b.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer " + b.Viewer})
		require.NoError(t, err)
		require.Equal(t, "connection_ack", ack.Type)
		ws.Subscribe("1", sub, nil)
		time.Sleep(2 * auth.RecheckEvery) // two rechecks pass
		code, _ := receive(t, b, eventBody("still-open", "customer_created"))
		require.Equal(t, http.StatusOK, code)
		var got struct {
			EventReceived struct{ EventID string } `json:"eventReceived"`
		}
		ws.NextData(5*time.Second, &got)
		require.Equal(t, "still-open", got.EventReceived.EventID)
	})
}
