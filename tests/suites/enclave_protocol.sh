#!/usr/bin/env bash
# enclave_protocol.sh BUILD_DIR - nitrowallet-enclave end to end over its
# framed protocol (docs/protocol.md), locally: the emulated NSM (--dev),
# nitrowallet-kms with a key whose policy pins the enclave binary's PCR0
# (sha384sum, computed independently), and build/tests/enclave_client.
# Signatures are checked with ethers v6 (tests/oracle/verify_signed.mjs)
# by tests/enclave/protocol_checks.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
CLIENT=$B/tests/enclave_client

. tests/suites/lib/suite.sh

[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
suite_aws_env ENCL
export NITROWALLET_HOME=$tmp/home
nsm=$tmp/nsm
stack_nsm_init "$nsm"

# Without --dev the emulated NSM is refused.
if "$ENCLAVE" --listen "unix:$tmp/x.sock" --nsm emulated --nsm-state "$nsm" >"$tmp/nodev.log" 2>&1; then
  fail "the enclave started with the emulated NSM and no --dev"
fi
grep -q 'refusing the emulated NSM without --dev' "$tmp/nodev.log" || fail "no clear refusal: $(cat "$tmp/nodev.log")"
pass "--nsm emulated without --dev: refused ($(head -c 60 "$tmp/nodev.log")...)"
# The enclave serves only unix sockets (locally) and vsock, never TCP; and it
# never replaces a file that is not a socket.  (A well-formed --kms-key-arn,
# which it requires before it listens; no KMS is running yet.)
arn=arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000
if "$ENCLAVE" --dev --nsm emulated --nsm-state "$nsm" --kms-key-arn "$arn" --listen tcp:127.0.0.1:0 >"$tmp/tcp.log" 2>&1; then
  fail "the enclave listened on TCP"
fi
grep -q 'listen: expected unix:/path or vsock:PORT' "$tmp/tcp.log" || fail "tcp listen: $(cat "$tmp/tcp.log")"
: >"$tmp/not-a-socket"
if "$ENCLAVE" --dev --nsm emulated --nsm-state "$nsm" --kms-key-arn "$arn" --listen "unix:$tmp/not-a-socket" >"$tmp/nosock.log" 2>&1; then
  fail "the enclave replaced a regular file with its socket"
fi
grep -q 'exists and is not a socket' "$tmp/nosock.log" && [ -f "$tmp/not-a-socket" ] || fail "not-a-socket: $(cat "$tmp/nosock.log")"
pass "--listen tcp: refused; a regular file at the socket path is left alone"

stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key enclave-protocol)
[ -n "$key" ] || fail "create-key"
stack_kms_pin "$key" "$ENCLAVE"
pass "KMS key $key pins PCR0 = sha384($ENCLAVE)"

start_enclave() { # NAME SOCKET ARGS...
  local name=$1 sock=$2
  shift 2
  STACK_ENCLAVE=$ENCLAVE stack_enclave_start "$sock" "$nsm" "$tmp/$name.log" --kms-key-arn "$key" "$@"
  pids+=("$STACK_ENCLAVE_PID")
}
start_enclave enclave "$tmp/e.sock" --workers 4
enclave_pid=${pids[-1]}
pass "ready line: $(head -n1 "$tmp/enclave.log")"
start_enclave busy "$tmp/busy.sock" --workers 1 --queue 1

# Framing errors: an oversized header gets an error and a close, an empty
# frame an error on a connection that stays usable.
out=$("$CLIENT" "unix:$tmp/e.sock" --oversize) || fail "no reply to an oversized frame"
grep -q '"code":"TOO_LARGE"' <<<"$out" || fail "oversized frame: $out"
pass "frame of 1 MiB + 1: $out"
out=$("$CLIENT" "unix:$tmp/e.sock" --empty '{"v":1,"id":9,"op":"health","params":{}}') || fail "empty frame: $out"
grep -q '"code":"BAD_REQUEST"' <<<"$out" && grep -q '"id":9,"result"' <<<"$out" || fail "empty frame: $out"
pass "empty frame: BAD_REQUEST, then the connection still answers"
big=$(/usr/bin/python3 -c 'print("{\"v\":1,\"id\":1,\"op\":\"health\",\"params\":{\"pad\":\"" + "a" * 1048600 + "\"}}")')
"$CLIENT" "unix:$tmp/e.sock" "$big" >/dev/null 2>&1 && fail "a client sent more than 1 MiB"
pass "the client refuses to send over 1 MiB (the server's bound is checked above)"

# A silent client holding a connection does not stall the others.
/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"\0\0\1\0{"); time.sleep(30)' \
  "$tmp/e.sock" &
