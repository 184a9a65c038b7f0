#!/usr/bin/env bash
# nsm_emulated.sh BUILD_DIR - documents of the emulated NSM checked by tools
# that share no code with nitrowallet:
#   1. Python (a CBOR reader written here, and the `cryptography` package):
#      an untagged COSE_Sign1 with protected {1: -35}, empty unprotected,
#      a 96-byte r||s signature that verifies over the RFC 9052
#      Sig_structure with the leaf certificate's P-384 key; payload keys in
#      AWS's order; 16 PCRs of 48 bytes; PCR0 = SHA-384 (hashlib) of the
#      binary that asked; PCR1-4, 8 = SHA-384 of "nitrowallet-dev-pcrN";
#      user_data and nonce as given;
#   2. openssl verify: leaf <- intermediate <- the state's nsm-dev-root.pem,
#      every subject saying DEVELOPMENT; the AWS root refuses the chain;
#   3. the state directory: 0700, keys 0600, reused by a second run.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
TOOL=$B/tests/nsm_dev_attest
PY=/usr/bin/python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
[ -x "$TOOL" ] || fail "$TOOL not built"

state=$tmp/state
"$TOOL" "$state" 0x75736572 0x0102030405060708 0x30 >"$tmp/doc.cbor"
pass "emulated NSM wrote a $(stat -c %s "$tmp/doc.cbor")-byte document"

"$PY" - "$tmp/doc.cbor" "$TOOL" "$tmp" <<'PYEOF'
import hashlib, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

doc = open(sys.argv[1], 'rb').read()
tool, tmp = sys.argv[2], sys.argv[3]

def item(b, i):
    """One CBOR item (definite lengths only) -> (value, next offset)."""
    ib = b[i]; major, ai = ib >> 5, ib & 31; i += 1
    if ai < 24: n = ai
    elif ai <= 27:
        k = 1 << (ai - 24); n = int.from_bytes(b[i:i + k], 'big'); i += k
    else: raise ValueError('indefinite or reserved')
    if major == 0: return n, i
    if major == 1: return -1 - n, i
    if major in (2, 3):
        v = bytes(b[i:i + n]); assert len(v) == n
        return (v if major == 2 else v.decode()), i + n
    if major == 4:
        out = []
        for _ in range(n): v, i = item(b, i); out.append(v)
        return out, i
    if major == 5:
        out = []
        for _ in range(n): k, i = item(b, i); v, i = item(b, i); out.append((k, v))
        return out, i
    if major == 6: raise ValueError('tagged')
    return {20: False, 21: True, 22: None}[n], i

def check(cond, what):
    if not cond:
        print('FAIL:', what); sys.exit(1)
    print('ok:', what)

cose, end = item(doc, 0)
check(end == len(doc) and doc[0] == 0x84, 'untagged COSE_Sign1, nothing after it')
prot, unprot, payload, sig = cose
check(prot == bytes.fromhex('a1013822') and unprot == [], 'protected {1: -35} (ES384), unprotected {}')
check(len(sig) == 96, 'signature is 96 bytes (r || s)')
fields, end = item(payload, 0)
check(end == len(payload), 'payload is one CBOR map')
keys = [k for k, _ in fields]
check(keys == ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key',
               'user_data', 'nonce'], "payload keys in AWS's order")
f = dict(fields)
check(f['module_id'].startswith('i-nitrowallet-dev-enc') and len(f['module_id']) == 37,
      'module_id names development: ' + f['module_id'])
check(f['digest'] == 'SHA384', 'digest SHA384')
pcrs = f['pcrs']
check([k for k, _ in pcrs] == list(range(16)) and all(len(v) == 48 for _, v in pcrs), '16 PCRs of 48 bytes')
pcr = dict(pcrs)
check(pcr[0] == hashlib.sha384(open(tool, 'rb').read()).digest(), 'PCR0 = SHA-384 of the binary (hashlib)')
for n in (1, 2, 3, 4, 8):
    check(pcr[n] == hashlib.sha384(b'nitrowallet-dev-pcr%d' % n).digest(), 'PCR%d = SHA-384("nitrowallet-dev-pcr%d")' % (n, n))
