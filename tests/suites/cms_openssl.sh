#!/usr/bin/env bash
# cms_openssl.sh BUILD_DIR - CiphertextForRecipient against an independent
# CMS implementation, openssl(1):
#   1. the real KMS vector (tests/data/kms) opens with `openssl cms -decrypt`;
#   2. nw_cms_seal's output opens with `openssl cms -decrypt` to the same
#      bytes, and openssl reads KMS's structure in it (EnvelopedData v2,
#      KeyTransRecipientInfo v2, rid = SHA-256 of the SPKI, RSAES-OAEP with
#      SHA-256 / MGF1-SHA-256, AES-256-CBC);
#   3. what `openssl cms -encrypt` builds with KMS's parameters opens with
#      nw_cms_open; with OpenSSL's defaults (SHA-1 OAEP, SHA-1 key id, plain
#      PKCS#1 v1.5) it is refused with the reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
TOOL=$B/tests/cms_tool
V=tests/data/kms

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
[ -x "$TOOL" ] || fail "$TOOL not built"

# 1. The real vector, opened by openssl.
openssl pkey -inform DER -in "$V/recipient_rsa_pkcs1.der" -out "$tmp/vec.pem" 2>/dev/null ||
  openssl rsa -inform DER -in "$V/recipient_rsa_pkcs1.der" -out "$tmp/vec.pem" 2>/dev/null
openssl cms -decrypt -binary -inform DER -in "$V/ciphertext_for_recipient.der" -inkey "$tmp/vec.pem" \
  -out "$tmp/vec.out"
cmp -s "$tmp/vec.out" "$V/ciphertext_for_recipient.plaintext" || fail "openssl did not open the KMS vector"
pass "openssl opens the real KMS CiphertextForRecipient to its plaintext"
"$TOOL" open "$V/recipient_rsa_pkcs1.der" "$V/ciphertext_for_recipient.der" "$tmp/vec.ours"
cmp -s "$tmp/vec.ours" "$V/ciphertext_for_recipient.plaintext" || fail "cms_tool did not open the KMS vector"
pass "nw_cms_open opens it to the same bytes"

# 2. nw_cms_seal -> openssl cms -decrypt, for several lengths.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -outform DER -out "$tmp/spki.der"
openssl pkey -in "$tmp/key.pem" -outform DER -out "$tmp/key.der"
for n in 1 16 32 154 1000 4096; do
  head -c "$n" /dev/urandom >"$tmp/msg"
  "$TOOL" seal "$tmp/spki.der" "$tmp/msg" "$tmp/sealed.der"
  openssl cms -decrypt -binary -inform DER -in "$tmp/sealed.der" -inkey "$tmp/key.pem" -out "$tmp/msg.out"
  cmp -s "$tmp/msg" "$tmp/msg.out" || fail "openssl opened our $n-byte seal to other bytes"
done
pass "openssl cms -decrypt opens nw_cms_seal output (1..4096 bytes)"

print=$(openssl cms -cmsout -print -inform DER -in "$tmp/sealed.der")
ski=$(openssl dgst -sha256 -r "$tmp/spki.der" | cut -c1-64)
printed_ski=$(awk '/d.subjectKeyIdentifier:/{f=1;next} f&&/^ *00[0-9a-f]+ - /{sub(/^ *[0-9a-f]+ - /,"");sub(/  .*/,"");gsub(/[- ]/,"");s=s $0;next} f{exit} END{print s}' <<<"$print")
[ "$printed_ski" = "$ski" ] || fail "rid is not SHA-256 of the SPKI ($printed_ski vs $ski)"
for want in "contentType: pkcs7-envelopedData" "algorithm: rsaesOaep" ":sha256" ":mgf1" "algorithm: aes-256-cbc"; do
  grep -qF "$want" <<<"$print" || fail "structure lacks \"$want\""
done
[ "$(grep -c 'version: 2' <<<"$print")" -eq 2 ] || fail "EnvelopedData and KeyTransRecipientInfo are not both version 2"
pass "openssl reads KMS's structure in it (v2/v2, rid = SHA-256(SPKI), OAEP SHA-256/MGF1-SHA-256, AES-256-CBC)"

# 3. openssl cms -encrypt -> nw_cms_open.  A certificate carries the key
# and a subjectKeyIdentifier equal to SHA-256 of the SPKI, as KMS uses.
openssl req -new -x509 -key "$tmp/key.pem" -subj /CN=recipient -days 1 -out "$tmp/cert.pem" \
  -addext "subjectKeyIdentifier=$(sed 's/../&:/g;s/:$//' <<<"$ski")" 2>/dev/null
head -c 200 /dev/urandom >"$tmp/msg"
oaep=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256)
openssl cms -encrypt -binary -outform DER -aes-256-cbc -keyid -in "$tmp/msg" -recip "$tmp/cert.pem" "${oaep[@]}" \
  -out "$tmp/theirs.der"
"$TOOL" open "$tmp/key.der" "$tmp/theirs.der" "$tmp/theirs.out"
cmp -s "$tmp/msg" "$tmp/theirs.out" || fail "nw_cms_open opened openssl's message to other bytes"
pass "nw_cms_open opens what openssl cms -encrypt builds with KMS's parameters"

refused() { # file reason
  if "$TOOL" open "$tmp/key.der" "$1" "$tmp/x" 2>"$tmp/err"; then fail "accepted: $2"; fi
  grep -q "$3" "$tmp/err" || fail "$2: unexpected reason: $(cat "$tmp/err")"
  pass "refused: $2 ($(sed 's/^cms_tool: //' "$tmp/err"))"
}
openssl cms -encrypt -binary -outform DER -aes-256-cbc -keyid -in "$tmp/msg" -recip "$tmp/cert.pem" \
  -keyopt rsa_padding_mode:oaep -out "$tmp/sha1.der"
refused "$tmp/sha1.der" "OAEP with SHA-1 defaults" "RSAES-OAEP"
openssl cms -encrypt -binary -outform DER -aes-256-cbc -keyid -in "$tmp/msg" -recip "$tmp/cert.pem" \
  -out "$tmp/pkcs1.der"
refused "$tmp/pkcs1.der" "RSA PKCS#1 v1.5 key transport" "not RSAES-OAEP"
openssl cms -encrypt -binary -outform DER -aes-128-cbc -keyid -in "$tmp/msg" -recip "$tmp/cert.pem" "${oaep[@]}" \
  -out "$tmp/aes128.der"
refused "$tmp/aes128.der" "AES-128-CBC content" "AES-256-CBC"
openssl cms -encrypt -binary -outform DER -aes-256-cbc -in "$tmp/msg" -recip "$tmp/cert.pem" "${oaep[@]}" \
  -out "$tmp/ias.der"
refused "$tmp/ias.der" "issuerAndSerialNumber recipient (KeyTransRecipientInfo v0)" "v2\|subjectKeyIdentifier"
echo "cms_openssl: all checks passed"
