#!/usr/bin/env bash
# host_dynamodb_faults.sh BUILD_DIR - nitrowallet-host's DynamoDB backend
# under concurrency and faults.  Two hosts share one dynalite (npm, on
# loopback) through a fault-injecting proxy written for this test
# (tests/suites/lib/ddb_fault_proxy.py), with the real KMS emulator and an
# emulated-NSM enclave behind them.  Proves: (2) two hosts creating the same
# account at the same moment (the proxy holds both PutItems until both
# arrived): exactly one 201, the other 409, and the stored item is the
# winner's, whole (botocore reads it; ethers recovers its address from a
# signature made with it); (3) throttling and 5xx are retried with backoff
# and succeed, client errors are not retried (one attempt), a lost reply to
# an applied write is recognised, a persistent outage gives a 503 with a
# clear message after a bounded number of attempts and stores nothing
# partial; a missing table is named at start.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
HOST=$B/bin/nitrowallet-host
ORACLE=tests/oracle/verify_signed.mjs

. tests/suites/lib/suite.sh
. tests/suites/lib/api.sh # expect_hidden (req and expect are redefined below)

[ -d tests/oracle/node_modules/dynalite ] || fail "dynalite missing: run scripts/bootstrap.sh"
[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
suite_aws_env HOST
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"

node tests/oracle/dynalite_loopback.cjs >"$tmp/dynalite.log" 2>&1 &
pids+=($!)
stack_wait_for "$tmp/dynalite.log" 'dynalite listening on' || fail "dynalite did not start"
DDB=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/dynalite.log" | sed -n 1p)
py tests/suites/lib/ddb_fault_proxy.py "$DDB" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
stack_wait_for "$tmp/proxy.log" 'fault proxy listening on' || fail "fault proxy did not start"
PROXY=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/proxy.log" | sed -n 1p)
pass "dynalite on $DDB behind the fault proxy on $PROXY"
fault() { curl -sS --max-time 10 "$PROXY/__fault/$1" >"$tmp/fault.json" || fail "proxy control $1"; }
attempts() { # OP FIELD: requests or injected for OP since the last reset
  fault stats
  py -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], {}).get(sys.argv[3], 0))' "$tmp/fault.json" "$1" "$2"
}
PREFIX=nwf$$-
rows() { py tests/suites/lib/ddb_items.py count "$DDB" "$PREFIX"; }
item() { py tests/suites/lib/ddb_items.py get "$DDB" "${PREFIX}AccountTable" "$1"; }

nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key ddb-faults)
stack_kms_pin "$key" "$ENCLAVE"
stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")
stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
host_args=(--listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --tokens "$tmp/tokens.json" --kms-key-id "$key"
  --insecure-http --storage dynamodb --dynamodb-endpoint "$PROXY" --dynamodb-region us-east-1)

# --- a missing table is named; --create-tables creates them --------------------------
if "$HOST" "${host_args[@]}" --table-prefix "$PREFIX" >"$tmp/hostC.log" 2>&1; then fail "host started without tables"; fi
grep -F "table '${PREFIX}AccountTable' does not exist" "$tmp/hostC.log" >/dev/null || fail "missing table: $(cat "$tmp/hostC.log")"
pass "no tables and no --create-tables: refused, $(head -c 150 "$tmp/hostC.log")"
stack_host_start "$tmp/hostA.log" "${host_args[@]}" --table-prefix "$PREFIX" --create-tables
pids+=("$STACK_HOST_PID")
A=$STACK_HOST_URL
stack_host_start "$tmp/hostB.log" "${host_args[@]}" --table-prefix "$PREFIX"
pids+=("$STACK_HOST_PID")
HB=$STACK_HOST_URL
pass "host A ($A) created the tables; host B ($HB) shares them"

req() { # URL METHOD PATH TOKEN [BODY] -> status in $tmp/status, body in $tmp/r.json
  local args=(-H "Authorization: Bearer $4")
  [ -n "${5-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$5")
  curl -sS --max-time 60 -o "$tmp/r.json" -w '%{http_code}' -X "$2" "${args[@]}" "$1$3" >"$tmp/status" ||
    echo 000 >"$tmp/status"
}
expect() { # STATUS CODE WHAT
  local got
  got=$(cat "$tmp/status")
  [ "$got" = "$1" ] || fail "$3: status $got, want $1: $(cat "$tmp/r.json")"
  [ -z "$2" ] || [ "$(jget "$tmp/r.json" 'j["error"]["code"]')" = "$2" ] || fail "$3: $(cat "$tmp/r.json")"
  pass "$3 -> $1 $(head -c 200 "$tmp/r.json")"
}

