#!/usr/bin/env bash
# host_api.sh BUILD_DIR - nitrowallet-host end to end over HTTP(S) with curl:
# nitrowallet-kms (key policy pinning the enclave's PCR0, as in
# enclave_protocol.sh), nitrowallet-enclave --dev (emulated NSM), and
# nitrowallet-host on SQLite in a temporary directory, or (STORAGE=dynamodb,
# as host_api_dynamodb.sh runs it) on DynamoDB served by dynalite on
# loopback.  Signatures are checked with ethers v6
# (tests/oracle/verify_signed.mjs); the stored items are counted with
# /usr/bin/python3's sqlite3, or with botocore against dynalite
# (tests/suites/lib/ddb_items.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
STORAGE=${STORAGE:-sqlite}
SUITE=${SUITE:-host_api}
ENCLAVE=$B/bin/nitrowallet-enclave
HOST=$B/bin/nitrowallet-host
ORACLE=tests/oracle/verify_signed.mjs

. tests/suites/lib/suite.sh
wait_for() { stack_wait_for "$@"; }

[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
suite_aws_env HOST
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
port=$STACK_KMS_PORT
key=$(stack_kms_create_key host-api)
stack_kms_pin "$key" "$ENCLAVE"
pass "KMS key $key pins PCR0 = sha384($ENCLAVE)"

start_enclave() {
  stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
  enclave_pid=$STACK_ENCLAVE_PID
  pids+=("$enclave_pid")
}
start_enclave

# Tokens: admin, signer (all accounts), signers limited to "other-acct" and
# to "hot-1" (replay: narrowed at the restart below).
stack_tokens "$tmp" ops:admin 'pay:signer:*' narrow:signer:other-acct replay:signer:hot-1
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
NARROW=$(cat "$tmp/narrow.token")
REPLAY=$(cat "$tmp/replay.token")
# A signer token names its accounts or is made with --all-accounts on purpose.
if "$HOST" token add --id loose --role signer --tokens "$tmp/t2.json" --out "$tmp/loose.token" 2>"$tmp/err"; then
  fail "a signer token without accounts was made"
fi
grep -q -- '--all-accounts' "$tmp/err" || fail "signer without accounts: $(cat "$tmp/err")"
[ ! -e "$tmp/t2.json" ] && [ ! -e "$tmp/loose.token" ] || fail "the refused token left files"
for bad in "--role signer --all-accounts --account x" "--role admin --all-accounts" "--role admin --account x"; do
  # shellcheck disable=SC2086
  if "$HOST" token add --id bad $bad --tokens "$tmp/t2.json" 2>/dev/null; then fail "token add $bad accepted"; fi
done
"$HOST" token add --id all --role signer --all-accounts --tokens "$tmp/t2.json" --out "$tmp/all.token" 2>/dev/null ||
  fail "token add --all-accounts"
[ "$(jget "$tmp/t2.json" '[(e["id"], e.get("all_accounts"), e.get("accounts")) for e in j]')" = '[["all", true, null]]' ] ||
  fail "--all-accounts wrote: $(cat "$tmp/t2.json")"
py - "$tmp/t2.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
del t[0]["all_accounts"]  # as the file read before issue 11
json.dump(t, open(sys.argv[1], "w"))
PY
if "$HOST" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/t2.db" --tokens "$tmp/t2.json" \
  --kms-key-id "$key" --insecure-http --metrics-listen off >"$tmp/t2.log" 2>&1; then
  fail "the host started with a signer token that names no accounts"
fi
grep -q "tokens\[0\] (id 'all'): a signer token lists its \"accounts\" or says \"all_accounts\": true" "$tmp/t2.log" ||
  fail "signer without a list: $(head -c 300 "$tmp/t2.log")"
pass "token add: a signer needs --account or --all-accounts; the host refuses a signer entry with neither"
DB=$tmp/host.db
case $STORAGE in
  sqlite) STORE_ARGS=(--db "$DB") ;;
  dynamodb)
    [ -d tests/oracle/node_modules/dynalite ] || fail "dynalite missing: run scripts/bootstrap.sh"
    node tests/oracle/dynalite_loopback.cjs >"$tmp/dynalite.log" 2>&1 &
    pids+=($!)
    wait_for "$tmp/dynalite.log" 'dynalite listening on' || fail "dynalite did not start"
    DDB_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/dynalite.log" | sed -n 1p)
    PREFIX=nw$$-
    STORE_ARGS=(--storage dynamodb --dynamodb-endpoint "$DDB_URL" --table-prefix "$PREFIX" --create-tables)
    pass "dynalite on $DDB_URL, tables ${PREFIX}*"
    ;;
  *) fail "STORAGE must be sqlite or dynamodb" ;;
