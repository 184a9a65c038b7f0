#!/usr/bin/env bash
# enclave_tcb.sh BUILD_DIR - the enclave binary is the trusted computing
# base (design section 2): it must not link the HTTP server, SQLite,
# the host's code or the KMS emulator.  Checked on the built binary itself:
# its dynamic dependencies (readelf) and the symbols it contains (nm),
# against name prefixes and against every symbol the host's and the KMS
# emulator's archives define (src/host/ and src/kms/: nothing from there).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
bin=$B/bin/nitrowallet-enclave
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }

needed=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
echo "NEEDED: $(echo $needed)"
for lib in libmicrohttpd libgnutls libsqlite3 libcurl; do
  if grep -q "^$lib" <<<"$needed"; then echo "FAIL: the enclave links $lib"; exit 1; fi
done
echo "ok: no HTTP server, TLS server stack of the host, SQLite or curl among its libraries"

syms=$(nm --defined-only "$bin" | awk '{print $3}')
for prefix in nw_storage_ nw_host_ nw_auth_ nw_enclave_pool_ nw_kms_service_ nw_kms_server_ kms_store_; do
  if grep -q "^$prefix" <<<"$syms"; then
    echo "FAIL: the enclave contains $(grep "^$prefix" <<<"$syms" | head -n 3 | tr '\n' ' ')"
    exit 1
  fi
done
# Nothing defined in src/host/ (api/, storage/, the pool, the proxy) or src/kms/.
for lib in host kms; do
  a=$B/lib/libnitrowallet-$lib.a
  [ -f "$a" ] || { echo "missing $a"; exit 1; }
  defined=$(nm --defined-only -g "$a" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBR]/ {print $3}' | sort -u)
  [ -n "$defined" ] || { echo "FAIL: no symbols read from $a"; exit 1; }
  if both=$(comm -12 <(sort -u <<<"$syms") <(echo "$defined")) && [ -n "$both" ]; then
    echo "FAIL: the enclave contains code from src/$lib/: $(head -n 3 <<<"$both" | tr '\n' ' ')"
    exit 1
  fi
done
echo "ok: no symbol defined by libnitrowallet-host.a or libnitrowallet-kms.a is in the enclave"
# And it does contain what it is for, so the check above can fail for real.
for must in nw_tx_sign nw_seal_open_key nw_kms_decrypt nw_nsm_attest; do
  grep -qx "$must" <<<"$syms" || { echo "FAIL: $must missing from the enclave"; exit 1; }
done
echo "ok: no host, storage, auth or KMS-emulator code inside; signing, sealing, KMS client and NSM present"