pids+=($!)
ACCOUNT_OUT=$tmp/account.json BUSY_SPEC=unix:$tmp/busy.sock /usr/bin/python3 tests/enclave/protocol_checks.py "$CLIENT" "unix:$tmp/e.sock" "$key" ||
  fail "protocol checks"
pass "all protocol checks passed while a half-sent frame held another connection"

kill -0 "$enclave_pid" || fail "the enclave died"
sign_req() { # ID: a sign_message request for the stored account (credentials from the environment)
  /usr/bin/python3 - "$1" "$tmp/account.json" <<'PY'
import json, os, sys
print(json.dumps({"v": 1, "id": int(sys.argv[1]), "op": "sign_message",
                  "params": {"account": json.load(open(sys.argv[2])), "message": "m",
                             "credentials": {"access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
                                             "secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"]}}}))
PY
}

# A rebuilt enclave measures a different PCR0: KMS refuses it the data key.
cp "$ENCLAVE" "$tmp/nitrowallet-enclave-rebuilt"
printf 'rebuilt' >>"$tmp/nitrowallet-enclave-rebuilt"
ENCLAVE=$tmp/nitrowallet-enclave-rebuilt start_enclave rebuilt "$tmp/r.sock" --workers 1
out=$("$CLIENT" "unix:$tmp/r.sock" "$(sign_req 21)") || fail "rebuilt enclave: no reply"
grep -q '"code":"KMS_DENIED","message":"AccessDeniedException' <<<"$out" || fail "rebuilt enclave: $out"
pass "an enclave binary with a different PCR0 cannot open the account: KMS_DENIED (AccessDeniedException)"

# The data-key cache: the main enclave (cache on, the default) has served
# the account from cache; an enclave with --data-key-cache off asks KMS
# every time.  Both produce the same signature (RFC 6979 is deterministic).
start_enclave nocache "$tmp/nc.sock" --workers 1 --data-key-cache off
health() { "$CLIENT" "$1" '{"v":1,"id":30,"op":"health","params":{}}'; }
grep -q '"data_key_cache":{"enabled":true,"entries":[1-9][0-9]*,"hits":[1-9]' <<<"$(health "unix:$tmp/e.sock")" ||
  fail "cache stats: $(health "unix:$tmp/e.sock")"
hot=$("$CLIENT" "unix:$tmp/e.sock" "$(sign_req 24)") || fail "cached sign"
cold=$("$CLIENT" "unix:$tmp/nc.sock" "$(sign_req 24)") || fail "uncached sign"
grep -q '"signature"' <<<"$hot" && [ "$hot" = "$cold" ] || fail "cached and cold signatures differ: $hot / $cold"
grep -q '"data_key_cache":{"enabled":false,"entries":0,"hits":0' <<<"$(health "unix:$tmp/nc.sock")" ||
  fail "cache-off stats: $(health "unix:$tmp/nc.sock")"
pass "data-key cache: hits counted; a signature from a cached key equals one made cold (--data-key-cache off)"

# KMS down: without the cache KMS_UNAVAILABLE, quickly, and the enclave keeps
# serving; with it, an account whose key is cached still signs until the
# entry expires (the documented trade-off, docs/performance.md).
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
out=$(timeout 20 "$CLIENT" "unix:$tmp/nc.sock" "$(sign_req 22)" '{"v":1,"id":23,"op":"health","params":{}}') ||
  fail "KMS down: no reply"
grep -q '"id":22,"error":{"code":"KMS_UNAVAILABLE"' <<<"$out" && grep -q '"id":23,"result"' <<<"$out" ||
  fail "KMS down: $out"
pass "nitrowallet-kms stopped: KMS_UNAVAILABLE without the cache, and health still answers"
out=$("$CLIENT" "unix:$tmp/e.sock" "$(sign_req 25)") || fail "KMS down, cached: no reply"
grep -q '"id":25,"result":{"signature"' <<<"$out" || fail "KMS down, cached account: $out"
pass "nitrowallet-kms stopped: an account whose data key is cached still signs"
if grep -qF "$AWS_SECRET_ACCESS_KEY" "$tmp/enclave.log" "$tmp/busy.log" "$tmp/rebuilt.log" "$tmp/nocache.log" "$tmp/kms.log"; then fail "secret in a log"; fi
pass "no AWS secret key in any log"
kill -TERM "$enclave_pid"
for _ in $(seq 50); do kill -0 "$enclave_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$enclave_pid" 2>/dev/null && fail "the enclave did not stop on SIGTERM"
wait "$enclave_pid" || fail "the enclave exited non-zero on SIGTERM"
grep -q 'nitrowallet-enclave: stopped' "$tmp/enclave.log" || fail "no clean stop"
[ -e "$tmp/e.sock" ] && fail "socket left behind"
pass "SIGTERM: clean stop (with a client still connected), socket removed"
echo "enclave_protocol: all checks passed"
