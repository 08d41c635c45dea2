// Package evaluation measures the anomaly detectors on synthetic traffic: it
// generates weeks of seasonal per-minute webhook traffic for a Dwolla
// platform (daily and weekly cycles, business hours, weekend dips, ACH
// settlement bursts, batchy mass payments, Poisson and extra-Poisson noise,
// slow trends, realistic failure, duplicate, error and lag rates), plants
// anomalies of every type at random times with realistic magnitudes, replays
// the detectors and the lifecycle minute by minute exactly as production runs
// them, and scores what opened against what was planted.
//
// It is deterministic: a seed fixes the traffic and the plants bit for bit.
// It must never be used to tune on the seeds it reports (cmd/evalanomaly
// reports held-out seeds) and never reads the clock, the network or a
// database.
package evaluation