# --- (2) two hosts create the same name at the same moment -----------------------
for round in 1 2 3; do
  name=race-$round
  fault reset
  fault "barrier?target=PutItem&n=2"
  curl -sS --max-time 60 -o "$tmp/a.json" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' --data-binary "{\"name\":\"$name\"}" "$A/v1/accounts" >"$tmp/a.status" &
  pa=$!
  curl -sS --max-time 60 -o "$tmp/b.json" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' --data-binary "{\"name\":\"$name\"}" "$HB/v1/accounts" >"$tmp/b.status" &
  pb=$!
  wait "$pa" || true
  wait "$pb" || true
  got="$(cat "$tmp/a.status") $(cat "$tmp/b.status")"
  case $got in
    "201 409") win=a lose=b ;;
    "409 201") win=b lose=a ;;
    *) fail "race $round: statuses $got: $(cat "$tmp/a.json") $(cat "$tmp/b.json")" ;;
  esac
  [ "$(jget "$tmp/$lose.json" 'j["error"]["code"]')" = CONFLICT ] || fail "race $round: loser $(cat "$tmp/$lose.json")"
  [ "$(attempts PutItem requests)" = 2 ] || fail "race $round: $(attempts PutItem requests) PutItems (both must reach DynamoDB, once each)"
  addr=$(jget "$tmp/$win.json" 'j["address"]')
  item "$name" >"$tmp/item.json"
  [ "$(jget "$tmp/item.json" 'j["Address"]["S"]')" = "$addr" ] || fail "race $round: stored $(cat "$tmp/item.json")"
  [ "$(jget "$tmp/item.json" 'sorted(j)')" = '["Address", "CreatedAt", "EncryptedDataKey", "EncryptedPrivateKey", "KeyId", "Listing", "Name", "PolicyDigest", "Policy"]' ] ||
    [ "$(jget "$tmp/item.json" 'sorted(j)')" = '["Address", "CreatedAt", "EncryptedDataKey", "EncryptedPrivateKey", "KeyId", "Listing", "Name", "Policy", "PolicyDigest"]' ] ||
    fail "race $round: item attributes $(jget "$tmp/item.json" 'sorted(j)')"
  # the loser's host signs with the stored record: the enclave opens it and ethers recovers the winner's address
  [ $win = a ] && other=$HB || other=$A
  req "$other" POST "/v1/accounts/$name/sign/message" "$SIGNER" '{"message":"race"}'
  expect 200 "" "race $round: the losing host signs with $name"
  got=$(printf '{"kind":"message","text":"race","signature":"%s"}\n' "$(jget "$tmp/r.json" 'j["signature"]')" | node "$ORACLE")
  [ "$got" = "$addr" ] || fail "race $round: ethers recovers $got, want $addr"
  pass "race $round: host $win 201, host $lose 409 CONFLICT, 2 PutItems; the stored item is the winner's, whole ($addr)"
done

# --- (3) throttling and 5xx are retried ------------------------------------------------
n=0
for mode in throttle pte rle 500 503; do
  n=$((n + 1))
  fault reset
  fault "set?mode=$mode&n=3&target=PutItem"
  req "$A" POST /v1/accounts "$ADMIN" "{\"name\":\"retry-$n\"}"
  expect 201 "" "create with 3 injected '$mode' replies to PutItem"
  [ "$(attempts PutItem requests)/$(attempts PutItem injected)" = 4/3 ] ||
    fail "$mode: PutItem requests/injected $(attempts PutItem requests)/$(attempts PutItem injected), want 4/3"
  [ "$(jget "$(item "retry-$n" >"$tmp/item.json"; echo "$tmp/item.json")" 'j["Address"]["S"]')" = "$(jget "$tmp/r.json" 'j["address"]')" ] ||
    fail "$mode: stored item"
  pass "$mode: 4 PutItem attempts (3 faults + 1 success), the account is stored"
done
before=$(rows)
fault reset
fault "set?mode=throttle&n=2&target=UpdateItem"
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"throttled counter"}'
expect 200 "" "sign with 2 throttled UpdateItems (the audit counter)"
fault reset
fault "set?mode=500&n=2&target=PutItem"
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"5xx audit put"}'
expect 200 "" "sign with 2 InternalServerErrors on the audit PutItem"
[ "$(attempts PutItem requests)" = 3 ] || fail "audit put: $(attempts PutItem requests) attempts"
fault reset
fault "set?mode=lose&n=1&target=PutItem"
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"lost reply"}'
expect 200 "" "sign whose audit PutItem was applied but its reply lost"
[ "$(attempts PutItem requests)" = 2 ] || fail "lost reply: $(attempts PutItem requests) attempts"
after=$(rows)
[ "$(py -c 'import sys; print(eval(sys.argv[2])[1] - eval(sys.argv[1])[1])' "$before" "$after")" = 3 ] ||
  fail "3 signatures must give 3 audit items: $before -> $after"
req "$A" GET "/v1/accounts/retry-1/signatures?limit=10" "$ADMIN"
[ "$(jget "$tmp/r.json" '[s["request"]["message"] for s in j["signatures"]]')" = '["lost reply", "5xx audit put", "throttled counter"]' ] ||
  fail "audit trail: $(cat "$tmp/r.json")"
