#!/usr/bin/env bash
# kms_proxy.sh BUILD_DIR - the host's KMS proxy (issue 5, docs/operations.md
# "KMS proxy and vsock"): the enclave reaches nitrowallet-kms only through
# nitrowallet-host --kms-proxy, locally on a unix socket in place of vsock.
#   1. a remote outside the allowlist (explicit, or the default allowlist of
#      kms.REGION.amazonaws.com:443 only) is refused at start, with a clear
#      message, and nothing listens;
#   2. the enclave's only KMS route is the proxy socket: accounts are created
#      and signatures made through the API (ethers recovers the address), the
#      proxy's connection and byte counters go up; openssl s_client through the
#      proxy sees nitrowallet-kms's own certificate (the proxy has no key: TLS
#      is end to end);
#   3. the host restarted without the proxy: KMS_UNAVAILABLE; with it: signing
#      again;
#   4. a recording tap between proxy and nitrowallet-kms: every byte either way
#      parses as TLS records, none of the request's JSON or SigV4 header is
#      visible, and the proxy's byte counters equal the tap's;
#   5. against an echo-after-EOF server: a half-close travels both ways
#      (1 MiB, beyond one relay buffer); an idle connection is closed after the
#      idle timeout and counted; over the connection bound a connection is
#      closed at once and counted; an unreachable remote is counted.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
HOST=$B/bin/nitrowallet-host
ORACLE=tests/oracle/verify_signed.mjs
PEER=tests/suites/lib/proxy_peer.py

