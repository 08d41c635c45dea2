//go:build race

package metrics_test

// raceEnabled: the race detector changes what escapes to the heap, so
// allocation counts are only asserted without it.
const raceEnabled = true
