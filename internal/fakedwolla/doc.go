// Package fakedwolla is a faithful, in-process fake of Dwolla's API and of
// its webhook sender, for tests, demos and the lifecycle simulator.
//
// The API side serves what hooklens and Dwolla's SDKs use with the same
// paths, status codes, headers, HAL shapes and error bodies as Dwolla
// (shared/dwolla/REFERENCE.md §4): POST /token, the Events API, webhook
// subscriptions, webhooks and their retries. The sender side delivers one
// webhook per event per subscription as Dwolla's sender does (§1): signed,
// at most 10 at a time, unordered, sometimes twice, retried on Dwolla's
// schedule, auto-paused after 400 failures and a day without success.
// A time scale compresses the schedule so tests can live through 72 hours
// in seconds, and seeded faults (dropped first deliveries, 429 and 500
// bursts, slow answers) exercise clients and reconciliation.
//
// It must never be mistaken for Dwolla: it holds everything in memory,
// accepts only the credentials it was given, and must never send webhooks
// anywhere but the URLs subscribed to it or be exposed beyond a test
// network.
package fakedwolla
