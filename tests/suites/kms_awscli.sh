#!/usr/bin/env bash
# kms_awscli.sh BUILD_DIR - nitrowallet-kms against a real AWS client.
#
# Starts BUILD_DIR/bin/nitrowallet-kms on a free loopback port with a
# temporary state directory and drives it with Debian's awscli
# (/usr/bin/aws --endpoint-url, TLS verified against <state>/ca.pem,
# credentials from the generated <state>/credentials): key management,
# aliases, encrypt/decrypt with and without encryption context, data keys,
# random bytes, key policies (including a PCR-conditioned Allow that must
# not allow calls without an attestation document), key states, wrong
# credentials, expired and missing signatures (botocore's SigV4Auth over
# raw HTTPS), keep-alive, a clean stop on SIGTERM, persistence across a
# restart, and refusal to start on a corrupt key file.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
BIN=$B/bin/nitrowallet-kms
AWS=/usr/bin/aws
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
[ -x "$AWS" ] || { echo "missing $AWS (Debian package awscli)"; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
checks=0
ok() { checks=$((checks + 1)); echo "ok  $*"; }
die() { echo "FAIL $*"; for f in "$work"/err "$work"/aws.err; do [ -f "$f" ] && sed 's/^/    | /' "$f"; done; exit 1; }

start() { # start the server on a free port and wait for its ready line
  : >"$work/out"
  "$BIN" --port 0 --state "$work/state" --no-env-credentials >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$work/out" && break
    kill -0 "$pid" 2>/dev/null || die "server exited: $(cat "$work/err")"
    sleep 0.1
  done
  PORT=$(sed -n 's|^nitrowallet-kms: listening on https://127.0.0.1:\([0-9]*\) (state .*)$|\1|p' "$work/out")
  [ -n "$PORT" ] || die "no ready line: $(cat "$work/out")"
}
stop() { # SIGTERM must stop it cleanly
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" = 0 ] || die "server exited $rc on SIGTERM"
  grep -q 'stopped' "$work/err" || die "no clean stop"
}

export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_PAGER="" AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION || true

start
ok "started on 127.0.0.1:$PORT, ready line printed"
export AWS_CA_BUNDLE=$work/state/ca.pem
cred() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[0][sys.argv[2]])" "$work/state/credentials" "$1"; }
export AWS_ACCESS_KEY_ID; AWS_ACCESS_KEY_ID=$(cred AccessKeyId)
export AWS_SECRET_ACCESS_KEY; AWS_SECRET_ACCESS_KEY=$(cred SecretAccessKey)
ok "generated credentials in <state>/credentials ($AWS_ACCESS_KEY_ID)"
mode() { stat -c %a "$1"; }
[ "$(mode "$work/state/credentials")" = 600 ] && [ "$(mode "$work/state/ca-key.pem")" = 600 ] &&
  [ "$(mode "$work/state/keys")" = 700 ] && [ "$(mode "$work/state")" = 700 ] || die "state permissions"
ok "state permissions: dir 0700, keys/ 0700, credentials and CA key 0600"

