// Package journey follows Dwolla resources through their lifecycles: a
// customer's verification, a bank's micro-deposits, a transfer from created
// to completed or returned. It holds the journey definitions (data, not
// code, so admins can edit them), routes each event to the journeys it
// belongs to, computes an instance's state from its set of events, validates
// custom definitions and summarises many instances into a funnel.
//
// It is pure and must stay so: it never reads a clock (callers pass now),
// never touches storage or the network, and keeps no state between calls.
// The pipeline owns persistence; this package owns the meaning.
//
// The central promise is that an instance's State is a function of the set
// of its events: Dwolla delivers out of order and more than once, so the
// same events in any arrival order, with any number of redeliveries, give an
// identical State. Order comes from Dwolla's created times, never from
// arrival. docs/journeys.md is the user-facing description; keep the two in
// step.
package journey
