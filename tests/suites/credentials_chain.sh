#!/usr/bin/env bash
# credentials_chain.sh BUILD_DIR - the host's AWS credentials provider chain
# (docs/credentials.md) against tests/aws/creds_standin.py, a loopback
# stand-in that implements and checks the documented IMDSv2, container
# (ECS / EKS Pod Identity) and STS AssumeRoleWithWebIdentity request and
# response formats.  The real endpoints (169.254.169.254, 169.254.170.2/.23,
# sts.<region>.amazonaws.com) cannot run here: this proves our side of the
# documented exchange, not AWS's behaviour.
#
# build/tests/creds_tool resolves the chain exactly as nitrowallet-host does
# and prints the AccessKeyId and SHA-256 fingerprints of the secret key and
# session token, never the secrets; the suite compares the fingerprints with
# what the stand-in issued.  The tool's clock is injectable ("advance N"),
# so refresh ahead of Expiration is observed without waiting for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
TOOL=$B/tests/creds_tool
HOST=$B/bin/nitrowallet-host
[ -x "$TOOL" ] || { echo "missing $TOOL"; exit 1; }

tmp=$(mktemp -d)
spid=
hpid=
cleanup() {
  if [ -n "$hpid" ]; then kill "$hpid" 2>/dev/null || true; wait "$hpid" 2>/dev/null || true; fi
  if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- tool output"; tail -n 20 "$tmp/out.log" 2>/dev/null || true
  echo "--- stand-in log"; curl -s "$BASE/_control/log" 2>/dev/null | head -c 3000 || true
  exit 1
}
pass() { echo "ok: $*"; }
py() { /usr/bin/python3 "$@"; }

