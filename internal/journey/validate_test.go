package journey

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuiltinsAreValid(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, d := range Builtins() {
		warnings, err := Validate(d)
		require.NoError(t, err, d.Key)
		require.Empty(t, warnings, d.Key)
		require.False(t, seen[d.Key], "duplicate key %s", d.Key)
		seen[d.Key] = true
		require.True(t, d.Enabled)
		require.NotEmpty(t, d.Description)
		for _, s := range d.Steps {
			require.NotEmpty(t, s.Name, "%s.%s", d.Key, s.Key)
		}
	}
}

// validDefinition is a small definition every validation case breaks in
// one way.
func validDefinition() Definition {
	return Definition{
		Key: "custom_transfer", Name: "Custom transfer", Version: 1, Enabled: true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"transfer"}},
		Start:       StartRule{Topics: []string{"transfer_created"}},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"transfer_created"}},
			{Key: "completed", Name: "Completed", Topics: []string{"transfer_completed"}, Within: 5 * days},
		},
		SuccessTopics: []string{"transfer_completed"},
		FailureTopics: []string{"transfer_failed"},
		AbandonAfter:  30 * days,
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(d *Definition)
		errs    []string // substrings of the error, each naming a field
		warning string   // a substring of one warning
	}{
		{name: "valid", edit: func(*Definition) {}},
		{name: "empty key", edit: func(d *Definition) { d.Key = "" }, errs: []string{`key: "" must be`}},
		{name: "bad key", edit: func(d *Definition) { d.Key = "Custom Transfer" }, errs: []string{`key: "Custom Transfer" must be`}},
		{name: "key starting with a digit", edit: func(d *Definition) { d.Key = "1transfer" }, errs: []string{"key:"}},
		{name: "no name", edit: func(d *Definition) { d.Name = " " }, errs: []string{"name: required"}},
		{name: "version zero", edit: func(d *Definition) { d.Version = 0 }, errs: []string{"version: must be 1 or more"}},
		{name: "bad correlation", edit: func(d *Definition) { d.Correlation.By = "account" }, errs: []string{`correlation.by: must be "customer" or "resource", not "account"`}},
		{name: "duplicate resource type", edit: func(d *Definition) { d.Correlation.ResourceTypes = []string{"transfer", "transfer"} },
			errs: []string{`correlation.resourceTypes[1]: "transfer" is listed twice`}},
		{name: "no steps", edit: func(d *Definition) {
			d.Steps = nil
			d.SuccessTopics = nil
			d.FailureTopics = nil
			d.Start = StartRule{AnyTopic: true}
		},
			errs: []string{"steps: a journey needs at least one step", "successTopics: a journey needs at least one topic"}},
		{name: "step without topics", edit: func(d *Definition) { d.Steps[0].Topics = nil; d.Start = StartRule{AnyTopic: true} },
			errs: []string{"steps[0].topics: a step needs at least one topic"}},
		{name: "duplicate step key", edit: func(d *Definition) { d.Steps[1].Key = "created" },
			errs: []string{`steps[1].key: "created" is already the key of steps[0]`}},
		{name: "bad step key", edit: func(d *Definition) { d.Steps[1].Key = "Completed!" }, errs: []string{`steps[1].key: "Completed!" must be`}},
		{name: "step without a name", edit: func(d *Definition) { d.Steps[1].Name = "" }, errs: []string{"steps[1].name: required"}},
		{name: "topic in two steps", edit: func(d *Definition) { d.Steps[1].Topics = []string{"transfer_completed", "transfer_created"} },
			errs: []string{`steps[1].topics: "transfer_created" already completes steps[0] ("created")`}},
		{name: "topic twice in a step", edit: func(d *Definition) { d.Steps[0].Topics = []string{"transfer_created", "transfer_created"} },
			errs: []string{`steps[0].topics: "transfer_created" is listed twice`}},
		{name: "not a topic name", edit: func(d *Definition) {
			d.Steps[0].Topics = []string{"transfer created"}
			d.Start = StartRule{AnyTopic: true}
		},
			errs: []string{`steps[0].topics: "transfer created" is not a topic name`}},
		{name: "zero limit", edit: func(d *Definition) { d.Steps[1].Within = 0 },
			errs: []string{`steps[1].within: must be a positive time limit such as "36h" or "7d", not "0s"`}},
		{name: "negative limit", edit: func(d *Definition) { d.Steps[1].Within = -days }, errs: []string{"steps[1].within: must be a positive"}},
		{name: "negative first limit", edit: func(d *Definition) { d.Steps[0].Within = -days }, errs: []string{"steps[0].within: must not be negative"}},
		{name: "first step limit is ignored", edit: func(d *Definition) { d.Steps[0].Within = days }, warning: "steps[0].within: ignored"},
		{name: "no success topic", edit: func(d *Definition) { d.SuccessTopics = nil }, errs: []string{"successTopics: a journey needs at least one topic"}},
		{name: "success and failure overlap", edit: func(d *Definition) { d.FailureTopics = []string{"transfer_completed"} },
			errs: []string{`failureTopics: "transfer_completed" is also a success topic`}},
		{name: "failure topic is a step", edit: func(d *Definition) { d.FailureTopics = []string{"transfer_created"} },
			errs: []string{`failureTopics: "transfer_created" also completes steps[0] ("created")`}},
		{name: "duplicate failure topic", edit: func(d *Definition) { d.FailureTopics = []string{"transfer_failed", "transfer_failed"} },
			errs: []string{`failureTopics: "transfer_failed" is listed twice`}},
		{name: "exclude topic already used", edit: func(d *Definition) { d.ExcludeTopics = []string{"transfer_failed"} },
			errs: []string{`excludeTopics: "transfer_failed" is already a step, success or failure topic`}},
		{name: "step after success is unreachable", edit: func(d *Definition) {
			d.Steps = append(d.Steps, Step{Key: "settled", Name: "Settled", Topics: []string{"transfer_cancelled"}, Within: days})
		}, errs: []string{`steps[2]: step "settled" is unreachable: steps[1] ("completed") already completes the journey`}},
		{name: "success topic in an early step", edit: func(d *Definition) { d.SuccessTopics = []string{"transfer_created"} },
			errs: []string{`steps[1]: step "completed" is unreachable`}},
		{name: "no start rule", edit: func(d *Definition) { d.Start = StartRule{} },
			errs: []string{"start.topics: list the topics that may open an instance, or set anyTopic"}},
		{name: "both start rules", edit: func(d *Definition) { d.Start.AnyTopic = true }, errs: []string{"start: set anyTopic or list topics, not both"}},
		{name: "start topic not in the journey", edit: func(d *Definition) { d.Start.Topics = []string{"customer_created"} },
			errs: []string{`start.topics: "customer_created" is not a step, success or failure topic`}},
		{name: "no abandonment horizon", edit: func(d *Definition) { d.AbandonAfter = 0 }, errs: []string{"abandonAfter: must be a positive duration"}},
		{name: "horizon shorter than a limit", edit: func(d *Definition) { d.AbandonAfter = 2 * days },
			warning: "abandonAfter: 2d is shorter than steps[1].within (5d)"},
		{name: "unknown topic is a warning", edit: func(d *Definition) { d.FailureTopics = append(d.FailureTopics, "transfer_returned") },
			warning: `failureTopics: "transfer_returned" is not a Dwolla topic hooklens knows`},
		{name: "Connect topics are names too", edit: func(d *Definition) {
			d.Steps[0].Topics = []string{"transfer:created"}
			d.Start.Topics = []string{"transfer:created"}
		}, warning: `steps[0].topics: "transfer:created" is not a Dwolla topic`},
		{name: "every problem at once", edit: func(d *Definition) {
			d.Key, d.Name, d.AbandonAfter = "", "", 0
		}, errs: []string{"key:", "name: required", "abandonAfter:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := validDefinition()
			tt.edit(&d)
			warnings, err := Validate(d)
			if len(tt.errs) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Len(t, ve.Problems, len(tt.errs), "%v", ve.Problems)
				for _, want := range tt.errs {
					require.Contains(t, err.Error(), want)
				}
			}
			if tt.warning == "" {
				require.Empty(t, warnings)
			} else {
				require.Len(t, warnings, 1, "%v", warnings)
				require.Contains(t, warnings[0], tt.warning)
			}
		})
	}
}
