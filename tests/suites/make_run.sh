#!/usr/bin/env bash
# make_run.sh BUILD_DIR - `make run` as a user meets it: the stack starts in
# a fresh $NITROWALLET_HOME, `nitrowallet demo` and the CLI work against it
# (signatures checked with ethers), Ctrl-C (SIGINT to the whole process
# group, as a terminal sends it) stops every process, and a second start
# reuses the state: accounts, tokens and the KMS key survive.  For build/
# this runs `make run` itself; for another build (build/asan) it runs
# scripts/run-local.sh on that build, which is what `make run` ends in.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
CLI=$B/bin/nitrowallet
ORACLE=tests/oracle/verify_signed.mjs

tmp=$(mktemp -d)
leader=
cleanup() {
  if [ -n "$leader" ]; then kill -TERM -- "-$leader" 2>/dev/null || true; fi
  sleep 0.2
  pkill -KILL -f "$tmp/home" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/run*.log "$tmp"/home/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }; done
  exit 1
}
pass() { echo "ok: $*"; }

export NITROWALLET_HOME=$tmp/home NITROWALLET_LISTEN=127.0.0.1:0 NITROWALLET_METRICS_LISTEN=127.0.0.1:0
# Whatever AWS setup the caller has must not matter: make run uses its own.
export AWS_ACCESS_KEY_ID=AKIDCALLERSHOULDNOTMATTER AWS_SECRET_ACCESS_KEY=caller-secret

# start LOG: the stack in its own process group with SIGINT at its default
# (a background job of a script would ignore it); sets $leader and $url.
start() {
  local log=$1
  if [ "$B" = build ]; then
    /usr/bin/python3 tests/suites/fg.py "$tmp/leader" make --no-print-directory run >"$log" 2>&1 &
  else
    /usr/bin/python3 tests/suites/fg.py "$tmp/leader" scripts/run-local.sh "$B" >"$log" 2>&1 &
  fi
  local runner=$!
  for _ in $(seq 600); do
    grep 'Ctrl-C stops all three' "$log" >/dev/null 2>&1 && break
    # "make run: ..." lines before the banner are notices (state migrated) or
    # the reason it is about to exit: it failed if it exited
    kill -0 "$runner" 2>/dev/null || fail "make run failed: $(grep '^make run: ' "$log" || tail -n 5 "$log")"
    sleep 0.1
  done
  grep 'Ctrl-C stops all three' "$log" >/dev/null || fail "the stack did not become ready"
  leader=$(cat "$tmp/leader")
  url=$(grep -o 'https://127.0.0.1:[0-9]*' "$log" | sed -n 1p)
  export NITROWALLET_URL=$url
}
# interrupt LOG: Ctrl-C to the process group; nothing may be left.
interrupt() {
  kill -INT -- "-$leader"
  for _ in $(seq 150); do
    kill -0 -- "-$leader" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 -- "-$leader" 2>/dev/null && fail "processes still running 15 s after Ctrl-C: $(pgrep -fa "$tmp/home")"
  if pgrep -f "$tmp/home" >/dev/null; then fail "left behind: $(pgrep -fa "$tmp/home")"; fi
  grep -q 'make run: stopped' "$1" || fail "no clean stop message"
  [ ! -e "$tmp/home/enclave.sock" ] || fail "the enclave's socket was left behind"
  leader=
}

start "$tmp/run1.log"
pass "first start: ready at $url ($(grep -c . "$tmp/run1.log") lines of banner)"
for f in ca.pem admin.token signer.token tokens.json kms-key-id host-cert.pem nsm/nsm-dev-root.pem; do
  [ -s "$tmp/home/$f" ] || fail "$f was not created"
done
[ "$(stat -c %a "$tmp/home/admin.token")" = 600 ] && [ "$(stat -c %a "$tmp/home/host-key.pem")" = 600 ] &&
  [ "$(stat -c %a "$tmp/home")" = 700 ] || fail "state permissions"
grep -qF "$(cat "$tmp/home/admin.token")" "$tmp/run1.log" && fail "the banner prints a token"
pass "state prepared: dev CA, host certificate, tokens (0600), KMS key, NSM chain"
openssl verify -CAfile "$tmp/home/ca.pem" "$tmp/home/host-cert.pem" >/dev/null || fail "host cert does not chain to ca.pem"