kms() { "$AWS" --endpoint-url "https://127.0.0.1:$PORT" --region us-east-1 --output json kms "$@" 2>"$work/aws.err"; }
field() { "$PY" -c "import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split('.'): d=d[int(k)] if isinstance(d,list) else d[k]
print(d)" "$1"; }
expect_error() { # expect_error TYPE kms-args... : the call fails with that AWS error type
  local type=$1; shift
  if kms "$@" >/dev/null; then die "kms $* succeeded, expected $type"; fi
  grep -q "($type)" "$work/aws.err" || die "kms $*: expected $type, got: $(cat "$work/aws.err")"
}
b64file() { base64 -d >"$1"; }

# --- keys and aliases -------------------------------------------------------------
out=$(kms create-key --description "awscli suite") || die create-key
KEY=$(echo "$out" | field KeyMetadata.KeyId)
ARN=$(echo "$out" | field KeyMetadata.Arn)
[ "$ARN" = "arn:aws:kms:us-east-1:111122223333:key/$KEY" ] || die "ARN $ARN"
[ "$(echo "$out" | field KeyMetadata.KeyState)" = Enabled ] || die "state"
[ "$(echo "$out" | field KeyMetadata.KeySpec)" = SYMMETRIC_DEFAULT ] || die "spec"
ok "create-key: $KEY, ARN $ARN, Enabled, SYMMETRIC_DEFAULT"
kms create-alias --alias-name alias/suite --target-key-id "$KEY" || die create-alias
expect_error AlreadyExistsException create-alias --alias-name alias/suite --target-key-id "$KEY"
expect_error InvalidAliasNameException create-alias --alias-name alias/aws/reserved --target-key-id "$KEY"
expect_error NotFoundException create-alias --alias-name alias/other --target-key-id alias/suite
ok "create-alias; duplicate, reserved alias/aws/ and alias-as-target refused"
kms list-keys | grep "\"KeyArn\": \"$ARN\"" >/dev/null || die list-keys
ok "list-keys lists the key"
out=$(kms list-aliases) || die list-aliases
echo "$out" | "$PY" -c "import json,sys; a=[x for x in json.load(sys.stdin)['Aliases'] if x['AliasName']=='alias/suite']
assert a and a[0]['TargetKeyId']=='$KEY' and a[0]['AliasArn']=='arn:aws:kms:us-east-1:111122223333:alias/suite'" ||
  die "list-aliases: $out"
kms list-aliases --key-id "$KEY" | grep alias/suite >/dev/null || die "list-aliases --key-id"
ok "list-aliases (all, and --key-id) shows alias/suite -> $KEY"
for ref in "$KEY" "$ARN" alias/suite arn:aws:kms:us-east-1:111122223333:alias/suite; do
  [ "$(kms describe-key --key-id "$ref" | field KeyMetadata.KeyId)" = "$KEY" ] || die "describe-key $ref"
done
ok "describe-key by key id, key ARN, alias name and alias ARN"
expect_error NotFoundException describe-key --key-id 00000000-0000-4000-8000-000000000000
expect_error NotFoundException describe-key --key-id alias/nope
expect_error NotFoundException describe-key --key-id arn:aws:kms:eu-west-1:111122223333:key/$KEY
ok "describe-key of an unknown key, alias, or another region's ARN: NotFoundException"

# --- encrypt / decrypt ------------------------------------------------------------------
head -c 300 /dev/urandom >"$work/pt.bin"
kms encrypt --key-id alias/suite --plaintext "fileb://$work/pt.bin" --query CiphertextBlob --output text |
  b64file "$work/ct.bin" || die encrypt
kms decrypt --ciphertext-blob "fileb://$work/ct.bin" --query Plaintext --output text | b64file "$work/dec.bin" ||
  die decrypt
cmp -s "$work/pt.bin" "$work/dec.bin" || die "decrypt returned other bytes"
[ "$(kms decrypt --ciphertext-blob "fileb://$work/ct.bin" --key-id "$ARN" | field KeyId)" = "$ARN" ] || die "KeyId"
ok "encrypt (by alias) / decrypt (KeyId from the blob, and by ARN) round trip, 300 bytes"
kms encrypt --key-id "$KEY" --plaintext "fileb://$work/pt.bin" --encryption-context purpose=test,account=alice \
  --query CiphertextBlob --output text | b64file "$work/ctx.bin" || die "encrypt with context"
kms decrypt --ciphertext-blob "fileb://$work/ctx.bin" --encryption-context account=alice,purpose=test \
  --query Plaintext --output text | b64file "$work/dec2.bin" || die "decrypt with context"
cmp -s "$work/pt.bin" "$work/dec2.bin" || die "context round trip"
ok "encrypt/decrypt with encryption context (pair order does not matter)"
expect_error InvalidCiphertextException decrypt --ciphertext-blob "fileb://$work/ctx.bin"
expect_error InvalidCiphertextException decrypt --ciphertext-blob "fileb://$work/ctx.bin" \
  --encryption-context purpose=test,account=bob
expect_error InvalidCiphertextException decrypt --ciphertext-blob "fileb://$work/ct.bin" --encryption-context a=b
"$PY" -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[60]^=1; open(sys.argv[2],'wb').write(b)" \
  "$work/ct.bin" "$work/flip.bin"
expect_error InvalidCiphertextException decrypt --ciphertext-blob "fileb://$work/flip.bin"
ok "decrypt without, with a wrong, or with an extra context, or a flipped byte: InvalidCiphertextException"
KEY2=$(kms create-key | field KeyMetadata.KeyId) || die "second key"
expect_error IncorrectKeyException decrypt --ciphertext-blob "fileb://$work/ct.bin" --key-id "$KEY2"
ok "decrypt naming another key: IncorrectKeyException"

# --- data keys and random ---------------------------------------------------------------------
out=$(kms generate-data-key --key-id "$KEY" --key-spec AES_256 --encryption-context app=suite) || die gdk
echo "$out" | field Plaintext | b64file "$work/dk.bin"
echo "$out" | field CiphertextBlob | b64file "$work/dk.ct"
[ "$(stat -c %s "$work/dk.bin")" = 32 ] || die "data key length"
kms decrypt --ciphertext-blob "fileb://$work/dk.ct" --encryption-context app=suite --query Plaintext --output text |
  b64file "$work/dk2.bin" || die "decrypt data key"
cmp -s "$work/dk.bin" "$work/dk2.bin" || die "data key round trip"
ok "generate-data-key AES_256: 32-byte key, its blob decrypts to it"
[ "$(kms generate-data-key --key-id alias/suite --number-of-bytes 64 | field Plaintext | base64 -d | wc -c)" = 64 ] ||
  die "NumberOfBytes"
[ "$(kms generate-data-key --key-id "$KEY" --key-spec AES_128 | field Plaintext | base64 -d | wc -c)" = 16 ] ||
  die "AES_128"
expect_error ValidationException generate-data-key --key-id "$KEY"
expect_error ValidationException generate-data-key --key-id "$KEY" --key-spec AES_256 --number-of-bytes 32
ok "generate-data-key --number-of-bytes 64, AES_128; neither or both of KeySpec/NumberOfBytes refused"
out=$(kms generate-data-key-without-plaintext --key-id "$KEY" --key-spec AES_256) || die gdkwp
echo "$out" | grep '"Plaintext"' >/dev/null && die "GenerateDataKeyWithoutPlaintext returned Plaintext"
echo "$out" | field CiphertextBlob | b64file "$work/np.ct"
[ "$(kms decrypt --ciphertext-blob "fileb://$work/np.ct" --query Plaintext --output text | base64 -d | wc -c)" = 32 ] ||
  die "decrypt of GDKWP blob"
ok "generate-data-key-without-plaintext: no Plaintext; its blob decrypts to 32 bytes"
kms generate-random --number-of-bytes 48 --query Plaintext --output text | b64file "$work/r1"
kms generate-random --number-of-bytes 48 --query Plaintext --output text | b64file "$work/r2"
[ "$(stat -c %s "$work/r1")" = 48 ] && ! cmp -s "$work/r1" "$work/r2" || die generate-random
ok "generate-random: 48 bytes, two calls differ"

# --- key policies ---------------------------------------------------------------------------------
pol=$(kms get-key-policy --key-id "$KEY" --policy-name default | field Policy) || die get-key-policy
echo "$pol" | grep '"kms:\*"' >/dev/null && echo "$pol" | grep 'arn:aws:iam::111122223333:root' >/dev/null || die "default policy"
ok "get-key-policy: the default policy allows kms:* to the account root"
cat >"$work/policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
  {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
   "NotAction": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
  {"Sid": "enclave only", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
   "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
   "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": "$(printf 'ab%.0s' $(seq 48))"}}},
  {"Sid": "no encrypt for tests", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
   "Condition": {"StringEquals": {"kms:EncryptionContext:deny": "yes"}}}]}