esac

start_host() { # LOG ARGS...
  local log=$1
  shift
  stack_host_start "$tmp/$log.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" "${STORE_ARGS[@]}" \
    --tokens "$tmp/tokens.json" --kms-key-id "$key" "$@"
  host_pid=$STACK_HOST_PID
  pids+=("$host_pid")
  H=$STACK_HOST_URL
  M=$STACK_METRICS_URL
}
start_host host --insecure-http
pass "ready line: $(grep listening "$tmp/host.log")"

. tests/suites/lib/api.sh
rows() { # "(accounts, signed values, idempotency records)"
  if [ "$STORAGE" = dynamodb ]; then py tests/suites/lib/ddb_items.py count "$DDB_URL" "$PREFIX"; return; fi
  py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select (select count(*) from AccountTable), (select count(*) from SignedValueTable), (select count(*) from IdempotencyTable)").fetchone())' "$DB"
}

call GET /healthz ""
expect 200 "" "GET /healthz"
call GET /readyz ""
expect 200 "" "GET /readyz with the enclave up"

# --- authentication -----------------------------------------------------------
call GET /v1/accounts ""
expect 401 UNAUTHORIZED "no token"
grep -qi '^www-authenticate: Bearer' "$tmp/r.hdr" || fail "401 without WWW-Authenticate"
call GET /v1/accounts "nwt_wrongwrongwrongwrongwrongwrongwrongwrong123"
expect 401 UNAUTHORIZED "wrong token"
call GET /v1/accounts "$SIGNER"
expect 403 FORBIDDEN "signer lists accounts"
call POST /v1/accounts "$SIGNER" '{"name":"x"}'
expect 403 FORBIDDEN "signer creates an account"

# --- accounts -----------------------------------------------------------------
call POST /v1/accounts "$ADMIN" '{"name":"hot-1"}'
expect 201 "" "create hot-1"
ADDR=$(jget "$tmp/r.json" 'j["address"]')
[ "$(jget "$tmp/r.json" 'sorted(j)')" = '["address", "created_at", "kms_key_id", "name", "policy_digest"]' ] || fail "create body fields"
call POST /v1/accounts "$ADMIN" '{"name":"hot-1"}'
expect 409 CONFLICT "create hot-1 again"
call POST /v1/accounts "$ADMIN" '{"name":"other-acct","allow_digest":true}'
expect 201 "" "create other-acct (allow_digest)"
call POST /v1/accounts "$ADMIN" '{}'
expect 201 "" "create with a generated name"
jget "$tmp/r.json" 'j["name"]' | grep -Eq '^acct-[0-9a-f]{16}$' || fail "generated name"
call GET "/v1/accounts?limit=2" "$ADMIN"
expect 200 "" "list page 1"
[ "$(jget "$tmp/r.json" 'len(j["accounts"])')" = 2 ] || fail "page size"
cur=$(jget "$tmp/r.json" 'j["next_cursor"]')
call GET "/v1/accounts?limit=2&cursor=$cur" "$ADMIN"
expect 200 "" "list page 2"
[ "$(jget "$tmp/r.json" 'len(j["accounts"])')" = 1 ] || fail "page 2 size"
call GET /v1/accounts/hot-1 "$ADMIN"
expect 200 "" "get hot-1"
[ "$(jget "$tmp/r.json" 'j["address"]')" = "$ADDR" ] || fail "get address"
call GET /v1/accounts/nope "$ADMIN"
expect 404 NOT_FOUND "unknown account"

