#!/usr/bin/env bash
# kms_key_allowlist.sh BUILD_DIR - the enclave seals only under the KMS keys
# its measured command line names (--kms-key-arn; issue 11, point 1).
# A compromised host that names a KMS key whose policy lets the host itself
# call Decrypt without a Recipient must not get a key sealed under it:
#   1. nitrowallet-enclave refuses to start without --kms-key-arn, with an
#      alias, a bare key id, or a key in another region;
#   2. a second key on nitrowallet-kms with the default policy (plain
#      GenerateDataKey and Decrypt for the host's credentials, shown with
#      awscli) exists; creating an account under it through the API is
#      refused by the enclave (403 POLICY_DENIED), KMS is not called and
#      nothing is stored; a host whose --kms-key-id is that key refuses to
#      start once it sees the enclave's health (which lists its keys);
#   3. an account under the enclave's key: awscli `kms decrypt` of its stored
#      EncryptedDataKey, with the right encryption context and the host's
#      credentials, is AccessDenied (only an attested Recipient may decrypt);
#   4. its stored record rewritten to name the permissive key is refused
#      before KMS is called, nothing signed or recorded;
#   5. a key the enclave names whose policy allows GenerateDataKey but not
#      Decrypt: account creation fails (the enclave has KMS Decrypt the new
#      data key before it answers; point 2) and nothing is stored.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
CLIENT=$B/tests/enclave_client

. tests/suites/lib/suite.sh
suite_aws_env ALLOW
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key allowlist-attested)
stack_kms_pin "$key" "$ENCLAVE"
evil=$(stack_kms_create_key allowlist-permissive)
case $key in arn:aws:kms:us-east-1:*:key/*) ;; *) fail "create-key gave no key ARN: $key" ;; esac
pass "KMS key $key pins PCR0; $evil keeps the default policy"

# --- 1. the enclave's start-up checks ------------------------------------------------
refuse_start() { # WHAT TEXT ARGS...
  local what=$1 text=$2 rc=0
  shift 2
  timeout 10 "$ENCLAVE" --dev --nsm emulated --nsm-state "$nsm" --listen "unix:$tmp/never.sock" \
    --kms-region us-east-1 "$@" >"$tmp/refused.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "enclave with $what: exit $rc, want 2: $(cat "$tmp/refused.out")"
  grep -qF -- "$text" "$tmp/refused.out" || fail "enclave with $what: $(cat "$tmp/refused.out")"
  [ ! -e "$tmp/never.sock" ] || fail "enclave with $what listened"
  pass "enclave refuses to start with $what: $(head -n1 "$tmp/refused.out")"
}
refuse_start "no --kms-key-arn" "--kms-key-arn is required"
refuse_start "an alias" "an alias is refused" --kms-key-arn alias/nitrowallet
refuse_start "an alias ARN" "an alias is refused" --kms-key-arn "${key%%key/*}alias/nitrowallet"
refuse_start "a bare key id" "a bare key id is refused" --kms-key-arn "${key##*/}"
refuse_start "a key in another region" "the key is in eu-west-1" --kms-key-arn "${key/us-east-1/eu-west-1}"
refuse_start "a malformed key id" "expected key/ and a key id" --kms-key-arn "${key%/*}/not-a-uuid"

stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2 --data-key-cache off
pids+=("$STACK_ENCLAVE_PID")
health() { "$CLIENT" "unix:$tmp/e.sock" '{"v":1,"id":1,"op":"health","params":{}}' >"$tmp/health.json"; }
kms_calls() { health && jget "$tmp/health.json" 'j["result"]["kms"]["generate_data_key"] + j["result"]["kms"]["decrypt"]'; }
health
[ "$(jget "$tmp/health.json" 'j["result"]["kms_keys"]')" = "[\"$key\"]" ] ||
  fail "health does not list the enclave's key: $(cat "$tmp/health.json")"
pass "health lists the enclave's KMS keys: $(jget "$tmp/health.json" 'j["result"]["kms_keys"]')"

# --- 2. the permissive key -----------------------------------------------------------
stack_aws kms generate-data-key --key-id "$evil" --key-spec AES_256 >"$tmp/plain.json" ||
  fail "generate-data-key under the permissive key"
py -c 'import base64,json,sys; open(sys.argv[2],"wb").write(base64.b64decode(json.load(open(sys.argv[1]))["CiphertextBlob"]))' \
  "$tmp/plain.json" "$tmp/plain.blob"
stack_aws kms decrypt --ciphertext-blob "fileb://$tmp/plain.blob" >"$tmp/plain-dec.json" ||
  fail "the permissive key does not allow plain Decrypt: the test proves nothing"
pass "the permissive key lets the host's credentials GenerateDataKey and Decrypt without a Recipient"

stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
SIGNER=$(cat "$tmp/pay.token")
DB=$tmp/host.db
rc=0
timeout 20 "$STACK_BIN/nitrowallet-host" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/evil.db" \
  --tokens "$tmp/tokens.json" --kms-key-id "$evil" --insecure-http >"$tmp/evil-host.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -qF "is not one of the enclave's KMS keys" "$tmp/evil-host.out" ||
  fail "host with the permissive key as --kms-key-id: exit $rc: $(cat "$tmp/evil-host.out")"
pass "a host whose --kms-key-id the enclave does not name refuses to start: $(grep -F 'not one of' "$tmp/evil-host.out")"

stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$DB" \
  --tokens "$tmp/tokens.json" --kms-key-id "$key" --insecure-http
