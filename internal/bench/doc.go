// Package bench measures hooklens the way Dwolla uses it: signed webhooks
// from the simulator's lifecycles sent over loopback in an open loop, with
// latency counted from each request's scheduled time so a server that falls
// behind is counted rather than hidden (Outpost's load-test method).
//
// A run keeps a ledger that must balance or the run is void: every request
// scheduled is sent or cut off; every request sent is acknowledged,
// rejected, failed or timed out; every acknowledged event is in the
// database, and the database holds nothing that was not sent. After the
// load it waits for the pipeline to drain and reads the exact receipt →
// processed time of every acknowledged event from the database. It can
// start the server itself (to read its CPU time and peak RSS from /proc)
// and measures, in the same run, what raw batched inserts of the same rows
// reach on the same database, so results read as a share of what the
// machine can do.
//
// Beside hooklens it runs the ceiling receiver (ceiling.go): the least a
// durable receiver does — the same HMAC, the event id, an eager group
// commit of the raw body into one table with a unique key — in its own
// process on the same database, so the closed-loop scenarios (closed.go,
// closedrun.go) report hooklens as ratios to it, HTTP against HTTP, runs
// alternating: requests per second, CPU per webhook including the
// pipeline until it drains (server and PostgreSQL backends), and bytes on
// disk per event. The contention scenario (contention.go) measures SQLite
// ingest while a bulk replay, a rollup rebuild and a CPU burner compete.
//
// It must never tune its measurement to flatter a result: no warm-up is
// dropped, no sample is skipped, and a run whose ledger does not balance is
// reported as void. It must never send anything but to the one loopback or
// explicit target it is given, nor run unbounded: every run has a fixed
// number of requests and deadlines.
package bench