"$CLI" demo >"$tmp/demo.log" 2>&1 || fail "nitrowallet demo: $(cat "$tmp/demo.log")"
grep -q 'demo: all 9 steps passed' "$tmp/demo.log" || fail "demo output: $(cat "$tmp/demo.log")"
pass "nitrowallet demo: $(tail -n1 "$tmp/demo.log")"
murl=$(grep -o 'http://127.0.0.1:[0-9]*/metrics' "$tmp/run1.log" | sed -n 1p)
[ -n "$murl" ] || fail "the banner names no metrics listener"
curl -sS "$murl" >"$tmp/metrics" || fail "metrics at $murl"
grep -E '^nitrowallet_kms_proxy_connections_total [1-9]' "$tmp/metrics" >/dev/null ||
  fail "the enclave did not reach KMS through the host's proxy: $(grep kms_proxy "$tmp/metrics")"
pgrep -af nitrowallet-enclave | grep -- "--kms-connect unix:$tmp/home/kms-proxy.sock" >/dev/null ||
  fail "the enclave has another route to KMS: $(pgrep -af nitrowallet-enclave)"
pass "the enclave's only route to KMS is the host's proxy ($(grep '^nitrowallet_kms_proxy_connections_total' "$tmp/metrics"))"

# The CLI, each answer checked independently.
"$CLI" account create --name cli-1 >"$tmp/acct.json" || fail "account create"
addr=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$tmp/acct.json")
"$CLI" account list | grep -P "^cli-1\t$addr\t" >/dev/null || fail "account list: $("$CLI" account list)"
"$CLI" account show cli-1 | grep "$addr" >/dev/null || fail "account show"
pass "account create / list / show: cli-1 = $addr"
sig=$("$CLI" sign message cli-1 --text 'hello from the CLI' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["signature"])')
got=$(printf '{"kind":"message","text":"hello from the CLI","signature":"%s"}\n' "$sig" | node "$ORACLE")
[ "$got" = "$addr" ] || fail "ethers recovers $got from the CLI's message signature"
printf 'exact\nbytes' >"$tmp/msg.bin"
sig=$("$CLI" sign message cli-1 "$tmp/msg.bin" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["signature"])')
got=$(printf '{"kind":"message","text":"exact\\nbytes","signature":"%s"}\n' "$sig" | node "$ORACLE")
[ "$got" = "$addr" ] || fail "ethers recovers $got from a file's exact bytes"
pass "sign message (--text, and a file's exact bytes): ethers recovers $addr"
echo '{"type":2,"chainId":31337,"nonce":7,"gas":21000,"maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","to":"0x1111111111111111111111111111111111111111","value":"0x1","data":"0x"}' |
  "$CLI" sign tx cli-1 - >"$tmp/tx.json" || fail "sign tx from stdin"
raw=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["raw_transaction"])' "$tmp/tx.json")
got=$(printf '{"kind":"tx","raw":"%s"}\n' "$raw" | node "$ORACLE")
[ "$got" = "$addr" ] || fail "ethers recovers $got from the CLI's transaction"
pass "sign tx from standard input: ethers recovers $addr from the raw transaction"
"$CLI" signatures cli-1 | grep -c '"kind"' | grep -qx 3 || fail "signatures: $("$CLI" signatures cli-1)"
pass "signatures: the audit trail holds the 3 signatures"
if "$CLI" sign digest cli-1 0x$(printf '11%.0s' $(seq 32)) 2>"$tmp/err"; then fail "sign digest allowed"; fi
grep -q 'HTTP 403 POLICY_DENIED' "$tmp/err" || fail "sign digest error: $(cat "$tmp/err")"
pass "sign digest without allow_digest: exit 1, $(head -c 90 "$tmp/err")"
nonce=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$CLI" attestation get --nonce "$nonce" --out "$tmp/att.cbor" 2>/dev/null || fail "attestation get"
"$CLI" attestation verify "$tmp/att.cbor" --root "$tmp/home/nsm/nsm-dev-root.pem" --nonce "$nonce" >"$tmp/att.txt" ||
  fail "attestation verify: $(cat "$tmp/att.txt")"