# --- signing ------------------------------------------------------------------
tx='{"transaction":{"type":2,"chainId":31337,"nonce":0,"gas":21000,"maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x3b9aca00","to":"0x1111111111111111111111111111111111111111","value":"0xde0b6b3a7640000","data":"0x"}}'
call POST /v1/accounts/hot-1/sign/transaction "$SIGNER" "$tx"
expect 200 "" "sign an EIP-1559 transaction"
raw=$(jget "$tmp/r.json" 'j["raw_transaction"]')
txhash=$(jget "$tmp/r.json" 'j["transaction_hash"]')
[ "$(jget "$tmp/r.json" 'sorted(j["signature"])')" = '["r", "s", "v", "y_parity"]' ] || fail "signature fields"
[ "$(jget "$tmp/r.json" 'j["from"]')" = "$ADDR" ] || fail "from"
got=$(printf '{"kind":"tx","raw":"%s"}\n{"kind":"txhash","raw":"%s"}\n' "$raw" "$raw" | node "$ORACLE")
[ "$got" = "$ADDR
$txhash" ] || fail "ethers: $got"
pass "ethers recovers $ADDR from the raw transaction and computes the same hash"
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"hello nitrowallet"}'
expect 200 "" "sign a message"
sig=$(jget "$tmp/r.json" 'j["signature"]')
got=$(printf '{"kind":"message","text":"hello nitrowallet","signature":"%s"}\n' "$sig" | node "$ORACLE")
[ "$got" = "$ADDR" ] || fail "ethers message: $got"
pass "ethers verifyMessage recovers $ADDR"
call POST /v1/accounts/hot-1/sign/message "$NARROW" '{"message":"x"}'
expect 403 FORBIDDEN "signer limited to other-acct signs with hot-1"
call POST /v1/accounts/hot-1/sign/digest "$SIGNER" "{\"digest\":\"0x$(printf 'ab%.0s' $(seq 32))\"}"
expect 403 POLICY_DENIED "sign/digest on an account without allow_digest"
call POST /v1/accounts/other-acct/sign/digest "$NARROW" "{\"digest\":\"0x$(printf 'ab%.0s' $(seq 32))\"}"
expect 200 "" "sign/digest on other-acct (allow_digest) by its narrow signer"

td='{"typed_data":{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"chainId","type":"uint256"}],"Mail":[{"name":"to","type":"address"},{"name":"contents","type":"string"}]},"primaryType":"Mail","domain":{"name":"Ether Mail","chainId":1},"message":{"to":"0x2222222222222222222222222222222222222222","contents":"hi"}}}'
call POST /v1/accounts/hot-1/sign/typed-data "$SIGNER" "$td"
expect 200 "" "sign EIP-712 typed data"
sig=$(jget "$tmp/r.json" 'j["signature"]')
got=$(py -c 'import json,sys; print(json.dumps({"kind":"typed","typed_data":json.loads(sys.argv[1])["typed_data"],"signature":sys.argv[2]}))' "$td" "$sig" | node "$ORACLE")
[ "$got" = "$ADDR" ] || fail "ethers typed data: $got"
pass "ethers verifyTypedData recovers $ADDR"
call GET "/v1/attestation?nonce=0x0102030405" "$ADMIN"
expect 200 "" "GET /v1/attestation"
jget "$tmp/r.json" 'j["document"]' | base64 -d >/dev/null || fail "attestation document is not base64"
call GET "/v1/attestation" "$ADMIN"
expect 400 BAD_REQUEST "attestation without a nonce"

# --- concurrency: 16 signing requests, 8 at a time, through the pool -----------------
before=$(py -c 'import sys; print(eval(sys.argv[1])[1])' "$(rows)")
seq 1 16 | xargs -P 8 -I{} curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $SIGNER" \
  -H 'Content-Type: application/json' --data-binary '{"message":"parallel {}"}' "$H/v1/accounts/hot-1/sign/message" >"$tmp/par"
[ "$(sort -u "$tmp/par")" = 200 ] && [ "$(wc -l <"$tmp/par")" = 16 ] || fail "parallel: $(sort "$tmp/par" | uniq -c)"
after=$(py -c 'import sys; print(eval(sys.argv[1])[1])' "$(rows)")
[ $((after - before)) = 16 ] || fail "parallel: $((after - before)) recorded"
pass "16 concurrent signing requests (8 at a time): all 200, 16 audit records"

# --- bad input: 4xx and nothing stored ------------------------------------------
before=$(rows)
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":'
expect 400 BAD_REQUEST "malformed JSON"
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"a","extra":1}'
expect 400 BAD_REQUEST "unknown field"
grep -q extra "$tmp/r.json" || fail "the unknown field is not named"
call POST /v1/accounts "$ADMIN" '{"name":5}'
expect 400 BAD_REQUEST "name of the wrong type"
call POST /v1/accounts/hot-1/sign/transaction "$SIGNER" '{"transaction":{"chainId":1}}'
expect 400 BAD_REQUEST "invalid transaction"
big=$(py -c 'print("{\"message\":\"" + "a" * 70000 + "\"}")')
call POST /v1/accounts/hot-1/sign/message "$SIGNER" "$big"
expect 413 TOO_LARGE "body over 64 KiB"
head -c 5000000 /dev/zero | tr '\0' a >"$tmp/huge"
t0=$(date +%s%N)
curl -sS --max-time 20 -o "$tmp/r.json" -D "$tmp/r.hdr" -w '%{http_code}' -H "Authorization: Bearer $SIGNER" \
  -H 'Content-Type: application/json' --data-binary "@$tmp/huge" "$H/v1/accounts/hot-1/sign/message" >"$tmp/status" || true