EOF
kms put-key-policy --key-id "$KEY" --policy-name default --policy "file://$work/policy.json" || die put-key-policy
kms get-key-policy --key-id "$KEY" --policy-name default | field Policy | grep 'enclave only' >/dev/null || die "policy stored"
ok "put-key-policy / get-key-policy round trip"
expect_error AccessDeniedException decrypt --ciphertext-blob "fileb://$work/ct.bin"
grep -q 'is not authorized to perform: kms:Decrypt' "$work/aws.err" || die "AccessDenied message"
expect_error AccessDeniedException generate-data-key --key-id "$KEY" --key-spec AES_256
kms generate-data-key-without-plaintext --key-id "$KEY" --key-spec AES_256 >/dev/null || die "GDKWP allowed"
ok "an Allow conditioned on kms:RecipientAttestation:ImageSha384 does not allow Decrypt/GenerateDataKey without Recipient"
expect_error AccessDeniedException encrypt --key-id "$KEY" --plaintext "fileb://$work/pt.bin" --encryption-context deny=yes
kms encrypt --key-id "$KEY" --plaintext "fileb://$work/pt.bin" --encryption-context deny=no >/dev/null || die "deny=no"
ok "an explicit Deny conditioned on kms:EncryptionContext:deny wins; other contexts pass"
echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
 "Condition":{"NumericLessThan":{"kms:EncryptionContext:x":"1"}}}]}' >"$work/bad1.json"
