package graph

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/hooklens/hooklens/graph/generated"
)

func schema(t *testing.T) *ast.Schema {
	t.Helper()
	return generated.NewExecutableSchema(generated.Config{}).Schema()
}

// priced validates query against the schema and prices its operations.
func priced(t *testing.T, s *ast.Schema, query string, vars map[string]any) map[string]cost {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(s, query)
	require.Empty(t, errs, "query: %.200s", query)
	out := map[string]cost{}
	for _, op := range doc.Operations {
		out[op.Name] = operationCost(op, doc.Fragments, vars)
	}
	return out
}

func aliases(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(field)
	}
	b.WriteString(" }")
	return b.String()
}

func TestOperationCost(t *testing.T) {
	t.Parallel()
	s := schema(t)
	for _, tt := range []struct {
		name    string
		query   string
		vars    map[string]any
		cost    int
		aliases int
	}{
		// The connection (10) + 1000 × (edge + node + rawBody).
		{"a page of bodies", `{ events(first: 1000) { edges { node { rawBody } } } }`, nil, 10 + 3*1000, 0},
		{"default page", `{ events { edges { node { id } } } }`, nil, 10 + 3*50, 0},
		{"page from a variable", `query($n: Int) { events(first: $n) { edges { node { id } } } }`, map[string]any{"n": json.Number("200")}, 10 + 3*200, 0},
		{"last", `{ events(last: 7) { edges { cursor } } }`, nil, 10 + 2*7, 0},
		{"totalCount and pageInfo are not per item", `{ events(first: 1000) { totalCount pageInfo { hasNextPage } } }`, nil, 10 + 10 + 2, 0},
		{"nested pages multiply", `{ events(first: 10) { edges { node { deliveries(first: 100) { edges { node { id } } } } } } }`, nil,
			10 + 10*(1+1+10+100*3), 0},
		{"nodes by ids", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []any{"1", "2", "3"}}, 10 + 3, 0},
		{"aliases counted", aliases(3, `events(first: 1) { totalCount }`), nil, 3 * (10 + 10), 3},
		{"fragments expand", `{ a: events(first: 2) { ...F } b: events(first: 2) { ...F } } fragment F on WebhookEventConnection { edges { node { id x: eventID } } }`, nil,
			2 * (10 + 2*4), 2 + 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := priced(t, s, tt.query, tt.vars)[""]
			require.Equal(t, tt.cost, got.cost)
			require.Equal(t, tt.aliases, got.aliases)
		})
	}

	// The requests are refused; the walk stops at the first limit
	// passed, so pricing them costs no more than the limits.
	got := priced(t, s, aliases(1250, `events(first: 1000) { edges { node { rawBody } } }`), nil)[""]
	require.Greater(t, got.cost, MaxCost)
	require.Less(t, got.aliases, 20)
	got = priced(t, s, aliases(60, `events(first: 1000) { edges { node { rawBody } } }`), nil)[""]
	require.Greater(t, got.cost, MaxCost)
	require.LessOrEqual(t, got.aliases, MaxAliases)
	got = priced(t, s, aliases(1000, `events { totalCount }`), nil)[""]
	require.Greater(t, got.aliases, MaxAliases)
}

// TestDashboardOperationsWithinLimits prices every operation the dashboard
// sends: a limit that refused one would break a page.
func TestDashboardOperationsWithinLimits(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../frontend/src/gql/gql.ts")
	require.NoError(t, err)
	// Lines of the documents map: "<document>": types.XDocument,
	re := regexp.MustCompile(`(?m)^\s+("(?:[^"\\]|\\.)*"): types\.\w+,$`)
	var docs []string
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		var d string
		require.NoError(t, json.Unmarshal([]byte(m[1]), &d))
		docs = append(docs, d)
	}
	require.Greater(t, len(docs), 20)
	// Vars at their most expensive: pages the dashboard asks for are literal
	// or passed as first; price those at the largest page allowed.
	vars := map[string]any{"first": json.Number("1000"), "last": json.Number("1000")}
	ops := priced(t, schema(t), strings.Join(docs, "\n"), vars)
	require.Greater(t, len(ops), 20)
	for name, c := range ops {
		require.LessOrEqual(t, c.cost, MaxCost, "%s costs %d", name, c.cost)
		require.LessOrEqual(t, c.aliases, MaxAliases, name)
	}
}