expect 413 TOO_LARGE "5 MB body announced by Content-Length (refused in $((($(date +%s%N) - t0) / 1000000)) ms)"
printf '%s' "$big" >"$tmp/body"
curl -sS --max-time 20 -o "$tmp/r.json" -D "$tmp/r.hdr" -w '%{http_code}' -H "Authorization: Bearer $SIGNER" \
  -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$tmp/body" \
  "$H/v1/accounts/hot-1/sign/message" >"$tmp/status"
expect 413 TOO_LARGE "chunked body over 64 KiB (no Content-Length)"
printf '%s' '{"message":"a"}' >"$tmp/body"
curl -sS -o "$tmp/r.json" -D "$tmp/r.hdr" -w '%{http_code}' -H "Authorization: Bearer $SIGNER" \
  -H 'Content-Type: text/plain' --data-binary "@$tmp/body" "$H/v1/accounts/hot-1/sign/message" >"$tmp/status"
expect 415 UNSUPPORTED_MEDIA_TYPE "text/plain body"
call POST /v1/accounts/nope/sign/message "$SIGNER" '{"message":"a"}'
expect 404 NOT_FOUND "sign with an unknown account"
[ "$(rows)" = "$before" ] || fail "database changed by refused requests: $before -> $(rows)"
pass "database unchanged by the refused requests (accounts, signatures, idempotency) = $before"

# --- audit trail ----------------------------------------------------------------
call GET "/v1/accounts/hot-1/signatures?limit=100" "$ADMIN"
expect 200 "" "audit trail of hot-1"
[ "$(jget "$tmp/r.json" '[s["kind"] for s in j["signatures"] if not s["request"].get("message","").startswith("parallel")]')" = '["typed_data", "denied", "message", "transaction"]' ] || fail "audit kinds"
# the refused raw digest is in the trail as a denial, with the rule that refused it
[ "$(jget "$tmp/r.json" '[(s["request"]["denied"]["kind"], s["request"]["denied"]["rule"], s["signed_value"]) for s in j["signatures"] if s["kind"] == "denied"]')" = '[["digest", "default", "0x"]]' ] ||
  fail "denial in the audit trail: $(cat "$tmp/r.json")"
[ "$(jget "$tmp/r.json" 'j["signatures"][-1]["signed_value"]')" = "$raw" ] || fail "audit raw tx"
[ "$(jget "$tmp/r.json" 'j["signatures"][-1]["tx_hash"]')" = "$txhash" ] || fail "audit tx hash"
pass "the audit trail lists the transaction (raw, hash), the message and the typed data, newest first"

# --- idempotency ------------------------------------------------------------------
before=$(rows)
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"once"}' 'Idempotency-Key: k-1'
expect 200 "" "sign with Idempotency-Key k-1"
cp "$tmp/r.json" "$tmp/first.json"
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"once"}' 'Idempotency-Key: k-1'
expect 200 "" "retry with k-1"
cmp -s "$tmp/first.json" "$tmp/r.json" || fail "the retry's response differs"
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"twice"}' 'Idempotency-Key: k-1'
expect 422 IDEMPOTENCY_MISMATCH "k-1 with another body"
sigs_before=$(py -c 'import sys; print(eval(sys.argv[1])[1])' "$before")
sigs_after=$(py -c 'import sys; print(eval(sys.argv[1])[1])' "$(rows)")
[ $((sigs_after - sigs_before)) = 1 ] || fail "idempotent retry recorded $((sigs_after - sigs_before)) signatures"
pass "same response replayed, one signature recorded"
call POST /v1/accounts/hot-1/sign/message "$REPLAY" '{"message":"replayed"}' 'Idempotency-Key: r-1'
expect 200 "" "the hot-1 signer signs with Idempotency-Key r-1 (replayed after the restart)"
call POST /v1/accounts "$ADMIN" '{"name":"idem-acct"}' 'Idempotency-Key: c-1'
expect 201 "" "create with Idempotency-Key"
cp "$tmp/r.json" "$tmp/first.json"
call POST /v1/accounts "$ADMIN" '{"name":"idem-acct"}' 'Idempotency-Key: c-1'
expect 201 "" "create retried: the first 201, not 409"
cmp -s "$tmp/first.json" "$tmp/r.json" || fail "create replay differs"
# Concurrent duplicates: 8 account creations (generated names) with one key at
# the same moment act once; the others replay the result or are told the
# first is still in progress.
accts_before=$(py -c 'import sys; print(eval(sys.argv[1])[0])' "$(rows)")
printf '{}' >"$tmp/empty.json"
seq 1 8 | xargs -P 8 -I{} curl -sS --max-time 30 -o "$tmp/par-{}.json" -w '%{http_code}\n' \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -H 'Idempotency-Key: race-1' \
  --data-binary "@$tmp/empty.json" "$H/v1/accounts" >"$tmp/par"