pass "3 signatures under faults: 3 audit items, newest first, none twice"
fault reset
fault "set?mode=lose&n=1&target=PutItem"
req "$HB" POST /v1/accounts "$ADMIN" '{"name":"lost-create"}'
expect 201 "" "create whose PutItem was applied but its reply lost: 201, not 409"
[ "$(attempts PutItem requests)" = 2 ] || fail "lost create: $(attempts PutItem requests) attempts"
[ "$(jget "$(item lost-create >"$tmp/item.json"; echo "$tmp/item.json")" 'j["Address"]["S"]')" = "$(jget "$tmp/r.json" 'j["address"]')" ] || fail "lost create: item"

# --- client errors are not retried ------------------------------------------------------
fault reset
fault "set?mode=validation&n=1&target=GetItem"
req "$A" GET /v1/accounts/retry-1 "$ADMIN"
expect 500 INTERNAL "GetItem answered 400 ValidationException"
expect_hidden "$tmp/hostA.log" ValidationException "GetItem ValidationException"
[ "$(attempts GetItem requests)" = 1 ] || fail "a client error was retried: $(attempts GetItem requests) GetItems"
pass "client error: exactly 1 GetItem (no retry)"
fault reset
req "$A" POST /v1/accounts/ghost/sign/message "$SIGNER" '{"message":"x"}'
expect 404 NOT_FOUND "sign with an unknown account"

# --- a persistent outage: 503, bounded attempts, nothing partial -------------------------
for mode in 503 down; do
  fault reset
  fault "set?mode=$mode&n=1000"
  before=$(rows)
  t0=$(date +%s%N)
  req "$A" POST /v1/accounts "$ADMIN" "{\"name\":\"outage-$mode\"}"
  ms=$((($(date +%s%N) - t0) / 1000000))
  expect 503 UNAVAILABLE "DynamoDB fully down ($mode): create, answered in $ms ms"
  expect_hidden "$tmp/hostA.log" 'failed 8 times' "DynamoDB fully down ($mode)"
  rid=$(jget "$tmp/r.json" 'j["error"]["request_id"]')
  grep -F -- "$rid" "$tmp/hostA.log" | grep -q 'dynamodb: GetItem' || fail "$mode: the log does not name GetItem"
  # curl resends once by itself when a reused keep-alive connection dies before
  # any reply byte ("down"), so the proxy may see one request more than 8 attempts
  got=$(attempts GetItem requests)
  [ "$got" = 8 ] || { [ "$mode" = down ] && [ "$got" = 9 ]; } || fail "$mode: $got requests, want 8 attempts"
  [ "$ms" -lt 20000 ] || fail "$mode: the 503 took $ms ms"
  pass "$mode: 8 attempts ($got requests), then 503"
done
fault reset
fault "set?mode=503&n=1000&target=PutItem"
before=$(rows)
req "$A" POST /v1/accounts "$ADMIN" '{"name":"half-written"}'
expect 503 UNAVAILABLE "only writes fail: create"
[ "$(item half-written)" = null ] || fail "an account item was written"
fault reset
fault "set?mode=503&n=1000&target=UpdateItem"
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"no counter"}'
expect 503 AUDIT_FAILED "only writes fail: sign (audit counter)"
expect_hidden "$tmp/hostA.log" "UpdateItem on ${PREFIX}AccountTable" "audit counter failure"
fault reset
fault "set?mode=503&n=1000&target=PutItem"
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"no audit"}'
expect 503 AUDIT_FAILED "only writes fail: sign (audit item)"
grep -q '"signature"' "$tmp/r.json" && fail "a signature was returned without its audit record"
[ "$(rows)" = "$before" ] || fail "items written during the outage: $before -> $(rows)"
pass "no account, audit or idempotency item written during the outages: $before"
fault reset
req "$A" POST /v1/accounts/retry-1/sign/message "$SIGNER" '{"message":"after"}'
expect 200 "" "DynamoDB back: signing works"
req "$A" GET "/v1/accounts/retry-1/signatures?limit=2" "$ADMIN"
[ "$(jget "$tmp/r.json" 'j["signatures"][0]["request"]["message"]')" = after ] || fail "audit after outage"
s0=$(jget "$tmp/r.json" 'j["signatures"][0]["seq"]')
s1=$(jget "$tmp/r.json" 'j["signatures"][1]["seq"]')
[ "$s0" -gt "$s1" ] || fail "seq $s0 after $s1"
pass "audit trail continues after the outage (seq $s1 -> $s0; a counter raised for an unrecorded signature leaves a gap, never a reuse)"

if grep -qF "$AWS_SECRET_ACCESS_KEY" "$tmp"/*.log; then fail "AWS secret key in a log"; fi
pass "no AWS secret key in any log"
echo "host_dynamodb_faults: all checks passed"
