#!/usr/bin/env bash
# Runs the standard benchmark scenarios on SQLite and PostgreSQL: writes
# bench/results/*.json and the results section of BENCHMARKS.md.
# Extra arguments go to `hooklens bench suite` (e.g. --only sqlite-ramp).
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
go build -o bin/hooklens ./server
exec bin/hooklens bench suite --out bench/results --markdown BENCHMARKS.md "$@"