pids+=("$STACK_HOST_PID")
H=$STACK_HOST_URL
grep -qF -- "--kms-key-id is one of the enclave's KMS keys" "$tmp/host.log" || fail "host did not check its key"
. tests/suites/lib/api.sh
rows() { sqlite_rows "$DB"; }
set_key_id() { # KEY: alice's stored KeyId
  py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); c.execute("update AccountTable set KeyId=? where Name=?", (sys.argv[2], "alice")); c.commit()' "$DB" "$1"
}

before=$(rows)
calls=$(kms_calls)
call POST /v1/accounts "$ADMIN" "{\"name\":\"mallory\",\"kms_key_id\":\"$evil\"}" 'Idempotency-Key: evil-1'
expect 403 POLICY_DENIED "create an account under the permissive key"
expect_msg "not one of this enclave's KMS keys" "create under the permissive key"
[ "$(rows)" = "$before" ] || fail "refused creation stored something: $before -> $(rows)"
[ "$(kms_calls)" = "$calls" ] || fail "refused creation called KMS: $calls -> $(kms_calls)"
call GET /v1/accounts/mallory "$ADMIN"
expect 404 NOT_FOUND "mallory does not exist"
pass "creation under a key the enclave does not name: refused before KMS, nothing stored"

# --- 3. the attested key's data key does not open outside the enclave ---------------
call POST /v1/accounts "$ADMIN" '{"name":"alice"}'
expect 201 "" "create alice under the enclave's key"
ADDR=$(jget "$tmp/r.json" 'j["address"]')
py -c 'import base64,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); open(sys.argv[2],"wb").write(base64.b64decode(c.execute("select EncryptedDataKey from AccountTable where Name=?", ("alice",)).fetchone()[0]))' \
  "$DB" "$tmp/alice.blob"
rc=0
stack_aws kms decrypt --ciphertext-blob "fileb://$tmp/alice.blob" \
  --encryption-context "nitrowallet:account=alice,nitrowallet:address=$ADDR" >"$tmp/alice-dec.json" 2>"$tmp/alice-dec.err" || rc=$?
[ "$rc" != 0 ] || fail "awscli decrypted alice's data key with the host's credentials"
grep -q AccessDeniedException "$tmp/alice-dec.err" || fail "awscli decrypt of alice's data key: $(cat "$tmp/alice-dec.err")"
! grep -q Plaintext "$tmp/alice-dec.json" || fail "awscli printed a plaintext"
pass "awscli kms decrypt of alice's stored EncryptedDataKey (right context, host credentials): AccessDenied"

# --- 4. a record rewritten to name the permissive key --------------------------------
set_key_id "$evil"
before=$(rows)
calls=$(kms_calls)
call POST /v1/accounts/alice/sign/message "$SIGNER" '{"message":"rewritten"}'
expect 403 POLICY_DENIED "sign with alice's record naming the permissive key"
expect_msg "not one of this enclave's KMS keys" "sign with the rewritten record"
[ "$(kms_calls)" = "$calls" ] || fail "the rewritten record reached KMS: $calls -> $(kms_calls)"
[ "$(rows)" = "$before" ] || fail "the refused signature stored something"
set_key_id "$key"
call POST /v1/accounts/alice/sign/message "$SIGNER" '{"message":"restored"}'
expect 200 "" "alice restored signs"
pass "a stored record naming another key: refused before KMS is called, nothing signed or recorded"

# --- 5. a key policy that allows GenerateDataKey but not Decrypt (issue 11, point 2) ---
# The enclave now also names key3, whose policy lets the attested enclave
# GenerateDataKey but not Decrypt.  Creating an account under it must fail
# (KMS was asked to Decrypt the new data key and refused) and store nothing;
# before, the account was created and signed from the data-key cache until
# the entry expired, then never again.
key3=$(stack_kms_create_key allowlist-no-decrypt)
stack_kms_pin "$key3" "$ENCLAVE" '["kms:GenerateDataKey"]'
kill "$STACK_ENCLAVE_PID"
wait "$STACK_ENCLAVE_PID" 2>/dev/null || true
stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --kms-key-arn "$key3" --workers 2
pids+=("$STACK_ENCLAVE_PID")
health
gdk=$(jget "$tmp/health.json" 'j["result"]["kms"]["generate_data_key"]')
before=$(rows)
call POST /v1/accounts "$ADMIN" "{\"name\":\"stranded\",\"kms_key_id\":\"$key3\"}"
expect 502 KMS_DENIED "create an account under a key that allows GenerateDataKey only"
expect_hidden "$tmp/host.log" "KMS will not Decrypt the new data key, so no account was created" \
  "create under a GenerateDataKey-only key"
health
[ "$(jget "$tmp/health.json" 'j["result"]["kms"]["generate_data_key"]')" = $((gdk + 1)) ] ||
  fail "GenerateDataKey was not called: $(cat "$tmp/health.json")"
[ "$(rows)" = "$before" ] || fail "the refused creation stored something: $before -> $(rows)"
call GET /v1/accounts/stranded "$ADMIN"
expect 404 NOT_FOUND "stranded does not exist"
call POST /v1/accounts "$ADMIN" '{"name":"bob"}'
expect 201 "" "an account under the enclave's working key is still created"
call POST /v1/accounts/bob/sign/message "$SIGNER" '{"message":"bob"}'
expect 200 "" "bob signs"
pass "a key KMS will not Decrypt under: no account is created, nothing stored"