grep -q 'verified: yes' "$tmp/att.txt" || fail "attestation verify output"
pass "attestation get --nonce, then attestation verify against the dev root and the nonce"
if "$CLI" --token-file /dev/null account list 2>"$tmp/err"; then fail "empty token accepted"; fi
echo nwt_notavalidtokennotavalidtokennotavalidtoken0 >"$tmp/bad.token"
if "$CLI" --token-file "$tmp/bad.token" account list 2>"$tmp/err"; then fail "wrong token accepted"; fi
grep -q 'HTTP 401 UNAUTHORIZED' "$tmp/err" || fail "wrong token: $(cat "$tmp/err")"
if NITROWALLET_CA=/etc/ssl/certs/ca-certificates.crt "$CLI" account list 2>"$tmp/err"; then fail "TLS without our CA"; fi
grep -qi 'certificate' "$tmp/err" || fail "TLS error: $(cat "$tmp/err")"
pass "wrong token: HTTP 401; a CA that does not sign the host: refused ($(head -c 80 "$tmp/err"))"

interrupt "$tmp/run1.log"
pass "Ctrl-C: all three stopped, nothing left running"

cp "$tmp/home/admin.token" "$tmp/admin.before"
key=$(cat "$tmp/home/kms-key-id")
# a tokens file from before signer tokens had to name their accounts
/usr/bin/python3 - "$tmp/home/tokens.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert [e.get("all_accounts") for e in t if e["role"] == "signer"] == [True], t
for e in t:
    e.pop("all_accounts", None)
json.dump(t, open(sys.argv[1], "w"))
PY
start "$tmp/run2.log"
grep -q 'state reused' "$tmp/run2.log" || fail "second start did not reuse the state"
grep -q 'signer token(s) signer had no account list' "$tmp/run2.log" || fail "old tokens file: no migration message"
/usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); assert [e.get("all_accounts") for e in t if e["role"]=="signer"]==[True], t' \
  "$tmp/home/tokens.json" || fail "old tokens file not migrated"
pass "a tokens file from before (signer without an account list) is migrated to \"all_accounts\": true, said aloud"
"$CLI" account list >"$tmp/list2" || fail "account list after restart"
grep -P "^cli-1\t$addr\t" "$tmp/list2" >/dev/null || fail "cli-1 lost: $(cat "$tmp/list2")"
grep -q '^demo-' "$tmp/list2" || fail "the demo account lost"
cmp -s "$tmp/admin.before" "$tmp/home/admin.token" && [ "$(cat "$tmp/home/kms-key-id")" = "$key" ] ||
  fail "tokens or KMS key replaced"
sig=$("$CLI" sign message cli-1 --text again | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["signature"])')
got=$(printf '{"kind":"message","text":"again","signature":"%s"}\n' "$sig" | node "$ORACLE")
[ "$got" = "$addr" ] || fail "after restart ethers recovers $got"
pass "second start: state reused, accounts survive and still sign (ethers recovers $addr)"
kill -TERM "$leader"
for _ in $(seq 150); do kill -0 -- "-$leader" 2>/dev/null || break; sleep 0.1; done
if pgrep -f "$tmp/home" >/dev/null; then fail "SIGTERM left: $(pgrep -fa "$tmp/home")"; fi
leader=
pass "SIGTERM to make run: all three stopped"

# The same choice of storage as the host's flags, from the environment:
# NITROWALLET_STORAGE=dynamodb against dynalite on loopback, tables created.
node tests/oracle/dynalite_loopback.cjs >"$tmp/dynalite.log" 2>&1 &
dyn_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/dynalite.log" && break; sleep 0.1; done
ddb=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/dynalite.log") || fail "dynalite did not start"
NITROWALLET_STORAGE=dynamodb NITROWALLET_DYNAMODB_ENDPOINT=$ddb NITROWALLET_CREATE_TABLES=1 start "$tmp/run3.log"
grep -q "storage      dynamodb at $ddb" "$tmp/run3.log" || fail "banner does not show DynamoDB"
"$CLI" demo >"$tmp/demo3.log" 2>&1 || fail "demo on DynamoDB: $(cat "$tmp/demo3.log")"
"$CLI" account list | grep "^demo-" >/dev/null || fail "no account listed from DynamoDB"
interrupt "$tmp/run3.log"
kill "$dyn_pid" 2>/dev/null || true
wait "$dyn_pid" 2>/dev/null || true
pass "NITROWALLET_STORAGE=dynamodb (dynalite, tables created): demo passes, Ctrl-C stops all three"
if grep -qF "$(cat "$tmp/home/admin.token")" "$tmp"/run*.log "$tmp"/home/logs/*.log "$tmp/demo.log"; then fail "token in a log"; fi
secret=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$tmp/home/dev-aws.env")
if grep -qF "$secret" "$tmp"/run*.log "$tmp"/home/logs/*.log; then fail "AWS secret in a log"; fi
pass "no token and no AWS secret in any output or log"
echo "make_run: all checks passed"
