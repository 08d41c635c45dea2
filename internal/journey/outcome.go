package journey

import "strings"

// Outcome is how an ended journey ended. Its status says only completed
// or failed; the outcome tells a cancelled transfer from an ACH return.
type Outcome string

// The outcomes. A journey's outcome follows from the topic that ended it
// (and, for a return, from its having completed first).
const (
	OutcomeCompleted      Outcome = "completed"
	OutcomeCancelled      Outcome = "cancelled"
	OutcomeFailed         Outcome = "failed"
	OutcomeReturned       Outcome = "returned"
	OutcomeCreationFailed Outcome = "creation_failed"
	OutcomeSuspended      Outcome = "suspended"
	OutcomeDeactivated    Outcome = "deactivated"
	OutcomeRemoved        Outcome = "removed"
	OutcomeUnverified     Outcome = "unverified"
	OutcomeMaxAttempts    Outcome = "max_attempts"
)

// Outcomes lists every outcome, successes first.
var Outcomes = []Outcome{
	OutcomeCompleted, OutcomeCancelled, OutcomeFailed, OutcomeReturned, OutcomeCreationFailed,
	OutcomeSuspended, OutcomeDeactivated, OutcomeRemoved, OutcomeUnverified, OutcomeMaxAttempts,
}

// OutcomeOf names the outcome of a journey ended by topic. success is
// whether topic is one of the definition's success topics; afterSuccess
// whether a failure came after the journey had completed. Dwolla's
// *_failed transfer topics are ACH (or RTP) returns: before the transfer
// cleared the outcome is failed, after it cleared returned (a late
// return, R01-late or an unauthorized-debit code within 60 days).
func OutcomeOf(topic string, success, afterSuccess bool) Outcome {
	switch {
	case success:
		return OutcomeCompleted
	case strings.HasSuffix(topic, "_creation_failed"):
		return OutcomeCreationFailed
	case strings.HasSuffix(topic, "_cancelled"):
		return OutcomeCancelled
	case strings.HasSuffix(topic, "_suspended"):
		return OutcomeSuspended
	case strings.HasSuffix(topic, "_deactivated"):
		return OutcomeDeactivated
	case strings.HasSuffix(topic, "_removed"):
		return OutcomeRemoved
	case strings.HasSuffix(topic, "_unverified"):
		return OutcomeUnverified
	case strings.HasSuffix(topic, "_maxattempts"):
		return OutcomeMaxAttempts
	case afterSuccess:
		return OutcomeReturned
	}
	return OutcomeFailed
}
