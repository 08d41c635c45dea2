// Package anomaly finds unusual behaviour in hooklens's per-minute rollups:
// volume spikes, drops and silences per topic family, business failure-rate
// spikes, delivery-lag, duplicate, signature-failure and processing-error
// spikes, and surges of stuck journeys. It also keeps the automatic part of an
// anomaly's lifecycle (open, update, escalate, auto-resolve).
//
// It is pure: the caller loads the series (Input) and persists the anomalies
// (Lifecycle). The package must never touch the database or the network, read
// the clock, or keep state between calls; the same Input always gives the same
// findings. That is what lets cmd/evalanomaly replay weeks of synthetic
// traffic minute by minute exactly as production runs it, and what makes every
// threshold testable.
//
// The statistics, in one paragraph each, are in docs/anomalies.md; the
// comments next to the code say which test is used and why.
package anomaly
