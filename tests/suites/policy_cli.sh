#!/usr/bin/env bash
# policy_cli.sh BUILD_DIR - `nitrowallet policy check` and `policy show`
# (the enclave's policy code, offline) on the example policies of
# docs/policies/, against signing requests made by ethers
# (tests/oracle/policy_requests.mjs): each decision and the rule that made
# it, as docs/policy.md says; invalid policies and requests refused with a
# clear message.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
NW=$B/bin/nitrowallet
. tests/suites/lib/suite.sh

[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
now=1700000000
node tests/oracle/policy_requests.mjs "$tmp" "$now" || fail "policy_requests.mjs failed"
n=0
while IFS=$'\t' read -r policy name decision rule; do
  set +e
  "$NW" policy check "docs/policies/$policy.json" "$tmp/$name.json" --now "$now" >"$tmp/out" 2>&1
  rc=$?
  set -e
  want_rc=0
  [ "$decision" = allow ] || want_rc=3
  [ "$rc" = "$want_rc" ] || fail "$policy/$name: exit $rc, want $want_rc: $(cat "$tmp/out")"
  grep -qx "decision: $decision" "$tmp/out" || fail "$policy/$name: $(cat "$tmp/out")"
  grep -qx "rule: $rule" "$tmp/out" || fail "$policy/$name: want rule $rule: $(cat "$tmp/out")"
  n=$((n + 1))
done <"$tmp/cases.tsv"
((n >= 25)) || fail "only $n cases"
pass "$n ethers-made requests decided as docs/policy.md says"

# The reason says what failed, with the numbers.
"$NW" policy check docs/policies/hot-wallet.json "$tmp/hot_one_wei_over.json" --now "$now" >"$tmp/out" || true
grep -q 'reason: value 1000000000000000001 is over value_max 1000000000000000000' "$tmp/out" ||
  fail "reason: $(cat "$tmp/out")"
pass "a denial names the failed condition: $(grep reason "$tmp/out")"

# show: the canonical text parses to the same digest.
for f in docs/policies/*.json; do
  "$NW" policy show "$f" >"$tmp/show" || fail "policy show $f: $(cat "$tmp/show")"
  sed -n 's/^canonical: //p' "$tmp/show" >"$tmp/canon.json"
  "$NW" policy show "$tmp/canon.json" >"$tmp/show2" || fail "canonical text of $f refused"
  [ "$(grep policy_digest "$tmp/show")" = "$(grep policy_digest "$tmp/show2")" ] || fail "$f: digest changed"
done
pass "every example's canonical text has the example's digest"

# Refusals: exit 1 and a message naming the field.
printf '{"version":1,"rules":[{"id":"r","effect":"allow","kind":"transaction","value_max":"1","value_max":"2"}]}' \
  >"$tmp/dup.json"
printf '{"version":1,"rules":[{"id":"r","effect":"allow","kind":"message","to":[]}]}' >"$tmp/kind.json"
printf '{"transaction":{"chainId":1}}' >"$tmp/badtx.json"
for c in "dup.json:duplicate" "kind.json:not a condition of kind message"; do
  f=${c%%:*} want=${c#*:}
  if "$NW" policy show "$tmp/$f" >"$tmp/out" 2>&1; then fail "$f accepted"; fi
  grep -q "$want" "$tmp/out" || fail "$f: $(cat "$tmp/out")"
done
set +e
"$NW" policy check docs/policies/hot-wallet.json "$tmp/badtx.json" >"$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q 'BAD_REQUEST: transaction' "$tmp/out" || fail "bad transaction: rc $rc $(cat "$tmp/out")"
pass "invalid policies and requests refused (exit 1) with the field named"
