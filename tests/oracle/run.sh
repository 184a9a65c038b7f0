#!/usr/bin/env bash
# run.sh [BUILD_DIR] - check nitrowallet against ethers v6 (an independent
# implementation) on random cases and on published vectors.
#
#   NW_ORACLE_SEED   seed of the random cases (default: a fresh random one)
#   NW_ORACLE_COUNT  number of random cases (default 3000)
#
# Prints the seed and the command that reproduces the run; exits non-zero if
# any case fails.  Needs node (18 or later) and tests/oracle/node_modules
# (npm ci in tests/oracle, which scripts/bootstrap.sh does).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
B=${1:-build}
check="$B/tests/oracle_check"
seed=${NW_ORACLE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
count=${NW_ORACLE_COUNT:-3000}

if [ ! -x "$check" ]; then
  echo "run.sh: $check is missing; build it with: make $check" >&2
  exit 2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node is not installed" >&2
  exit 2
fi
if [ ! -d tests/oracle/node_modules/ethers ]; then
  echo "run.sh: ethers is not installed; run: (cd tests/oracle && npm ci)" >&2
  exit 2
fi

status=0

echo "published vectors (tests/data/published_vectors.jsonl):"
if ! "$check" tests/data/published_vectors.jsonl; then
  status=1
fi

echo
echo "random cases: seed $seed, count $count"
echo "reproduce with: NW_ORACLE_SEED=$seed NW_ORACLE_COUNT=$count tests/oracle/run.sh $B"
echo "            or: node tests/oracle/gen.mjs --seed $seed --count $count | $check"
node tests/oracle/gen.mjs --seed "$seed" --count "$count" | "$check"
rcs=("${PIPESTATUS[@]}")
if [ "${rcs[0]}" -ne 0 ]; then
  echo "run.sh: the generator failed (exit ${rcs[0]})"
  status=1
fi
if [ "${rcs[1]}" -ne 0 ]; then
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "oracle: FAILED (seed $seed)"
else
  echo "oracle: all cases agree with ethers (seed $seed)"
fi
exit "$status"
