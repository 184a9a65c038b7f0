#!/usr/bin/env bash
# kms_trust.sh BUILD_DIR - the enclave's KMS TLS trusts the Amazon Trust
# Services roots compiled into it, never the system store (issue 11,
# point 4; src/aws/trust_roots.c).
#   1. --kms-ca (another CA for KMS) is refused at start without --dev;
#   2. every root in src/aws/trust_roots.c matches the SHA-256 fingerprint
#      written above it, and there are exactly the five ATS roots;
#   3. production trust (no --kms-ca, the only mode outside --dev): through
#      the host's KMS proxy, nitrowallet-kms serves a certificate for
#      kms.us-east-1.amazonaws.com issued by its own CA, which the system
#      store here trusts (SSL_CERT_FILE points at it, as a host that planted
#      a CA in a mounted store would arrange).  generate_account fails with
#      KMS_UNAVAILABLE and the enclave logs the certificate failure.  Before
#      this change the enclave used the system store and the call succeeded;
#   4. the same enclave given --kms-ca (development) creates the account, so
#      the refusal in 3 is the trust decision and nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
HOST=$B/bin/nitrowallet-host
CLIENT=$B/tests/enclave_client

. tests/suites/lib/suite.sh
suite_aws_env TRUST

# --- 1. --kms-ca needs --dev -----------------------------------------------------
rc=0
"$ENCLAVE" --nsm device --nsm-device /nonexistent --kms-ca /etc/hostname \
  --kms-key-arn arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \
  >"$tmp/noflag.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--kms-ca without --dev: exit $rc, want 2: $(cat "$tmp/noflag.log")"
grep -q -- "--kms-ca is for --dev" "$tmp/noflag.log" || fail "no reason given: $(cat "$tmp/noflag.log")"
pass "--kms-ca without --dev refused at start: $(head -n 1 "$tmp/noflag.log")"

# --- 2. the bundled roots are the ATS roots their comments name ------------------
py - src/aws/trust_roots.c >"$tmp/roots.txt" <<'PY' || fail "trust_roots.c: $(cat "$tmp/roots.txt")"
import re, subprocess, sys
src = open(sys.argv[1]).read()
blocks = re.findall(r'SHA-256 ([0-9A-F:]+)[^/]*\*/\s*((?:"[^"]*"\s*)+)', src)
want = {"Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2"}
seen = set()
for fp, lits in blocks:
    pem = "".join(re.findall(r'"([^"]*)"', lits)).replace("\\n", "\n")
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-subject", "-nameopt", "multiline"],
                         input=pem.encode(), capture_output=True, check=True).stdout.decode()
    got = re.search(r"=([0-9A-F:]+)", out).group(1)
    cn = re.search(r"commonName\s*=\s*(.+)", out).group(1).strip()
    if got != fp:
        sys.exit(f"{cn}: fingerprint {got}, comment says {fp}")
    seen.add(cn)
    print(cn, fp[:23])
if seen != want or len(blocks) != 5:
    sys.exit(f"roots are {sorted(seen)}, want {sorted(want)}")
PY
pass "5 bundled roots, each matching its stated fingerprint: $(cut -d' ' -f1-4 "$tmp/roots.txt" | paste -sd, -)"

# --- the stack: nitrowallet-kms behind the host's KMS proxy -----------------------
nsm=$tmp/nsm
stack_nsm_init "$nsm"
stack_kms_start "$tmp/kms" "$nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key kms-trust)
stack_kms_pin "$key" "$ENCLAVE"
openssl x509 -in "$tmp/kms/ca.pem" -noout -subject >/dev/null || fail "no CA at $tmp/kms/ca.pem"
stack_tokens "$tmp" ops:admin
stack_kms_proxy_args "$tmp/kms-proxy.sock"
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/host.db" \
  --tokens "$tmp/tokens.json" --kms-key-id "$key" --insecure-http "${STACK_KMS_PROXY_ARGS[@]}"
pids+=("$STACK_HOST_PID")
# what the server presents through the proxy: the AWS name, issued by nitrowallet-kms's own CA
echo | timeout 10 openssl s_client -connect "127.0.0.1:$STACK_KMS_PORT" -servername kms.us-east-1.amazonaws.com \
  -CAfile "$tmp/kms/ca.pem" -verify_hostname kms.us-east-1.amazonaws.com -verify_return_error \
  >"$tmp/sclient.txt" 2>&1 || fail "nitrowallet-kms's certificate is not valid for the AWS name: $(tail -n 5 "$tmp/sclient.txt")"
pass "nitrowallet-kms serves a certificate for kms.us-east-1.amazonaws.com from its own CA ($(grep -m1 -o 'issuer=.*' "$tmp/sclient.txt"))"

gen() { # ID NAME: generate_account on the running enclave; the reply on stdout
  local req
  req=$(py -c 'import json,os,sys; print(json.dumps({"v":1,"id":int(sys.argv[1]),"op":"generate_account","params":{"name":sys.argv[2],"kms_key_id":sys.argv[3],"policy":{"allow_digest":False},"credentials":{"access_key_id":os.environ["AWS_ACCESS_KEY_ID"],"secret_access_key":os.environ["AWS_SECRET_ACCESS_KEY"]}}}))' "$1" "$2" "$key")
  timeout 60 "$CLIENT" "unix:$tmp/e.sock" "$req"
}

# --- 3. production trust: the system store trusts the other CA; the enclave must not
mkdir -p "$tmp/empty-certs"
SSL_CERT_FILE=$tmp/kms/ca.pem SSL_CERT_DIR=$tmp/empty-certs STACK_ENCLAVE_KMS_CA="" \
  stack_enclave_start_via "unix:$tmp/kms-proxy.sock" "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key"
pids+=("$STACK_ENCLAVE_PID")
grep -q -- "--kms-ca" /proc/"$STACK_ENCLAVE_PID"/cmdline && fail "the production-trust enclave was given --kms-ca"
gen 1 trust-prod >"$tmp/prod.json" || fail "generate_account got no reply: $(tail -n 5 "$tmp/enclave.log")"
[ "$(jget "$tmp/prod.json" 'j.get("error",{}).get("code")')" = KMS_UNAVAILABLE ] ||
  fail "an enclave trusting only the AWS roots accepted another CA's certificate for KMS: $(cat "$tmp/prod.json")"
jget "$tmp/prod.json" 'j["error"]["message"]' | grep -q "certificate verification failed" ||
  fail "refused, but not for the certificate: $(cat "$tmp/prod.json")"
pass "production trust: KMS_UNAVAILABLE, $(jget "$tmp/prod.json" 'j["error"]["message"]')"
stack_stop "$STACK_ENCLAVE_PID"

# --- 4. the same enclave with the development CA works ------------------------------
stack_enclave_start_via "unix:$tmp/kms-proxy.sock" "$tmp/e.sock" "$nsm" "$tmp/enclave.log" --kms-key-arn "$key"
pids+=("$STACK_ENCLAVE_PID")
gen 2 trust-dev >"$tmp/dev.json" || fail "generate_account got no reply: $(tail -n 5 "$tmp/enclave.log")"
addr=$(jget "$tmp/dev.json" 'j["result"]["address"]') || fail "with --kms-ca: $(cat "$tmp/dev.json")"
pass "with --dev --kms-ca (development) the same proxy and server give an account: $addr"
