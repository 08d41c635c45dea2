package tracker

import (
	"errors"
	"strings"
)

// splitProblems turns a validation error (one problem per line, or joined
// errors) into a list of messages.
func splitProblems(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, splitProblems(e)...)
		}
		return out
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func joinProblems(p []string) string { return strings.Join(p, "; ") }
