package journey

import (
	"fmt"
	"strings"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// ValidationError lists everything wrong with a definition, each problem
// prefixed with the JSON path of the field it is about, so an admin can fix
// them all in one edit.
type ValidationError struct {
	Problems []string
}

// Error lists the problems on one line.
func (e *ValidationError) Error() string {
	return "invalid journey definition: " + strings.Join(e.Problems, "; ")
}

// maxKeyLength bounds definition and step keys; they end up in URLs, metric
// labels and database columns.
const maxKeyLength = 64

// Validate checks a definition before it is saved or routed to. The error,
// a *ValidationError, lists every problem that would make the journey
// ambiguous or impossible to finish; the warnings list things that are
// allowed but probably wrong. A topic missing from the Dwolla catalogue is
// only a warning because Dwolla adds topics before we learn of them.
func Validate(def Definition) (warnings []string, err error) {
	var problems []string
	bad := func(field, format string, args ...any) {
		problems = append(problems, field+": "+fmt.Sprintf(format, args...))
	}
	warnedTopic := map[string]bool{}
	checkTopic := func(field, t string) bool {
		if !isTopicText(t) {
			bad(field, "%q is not a topic name (letters, digits and -_.: only)", t)
			return false
		}
		if !dwolla.KnownTopic(t) && !warnedTopic[t] {
			warnedTopic[t] = true
			warnings = append(warnings, fmt.Sprintf("%s: %q is not a Dwolla topic hooklens knows; check the spelling (new Dwolla topics are fine)", field, t))
		}
		return true
	}

	if !isKey(def.Key) {
		bad("key", "%q must be 1–%d lower-case letters, digits or _, starting with a letter", def.Key, maxKeyLength)
	}
	if strings.TrimSpace(def.Name) == "" {
		bad("name", "required")
	}
	if def.Version < 1 {
		bad("version", "must be 1 or more, not %d", def.Version)
	}
	switch def.Correlation.By {
	case ByCustomer, ByResource:
	default:
		bad("correlation.by", "must be %q or %q, not %q", ByCustomer, ByResource, def.Correlation.By)
	}
	seenType := map[string]bool{}
	for i, rt := range def.Correlation.ResourceTypes {
		field := fmt.Sprintf("correlation.resourceTypes[%d]", i)
		switch {
		case strings.TrimSpace(rt) == "":
			bad(field, "empty")
		case seenType[rt]:
			bad(field, "%q is listed twice", rt)
		}
		seenType[rt] = true
	}

	// Where each topic is used, to find overlaps with a message that points
	// at both places.
	stepOf := map[string]int{}
	if len(def.Steps) == 0 {
		bad("steps", "a journey needs at least one step")
	}
	seenStep := map[string]int{}
	var maxWithin Duration
	maxWithinField := ""
	for i, s := range def.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		if !isKey(s.Key) {
			bad(field+".key", "%q must be 1–%d lower-case letters, digits or _, starting with a letter", s.Key, maxKeyLength)
		} else if j, dup := seenStep[s.Key]; dup {
			bad(field+".key", "%q is already the key of steps[%d]", s.Key, j)
		} else {
			seenStep[s.Key] = i
		}
		if strings.TrimSpace(s.Name) == "" {
			bad(field+".name", "required")
		}
		if len(s.Topics) == 0 {
			bad(field+".topics", "a step needs at least one topic that completes it")
		}
		for _, t := range s.Topics {
			if !checkTopic(field+".topics", t) {
				continue
			}
			if j, dup := stepOf[t]; dup {
				if j == i {
					bad(field+".topics", "%q is listed twice", t)
				} else {
					bad(field+".topics", "%q already completes steps[%d] (%q); a topic may complete only one step", t, j, def.Steps[j].Key)
				}
				continue
			}
			stepOf[t] = i
		}
		switch {
		case i == 0 && s.Within < 0:
			bad(field+".within", "must not be negative")
		case i == 0 && s.Within > 0:
			warnings = append(warnings, field+".within: ignored; nothing comes before the first step")
		case i > 0 && s.Within <= 0:
			bad(field+".within", "must be a positive time limit such as \"36h\" or \"7d\", not %q", s.Within)
		}
		if i > 0 && s.Within > maxWithin {
			maxWithin, maxWithinField = s.Within, field+".within"
		}
	}

	if len(def.SuccessTopics) == 0 {
		bad("successTopics", "a journey needs at least one topic that completes it")
	}
	success := map[string]bool{}
	successStep := -1
	for _, t := range def.SuccessTopics {
		if !checkTopic("successTopics", t) {
			continue
		}
		if success[t] {
			bad("successTopics", "%q is listed twice", t)
		}
		success[t] = true
		if i, ok := stepOf[t]; ok && (successStep < 0 || i < successStep) {
			successStep = i
		}
	}
	failure := map[string]bool{}
	for _, t := range def.FailureTopics {
		if !checkTopic("failureTopics", t) {
			continue
		}
		i, inStep := stepOf[t]
		switch {
		case failure[t]:
			bad("failureTopics", "%q is listed twice", t)
		case success[t]:
			bad("failureTopics", "%q is also a success topic; a topic cannot both complete and fail a journey", t)
		case inStep:
			bad("failureTopics", "%q also completes steps[%d] (%q); a failure ends the journey and cannot be a step", t, i, def.Steps[i].Key)
		}
		failure[t] = true
	}
	for _, t := range def.ExcludeTopics {
		if !checkTopic("excludeTopics", t) {
			continue
		}
		if _, inStep := stepOf[t]; inStep || success[t] || failure[t] {
			bad("excludeTopics", "%q is already a step, success or failure topic of this journey", t)
		}
	}

	// A success topic ends the journey, so steps after the first step that
	// holds one can never be reached.
	if successStep >= 0 {
		for j := successStep + 1; j < len(def.Steps); j++ {
			bad(fmt.Sprintf("steps[%d]", j), "step %q is unreachable: steps[%d] (%q) already completes the journey",
				def.Steps[j].Key, successStep, def.Steps[successStep].Key)
		}
	}

	journeyTopic := func(t string) bool {
		_, inStep := stepOf[t]
		return inStep || success[t] || failure[t]
	}
	switch {
	case def.Start.AnyTopic && len(def.Start.Topics) > 0:
		bad("start", "set anyTopic or list topics, not both")
	case !def.Start.AnyTopic && len(def.Start.Topics) == 0:
		bad("start.topics", "list the topics that may open an instance, or set anyTopic")
	}
	for _, t := range def.Start.Topics {
		if !journeyTopic(t) {
			bad("start.topics", "%q is not a step, success or failure topic of this journey", t)
		}
	}

	if def.AbandonAfter <= 0 {
		bad("abandonAfter", "must be a positive duration such as \"30d\", not %q", def.AbandonAfter)
	} else if maxWithin > def.AbandonAfter {
		warnings = append(warnings, fmt.Sprintf("abandonAfter: %s is shorter than %s (%s); such instances are abandoned before they can be stuck",
			def.AbandonAfter, maxWithinField, maxWithin))
	}

	if len(problems) > 0 {
		return warnings, &ValidationError{Problems: problems}
	}
	return warnings, nil
}

func isKey(s string) bool {
	if s == "" || len(s) > maxKeyLength || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// isTopicText accepts what dwolla.ParseEvent accepts as a topic, so a
// definition can name any topic an event can carry, Connect's
// "transfer:created" included.
func isTopicText(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}
