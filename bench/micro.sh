#!/usr/bin/env bash
# Go micro-benchmarks of the hot paths (verify, parse, receive, insert,
# claim, journey stage) in benchstat's format. Compare two runs with
#   benchstat old.txt new.txt   (golang.org/x/perf/cmd/benchstat)
# Extra arguments go to go test (e.g. -count 10, -bench Claim).
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
go test -run '^$' -bench . -benchmem -count 5 "$@" \
  ./internal/dwolla ./internal/ingest ./internal/pipeline ./internal/journey ./internal/bench