expect_error MalformedPolicyDocumentException put-key-policy --key-id "$KEY" --policy-name default \
  --policy "file://$work/bad1.json"
echo '{"Statement": [' >"$work/bad2.json"
expect_error MalformedPolicyDocumentException put-key-policy --key-id "$KEY" --policy-name default \
  --policy "file://$work/bad2.json"
echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
 "Action":"kms:Decrypt","Resource":"*"}]}' >"$work/lockout.json"
expect_error MalformedPolicyDocumentException put-key-policy --key-id "$KEY" --policy-name default \
  --policy "file://$work/lockout.json"
expect_error MalformedPolicyDocumentException create-key --policy "file://$work/lockout.json"
ok "unsupported operator, invalid JSON, and a policy locking the caller out: MalformedPolicyDocumentException"
echo "$pol" >"$work/default.json"
kms put-key-policy --key-id "$KEY" --policy-name default --policy "file://$work/default.json" || die "restore policy"
kms decrypt --ciphertext-blob "fileb://$work/ct.bin" >/dev/null || die "decrypt after restore"
ok "default policy restored; decrypt allowed again"

# --- key states --------------------------------------------------------------------------------------
kms disable-key --key-id "$KEY" || die disable-key
[ "$(kms describe-key --key-id "$KEY" | field KeyMetadata.KeyState)" = Disabled ] || die "Disabled state"
expect_error DisabledException encrypt --key-id "$KEY" --plaintext "fileb://$work/pt.bin"
expect_error DisabledException decrypt --ciphertext-blob "fileb://$work/ct.bin"
expect_error NotFoundException disable-key --key-id alias/suite
ok "disable-key: KeyState Disabled, encrypt and decrypt DisabledException (and disable-key takes no alias)"
kms enable-key --key-id "$ARN" || die enable-key
kms encrypt --key-id "$KEY" --plaintext "fileb://$work/pt.bin" >/dev/null || die "encrypt after enable"
ok "enable-key (by ARN): encrypt works again"
out=$(kms schedule-key-deletion --key-id "$KEY2" --pending-window-in-days 7) || die schedule-key-deletion
[ "$(echo "$out" | field KeyState)" = PendingDeletion ] || die "PendingDeletion"
[ "$(kms describe-key --key-id "$KEY2" | field KeyMetadata.KeyState)" = PendingDeletion ] || die "state"
expect_error KMSInvalidStateException encrypt --key-id "$KEY2" --plaintext "fileb://$work/pt.bin"
expect_error KMSInvalidStateException schedule-key-deletion --key-id "$KEY2"
expect_error ValidationException schedule-key-deletion --key-id "$KEY" --pending-window-in-days 5
ok "schedule-key-deletion: PendingDeletion with DeletionDate; the key is unusable; window 5 refused"
kms cancel-key-deletion --key-id "$KEY2" >/dev/null || die cancel-key-deletion
[ "$(kms describe-key --key-id "$KEY2" | field KeyMetadata.KeyState)" = Disabled ] || die "after cancel"
kms schedule-key-deletion --key-id "$KEY2" --pending-window-in-days 30 >/dev/null || die "reschedule"
ok "cancel-key-deletion leaves the key Disabled"

# --- authentication ------------------------------------------------------------------------------------
if AWS_SECRET_ACCESS_KEY=wrong-secret-key kms list-keys >/dev/null; then die "wrong secret accepted"; fi
grep -q InvalidSignatureException "$work/aws.err" || die "wrong secret: $(cat "$work/aws.err")"
if AWS_ACCESS_KEY_ID=AKIAUNKNOWNUNKNOWN00 kms list-keys >/dev/null; then die "unknown key accepted"; fi
grep -q UnrecognizedClientException "$work/aws.err" || die "unknown key: $(cat "$work/aws.err")"
if AWS_REGION=eu-west-1 "$AWS" --endpoint-url "https://127.0.0.1:$PORT" --region eu-west-1 kms list-keys \
  >/dev/null 2>"$work/aws.err"; then die "wrong region accepted"; fi
