// Package alert tells people when hooklens or the Dwolla integration it
// watches needs attention. Rules (admin-editable, built-ins seeded) name a
// condition over hooklens' own state — the processing error rate, the age of
// the queue, stuck journeys, open anomalies, the pipeline's circuit breaker,
// a paused Dwolla subscription, failing syncs or reconciliations, a low
// health score, dead letters — a threshold, how long it must hold before it
// fires (debounce), how often to repeat, and where to send it. Channels are
// outgoing webhooks (a stable, optionally signed JSON payload, or
// Slack-compatible messages) and the log.
//
// Evaluate runs once a minute on the scheduler's leader. Each rule has at
// most one active (firing or acknowledged) Alert; state changes happen under
// a lock on the rule's row, so two evaluations at once, or the same minute
// evaluated twice, fire and notify once. Deliveries time out, retry a couple
// of times with backoff, run in parallel, and are recorded on the alert and
// the channel; a slow receiver delays the end of an evaluation by seconds,
// never other rules' state.
//
// This package must never put a channel's URL or secret into a log line, an
// error, a stored delivery record or an API value: they are sealed at rest
// (see Sealer) and opened only to send. Slack's URLs are themselves secrets.
package alert
