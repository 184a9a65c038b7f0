#!/usr/bin/env bash
# account_proof.sh BUILD_DIR - proofs of what holds a key (docs/attestation.md,
# "Account proofs"): nitrowallet-kms, nitrowallet-enclave --dev (emulated NSM,
# dev root) and nitrowallet-host; `nitrowallet account verify` accepts a fresh
# proof of an account (its address, KMS key and policy, PCR0 = sha384 of the
# enclave binary, computed here with sha384sum) and refuses another account's
# proof, a changed policy digest or policy, a wrong PCR0, a stale nonce, and a
# proof checked without the dev root.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
NW=$B/bin/nitrowallet
. tests/suites/lib/suite.sh
. tests/suites/lib/api.sh

suite_aws_env PROOF
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
nsm=$tmp/nsm
stack_nsm_init "$nsm"
ROOT=$nsm/nsm-dev-root.pem
[ -s "$ROOT" ] || fail "no dev root at $ROOT"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key account-proof)
stack_kms_pin "$key" "$ENCLAVE"
PCR0=$STACK_PCR0
stack_enclave_start "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")
stack_tokens "$tmp" ops:admin 'pay:signer:*'
ADMIN=$(cat "$tmp/ops.token")
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --insecure-http --enclave "unix:$tmp/e.sock" \
  --db "$tmp/host.db" --tokens "$tmp/tokens.json" --kms-key-id "$key"
pids+=("$STACK_HOST_PID")
H=$STACK_HOST_URL
nwv() { "$NW" --url "$H" --token-file "$tmp/ops.token" account verify "$@"; }

# alice through the CLI: `account create --policy FILE` checks the file with
# the enclave's parser first, then sends it.
printf '{"version":1,"rules":[{"id":"r","effect":"allow","kind":"message","to":[]}]}' >"$tmp/bad-policy.json"
if "$NW" --url "$H" --token-file "$tmp/ops.token" account create --name alice --policy "$tmp/bad-policy.json" \
  >"$tmp/out" 2>&1; then fail "account create sent a bad policy"; fi
grep -q "not a condition of kind message" "$tmp/out" || fail "bad policy: $(cat "$tmp/out")"
"$NW" --url "$H" --token-file "$tmp/ops.token" account create --name alice --policy docs/policies/hot-wallet.json \
  >"$tmp/r.json" 2>"$tmp/out" || fail "account create --policy: $(cat "$tmp/out")"
ALICE=$(jget "$tmp/r.json" 'j["address"]')
want=$("$NW" policy show docs/policies/hot-wallet.json | sed -n 's/^policy_digest: //p')
[ "$(jget "$tmp/r.json" 'j["policy_digest"]')" = "$want" ] || fail "alice's policy digest: $(cat "$tmp/r.json")"
pass "account create --policy docs/policies/hot-wallet.json: $ALICE, policy digest $want (a bad file refused before sending)"
call POST /v1/accounts "$ADMIN" '{"name":"bob"}'
expect 201 "" "create bob (default policy)"

# A fresh proof: the CLI draws the nonce, the enclave opens the account and attests.
nwv alice --pcr "0=$PCR0" --root "$ROOT" >"$tmp/out" 2>&1 || fail "fresh proof of alice: $(cat "$tmp/out")"
grep -qx "verified: yes" "$tmp/out" && grep -qx "address: $ALICE" "$tmp/out" && grep -qx "kms_key_id: $key" "$tmp/out" &&
  grep -qx "pcr0: 0x$PCR0" "$tmp/out" || fail "fresh proof: $(cat "$tmp/out")"
pass "account verify alice: $(tr '\n' ' ' <"$tmp/out" | head -c 220)"
nwv alice --pcr "0=$PCR0" --root "$ROOT" --address "$ALICE" --kms-key-id "$key" \
  --policy docs/policies/hot-wallet.json >"$tmp/out" 2>&1 || fail "pinned proof: $(cat "$tmp/out")"
pass "with the address, KMS key and policy file pinned by the client: verified"

