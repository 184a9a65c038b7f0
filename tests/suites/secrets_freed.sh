#!/usr/bin/env bash
# secrets_freed.sh BUILD_DIR - no secret reaches free() unwiped, in the
# enclave or the host (issue 11, point 6).  The enclave and the host run
# under tests/shim/freescan.c (LD_PRELOAD): every freed block is scanned for
# the suite's known secrets (the test AWS secret key and session token, the
# API tokens), and a hit aborts the process, naming the allocation and the
# freeing stacks.
#   1. the shim itself: a process freeing a block that holds a secret aborts
#      with a report (so a silent shim cannot pass this suite);
#   2. direct enclave requests carrying credentials (with a session token):
#      refused for a duplicate key (before the fix the refused tree was
#      freed unwiped, and this aborted), for invalid JSON, for an unknown
#      field; then accepted: generate_account and a signature;
#   3. the host API with AWS credentials (and a session token) in its
#      environment: account creation, signing, a body with a duplicate key,
#      wrong tokens; the host and enclave stop on SIGTERM and their exit
#      lines say how many blocks were scanned, and that both processes made
#      themselves non-dumpable (the host did not before);
#   4. the scripted enclave and host suites (enclave_protocol.sh,
#      host_api.sh) run again with the shim on every enclave and host they
#      start; no hit anywhere.
# Plain builds only: under ASan the sanitizer owns malloc (make asan skips
# this suite, saying so; make test runs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
SHIM=$PWD/$B/tests/freescan.so
ENCLAVE=$B/bin/nitrowallet-enclave
CLIENT=$B/tests/enclave_client
if [ ! -e "$SHIM" ]; then
  echo "skipped: $SHIM is not built in sanitizer builds (ASan owns malloc); make test runs this suite"
  exit 0
fi

. tests/suites/lib/suite.sh
. tests/suites/lib/api.sh
export NW_FREESCAN_SECRETS=$tmp/secrets.txt NW_FREESCAN_LOG=$tmp/freescan.log
: >"$NW_FREESCAN_SECRETS"
no_hits() { # WHAT [LOG]: no shim report in LOG (default $NW_FREESCAN_LOG)
  local log=${2:-$NW_FREESCAN_LOG}
  ! grep -q '^freescan: secret' "$log" 2>/dev/null ||
    fail "$1: a secret reached free() unwiped: $(grep -A 20 -m 1 '^freescan: secret' "$log")"
}

# --- 1. the shim catches a secret in a freed block ------------------------------
echo "shim-self-check-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/self.txt"
rc=0
NW_FREESCAN_SECRETS=$tmp/self.txt NW_FREESCAN_LOG=$tmp/self.log LD_PRELOAD=$SHIM \
  /usr/bin/python3 -c 'import sys; x = open(sys.argv[1]).read() * 64; del x' "$tmp/self.txt" 2>"$tmp/self.err" || rc=$?
[ "$rc" = 134 ] || fail "the shim did not abort on a freed secret (exit $rc): $(cat "$tmp/self.err")"
grep -q "allocated at:" "$tmp/self.log" || fail "the shim's report names no allocation: $(cat "$tmp/self.log")"
pass "the shim aborts on a freed secret: $(head -n 1 "$tmp/self.log")"

# --- the stack, with the shim on the enclave and the host -------------------------
suite_aws_env FREESCAN
AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE$(head -c 240 /dev/urandom | base64 -w0 | tr -d '+/=')
export AWS_SESSION_TOKEN
echo "$AWS_SESSION_TOKEN" >>"$NW_FREESCAN_SECRETS"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key freescan)
stack_kms_pin "$key" "$ENCLAVE"
export STACK_PRELOAD=$SHIM
stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key"
epid=$STACK_ENCLAVE_PID
pids+=("$epid")