/usr/bin/python3 tests/aws/creds_standin.py >"$tmp/standin.out" 2>"$tmp/standin.err" &
spid=$!
for _ in $(seq 1 300); do grep -q '^port ' "$tmp/standin.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^port ' "$tmp/standin.out" || fail "stand-in did not start: $(cat "$tmp/standin.err")"
PORT=$(sed -n 's/^port //p' "$tmp/standin.out")
BASE=http://127.0.0.1:$PORT
ctl() { curl -sf -X POST -H 'Content-Type: application/json' -d "$1" "$BASE/_control" >/dev/null || fail "control $1"; }
standin() { # python expression on j = the stand-in's log
  curl -sf "$BASE/_control/log" >"$tmp/log.json" || fail "stand-in log"
  py -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$tmp/log.json" "$1"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# A clean environment: nothing inherited from the machine may pick a source.
BASEENV=(PATH="$PATH" HOME="$tmp" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}")

# tool_start VAR=VALUE...: run creds_tool as a coprocess in that environment.
tool_start() {
  coproc TOOL_P { env -i "${BASEENV[@]}" "$@" "$TOOL" 2>>"$tmp/tool.err"; }
  IFS= read -r -t 60 line <&"${TOOL_P[0]}" || fail "creds_tool did not start: $(cat "$tmp/tool.err")"
  echo "$line" >>"$tmp/out.log"
  READY=$line
}
cmd() { # one command, its reply in $R
  echo "$1" >&"${TOOL_P[1]}"
  IFS= read -r -t 60 R <&"${TOOL_P[0]}" || fail "no reply to $1"
  echo "$R" >>"$tmp/out.log"
}
tool_stop() {
  local p=$TOOL_P_PID
  echo quit >&"${TOOL_P[1]}" || true
  wait "$p" || fail "creds_tool exited with an error: $(cat "$tmp/tool.err")"
}
once() { # VAR=VALUE...: start, print the first line, stop
  env -i "${BASEENV[@]}" "$@" "$TOOL" </dev/null 2>>"$tmp/tool.err" | tee -a "$tmp/out.log" | head -n 1 || true
}
# The fingerprints in reply $R are those of what the stand-in issued for its key.
check_issued() {
  local key sh th
  key=$(field key "$R"); sh=$(field secret_sha256 "$R"); th=$(field token_sha256 "$R")
  [ "$(standin "j['issued']['$key']['secret_sha256']")" = "$sh" ] || fail "$1: secret fingerprint differs for $key"
  [ "$(standin "j['issued']['$key']['token_sha256']")" = "$th" ] || fail "$1: token fingerprint differs for $key"
}

# --- nothing configured -----------------------------------------------------
out=$(once AWS_EC2_METADATA_DISABLED=true)
grep -F "error BAD_REQUEST no AWS credentials configured: tried environment (AWS_ACCESS_KEY_ID), web identity (AWS_ROLE_ARN), container (AWS_CONTAINER_CREDENTIALS_*), IMDS (AWS_EC2_METADATA_DISABLED)" <<<"$out" >/dev/null \
  || fail "no-provider error: $out"
pass "no provider configured (IMDS disabled): a clear error naming every source tried"
out=$(once AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1)
[ "$out" = "ready source=instance metadata" ] || fail "fallback: $out"
tool_start AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1
cmd get
grep -E '^error UNAVAILABLE no credentials in environment, web identity or container settings: IMDS: http://127.0.0.1:1: ' <<<"$R" >/dev/null || fail "unreachable IMDS: $R"
tool_stop
pass "nothing set and IMDS unreachable: error says what was tried ($R)"

# --- environment ------------------------------------------------------------
ENV_SECRET=envsecret$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
tool_start AWS_ACCESS_KEY_ID=AKIDENVIRONMENT AWS_SECRET_ACCESS_KEY="$ENV_SECRET" AWS_SESSION_TOKEN=envtoken \
  AWS_ROLE_ARN=arn:x AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE"
[ "$READY" = "ready source=environment" ] || fail "env first: $READY"
cmd get
[ "$(field key "$R")" = AKIDENVIRONMENT ] || fail "env key: $R"
[ "$(field secret_sha256 "$R")" = "$(printf %s "$ENV_SECRET" | sha256sum | cut -d' ' -f1)" ] || fail "env secret: $R"
[ "$(field token_sha256 "$R")" = "$(printf %s envtoken | sha256sum | cut -d' ' -f1)" ] || fail "env token: $R"
cmd "advance 100000000"; cmd get
[ "$(field fetches "$R")" = 1 ] || fail "env credentials were fetched again: $R"
tool_stop
out=$(once AWS_SECRET_ACCESS_KEY=x)
grep -F "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" <<<"$out" >/dev/null || fail "partial env: $out"
pass "environment wins over web identity and IMDS, never expires, partial settings refused"

# --- order of the others ----------------------------------------------------
echo jwt >"$tmp/jwt"
out=$(once AWS_ROLE_ARN=arn:aws:iam::111122223333:role/x AWS_WEB_IDENTITY_TOKEN_FILE="$tmp/jwt" \
  AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/v1/credentials" AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE")
[ "$out" = "ready source=web identity" ] || fail "web identity second: $out"
out=$(once AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/v1/credentials" AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE")
[ "$out" = "ready source=container" ] || fail "container third: $out"
out=$(once AWS_ROLE_ARN=arn:aws:iam::111122223333:role/x)
grep -F "needs both AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE" <<<"$out" >/dev/null || fail "half web identity: $out"
for bad in http://example.com/creds http://169.254.169.254/creds ftp://127.0.0.1/x; do
  out=$(once AWS_CONTAINER_CREDENTIALS_FULL_URI="$bad")
  grep -F "must be https, or http to loopback" <<<"$out" >/dev/null || fail "FULL_URI $bad accepted: $out"
done
pass "order env > web identity > container > IMDS; half-configured web identity and non-local http FULL_URI refused"

# --- IMDSv2 -----------------------------------------------------------------
ctl '{"lifetime": 3600, "fail": ""}'
tool_start AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE"
cmd get
[[ "$R" == "ok source=instance metadata key=ASIAIMDS"* ]] || fail "IMDS get: $R"
check_issued IMDS
K1=$(field key "$R")
cmd get
[ "$(field key "$R")" = "$K1" ] && [ "$(field fetches "$R")" = 1 ] || fail "IMDS not cached: $R"
[ "$(standin "j['counts']['imds_creds']")" = 1 ] || fail "IMDS asked twice"
pass "IMDSv2: PUT token (TTL header), role name and credentials with the token; cached"
ctl '{"lifetime": 7200}'
cmd "advance 3400"; cmd get   # 200 s left < 300 s margin
K2=$(field key "$R")
[ "$K2" != "$K1" ] && [ "$(field fetches "$R")" = 2 ] || fail "IMDS not refreshed inside the margin: $R"
check_issued "IMDS refresh"
pass "IMDSv2: refreshed 300 s before Expiration ($K1 -> $K2)"
ctl '{"fail": "imds"}'
cmd "advance 3600"; cmd get   # K2 has 200 s left; the refresh fails
[ "$(field key "$R")" = "$K2" ] && [ "$(field failures "$R")" = 1 ] || fail "failed refresh did not keep valid credentials: $R"
cmd get
[ "$(field fetches "$R")" = 3 ] || fail "failed refresh retried at once: $R"
cmd "advance 400"; cmd get    # now past Expiration
[[ "$R" == "error UNAVAILABLE "*"IMDS: session token: HTTP 500"* ]] || fail "expired + failing: $R"
ctl '{"fail": "", "lifetime": 20000}'   # the tool's clock runs 7400 s ahead
cmd get
[[ "$R" == ok* ]] && [ "$(field key "$R")" != "$K2" ] || fail "no recovery: $R"
tool_stop
pass "IMDSv2: a failed refresh keeps still-valid credentials, backs off, errors once expired, recovers"

# --- container (EKS Pod Identity / ECS) ------------------------------------
echo "podtoken-A-$RANDOM" >"$tmp/auth"
ctl "{\"lifetime\": 3600, \"expect_auth\": \"$(cat "$tmp/auth")\"}"
tool_start AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$tmp/auth" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=ignored-when-file-set AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE"
cmd get
[[ "$R" == "ok source=container key=ASIACONT"* ]] || fail "container get: $R"
check_issued container
C1=$(field key "$R")
echo "podtoken-B-$RANDOM" >"$tmp/auth"   # the agent rotates the token file
ctl "{\"lifetime\": 7200, \"expect_auth\": \"$(cat "$tmp/auth")\"}"
cmd "advance 3400"; cmd get
[ "$(field key "$R")" != "$C1" ] && [ "$(field failures "$R")" = 0 ] || fail "container refresh with the rotated token: $R"
check_issued "container refresh"
tool_stop
ctl '{"expect_auth": "inline-token"}'
tool_start AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN=inline-token
cmd get
[[ "$R" == "ok source=container"* ]] || fail "AWS_CONTAINER_AUTHORIZATION_TOKEN: $R"
tool_stop
pass "container: Authorization from the token file, re-read on refresh (rotation), or from AWS_CONTAINER_AUTHORIZATION_TOKEN"

# --- web identity (IRSA) ----------------------------------------------------
ROLE=arn:aws:iam::111122223333:role/nitrowallet-host
jwt() { py -c 'import base64,os; e=lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="); print(e(b"{\"alg\":\"RS256\"}")+"."+e(os.urandom(120))+"."+e(os.urandom(256)))'; }
jwt >"$tmp/jwt"
ctl "{\"lifetime\": 3600, \"role_arn\": \"$ROLE\", \"expect_token\": \"$(cat "$tmp/jwt")\"}"
tool_start AWS_ROLE_ARN="$ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$tmp/jwt" AWS_ENDPOINT_URL_STS="$BASE/" AWS_REGION=eu-west-1
cmd get
[[ "$R" == "ok source=web identity key=ASIASTS"* ]] || fail "web identity get: $R"
check_issued STS
S1=$(field key "$R")
jwt >"$tmp/jwt"                          # the kubelet rotates the projected token
ctl "{\"lifetime\": 7200, \"expect_token\": \"$(cat "$tmp/jwt")\"}"
cmd "advance 3400"; cmd get
[ "$(field key "$R")" != "$S1" ] && [ "$(field failures "$R")" = 0 ] || fail "STS refresh with the rotated token: $R"
check_issued "STS refresh"
py -c 'import json,re,sys; n=json.load(open(sys.argv[1]))["session_names"]; sys.exit(0 if n and all(re.fullmatch(r"nitrowallet-\d+",x) for x in n) else 1)' "$tmp/log.json" \
  || fail "generated RoleSessionName: $(standin "j['session_names']")"
ctl '{"expect_token": "a-token-the-file-does-not-hold"}'
cmd "advance 7200"; cmd get
[[ "$R" == "error UNAVAILABLE web identity: STS AssumeRoleWithWebIdentity: HTTP 400 (InvalidIdentityToken)"* ]] || fail "STS error: $R"
tool_stop
ctl "{\"expect_token\": \"$(cat "$tmp/jwt")\"}"
tool_start AWS_ROLE_ARN="$ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$tmp/jwt" AWS_ENDPOINT_URL_STS="$BASE/" AWS_ROLE_SESSION_NAME=wallet-host-7
cmd get
[[ "$R" == ok* ]] && [ "$(standin "j['session_names'][-1]")" = wallet-host-7 ] || fail "AWS_ROLE_SESSION_NAME: $R"
tool_stop
pass "web identity: unsigned form POST, XML parsed, token file re-read on refresh, STS error code reported, session name"

# --- nitrowallet-host uses the chain -----------------------------------------
py - "$tmp" <<'PY'
import hashlib, json, os, sys
json.dump([{"id": "ops", "role": "admin", "sha256": hashlib.sha256(b"nwt_x").hexdigest()}],
          open(os.path.join(sys.argv[1], "tokens.json"), "w"))
PY
ctl '{"lifetime": 3600, "expect_auth": "host-pod-token"}'
before=$(standin "j['counts']['container']")
env -i "${BASEENV[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN=host-pod-token \
  "$HOST" --listen 127.0.0.1:0 --insecure-http --enclave "unix:$tmp/none.sock" --db "$tmp/host.db" --tokens "$tmp/tokens.json" \
  >"$tmp/host.out" 2>"$tmp/host.err" &
hpid=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$tmp/host.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$tmp/host.out" || fail "host did not start: $(cat "$tmp/host.err")"
grep -F "AWS credentials from container" "$tmp/host.err" >/dev/null || fail "host source: $(cat "$tmp/host.err")"
[ "$(standin "j['counts']['container']")" -gt "$before" ] || fail "host did not fetch from the container endpoint"
kill "$hpid"; wait "$hpid" || true; hpid=
if env -i "${BASEENV[@]}" AWS_EC2_METADATA_DISABLED=true "$HOST" --listen 127.0.0.1:0 --insecure-http \
  --enclave "unix:$tmp/none.sock" --db "$tmp/host.db" --tokens "$tmp/tokens.json" >"$tmp/host2.out" 2>"$tmp/host2.err"; then
  fail "host started without credentials"
fi
grep -F "no AWS credentials configured: tried environment" "$tmp/host2.err" >/dev/null || fail "host error: $(cat "$tmp/host2.err")"
pass "nitrowallet-host takes the chain by default (container here) and refuses to start with none configured"

# --- secrets never shown; the stand-in saw only well-formed requests ----------
standin 1 >/dev/null
leaks=$(py - "$tmp/log.json" "$tmp/out.log" "$tmp/tool.err" "$tmp/host.err" "$tmp/host.out" "$tmp/jwt" "$tmp/auth" "$ENV_SECRET" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
text = "".join(open(f, errors="replace").read() for f in sys.argv[2:6])
secrets = [v["secret"] for v in log["issued"].values()]
secrets += [open(sys.argv[6]).read().strip(), open(sys.argv[7]).read().strip(), sys.argv[8], "host-pod-token", "inline-token"]
print(sum(1 for s in secrets if s and s in text))
PY
)
[ "$leaks" = 0 ] || fail "$leaks secrets appear in tool or host output"
n=$(standin "len(j['issued'])")
pass "none of the $n issued secret keys, nor any token, appears in any output or error message"
v=$(standin "j['violations']")
[ "$v" = "[]" ] || fail "stand-in saw malformed requests: $v"
pass "every request matched the documented IMDSv2 / container / STS formats ($(standin "j['counts']"))"

echo "credentials_chain: all checks passed"