accts_after=$(py -c 'import sys; print(eval(sys.argv[1])[0])' "$(rows)")
[ $((accts_after - accts_before)) = 1 ] || fail "8 concurrent creates with one key made $((accts_after - accts_before)) accounts"
grep -vxE '201|409' "$tmp/par" >/dev/null && fail "concurrent duplicates: $(sort "$tmp/par" | uniq -c)"
names=$(cat "$tmp"/par-*.json | py -c 'import json,sys; print(len({json.loads(l)["name"] for l in sys.stdin.read().replace("}{","}\n{").splitlines() if "name" in l}))')
[ "$names" = 1 ] || fail "concurrent duplicates returned $names different accounts"
pass "8 concurrent creates with one Idempotency-Key: one account; answers $(sort "$tmp/par" | uniq -c | tr -s ' \n' ' ')"

# --- metrics: on their own loopback listener; /readyz says only ready there ------
call GET /metrics ""
expect 404 NOT_FOUND "GET /metrics on the API listener"
expect_msg "--metrics-listen" "GET /metrics on the API listener"
call GET /readyz ""
[ "$(cat "$tmp/r.json")" = '{"status":"ready"}' ] || fail "the API's /readyz says more than ready: $(cat "$tmp/r.json")"
H=$M call GET /readyz ""
expect 200 "" "GET /readyz on the metrics listener"
[ "$(jget "$tmp/r.json" 'j["enclaves"][0]["up"]')" = true ] || fail "metrics /readyz details: $(cat "$tmp/r.json")"
H=$M call GET /v1/accounts "$ADMIN"
expect 404 NOT_FOUND "the API is not served on the metrics listener"
H=$M call GET /metrics ""
grep -q 'nitrowallet_http_requests_total{endpoint="sign_message",status="200"}' "$tmp/r.json" || fail "metrics: $(head -c 300 "$tmp/r.json")"
grep -q '^nitrowallet_enclave_calls_total [1-9]' "$tmp/r.json" || fail "metrics: enclave calls"
pass "GET /metrics: request counters by endpoint and status, latency histogram, enclave calls"
# KMS calls as the enclave's health probes report them (every 2 s by default).
for _ in $(seq 50); do
  H=$M call GET /metrics ""
  grep -E '^nitrowallet_enclave_kms_calls_total\{endpoint="unix:[^"]*",op="GenerateDataKey"\} [1-9]' "$tmp/r.json" >/dev/null &&
    grep -E '^nitrowallet_enclave_data_key_cache_hits_total\{endpoint="unix:[^"]*"\} [1-9]' "$tmp/r.json" >/dev/null && break
  sleep 0.2
done
grep -E '^nitrowallet_enclave_kms_calls_total\{endpoint="unix:[^"]*",op="GenerateDataKey"\} [1-9]' "$tmp/r.json" >/dev/null ||
  fail "metrics: no KMS calls reported: $(grep -E 'kms_calls|data_key_cache' "$tmp/r.json")"
pass "GET /metrics: KMS calls and data-key cache hits by enclave: $(grep -E '^nitrowallet_enclave_kms_calls_total' "$tmp/r.json" | tr '\n' ' ')"