check(all(pcr[n] == bytes(48) for n in (5, 6, 7, 9, 10, 11, 12, 13, 14, 15)), 'other PCRs zero')
check(f['user_data'] == b'user' and f['nonce'] == bytes(range(1, 9)) and f['public_key'] == b'\x30',
      'user_data, nonce, public_key as given')
leaf = x509.load_der_x509_certificate(f['certificate'])
tbs = bytes([0x84, 0x6a]) + b'Signature1' + bytes([0x44]) + prot + bytes([0x40])
n = len(payload)
tbs += (bytes([0x59]) + n.to_bytes(2, 'big')) if n < 65536 else (bytes([0x5a]) + n.to_bytes(4, 'big'))
tbs += payload
der = encode_dss_signature(int.from_bytes(sig[:48], 'big'), int.from_bytes(sig[48:], 'big'))
leaf.public_key().verify(der, tbs, ec.ECDSA(hashes.SHA384()))
check(isinstance(leaf.public_key(), ec.EllipticCurvePublicKey) and leaf.public_key().curve.name == 'secp384r1',
      'ES384 signature verifies with the leaf P-384 key (cryptography)')
life = leaf.not_valid_after - leaf.not_valid_before
check(life.total_seconds() == 3 * 3600 + 60, 'leaf lives 3 h (+60 s backdating)')
open(tmp + '/leaf.der', 'wb').write(f['certificate'])
check(len(f['cabundle']) == 2, 'cabundle = [root, intermediate]')
open(tmp + '/bundle0.der', 'wb').write(f['cabundle'][0])
open(tmp + '/bundle1.der', 'wb').write(f['cabundle'][1])
PYEOF

openssl x509 -inform DER -in "$tmp/leaf.der" -out "$tmp/leaf.pem"
openssl x509 -inform DER -in "$tmp/bundle1.der" -out "$tmp/inter.pem"
openssl x509 -inform DER -in "$tmp/bundle0.der" -out "$tmp/bundle_root.pem"
cmp -s <(openssl x509 -in "$tmp/bundle_root.pem" -outform DER) <(openssl x509 -in "$state/nsm-dev-root.pem" -outform DER) ||
  fail "cabundle[0] is not the state's root"
pass "cabundle[0] is the state directory's nsm-dev-root.pem"
openssl verify -CAfile "$state/nsm-dev-root.pem" -untrusted "$tmp/inter.pem" "$tmp/leaf.pem" >/dev/null ||
  fail "openssl does not verify the chain to the development root"
pass "openssl verify: leaf <- intermediate <- development root"
if openssl verify -CAfile tests/data/attestation/aws_nitro_root_g1.pem -untrusted "$tmp/inter.pem" "$tmp/leaf.pem" \
  >/dev/null 2>&1; then
  fail "the AWS root accepted a development chain"
fi
pass "openssl verify with the AWS root refuses it"
for c in "$state/nsm-dev-root.pem" "$tmp/inter.pem" "$tmp/leaf.pem"; do
  openssl x509 -in "$c" -noout -subject | grep DEVELOPMENT >/dev/null || fail "$c does not say DEVELOPMENT"
done
pass "root, intermediate and leaf subjects say DEVELOPMENT: $(openssl x509 -in "$state/nsm-dev-root.pem" -noout -subject)"

[ "$(stat -c %a "$state")" = 700 ] || fail "state directory mode $(stat -c %a "$state")"
for k in nsm-dev-root-key.pem nsm-dev-intermediate-key.pem; do
  [ "$(stat -c %a "$state/$k")" = 600 ] || fail "$k mode $(stat -c %a "$state/$k")"
done
pass "state directory 0700, keys 0600"
before=$(sha256sum <"$state/nsm-dev-root.pem")
"$TOOL" "$state" >"$tmp/doc2.cbor"
[ "$(sha256sum <"$state/nsm-dev-root.pem")" = "$before" ] || fail "second run replaced the root"
pass "a second run reuses the same root"
