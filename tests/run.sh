#!/usr/bin/env bash
# run.sh BUILD_DIR - run every test that BUILD_DIR holds and print one
# closing line "N passed, N failed".  Used by `make test` (build/) and
# `make asan` (build/asan/).  Each suite is one line in the tally; its own
# output goes to BUILD_DIR/test-logs/<suite>.log and is shown on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
logs="$B/test-logs"
mkdir -p "$logs"
pass=0
fail=0
failed=()

suite() { # name command...
  local name=$1; shift
  local t0=$SECONDS
  if "$@" >"$logs/$name.log" 2>&1; then
    pass=$((pass + 1))
    printf '  ok    %-28s %3ds\n' "$name" $((SECONDS - t0))
  else
    fail=$((fail + 1))
    failed+=("$name")
    printf '  FAIL  %-28s %3ds\n' "$name" $((SECONDS - t0))
    sed 's/^/        | /' "$logs/$name.log" | tail -n 60
  fi
}

echo "unit tests ($B/tests):"
for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  suite "$(basename "$t")" "$t"
done

echo "fuzz seed corpora ($B/fuzz):"
for r in "$B"/fuzz/replay_*; do
  [ -x "$r" ] || continue
  name=${r##*/replay_}
  suite "corpus:$name" bash -c 'shopt -s nullglob; files=(fuzz/corpus/'"$name"'/*); ((${#files[@]})) || { echo "no seeds for '"$name"'"; exit 1; }; "$0" "${files[@]}"' "$r"
done

echo "independent oracles (ethers):"
suite "oracle:ethers" tests/oracle/run.sh "$B"

# Scripted suites: each tests/suites/<name>.sh BUILD_DIR is one suite
# (real peers: awscli, botocore, openssl, the KMS emulator, ...).
shopt -s nullglob
suites=(tests/suites/*.sh)
if ((${#suites[@]})); then
  echo "scripted suites (tests/suites):"
  for s in "${suites[@]}"; do
    suite "$(basename "$s" .sh)" "$s" "$B"
  done
fi

echo
echo "${pass} passed, ${fail} failed"
((fail == 0))
