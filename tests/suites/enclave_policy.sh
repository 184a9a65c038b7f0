#!/usr/bin/env bash
# enclave_policy.sh BUILD_DIR - the enclave enforces each account's sealed
# policy (docs/policy.md) against a compromised host: nitrowallet-kms,
# nitrowallet-enclave --dev and nitrowallet-host on SQLite (STORAGE=dynamodb:
# on dynalite).  Four accounts are created through the API with the example
# policies of docs/policies/; tests/oracle/policy_requests.mjs makes, with
# ethers, a request just inside and just outside each kind of rule; and
# tests/enclave/policy_checks.py sends each one straight to the enclave's
# socket with the record read from the store (as a compromised host would)
# and through the API, checks the signatures with ethers, the 403s and their
# rule, the audit trail of denials, /metrics, and that a stored policy
# edited, swapped or truncated makes the account refuse with SEAL_INVALID.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
STORAGE=${STORAGE:-sqlite}
ENCLAVE=$B/bin/nitrowallet-enclave
. tests/suites/lib/suite.sh
. tests/suites/lib/api.sh

[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
suite_aws_env POLICY
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key enclave-policy)
stack_kms_pin "$key" "$ENCLAVE"
stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")
stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
DB=$tmp/host.db
case $STORAGE in
  sqlite) STORE_ARGS=(--db "$DB") ;;
  dynamodb)
    [ -d tests/oracle/node_modules/dynalite ] || fail "dynalite missing: run scripts/bootstrap.sh"
    node tests/oracle/dynalite_loopback.cjs >"$tmp/dynalite.log" 2>&1 &
    pids+=($!)
    stack_wait_for "$tmp/dynalite.log" 'dynalite listening on' || fail "dynalite did not start"
    DDB_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/dynalite.log" | sed -n 1p)
    PREFIX=nwp$$-
    STORE_ARGS=(--storage dynamodb --dynamodb-endpoint "$DDB_URL" --table-prefix "$PREFIX" --create-tables)
    export DDB_URL PREFIX
    ;;
  *) fail "STORAGE must be sqlite or dynamodb" ;;
esac
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --insecure-http --enclave "unix:$tmp/e.sock" \
  "${STORE_ARGS[@]}" --tokens "$tmp/tokens.json" --kms-key-id "$key"
pids+=("$STACK_HOST_PID")
H=$STACK_HOST_URL

# The accounts, one per example policy; the enclave returns (and the host
# stores) the canonical policy, whose digest `nitrowallet policy show` agrees with.
for p in hot-wallet market-maker payroll-token treasury; do
  body=$(py -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "policy": json.load(open(sys.argv[2]))}))' \
    "$p" "docs/policies/$p.json")
  call POST /v1/accounts "$ADMIN" "$body"
  expect 201 "" "create $p with docs/policies/$p.json"
  want=$("$B/bin/nitrowallet" policy show "docs/policies/$p.json" | sed -n 's/^policy_digest: //p')
  [ "$(jget "$tmp/r.json" 'j["policy_digest"]')" = "$want" ] || fail "$p: policy digest is not $want"
done
call POST /v1/accounts "$ADMIN" '{"name":"bad","policy":{"version":1,"rules":[{"id":"r","effect":"allow","kind":"message","value_max":"1"}]}}'
expect 400 BAD_REQUEST "a policy with a transaction condition in a message rule"
expect_msg "policy.rules[0].value_max: not a condition of kind message" "the field is named"
call POST /v1/accounts "$ADMIN" '{"name":"bad","policy":{"version":1,"rules":[]},"allow_digest":true}'
expect 400 BAD_REQUEST "policy and allow_digest together"
call GET /v1/accounts/bad "$ADMIN"
expect 404 NOT_FOUND "nothing stored for the refused creations"
call GET /v1/accounts/hot-wallet "$ADMIN"
expect 200 "" "GET hot-wallet"
[ "$(jget "$tmp/r.json" 'j["policy"]["rules"][0]["value_max"]')" = 1000000000000000000 ] || fail "stored policy: $(cat "$tmp/r.json")"

mkdir -p "$tmp/cases"
node tests/oracle/policy_requests.mjs "$tmp/cases" "$(date +%s)" 120 2>"$tmp/gen.log" ||
  fail "policy_requests.mjs: $(cat "$tmp/gen.log")"
CLIENT=$B/tests/enclave_client SPEC=unix:$tmp/e.sock H=$H SIGNER=$SIGNER ADMIN=$ADMIN STORAGE=$STORAGE DB=$DB \
  METRICS=$STACK_METRICS_URL py tests/enclave/policy_checks.py "$tmp/cases" || fail "policy checks"

kill -0 "$STACK_ENCLAVE_PID" || fail "the enclave died"
if grep -qF "$AWS_SECRET_ACCESS_KEY" "$tmp"/*.log; then fail "secret in a log"; fi
pass "no AWS secret key in any log"
echo "enclave_policy ($STORAGE): all checks passed"