. tests/suites/lib/suite.sh
suite_on_exit() { touch "$tmp/stop-hold" 2>/dev/null || true; }
wait_file() { local i; for ((i = 0; i < 300; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

[ -d tests/oracle/node_modules/ethers ] || fail "ethers missing: run scripts/bootstrap.sh"
suite_aws_env PROXY
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
port=$STACK_KMS_PORT
key=$(stack_kms_create_key kms-proxy)
stack_kms_pin "$key" "$ENCLAVE"
pass "KMS key $key pins PCR0 = sha384($ENCLAVE)"

stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
HOST_ARGS=(--listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/host.db" --tokens "$tmp/tokens.json"
  --kms-key-id "$key" --insecure-http)

# A port nothing listens on (bound once by the kernel's choice, then freed).
free_port() { py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. destinations outside the allowlist are refused at start ---------------
refused() { # NAME WHAT ARGS...: the host must exit non-zero saying why
  local name=$1 what=$2 rc=0
  shift 2
  timeout 30 "$HOST" "${HOST_ARGS[@]}" "$@" >"$tmp/$name.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$what: host exited $rc"
  grep -q 'not on the allowlist' "$tmp/$name.log" || fail "$what: $(cat "$tmp/$name.log")"
  grep -q 'listening on' "$tmp/$name.log" && fail "$what: the host served anyway"
  [ ! -e "$tmp/bad.sock" ] || fail "$what: the proxy socket was created"
  pass "$what: refused at start: $(grep -o 'POLICY_DENIED.*' "$tmp/$name.log")"
}
other=$(free_port)
refused refused1 "remote 127.0.0.1:$other, allowlist 127.0.0.1:$port" \
  --kms-proxy "unix:$tmp/bad.sock=127.0.0.1:$other" --proxy-allow "127.0.0.1:$port"
refused refused2 "remote 127.0.0.1:$port with the default allowlist (kms.us-east-1.amazonaws.com:443)" \
  --kms-proxy "unix:$tmp/bad.sock=127.0.0.1:$port"
refused refused3 "default remote kms.us-east-1.amazonaws.com:443, allowlist 127.0.0.1:$port only" \
  --kms-proxy "unix:$tmp/bad.sock" --proxy-allow "127.0.0.1:$port"
rc=0
"$HOST" "${HOST_ARGS[@]}" --kms-proxy "vsock:0=127.0.0.1:$port" --proxy-allow "127.0.0.1:$port" >"$tmp/badspec.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'BAD_REQUEST: listen: expected vsock:PORT' "$tmp/badspec.log" || fail "vsock:0: $(cat "$tmp/badspec.log")"
pass "--kms-proxy vsock:0 refused: $(grep -o 'BAD_REQUEST.*' "$tmp/badspec.log")"

# --- 2. the enclave reaches KMS only through the proxy ------------------------
# No tcp route is given: --kms-connect is the proxy's socket, nothing else.
# The data-key cache is off so every signature is a KMS Decrypt.
PROXY_SOCK=$tmp/kms-proxy.sock
stack_enclave_start_via "unix:$PROXY_SOCK" "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2 --data-key-cache off
pids+=("$STACK_ENCLAVE_PID")
[ "$(tr '\0' '\n' </proc/"$STACK_ENCLAVE_PID"/cmdline | grep -c "$port")" = 0 ] || fail "the enclave was told nitrowallet-kms's port"
pass "enclave started with --kms-connect unix:$PROXY_SOCK only (no KMS port on its command line)"

start_host() { # NAME ARGS...
  local name=$1
  shift
  stack_host_start "$tmp/$name.log" "${HOST_ARGS[@]}" "$@"
  host_pid=$STACK_HOST_PID
  pids+=("$host_pid")
  H=$STACK_HOST_URL
}
stop_host() {
  local rc=0
  kill "$host_pid" 2>/dev/null || true
  wait "$host_pid" || rc=$?
  [ "$rc" = 0 ] || fail "the host exited $rc on SIGTERM"
}
req() { # METHOD PATH TOKEN [BODY] -> status; body in $tmp/r.json
  local args=()
  [ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
  [ -n "${4-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  curl -sS --max-time 40 -X "$1" -o "$tmp/r.json" -w '%{http_code}' "${args[@]}" "$H$2" || echo 000
}
expect() { # STATUS CODE WHAT
  [ "$got" = "$1" ] || fail "$3: status $got, want $1: $(cat "$tmp/r.json")"
  [ -z "$2" ] || [ "$(jget "$tmp/r.json" 'j["error"]["code"]')" = "$2" ] || fail "$3: $(cat "$tmp/r.json")"
  pass "$3 -> $1 $(head -c 120 "$tmp/r.json")"
}
metric() { # NAME (with labels): its value from GET /metrics
  curl -sS --max-time 20 "$STACK_METRICS_URL/metrics" >"$tmp/metrics.txt" || fail "GET /metrics"
  py -c 'import sys
for l in open(sys.argv[1]):
    k, _, v = l.strip().rpartition(" ")
    if k == sys.argv[2]: print(v); break
else: sys.exit("no metric " + sys.argv[2])' "$tmp/metrics.txt" "$1"
}
wait_metric() { # NAME VALUE: poll until the metric has VALUE
  local i v
  for ((i = 0; i < 150; i++)); do
    v=$(metric "$1")
    [ "$v" = "$2" ] && return 0
    sleep 0.1
  done
  fail "metric $1 is $v, want $2"
}

stack_kms_proxy_args "$PROXY_SOCK"
start_host host "${STACK_KMS_PROXY_ARGS[@]}"
grep -q "KMS proxy on unix:$PROXY_SOCK forwarding to 127.0.0.1:$port" "$tmp/host.log" || fail "proxy ready line"
pass "host: $(grep 'KMS proxy' "$tmp/host.log")"
[ "$(metric nitrowallet_kms_proxy_connections_total)" = 0 ] || fail "proxy connections before any KMS call"

got=$(req POST /v1/accounts "$ADMIN" '{"name":"via-proxy"}')
expect 201 "" "create an account (GenerateDataKey through the proxy)"
ADDR=$(jget "$tmp/r.json" 'j["address"]')
tx='{"transaction":{"type":2,"chainId":31337,"nonce":0,"gas":21000,"maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x3b9aca00","to":"0x1111111111111111111111111111111111111111","value":"0x1","data":"0x"}}'
got=$(req POST /v1/accounts/via-proxy/sign/transaction "$SIGNER" "$tx")
expect 200 "" "sign a transaction (Decrypt through the proxy)"
raw=$(jget "$tmp/r.json" 'j["raw_transaction"]')
[ "$(printf '{"kind":"tx","raw":"%s"}\n' "$raw" | node "$ORACLE")" = "$ADDR" ] || fail "ethers does not recover $ADDR"
pass "ethers recovers $ADDR from the transaction signed through the proxy"
conns=$(metric nitrowallet_kms_proxy_connections_total)
up=$(metric 'nitrowallet_kms_proxy_bytes_total{direction="to_kms"}')
down=$(metric 'nitrowallet_kms_proxy_bytes_total{direction="from_kms"}')
[ "$conns" -ge 1 ] && [ "$up" -gt 1000 ] && [ "$down" -gt 1000 ] || fail "proxy metrics: conns $conns up $up down $down"
got=$(req POST /v1/accounts/via-proxy/sign/message "$SIGNER" '{"message":"second"}')
expect 200 "" "sign a message (another Decrypt)"
up2=$(metric 'nitrowallet_kms_proxy_bytes_total{direction="to_kms"}')
[ "$up2" -gt "$up" ] || fail "to_kms bytes did not grow: $up -> $up2"
pass "proxy metrics: connections $conns, to_kms $up -> $up2 bytes, from_kms $down bytes"

# TLS through the proxy is nitrowallet-kms's own: the same certificate as on
# its TCP port, verified for the KMS name against its CA.
fp() { openssl x509 -noout -fingerprint -sha256 | cut -d= -f2; }
via=$(openssl s_client -unix "$PROXY_SOCK" -servername kms.us-east-1.amazonaws.com -verify_hostname kms.us-east-1.amazonaws.com \
  -CAfile "$STACK_KMS_CA" -verify_return_error </dev/null 2>"$tmp/sclient.err" | tee "$tmp/sclient.out" | fp)
direct=$(openssl s_client -connect "127.0.0.1:$port" -servername kms.us-east-1.amazonaws.com </dev/null 2>/dev/null | fp)
grep -q 'Verify return code: 0 (ok)' "$tmp/sclient.out" || fail "s_client through the proxy: $(tail -n 3 "$tmp/sclient.err")"
[ -n "$via" ] && [ "$via" = "$direct" ] || fail "certificate through the proxy $via, direct $direct"
pass "openssl s_client through the proxy verifies nitrowallet-kms's own certificate (SHA-256 $via)"

# --- 3. without the proxy the enclave has no way to KMS -----------------------
stop_host
[ ! -e "$PROXY_SOCK" ] || fail "the proxy socket outlived the host"
start_host host-noproxy
got=$(req POST /v1/accounts/via-proxy/sign/message "$SIGNER" '{"message":"no proxy"}')
expect 503 KMS_UNAVAILABLE "host without --kms-proxy: sign"
stop_host
start_host host "${STACK_KMS_PROXY_ARGS[@]}"
got=$(req POST /v1/accounts/via-proxy/sign/message "$SIGNER" '{"message":"proxy back"}')
expect 200 "" "host with the proxy again: sign"
stop_host

# --- 4. what the proxy carries is TLS, nothing readable -----------------------
mkdir "$tmp/tap"
py "$PEER" tap "$tmp/tap.port" "$port" "$tmp/tap" >"$tmp/tap.log" 2>&1 &
pids+=($!)
wait_file "$tmp/tap.port" || fail "tap did not start"
tap=$(cat "$tmp/tap.port")
start_host host-tap --kms-proxy "unix:$PROXY_SOCK=127.0.0.1:$tap" --proxy-allow "127.0.0.1:$tap"
got=$(req POST /v1/accounts "$ADMIN" '{"name":"tapped"}')
expect 201 "" "create an account through proxy and tap"
got=$(req POST /v1/accounts/tapped/sign/message "$SIGNER" '{"message":"tapped"}')
expect 200 "" "sign through proxy and tap"
ups=("$tmp"/tap/*.up) downs=("$tmp"/tap/*.down)
[ -s "${ups[0]}" ] && [ -s "${downs[0]}" ] || fail "the tap recorded nothing"
up_rec=$(py "$PEER" tls-records "${ups[@]}") || fail "to KMS: $up_rec"
down_rec=$(py "$PEER" tls-records "${downs[@]}") || fail "from KMS: $down_rec"
for s in KeyId TrentService AWS4-HMAC-SHA256 "$AWS_ACCESS_KEY_ID" CiphertextBlob Recipient tapped; do
  ! grep -a -q -- "$s" "${ups[@]}" "${downs[@]}" || fail "\"$s\" is readable in the relayed bytes"
done
pass "relayed bytes are TLS records only (to KMS: ${up_rec% *} records, from KMS: ${down_rec% *}); no KeyId, TrentService, SigV4 or access key id in clear"
want_up=${up_rec#* } want_down=${down_rec#* }
wait_metric 'nitrowallet_kms_proxy_bytes_total{direction="to_kms"}' "$want_up"
wait_metric 'nitrowallet_kms_proxy_bytes_total{direction="from_kms"}' "$want_down"
pass "proxy byte counters equal the tap's: to_kms $want_up, from_kms $want_down"
stop_host

# --- 5. half-close, idle timeout, connection bound, unreachable remote --------
py "$PEER" echo-eof "$tmp/echo.port" >"$tmp/echo.log" 2>&1 &
pids+=($!)
wait_file "$tmp/echo.port" || fail "echo server did not start"
echo_port=$(cat "$tmp/echo.port")
ES=$tmp/echo-proxy.sock
start_host host-echo --kms-proxy "unix:$ES=127.0.0.1:$echo_port" --proxy-allow "127.0.0.1:$echo_port" --proxy-idle-timeout 1
out=$(py "$PEER" halfclose "$ES" 1048576 2>&1) || fail "half-close: $out"
pass "half-close: $out (the server answers only after the client's FIN reached it)"
out=$(py "$PEER" idle "$ES" 2>&1) || fail "idle: $out"
py -c 'import sys; t, n = sys.argv[1].split(); sys.exit(not (0.9 <= float(t) <= 20 and n == "0"))' "$out" ||
  fail "idle connection closed after $out (seconds, bytes), want >= 1 s"
wait_metric nitrowallet_kms_proxy_idle_closed_total 1
pass "idle timeout 1 s: the silent connection closed after ${out% *} s, nitrowallet_kms_proxy_idle_closed_total 1"
stop_host

dead=$(free_port)
start_host host-bound --kms-proxy "unix:$ES=127.0.0.1:$echo_port" --kms-proxy "unix:$tmp/dead.sock=127.0.0.1:$dead" \
  --proxy-allow "127.0.0.1:$echo_port" --proxy-allow "127.0.0.1:$dead" --proxy-max-connections 2
py "$PEER" hold "$ES" 2 "$tmp/held" "$tmp/stop-hold" >"$tmp/hold.log" 2>&1 &
hold_pid=$!
pids+=("$hold_pid")
wait_file "$tmp/held" || fail "could not open two connections: $(cat "$tmp/hold.log")"
wait_metric nitrowallet_kms_proxy_active 2
out=$(py "$PEER" closed "$ES" 2>&1) || fail "third connection over the bound of 2: $out"
[ "$(metric nitrowallet_kms_proxy_refused_total)" = 1 ] || fail "refused_total $(metric nitrowallet_kms_proxy_refused_total)"
pass "bound 2: a third connection is closed at once, nitrowallet_kms_proxy_refused_total 1"
touch "$tmp/stop-hold"
wait "$hold_pid" || fail "hold client"
wait_metric nitrowallet_kms_proxy_active 0
out=$(py "$PEER" halfclose "$ES" 1000 2>&1) || fail "after the bound: $out"
pass "connections released: forwarding again ($out)"
out=$(py "$PEER" closed "$tmp/dead.sock" 2>&1) || fail "unreachable remote: $out"
wait_metric nitrowallet_kms_proxy_connect_failures_total 1
pass "unreachable remote 127.0.0.1:$dead: connection closed, nitrowallet_kms_proxy_connect_failures_total 1"
[ "$(metric nitrowallet_kms_proxy_connections_total)" = 4 ] ||
  fail "connections_total $(metric nitrowallet_kms_proxy_connections_total), want 4 (2 held, 1 half-close, 1 unreachable; the refused one is not admitted)"
stop_host

if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/*.log >/dev/null; then
  fail "sanitizer report: $(grep -E -l 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/*.log)"
fi
pass "no sanitizer reports; every host stopped with status 0"
echo "kms_proxy: all checks passed"
