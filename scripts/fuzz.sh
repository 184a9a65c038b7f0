#!/usr/bin/env bash
# fuzz.sh SECONDS TARGET... - run each libFuzzer target in build/fuzz for
# SECONDS, starting from a scratch copy of its seed corpus (so the repo's
# corpus is not flooded), and fail if any run finds a crash, leak or UB.
# Crash inputs are kept in build/fuzz/artifacts/ for reproduction.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=$1; shift
mkdir -p build/fuzz/artifacts
status=0
passed=0
failed=0
for t in "$@"; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  echo "fuzz: $t for ${secs}s"
  if ! "build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/artifacts/$t-" "$work" >"build/fuzz/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (see build/fuzz/$t.log and build/fuzz/artifacts/)"
    tail -n 40 "build/fuzz/$t.log"
    status=1
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
    grep -E '^stat::number_of_executed_runs|^#[0-9]+.*DONE' "build/fuzz/$t.log" | tail -n 2
  fi
  rm -rf "$work"
done
echo "fuzz: ${passed} passed, ${failed} failed"
exit $status
