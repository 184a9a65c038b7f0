#!/usr/bin/env bash
# host_tls.sh BUILD_DIR - nitrowallet-host's HTTPS API offers TLS 1.2 and 1.3
# only, with AEAD ciphers and forward secrecy (issue 11, point 4), checked
# with openssl s_client: -tls1 and -tls1_1 fail, -tls1_2 and -tls1_3
# succeed, a TLS 1.2 CBC or static-RSA cipher fails.  So that a refusal is
# the server's and not the client's own policy, the same old-protocol client
# first completes a handshake with an `openssl s_server` that allows it.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}

. tests/suites/lib/suite.sh
suite_aws_env TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null ||
  fail "openssl req"
stack_tokens "$tmp" ops:admin
# No enclave is needed to shake hands: the host starts without one (it logs that it could not check
# its key yet) and /healthz is process-local.
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/none.sock" --db "$tmp/host.db" \
  --tokens "$tmp/tokens.json" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
pids+=("$STACK_HOST_PID")
port=${STACK_HOST_URL##*:}
OLD=(-cipher 'DEFAULT:@SECLEVEL=0')

handshake() { # WHAT PORT ARGS...: 0 when a session was established
  local port=$2
  shift 2
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost "$@" </dev/null >"$tmp/s.out" 2>&1 &&
    grep -Eq '^(New|Reused), TLSv1(\.[0-3])?, Cipher is [A-Z0-9_-]+$' "$tmp/s.out"
}

# The client can speak TLS 1.0 and 1.1 when a server allows them.
openssl s_server -accept 0 -naccept 2 -cert "$tmp/cert.pem" -key "$tmp/key.pem" -min_protocol TLSv1 -max_protocol TLSv1.1 "${OLD[@]}" \
  -www >"$tmp/old-server.log" 2>&1 &
pids+=("$!")
for ((i = 0; i < 50; i++)); do
  old_port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$tmp/old-server.log" | head -n1)
  [ -n "$old_port" ] && break
  sleep 0.1
done
[ -n "${old_port:-}" ] || fail "openssl s_server did not start: $(cat "$tmp/old-server.log")"
for v in -tls1 -tls1_1; do
  handshake "$v" "$old_port" "$v" "${OLD[@]}" || fail "the client cannot do $v even with a server that allows it: $(tail -n 5 "$tmp/s.out")"
done
pass "openssl s_client completes TLS 1.0 and 1.1 handshakes with a server that allows them"

for v in -tls1 -tls1_1; do
  if handshake "$v" "$port" "$v" "${OLD[@]}"; then fail "the host accepted $v: $(grep Protocol "$tmp/s.out")"; fi
  pass "host refuses $v"
done
for v in -tls1_2 -tls1_3; do
  handshake "$v" "$port" "$v" || fail "the host refused $v: $(tail -n 5 "$tmp/s.out")"
  pass "host accepts $v: $(grep -E '^(New|Reused), ' "$tmp/s.out" | head -n1)"
done
for c in ECDHE-ECDSA-AES128-SHA AES128-GCM-SHA256; do
  if handshake "$c" "$port" -tls1_2 -cipher "$c"; then fail "the host accepted TLS 1.2 with $c"; fi
  pass "host refuses TLS 1.2 with $c (CBC or no forward secrecy)"
done
curl -sS --max-time 10 --cacert "$tmp/cert.pem" "https://127.0.0.1:$port/healthz" >"$tmp/healthz" ||
  fail "curl over the host's TLS: $(cat "$tmp/healthz")"
pass "curl reaches /healthz over TLS: $(cat "$tmp/healthz")"
