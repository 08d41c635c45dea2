package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/graph"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
)

// paddedEvent is a valid event whose body is about size bytes.
func paddedEvent(id string, size int) []byte {
	body := eventBody(id, "customer_created")
	return append(body[:len(body)-1], fmt.Appendf(nil, `,"padding":%q}`, strings.Repeat("p", size))...)
}

func aliased(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	b.WriteString(" }")
	return b.String()
}

func requireCode(t *testing.T, r apptest.GraphQLResponse, code string) {
	t.Helper()
	require.Len(t, r.Errors, 1, "errors: %+v", r.Errors)
	require.Equal(t, code, r.Errors[0].Extensions["code"], "error: %+v", r.Errors[0])
	require.True(t, len(r.Data) == 0 || string(r.Data) == "null", "no data: %s", r.Data)
}

// TestGraphQLLimits is issue 20's first finding: one read-only request
// could exhaust memory. Each is refused up front with a clear code, or cut
// with one clear error, and the server goes on answering.
func TestGraphQLLimits(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	for i := range 5 {
		code, _ := receive(t, s, paddedEvent(fmt.Sprintf("limits-%d", i), 2000))
		require.Equal(t, http.StatusOK, code)
	}
	page := `events(first: 1000) { edges { node { rawBody } } }`

	// A page of bodies is fine.
	r := s.GraphQL(s.Viewer, `{ `+page+` }`, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Empty(t, r.Errors)

	// 1,250 aliases of it are refused before anything runs.
	r = s.GraphQL(s.Viewer, aliased(1250, page), nil)
	requireCode(t, r, graph.CodeCostLimit)
	require.Contains(t, r.Errors[0].Message, "first/last")
	// As are 60 (under the alias cap), and a page size hidden in a variable.
	requireCode(t, s.GraphQL(s.Viewer, aliased(60, page), nil), graph.CodeCostLimit)
	requireCode(t, s.GraphQL(s.Viewer, `query($n: Int) {`+strings.Repeat(` a: events(first: $n) { edges { node { rawBody } } }`, 1)+
		` b: events(first: $n) { edges { node { rawBody deliveries(first: $n) { edges { node { id } } } } } } }`, map[string]any{"n": 1000}), graph.CodeCostLimit)
	// 1,000 aliases of totalCount would run 1,000 COUNTs.
	requireCode(t, s.GraphQL(s.Viewer, aliased(1000, `events { totalCount }`), nil), graph.CodeAliasLimit)

	// A 2 MB request body is not read: 413 with the code.
	big := []byte(`{"query": "{ viewer { name } }", "variables": {"x": "` + strings.Repeat("x", 2<<20) + `"}}`)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(big))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	var body apptest.GraphQLResponse
	apptest.ReadJSON(t, resp, &body)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	requireCode(t, body, graph.CodeRequestLimit)

	// Still serving.
	r = s.GraphQL(s.Viewer, `{ events { totalCount } }`, nil)
	require.Empty(t, r.Errors)
	require.JSONEq(t, `{"events":{"totalCount":5}}`, string(r.Data))
}

func TestGraphQLResponseAndTimeLimits(t *testing.T) {
	t.Parallel()
	t.Run("response bytes", func(t *testing.T) {
		t.Parallel()
		s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) { c.GraphQLMaxResponse = 64 << 10 }})
		for i := range 20 {
			code, _ := receive(t, s, paddedEvent(fmt.Sprintf("bytes-%d", i), 2000))
			require.Equal(t, http.StatusOK, code)
		}
		// 20 × 2 KB fits in 64 KiB; 20 × 2 KB × 3 aliases does not.
		r := s.GraphQL(s.Viewer, `{ events(first: 100) { edges { node { rawBody } } } }`, nil)
		require.Empty(t, r.Errors)
		r = s.GraphQL(s.Viewer, aliased(3, `events(first: 100) { edges { node { rawBody } } }`), nil)
		requireCode(t, r, graph.CodeResponseLimit)
		require.Contains(t, r.Errors[0].Message, "smaller pages")
	})
	t.Run("time", func(t *testing.T) {
		t.Parallel()
		// A deadline passed before the first query runs: every request with
		// a database read is out of time, deterministically.
		s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) { c.GraphQLTimeout = time.Nanosecond }})
		r := s.GraphQL(s.Viewer, `{ events(first: 10) { totalCount edges { node { id } } } deliveries { totalCount } }`, nil)
		require.Equal(t, http.StatusOK, r.Status)
		requireCode(t, r, graph.CodeTimeout)
		require.Contains(t, r.Errors[0].Message, "ran longer than")
	})
}