# --- 2. direct enclave requests carrying credentials --------------------------------
creds=$(py -c 'import json,os; print(json.dumps({"access_key_id":os.environ["AWS_ACCESS_KEY_ID"],"secret_access_key":os.environ["AWS_SECRET_ACCESS_KEY"],"session_token":os.environ["AWS_SESSION_TOKEN"]}))')
direct() { # WANT_CODE REQUEST: the reply's error code ("" for a result); the reply in $tmp/direct.json
  local out code
  out=$(timeout 30 "$CLIENT" "unix:$tmp/e.sock" "$2") || fail "no reply to $(head -c 80 <<<"$2"): $(tail -n 5 "$tmp/enclave.log")"
  code=$(py -c 'import json,sys; j=json.loads(sys.argv[1]); print(j.get("error",{}).get("code",""))' "$out")
  [ "$code" = "$1" ] || fail "want '${1:-a result}', got: $(head -c 300 <<<"$out")"
  kill -0 "$epid" 2>/dev/null || fail "the enclave died: $(tail -n 25 "$NW_FREESCAN_LOG" 2>/dev/null)"
  printf '%s' "$out" >"$tmp/direct.json"
}
direct BAD_REQUEST '{"v":1,"id":1,"op":"generate_account","params":{"name":"a","name":"b","kms_key_id":"'"$key"'","credentials":'"$creds"'}}'
pass "duplicate key with credentials: BAD_REQUEST, and the enclave is alive (the refused tree was wiped)"
direct BAD_REQUEST '{"v":1,"id":2,"op":"generate_account","params":{"credentials":'"$creds"',"kms_key_id":'
direct BAD_REQUEST '{"v":1,"id":3,"op":"generate_account","params":{"nme":"a","kms_key_id":"'"$key"'","credentials":'"$creds"'}}'
pass "invalid JSON and an unknown field with credentials: BAD_REQUEST"
direct "" '{"v":1,"id":4,"op":"generate_account","params":{"name":"fs","kms_key_id":"'"$key"'","policy":{"allow_digest":true},"credentials":'"$creds"'}}'
gen=$(cat "$tmp/direct.json")
acct=$(py -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; print(json.dumps({"name":"fs","address":r["address"],"kms_key_id":sys.argv[2],"encrypted_private_key":r["encrypted_private_key"],"encrypted_data_key":r["encrypted_data_key"],"policy":{"allow_digest":True}}))' "$gen" "$key")
direct "" '{"v":1,"id":5,"op":"sign_digest","params":{"account":'"$acct"',"digest":"0x'"$(printf '%064x' 7)"'","credentials":'"$creds"'}}'
pass "generate_account and sign_digest with credentials"
no_hits "direct enclave requests"

# --- 3. the host API --------------------------------------------------------------------
stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/host.db" \
  --tokens "$tmp/tokens.json" --kms-key-id "$key" --insecure-http
hpid=$STACK_HOST_PID
pids+=("$hpid")
H=$STACK_HOST_URL
grep -q "^Max core file size *0 *0" "/proc/$hpid/limits" || fail "the host allows core dumps: $(grep core "/proc/$hpid/limits")"
call POST /v1/accounts "$ADMIN" '{"name":"hot-fs"}'
expect 201 "" "create an account through the host"
call POST /v1/accounts/hot-fs/sign/message "$SIGNER" '{"message":"hello"}'
expect 200 "" "sign a message"
call POST /v1/accounts/hot-fs/sign/transaction "$SIGNER" \
  '{"transaction":{"type":2,"chainId":1,"nonce":0,"maxPriorityFeePerGas":1,"maxFeePerGas":2,"gas":21000,"to":"0x000000000000000000000000000000000000dEaD","value":1}}'
expect 200 "" "sign a transaction"
call POST /v1/accounts "$ADMIN" '{"name":"dup","name":"dup2"}'
expect 400 BAD_REQUEST "duplicate key in an API body"
call GET /v1/accounts "${ADMIN%?}x"
expect 401 UNAUTHORIZED "a wrong admin token"
kill -0 "$hpid" 2>/dev/null || fail "the host died: $(tail -n 25 "$NW_FREESCAN_LOG")"
stack_stop "$hpid" "$epid"
no_hits "host API requests"
for who in nitrowallet-hos nitrowallet-enc; do
  line=$(grep "^freescan: $who.* exit:" "$NW_FREESCAN_LOG" | tail -n 1)
  [ -n "$line" ] || fail "no exit line from $who under the shim: $(cat "$NW_FREESCAN_LOG")"
  grep -q "dumpable=0" <<<"$line" || fail "$who stayed dumpable: $line"
  grep -q " 0 blocks scanned" <<<"$line" && fail "$who scanned nothing: $line"
  pass "$line"
done

# --- 4. the enclave and host suites under the shim --------------------------------------
for s in enclave_protocol host_api; do
  : >"$tmp/$s.out"
  if ! NW_FREESCAN_SECRETS=$tmp/$s.secrets NW_FREESCAN_LOG=$tmp/$s.freescan STACK_PRELOAD=$SHIM \
       "tests/suites/$s.sh" "$B" >"$tmp/$s.out" 2>&1; then
    fail "$s.sh under the shim: $(tail -n 30 "$tmp/$s.out"; grep -A 20 -m 1 '^freescan: secret' "$tmp/$s.freescan" 2>/dev/null)"
  fi
  no_hits "$s.sh" "$tmp/$s.freescan"
  n=$(grep -c ' exit: ' "$tmp/$s.freescan" 2>/dev/null || true)
  [ "${n:-0}" -ge 1 ] || fail "$s.sh: no process ran under the shim"
  pass "$s.sh passes with the shim on its $n enclave/host processes, $(wc -l <"$tmp/$s.secrets") secrets watched"
done
