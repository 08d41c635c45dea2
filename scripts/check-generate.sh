#!/usr/bin/env bash
# Regenerates every generated file and fails if anything changed: the
# committed generated code must be exactly what `make generate` writes.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() {
  # Tracked and untracked files under the generated paths, with contents.
  { git ls-files -co --exclude-standard -- ent graph frontend/src/gql 2>/dev/null || true; } \
    | sort | while read -r f; do [ -f "$f" ] && sha256sum "$f"; done
}

before=$(mktemp); after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
snapshot > "$before"
make --no-print-directory generate > /dev/null
snapshot > "$after"
if ! diff -u "$before" "$after"; then
  echo
  echo "Generated code is stale: run 'make generate' and commit the result." >&2
  exit 1
fi
echo "generated code is up to date"