# --- the enclave goes away: 503 fast; it comes back: served again ----------------
kill "$enclave_pid"
wait "$enclave_pid" 2>/dev/null || true
t0=$(date +%s%N)
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"down"}'
t1=$(date +%s%N)
expect 503 UNAVAILABLE "enclave killed: sign"
expect_hidden "$tmp/host.log" "no healthy enclave" "enclave killed: 503 message"
[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "503 took $(((t1 - t0) / 1000000)) ms"
pass "503 in $(((t1 - t0) / 1000000)) ms"
call GET /readyz ""
expect 503 UNAVAILABLE "readyz with no enclave"
start_enclave
sleep 0.6 # past the pool's back-off
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"back"}'
expect 200 "" "enclave restarted: signing works again"

# --- restart the host: state survives ------------------------------------------------
kill "$host_pid"
wait "$host_pid" 2>/dev/null || true
grep -q 'nitrowallet-host: stopped' "$tmp/host.log" || fail "host did not stop cleanly"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || fail "openssl"
# The replay token no longer names hot-1 (its grant changed while the host was down).
py - "$tmp/tokens.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
[e for e in t if e["id"] == "replay"][0]["accounts"] = ["other-acct"]
json.dump(t, open(sys.argv[1], "w"))
PY
start_host host2 --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
case $H in https://*) ;; *) fail "TLS host did not announce https: $H" ;; esac
CURL_EXTRA=(--cacert "$tmp/cert.pem")
call POST /v1/accounts/hot-1/sign/message "$REPLAY" '{"message":"replayed"}' 'Idempotency-Key: r-1'
expect 403 FORBIDDEN "replay of r-1 once the token no longer names hot-1: authorization comes first"
grep -q signature "$tmp/r.json" && fail "the stored signature was replayed"
call GET /v1/accounts "$ADMIN"
expect 200 "" "restarted host over TLS: list accounts"
[ "$(jget "$tmp/r.json" 'sorted(a["name"] for a in j["accounts"] if not a["name"].startswith("acct-"))')" = '["hot-1", "idem-acct", "other-acct"]' ] ||
  fail "accounts after restart: $(cat "$tmp/r.json")"
call GET /v1/accounts/hot-1/signatures "$SIGNER"
expect 200 "" "audit trail after restart"
call POST /v1/accounts/hot-1/sign/message "$SIGNER" '{"message":"tls"}'
expect 200 "" "sign over TLS"
CURL_EXTRA=()
if curl -sS --max-time 5 -o /dev/null "${H/https/http}/healthz" 2>/dev/null; then fail "TLS port answered plain HTTP"; fi
pass "plain HTTP to the TLS port is refused"
if "$HOST" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" "${STORE_ARGS[@]}" --tokens "$tmp/tokens.json" >"$tmp/host3.log" 2>&1; then
  fail "host started without TLS files or --insecure-http"
fi
pass "no TLS files and no --insecure-http: refused ($(head -c 100 "$tmp/host3.log"))"
# --- two enclaves: one killed (SIGKILL) during a run of requests loses none -----------
stack_enclave_start "$tmp/e2.sock" "$nsm" "$tmp/enclave2.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")
kill "$host_pid"
wait "$host_pid" 2>/dev/null || true
start_host host4 --insecure-http --enclave "unix:$tmp/e2.sock"
CURL_EXTRA=()
for i in $(seq 1 12); do
  if [ "$i" = 5 ]; then kill -9 "$enclave_pid"; wait "$enclave_pid" 2>/dev/null || true; fi
  call POST /v1/accounts/hot-1/sign/message "$SIGNER" "{\"message\":\"run $i\"}"
  [ "$(cat "$tmp/status")" = 200 ] || fail "request $i with one of two enclaves killed: $(cat "$tmp/status") $(cat "$tmp/r.json")"
done
pass "12 signing requests, enclave 1 of 2 killed with SIGKILL after the 4th: all 200"
H=$M call GET /metrics ""
grep -q '^nitrowallet_enclave_failovers_total [1-9]' "$tmp/r.json" || fail "no failover counted: $(grep failover "$tmp/r.json")"
pass "failover counted: $(grep '^nitrowallet_enclave_failovers_total' "$tmp/r.json")"

if grep -qF "$AWS_SECRET_ACCESS_KEY" "$tmp"/*.log; then fail "AWS secret key in a log"; fi
for t in "$ADMIN" "$SIGNER" "$NARROW"; do grep -qF "$t" "$tmp"/*.log && fail "a token in a log"; done
pass "no AWS secret key and no token in any log"
echo "$SUITE: all checks passed"
