#!/usr/bin/env bash
# kms_e2e.sh BUILD_DIR - the attested data-key flow end to end, locally:
# emulated NSM + the enclave's KMS client (build/tests/kms_e2e plays the
# enclave) against nitrowallet-kms over HTTPS, with a key policy that pins
# PCR0.  Independent checks: awscli administers the key, botocore signs a
# raw GenerateDataKey with Recipient, and `openssl cms -decrypt` opens the
# CiphertextForRecipient; sha384sum computes the expected PCR0.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
E2E=$B/tests/kms_e2e

. tests/suites/lib/suite.sh

export NITROWALLET_HOME=$tmp/home
suite_aws_env TEST
nsm=$tmp/nsm

"$E2E" init "$nsm" || fail "emulated NSM init"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
url=$STACK_KMS_URL
port=$STACK_KMS_PORT
export NW_KMS_CONNECT=tcp:127.0.0.1:$port NW_KMS_CA=$tmp/kms/ca.pem
aws() { /usr/bin/aws --endpoint-url "$url" --output json "$@"; }

key=$(stack_kms_create_key e2e)
[ -n "$key" ] || fail "create-key"

# PCR0 as the emulated NSM reports it must be the SHA-384 of the binary.
pcr0=$("$E2E" pcr0 "$nsm")
want=$(sha384sum "$E2E" | cut -d' ' -f1)
[ "$pcr0" = "$want" ] || fail "PCR0 $pcr0 is not sha384($E2E) $want"
pass "PCR0 is the SHA-384 of the enclave binary"

# Only an enclave measuring exactly PCR0 may get or open data keys.
stack_kms_pin "$key" "$E2E"

out=$("$E2E" gdk "$nsm" "$key" account=treasury) || fail "GenerateDataKey with Recipient: $out"
fp1=$(sed -n 's/^fingerprint //p' <<<"$out")
blob=$(sed -n 's/^blob //p' <<<"$out")
[ ${#fp1} -eq 66 ] && [ -n "$blob" ] || fail "GenerateDataKey output: $out"
pass "GenerateDataKey with Recipient: data key opened in process"

fp2=$("$E2E" decrypt "$nsm" "$blob" account=treasury | sed -n 's/^fingerprint //p')
[ "$fp1" = "$fp2" ] || fail "Decrypt returned a different key ($fp2 vs $fp1)"
pass "Decrypt with Recipient returns the same data key"

if err=$("$E2E" decrypt "$nsm" "$blob" account=payroll 2>&1); then fail "Decrypt with another context succeeded"; fi
grep -q 'KMS_DENIED: InvalidCiphertextException' <<<"$err" || fail "wrong context: $err"
pass "Decrypt with a different encryption context: InvalidCiphertextException"

echo "$blob" | base64 -d >"$tmp/blob.bin"
if err=$(aws kms decrypt --ciphertext-blob "fileb://$tmp/blob.bin" --encryption-context account=treasury 2>&1); then
  fail "Decrypt without attestation succeeded"
fi
grep -q AccessDeniedException <<<"$err" || fail "unattested decrypt: $err"
pass "Decrypt without attestation (awscli): AccessDeniedException"

# Independent client: botocore signs, openssl opens the CMS.
mkdir "$tmp/r"
"$E2E" recipient "$nsm" "$tmp/r" || fail "recipient"
body=$(/usr/bin/python3 - "$key" "$tmp/r/attestation.b64" <<'PY'
import json, sys
print(json.dumps({"KeyId": sys.argv[1], "KeySpec": "AES_256",
                  "EncryptionContext": {"account": "treasury"},
                  "Recipient": {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                "AttestationDocument": open(sys.argv[2]).read().strip()}}))
PY
)
reply=$(/usr/bin/python3 tests/aws/kms_raw_request.py "$url" "$tmp/kms/ca.pem" GenerateDataKey "$body")
[ "$(head -n1 <<<"$reply")" = 200 ] || fail "raw GenerateDataKey: $reply"
tail -n +2 <<<"$reply" >"$tmp/r/reply.json"
/usr/bin/python3 - "$tmp/r" <<'PY' || fail "reply shape"
import base64, json, sys
d = sys.argv[1]
r = json.load(open(d + "/reply.json"))
assert "Plaintext" not in r, "plaintext data key in a Recipient reply"
open(d + "/cfr.der", "wb").write(base64.b64decode(r["CiphertextForRecipient"]))
open(d + "/blob.b64", "w").write(r["CiphertextBlob"])
PY
openssl cms -decrypt -inform DER -in "$tmp/r/cfr.der" -inkey "$tmp/r/recipient.pem" -out "$tmp/r/dk.bin" \
  || fail "openssl cms -decrypt"
[ "$(stat -c %s "$tmp/r/dk.bin")" -eq 32 ] || fail "data key is not 32 bytes"
fp3=0x$(sha256sum "$tmp/r/dk.bin" | cut -d' ' -f1)
fp4=$("$E2E" decrypt "$nsm" "$(cat "$tmp/r/blob.b64")" account=treasury | sed -n 's/^fingerprint //p')
[ "$fp3" = "$fp4" ] || fail "openssl's data key ($fp3) differs from Decrypt's ($fp4)"
pass "openssl cms -decrypt opens CiphertextForRecipient to the key Decrypt returns"

# A rebuilt enclave measures differently and is refused.
cp "$E2E" "$tmp/kms_e2e_rebuilt"
printf 'rebuilt' >>"$tmp/kms_e2e_rebuilt"
[ "$("$tmp/kms_e2e_rebuilt" pcr0 "$nsm")" != "$pcr0" ] || fail "rebuilt binary has the same PCR0"
if err=$("$tmp/kms_e2e_rebuilt" gdk "$nsm" "$key" account=treasury 2>&1); then fail "rebuilt enclave got a data key"; fi
grep -q 'KMS_DENIED: AccessDeniedException' <<<"$err" || fail "rebuilt enclave: $err"
if err=$("$tmp/kms_e2e_rebuilt" decrypt "$nsm" "$blob" account=treasury 2>&1); then fail "rebuilt enclave decrypted"; fi
grep -q 'KMS_DENIED: AccessDeniedException' <<<"$err" || fail "rebuilt enclave decrypt: $err"
pass "an enclave with a different PCR0 is refused: AccessDeniedException"

# Secrets never reach the server's log.
if grep -qF "$AWS_SECRET_ACCESS_KEY" "$tmp/kms.log"; then fail "secret key in the log"; fi
pass "no credential in nitrowallet-kms's log"
echo "kms_e2e: all checks passed"