refused() { # WANT WHAT ARGS...: account verify exits 1 and says WANT
  local want=$1 what=$2
  shift 2
  if nwv "$@" >"$tmp/out" 2>&1; then fail "$what: verified: $(cat "$tmp/out")"; fi
  grep -qF -- "$want" "$tmp/out" || fail "$what: $(cat "$tmp/out")"
  pass "$what: refused ($(grep -o 'NOT VERIFIED.*' "$tmp/out" | head -c 150))"
}
last=${PCR0: -1}
[ "$last" = 0 ] && other=1 || other=0
refused "PCR0 does not match" "wrong PCR0 (last digit changed)" alice --pcr "0=${PCR0%?}$other" --root "$ROOT"
refused "user_data does not match" "another policy digest" alice --pcr "0=$PCR0" --root "$ROOT" \
  --policy-digest "0x$(printf '00%.0s' $(seq 31))01"
refused "user_data does not match" "another policy (treasury.json)" alice --pcr "0=$PCR0" --root "$ROOT" \
  --policy docs/policies/treasury.json
refused "user_data does not match" "another address" alice --pcr "0=$PCR0" --root "$ROOT" \
  --address 0x1111111111111111111111111111111111111111
refused "certificate chain" "the AWS root instead of the dev root" alice --pcr "0=$PCR0"
if nwv alice --root "$ROOT" >"$tmp/out" 2>&1; then fail "verified without a PCR0"; fi
grep -q "PCR0 to expect is required" "$tmp/out" || fail "no PCR0: $(cat "$tmp/out")"
pass "no --pcr 0: refused ($(head -c 120 "$tmp/out"))"

# Saved proofs: another account's, and a stale nonce.
n1=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
n2=0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
call GET "/v1/accounts/bob/proof?nonce=$n1" "$ADMIN"
expect 200 "" "GET bob's proof"
cp "$tmp/r.json" "$tmp/bob-proof.json"
call GET "/v1/accounts/alice/proof?nonce=$n1" "$ADMIN"
expect 200 "" "GET alice's proof"
cp "$tmp/r.json" "$tmp/alice-proof.json"
nwv alice --pcr "0=$PCR0" --root "$ROOT" --proof "$tmp/alice-proof.json" --nonce "$n1" >"$tmp/out" 2>&1 ||
  fail "saved proof: $(cat "$tmp/out")"
pass "a saved proof with its nonce: verified"
refused "user_data does not match" "bob's proof presented as alice's" alice --pcr "0=$PCR0" --root "$ROOT" \
  --proof "$tmp/bob-proof.json" --nonce "$n1"
refused "user_data does not match" "bob's proof with alice's address pinned" alice --pcr "0=$PCR0" \
  --root "$ROOT" --proof "$tmp/bob-proof.json" --nonce "$n1" --address "$ALICE"
refused "nonce does not match" "a stale nonce" alice --pcr "0=$PCR0" --root "$ROOT" \
  --proof "$tmp/alice-proof.json" --nonce "$n2"

# A proof at creation, when asked for.
call POST /v1/accounts "$ADMIN" "{\"name\":\"carol\",\"proof_nonce\":\"$n2\"}"
expect 201 "" "create carol with a proof_nonce"
cp "$tmp/r.json" "$tmp/carol.json"
nwv carol --pcr "0=$PCR0" --root "$ROOT" --proof "$tmp/carol.json" --nonce "$n2" >"$tmp/out" 2>&1 ||
  fail "carol's creation proof: $(cat "$tmp/out")"
pass "the proof returned at creation verifies"

# The API's bounds.
call GET "/v1/accounts/alice/proof" "$ADMIN"
expect 400 BAD_REQUEST "proof without a nonce"
call GET "/v1/accounts/alice/proof?nonce=0x$(printf 'ab%.0s' $(seq 65))" "$ADMIN"
expect 400 BAD_REQUEST "proof with a 65-byte nonce"
call GET "/v1/accounts/nobody/proof?nonce=$n1" "$ADMIN"
expect 404 NOT_FOUND "proof of an unknown account"
call POST /v1/accounts "$ADMIN" '{"name":"dave","proof_nonce":"0x"}'
expect 400 BAD_REQUEST "creation with an empty proof_nonce"
echo "account_proof: all checks passed"
