package journey

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		out  string // String(), when it differs from in
	}{
		{in: "7d", want: 7 * day},
		{in: "36h", want: 36 * time.Hour, out: "1d12h"},
		{in: "2d12h", want: 60 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "90s", want: 90 * time.Second, out: "1m30s"},
		{in: "1h", want: time.Hour},
		{in: "2m", want: 2 * time.Minute},
		{in: "1d0h", want: day, out: "1d"},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "2m17.48s", want: 2*time.Minute + 17480*time.Millisecond},
		{in: "0s", want: 0},
		{in: "-2h", want: -2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDuration(tt.in)
			require.NoError(t, err)
			require.Equal(t, Duration(tt.want), d)
			out := tt.out
			if out == "" {
				out = tt.in
			}
			require.Equal(t, out, d.String())
			back, err := ParseDuration(d.String())
			require.NoError(t, err)
			require.Equal(t, d, back)
		})
	}
	for _, bad := range []string{"", "d", "7 days", "1.5d", "xd", "3w", "h"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
	var d Duration
	require.ErrorContains(t, json.Unmarshal([]byte(`3600`), &d), `a duration must be a string like "36h" or "7d", not 3600`)
	require.ErrorContains(t, json.Unmarshal([]byte(`"7 days"`), &d), `"7 days" is not a duration`)
}

// TestDefinitionJSON pins the stored shape: admins edit it and the database
// keeps it, so renaming a field is a breaking change.
func TestDefinitionJSON(t *testing.T) {
	t.Parallel()
	raw, err := json.Marshal(validDefinition())
	require.NoError(t, err)
	require.JSONEq(t, `{
		"key": "custom_transfer", "name": "Custom transfer", "version": 1, "enabled": true,
		"correlation": {"by": "resource", "resourceTypes": ["transfer"]},
		"start": {"topics": ["transfer_created"]},
		"steps": [
			{"key": "created", "name": "Created", "topics": ["transfer_created"]},
			{"key": "completed", "name": "Completed", "topics": ["transfer_completed"], "within": "5d"}
		],
		"successTopics": ["transfer_completed"],
		"failureTopics": ["transfer_failed"],
		"abandonAfter": "30d"
	}`, string(raw))

	for _, d := range Builtins() {
		raw, err := json.Marshal(d)
		require.NoError(t, err)
		back, err := ParseDefinition(raw)
		require.NoError(t, err, d.Key)
		require.Equal(t, d, back, d.Key)
	}
}

func TestParseDefinition(t *testing.T) {
	t.Parallel()
	_, err := ParseDefinition([]byte(`{"key":"x","steps":[{"key":"a","withn":"1h"}]}`))
	require.ErrorContains(t, err, `unknown field "withn"`)
	_, err = ParseDefinition([]byte(`{"key":"x"} {"key":"y"}`))
	require.ErrorContains(t, err, "trailing data")
	_, err = ParseDefinition([]byte(`{"abandonAfter":"soon"}`))
	require.ErrorContains(t, err, `"soon" is not a duration`)
	d, err := ParseDefinition([]byte(`{"key":"x","abandonAfter":"2d12h","steps":[{"key":"a","within":"90m","optional":true,"repeatable":true}]}`))
	require.NoError(t, err)
	require.Equal(t, Duration(60*time.Hour), d.AbandonAfter)
	require.Equal(t, Step{Key: "a", Within: Duration(90 * time.Minute), Optional: true, Repeatable: true}, d.Steps[0])
}

func TestClone(t *testing.T) {
	t.Parallel()
	d := builtin(t, "personal_verification")
	c := d.Clone()
	require.Equal(t, d, c)
	c.Steps[0].Topics[0] = "x"
	c.ExcludeTopics[0] = "x"
	c.Start.Topics[0] = "x"
	c.SuccessTopics[0] = "x"
	c.FailureTopics[0] = "x"
	require.Equal(t, builtin(t, "personal_verification"), d)

	// Builtins hands out fresh copies.
	b := Builtins()
	b[0].ExcludeTopics[0] = "x"
	require.NotEqual(t, "x", Builtins()[0].ExcludeTopics[0])
}

func TestDefinitionTopics(t *testing.T) {
	t.Parallel()
	d := validDefinition()
	d.ExcludeTopics = []string{"transfer_cancelled"}
	require.Equal(t, []string{"transfer_created", "transfer_completed", "transfer_failed", "transfer_cancelled"}, d.Topics())
}

// TestDocumentedExample keeps the example in docs/journeys.md valid.
func TestDocumentedExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/journeys.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	require.True(t, ok, "docs/journeys.md has a JSON example")
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	def, err := ParseDefinition([]byte(example))
	require.NoError(t, err)
	warnings, err := Validate(def)
	require.NoError(t, err)
	require.Empty(t, warnings)

	st := Evaluate(def, script("tr1", at{"customer_transfer_created", 0}, at{"customer_transfer_completed", 2 * dy}), t0.Add(3*dy))
	require.Equal(t, StatusCompleted, st.Status)
}
