// Package analytics answers the dashboard's and the API's questions about
// traffic: the overview (volumes, duplicates, processing outcomes and
// latencies, business failure rates, breakdowns, a time series, current
// journeys, anomalies and queue, each figure against the previous period),
// per-topic event statistics, journey, anomaly and reconciliation
// summaries, and streamed exports of events and journeys. It serves them
// to GraphQL (as Go calls) and over REST (http.Handlers).
//
// Figures over a time range come from the metric rollups (internal/rollup),
// never from scanning events: a range is covered by day rows in its middle
// and hour and minute rows at its partial edges, so any range costs a few
// thousand rows at most, whatever the traffic. Only current state — the
// queue, events not yet processed, journeys, anomalies — is counted from
// the tables, through their indexes. Exports are the one place that reads
// events row by row, and they stream.
//
// This package must never write: it reads, and the rollups are kept by the
// pipeline, the delivery aggregator and the rebuild.
package analytics