grep -q InvalidSignatureException "$work/aws.err" || die "wrong region: $(cat "$work/aws.err")"
ok "wrong secret: InvalidSignatureException; unknown access key: UnrecognizedClientException; wrong region refused"
"$PY" - "$PORT" "$work/state/ca.pem" <<'EOF' || die "raw SigV4 checks"
# Raw HTTPS with botocore's SigV4Auth: an expired signature, no signature,
# an unknown operation, and two requests on one kept-alive connection.
import datetime, http.client, json, os, ssl, sys
from unittest import mock
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, ca = int(sys.argv[1]), sys.argv[2]
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
def call(op, body, when=None, sign=True):
    req = AWSRequest(method="POST", url=f"https://127.0.0.1:{port}/", data=json.dumps(body).encode(),
                     headers={"X-Amz-Target": f"TrentService.{op}", "Content-Type": "application/x-amz-json-1.1"})
    if sign:
        if when is None:
            SigV4Auth(creds, "kms", "us-east-1").add_auth(req)
        else:
            with mock.patch("botocore.auth.datetime") as dt:
                dt.datetime.utcnow.return_value = when
                dt.datetime.strptime = datetime.datetime.strptime
                SigV4Auth(creds, "kms", "us-east-1").add_auth(req)
    conn.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}"), r.getheader("Connection")
st, body, c1 = call("ListKeys", {})
assert st == 200 and "Keys" in body, (st, body)
st, body, c2 = call("GenerateRandom", {"NumberOfBytes": 8})
assert st == 200 and c1 == c2 == "keep-alive", (st, body, c1, c2)
st, body, _ = call("ListKeys", {}, when=datetime.datetime.utcnow() - datetime.timedelta(minutes=20))
assert st == 400 and body["__type"] == "InvalidSignatureException" and "expired" in body["message"], body
st, body, _ = call("ListKeys", {}, sign=False)
assert st in (400, 403) and body["__type"] == "MissingAuthenticationTokenException", (st, body)
st, body, _ = call("Sign", {})
assert st == 400 and body["__type"] == "UnknownOperationException", body
st, body, _ = call("GenerateRandom", {"NumberOfBytes": "8"})
assert st == 400 and body["__type"] == "SerializationException", body
st, body, _ = call("GenerateRandom", {"NumberOfBytes": 2000})
assert st == 400 and body["__type"] == "ValidationException", body
print("raw: keep-alive; expired signature -> InvalidSignatureException; unsigned -> "
      "MissingAuthenticationTokenException; unknown op, wrong type, out of range refused")
EOF
ok "raw SigV4 (botocore): keep-alive, expired and missing signatures, unknown operation, bad members"

# --- persistence ----------------------------------------------------------------------------------------
stop
ok "SIGTERM: clean stop"
start
kms decrypt --ciphertext-blob "fileb://$work/ctx.bin" --encryption-context purpose=test,account=alice \
  --query Plaintext --output text | b64file "$work/dec3.bin" || die "decrypt after restart"
cmp -s "$work/pt.bin" "$work/dec3.bin" || die "persistence"
[ "$(kms describe-key --key-id alias/suite | field KeyMetadata.KeyId)" = "$KEY" ] || die "alias after restart"
[ "$(kms describe-key --key-id "$KEY2" | field KeyMetadata.KeyState)" = PendingDeletion ] || die "state after restart"
ok "restart: an earlier ciphertext decrypts, the alias and PendingDeletion state survive"
stop
cp -a "$work/state" "$work/corrupt"
f=$(ls "$work/corrupt/keys/"*.json | sed -n 1p)
printf 'x' >>"$f"
if "$BIN" --port 0 --state "$work/corrupt" --no-env-credentials >/dev/null 2>"$work/corrupt.err"; then
  die "started with a corrupt key file"
fi
grep -q "corrupt key file" "$work/corrupt.err" || die "message: $(cat "$work/corrupt.err")"
ok "a corrupt key file: refuses to start ($(head -c 100 "$work/corrupt.err")...)"
echo "kms_awscli: $checks checks passed"
