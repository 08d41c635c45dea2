package dwolla

// ParseEventStdlib exposes the encoding/json parser the scanner replaced,
// for the differential tests and benchmarks in package dwolla_test.
var ParseEventStdlib = parseEventStdlib
