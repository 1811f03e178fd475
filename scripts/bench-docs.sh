#!/usr/bin/env bash
# Re-run the benchmark figures quoted in the README ("Benchmark") and refresh docs/figure6.svg.
# Each run's full report lands in OUT (default /tmp/smartftp-bench-docs); about 5 minutes in all
# on a 2-core machine. Needs the build: npx tsc -p tsconfig.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/smartftp-bench-docs}
mkdir -p "$OUT"

run() {
  local name=$1
  shift
  echo "== smartftp bench $* ($name)" >&2
  local start=$SECONDS
  # --report-only: a failed check must not stop the other runs; the report says FAIL.
  node bin/smartftp.js bench "$@" --report-only --out "$OUT/$name" > "$OUT/$name.txt"
  echo "   $((SECONDS - start)) s, report in $OUT/$name.txt" >&2
  if grep -q '^\[FAIL\]' "$OUT/$name.txt"; then
    echo "   a check FAILED in this run: see the report before quoting its figures" >&2
  fi
}

run default
run links --links 10,5,2,1 --clients 8
run fault --servers 2,4 --clients 8,16 --fault kill:1@2s
cp "$OUT/default/figure6.svg" docs/figure6.svg
echo "docs/figure6.svg updated from $OUT/default" >&2
