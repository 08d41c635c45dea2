// Package simulate produces realistic Dwolla webhook traffic: customers
// through their verification branches, business customers with beneficial
// owners, bank funding sources, transfers of every captured kind with their
// failure, cancel and late-return branches, and mass payments, following
// shared/dwolla/REFERENCE.md §5 and the topic order of Dwolla's own sandbox
// captures. Event bodies are byte-for-byte in Dwolla's shape.
//
// It serves three callers: tests that need one scripted, timestamped
// lifecycle (Generator.Personal, Generator.Transfer, …, then Render); load
// generators that need the next N signed payloads at a rate with a share of
// duplicates (Generator.Payloads, Stream); and the `hooklens simulate`
// command, which runs a Stream in real time into a Sink: signed webhooks
// straight to a receiver, or a fake Dwolla that stores and delivers them.
//
// Everything random comes from one seed, so a seed names a run. It must
// never send anything but signed webhooks to the one target it is given, nor
// talk to the real Dwolla.
package simulate
