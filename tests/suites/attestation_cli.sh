#!/usr/bin/env bash
# attestation_cli.sh BUILD_DIR - `nitrowallet attestation verify` on the real
# Nitro documents in tests/data/attestation/: exit codes and the distinct
# reason of each refusal.  The expected validity bounds of the production
# document's leaf are taken from `openssl x509 -dates`, an independent
# reading of the certificate.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
NW=$B/bin/nitrowallet
D=tests/data/attestation
PROD_AT=2024-09-07T14:37:39.545Z

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

# run WANT_STATUS WANT_TEXT ARGS... - run the CLI, check its exit status
# and that stdout+stderr contain WANT_TEXT.
run() {
  local want=$1 text=$2 status=0
  shift 2
  "$NW" attestation verify "$@" >"$tmp/out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$tmp/out"; fail "$* -> exit $status, expected $want"; }
  grep -qF -- "$text" "$tmp/out" || { cat "$tmp/out"; fail "$* -> output lacks '$text'"; }
  local args="$*"
  [ ${#args} -le 150 ] || args="${args:0:150}..."
  pass "$args -> exit $status, '$text'"
}

[ -x "$NW" ] || fail "$NW not built"

# 1. The real production document at its own time, AWS root by default.
run 0 "verified: yes" "$D/nitro_prod.cbor" --at "$PROD_AT"
grep -qx 'module_id: i-0a22e5c5f24d22174-enc0191cceb4289903f' "$tmp/out" || fail "module_id line"
grep -qx 'timestamp: 2024-09-07T14:37:39.545Z (1725719859545 ms)' "$tmp/out" || fail "timestamp line"
grep -qx 'digest: SHA384' "$tmp/out" || fail "digest line"
[ "$(grep -c '^pcr[0-9]*: [0-9a-f]\{96\}$' "$tmp/out")" -eq 16 ] || fail "16 PCR lines of 48 bytes"
grep -q '^nonce: 1024 bytes 0101010101' "$tmp/out" || fail "nonce line"
grep -qx 'debug_mode: no' "$tmp/out" || fail "debug_mode line"
pcr0=$(sed -n 's/^pcr0: //p' "$tmp/out")
pcr4=$(sed -n 's/^pcr4: //p' "$tmp/out")

# The same instant written with an offset; the document as base64 text.
run 0 "verified: yes" "$D/nitro_prod.cbor" --at 2024-09-07T16:37:39.545+02:00
base64 -w0 "$D/nitro_prod.cbor" >"$tmp/prod.b64"
run 0 "verified: yes" "$tmp/prod.b64" --at "$PROD_AT"
# The root given explicitly.
run 0 "verified: yes" "$D/nitro_prod.cbor" --at "$PROD_AT" --root "$D/aws_nitro_root_g1.pem"

# 2. The self-signed document: refused by the chain.
run 1 "ATTESTATION_INVALID: certificate chain: self-signed certificate" "$D/selfsigned_root.cbor" --at "$PROD_AT"

# 3. Flipped bytes: in the payload (signature), in the signature itself,
# and in the structure (malformed).
flip() { # flip FILE OFFSET OUT
  cp "$1" "$3"
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}
size=$(stat -c %s "$D/nitro_prod.cbor")
flip "$D/nitro_prod.cbor" $((size - 200)) "$tmp/flip_payload" # inside the nonce
run 1 "ATTESTATION_INVALID: signature does not verify" "$tmp/flip_payload" --at "$PROD_AT"
flip "$D/nitro_prod.cbor" $((size - 1)) "$tmp/flip_sig"
run 1 "ATTESTATION_INVALID: signature does not verify" "$tmp/flip_sig" --at "$PROD_AT"
flip "$D/nitro_prod.cbor" 0 "$tmp/flip_head"
run 1 "BAD_REQUEST: cose: COSE_Sign1 is not an array of 4" "$tmp/flip_head" --at "$PROD_AT"
head -c 5000 "$D/nitro_prod.cbor" >"$tmp/truncated"
run 1 "BAD_REQUEST:" "$tmp/truncated" --at "$PROD_AT"

# 4. Outside the leaf's validity (read independently with openssl).
leaf_dates=$(/usr/bin/python3 - "$D/nitro_prod.cbor" <<'EOF' | openssl x509 -inform DER -noout -dates
import sys
d = open(sys.argv[1], 'rb').read()
i = d.index(b'kcertificate') + len(b'kcertificate')
assert d[i] == 0x59
n = int.from_bytes(d[i + 1:i + 3], 'big')
sys.stdout.buffer.write(d[i + 3:i + 3 + n])
EOF
)
nb=$(date -u -d "$(sed -n 's/^notBefore=//p' <<<"$leaf_dates")" +%Y-%m-%dT%H:%M:%SZ)
na=$(date -u -d "$(sed -n 's/^notAfter=//p' <<<"$leaf_dates")" +%Y-%m-%dT%H:%M:%SZ)
before=$(date -u -d "$nb - 1 second" +%Y-%m-%dT%H:%M:%SZ)
after=$(date -u -d "$na + 1 second" +%Y-%m-%dT%H:%M:%SZ)
echo "leaf valid $nb .. $na"
run 0 "verified: yes" "$D/nitro_prod.cbor" --at "$nb"
run 1 "ATTESTATION_INVALID: certificate chain: certificate is not yet valid" "$D/nitro_prod.cbor" --at "$before"
run 1 "ATTESTATION_INVALID: certificate chain: certificate has expired" "$D/nitro_prod.cbor" --at "$after"
run 1 "ATTESTATION_INVALID: certificate chain: certificate has expired" "$D/nitro_prod.cbor"

# 5. Expected PCRs.
run 0 "verified: yes" "$D/nitro_prod.cbor" --at "$PROD_AT" --pcr "0=$pcr0" --pcr "4=0x$pcr4"
run 1 "ATTESTATION_INVALID: PCR4 does not match" "$D/nitro_prod.cbor" --at "$PROD_AT" --pcr "0=$pcr0" \
  --pcr "4=${pcr4%?}0"
run 1 "ATTESTATION_INVALID: PCR0 does not match" "$D/nitro_prod.cbor" --at "$PROD_AT" --pcr "0=${pcr0:0:64}"
run 1 "ATTESTATION_INVALID: PCR20 missing" "$D/nitro_prod.cbor" --at "$PROD_AT" --pcr "20=$pcr0"

# 6. Nonce and age.
ones=$(printf '01%.0s' $(seq 1024))
run 0 "verified: yes" "$D/nitro_prod.cbor" --at "$PROD_AT" --nonce "$ones"
run 1 "ATTESTATION_INVALID: nonce does not match" "$D/nitro_prod.cbor" --at "$PROD_AT" --nonce 0102
run 0 "verified: yes" "$D/nitro_prod.cbor" --at 2024-09-07T14:38:39.545Z --max-age 60
run 1 "ATTESTATION_INVALID: document too old: 60001 ms, at most 60000 ms" "$D/nitro_prod.cbor" \
  --at 2024-09-07T14:38:39.546Z --max-age 60

# 7. Debug-mode documents: refused unless allowed.
run 1 "ATTESTATION_INVALID: debug-mode enclave (PCR0 all zero)" "$D/nitro_debug.cbor" --at 2024-09-07T14:38:06.508Z
run 0 "debug_mode: yes" "$D/nitro_debug.cbor" --at 2024-09-07T14:38:06.508Z --allow-debug
run 1 "ATTESTATION_INVALID: debug-mode enclave" "$D/nitro_debug_2023.cbor" --at 2023-09-18T15:03:30.860Z
run 0 "public_key: null" "$D/nitro_debug_2023.cbor" --at 2023-09-18T15:03:30.860Z --allow-debug

# 8. Usage errors exit 2.
run 2 "--at: not an RFC 3339 time" "$D/nitro_prod.cbor" --at 2024-09-07
run 2 "--at: not an RFC 3339 time" "$D/nitro_prod.cbor" --at 2024-02-30T00:00:00Z
run 2 "--at: not an RFC 3339 time" "$D/nitro_prod.cbor" --at "2024-09-07 14:37:39Z"
run 2 "--pcr: expected N=HEX" "$D/nitro_prod.cbor" --pcr 32=00
run 2 "--pcr: expected N=HEX" "$D/nitro_prod.cbor" --pcr 0=xyz
run 2 "unknown option" "$D/nitro_prod.cbor" --frobnicate 1
run 2 "no FILE given" --at "$PROD_AT"
run 2 "no certificate" "$D/nitro_prod.cbor" --root "$D/nitro_prod.cbor"
run 2 "No such file" "$tmp/missing.cbor"
echo "attestation CLI: all checks passed"
