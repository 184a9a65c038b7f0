#!/usr/bin/env bash
# run-local.sh [BUILD_DIR] - `make run`: the whole nitrowallet stack on this
# machine, ready for API calls, until Ctrl-C (SIGINT) or SIGTERM.
#
#   nitrowallet-kms      the KMS emulator, HTTPS on a loopback port
#   nitrowallet-host     the HTTPS API, $NITROWALLET_LISTEN (127.0.0.1:8443; metrics on
#                        $NITROWALLET_METRICS_LISTEN, 127.0.0.1:9464), and
#                        the enclave's KMS proxy (a unix socket here, vsock in production)
#   nitrowallet-enclave  emulated NSM (--dev), on a unix socket, reaching KMS
#                        only through the host's proxy
#
# State lives in $NITROWALLET_HOME (default ./.nitrowallet), prepared on
# first use and reused afterwards (accounts survive restarts):
#   nsm/            the emulated NSM's DEVELOPMENT certificate chain
#   kms/            nitrowallet-kms's keys and its CA (kms/ca.pem)
#   kms-key-id      the ARN of the KMS key that seals accounts (the enclave's
#                   --kms-key-arn, the host's --kms-key-id); its policy is set at every
#                   start to pin PCR0 = sha384(nitrowallet-enclave), as the
#                   production policy pins the enclave image
#   ca.pem, ca-key.pem, host-cert.pem, host-key.pem
#                   a development CA and the host's certificate (127.0.0.1,
#                   localhost); clients trust ca.pem
#   tokens.json     API token hashes; admin.token and signer.token hold the
#                   tokens themselves (0600)
#   dev-aws.env     the local AWS credentials nitrowallet-kms accepts and the
#                   host forwards to the enclave (never real AWS credentials)
#   host.db         accounts (sealed) and the audit trail, SQLite (unless
#                   NITROWALLET_STORAGE=dynamodb)
#   logs/           one log per process
#
# Storage: SQLite by default.  NITROWALLET_STORAGE=dynamodb uses DynamoDB at
# NITROWALLET_DYNAMODB_ENDPOINT (else the AWS regional endpoint for
# AWS_REGION), creating missing tables when NITROWALLET_CREATE_TABLES=1; the
# host then signs DynamoDB requests with the same local credentials, so the
# endpoint must be a local DynamoDB-compatible server (e.g. dynalite).
# Nothing here is for production: the NSM is emulated and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
STACK_BIN=$PWD/$B/bin
home=${NITROWALLET_HOME:-.nitrowallet}
mkdir -p "$home"
home=$(cd "$home" && pwd)
export NITROWALLET_HOME=$home
listen=${NITROWALLET_LISTEN:-127.0.0.1:8443}
metrics_listen=${NITROWALLET_METRICS_LISTEN:-127.0.0.1:9464}
chmod 700 "$home"
mkdir -p "$home/logs"

pids=()
stopping=
stop_all() { # in reverse order of start: enclave, host, then KMS
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stack_stop "${pids[$i]}"; done
  pids=()
}
stack_fail() {
  echo "make run: $*" >&2
  stop_all
  exit 1
}
on_signal() {
  stopping=1
  echo
  echo "make run: stopping nitrowallet-enclave, nitrowallet-host and nitrowallet-kms"
  stop_all
  echo "make run: stopped (state kept in $home)"
  exit 0
}
trap on_signal INT TERM
trap stop_all EXIT
. scripts/lib/stack.sh

for b in nitrowallet-kms nitrowallet-enclave nitrowallet-host nitrowallet; do
  [ -x "$STACK_BIN/$b" ] || stack_fail "$STACK_BIN/$b is missing: build first (make run does)"
done
for t in /usr/bin/aws /usr/bin/python3 openssl sha384sum; do
  command -v "$t" >/dev/null || stack_fail "$t is missing: run scripts/bootstrap.sh"
done

# --- local AWS credentials (development only) ----------------------------------
if [ ! -f "$home/dev-aws.env" ]; then
  umask 077
  printf 'AWS_ACCESS_KEY_ID=AKIDNITROWALLETLOCAL\nAWS_SECRET_ACCESS_KEY=%s\n' \
    "$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')" >"$home/dev-aws.env"
  umask 022
fi
set -a
. "$home/dev-aws.env"
set +a
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
export AWS_SESSION_TOKEN= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
unset AWS_SESSION_TOKEN AWS_PROFILE

# --- the emulated NSM and nitrowallet-kms ---------------------------------------
first=
[ -f "$home/kms-key-id" ] || first=1
stack_nsm_init "$home/nsm"
stack_kms_start "$home/kms" "$home/nsm" "$home/logs/kms.log"
pids+=("$STACK_KMS_PID")
if [ -n "$first" ]; then
  key=$(stack_kms_create_key "nitrowallet local development: seals account keys") || stack_fail "create-key"
  [ -n "$key" ] || stack_fail "create-key returned no KeyId"
  echo "$key" >"$home/kms-key-id"
fi
key=$(cat "$home/kms-key-id")
case $key in
arn:*) ;;
*) # state from before the enclave took only full key ARNs (--kms-key-arn)
  key=$(stack_aws kms describe-key --key-id "$key" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])') ||
    stack_fail "describe-key $(cat "$home/kms-key-id")"
  echo "$key" >"$home/kms-key-id"
  echo "make run: $home/kms-key-id now holds the key's ARN; accounts made before under its bare id are refused by the enclave (recreate them)" >&2
  ;;
esac
stack_kms_pin "$key" "$STACK_BIN/nitrowallet-enclave"

# --- the host's TLS certificate, from a development CA ----------------------------
if [ ! -f "$home/host-cert.pem" ] || [ ! -f "$home/ca.pem" ]; then
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/O=nitrowallet development/CN=nitrowallet local development CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$home/ca-key.pem" -out "$home/ca.pem"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/O=nitrowallet development/CN=127.0.0.1" -keyout "$home/host-key.pem" -out "$home/host.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n' \
      >"$home/host-ext.cnf"
    openssl x509 -req -in "$home/host.csr" -CA "$home/ca.pem" -CAkey "$home/ca-key.pem" -CAcreateserial \
      -days 825 -extfile "$home/host-ext.cnf" -out "$home/host-cert.pem"
    rm -f "$home/host.csr" "$home/host-ext.cnf" "$home/ca.srl"
    chmod 644 "$home/ca.pem" "$home/host-cert.pem"
  ) >"$home/logs/tls-setup.log" 2>&1 || stack_fail "could not make the development certificates: $(tail -n 3 "$home/logs/tls-setup.log")"
fi

# --- API tokens ------------------------------------------------------------------
if [ ! -f "$home/tokens.json" ]; then
  rm -f "$home/admin.token" "$home/signer.token"
  "$STACK_BIN/nitrowallet-host" token add --id admin --role admin --tokens "$home/tokens.json" \
    --out "$home/admin.token" 2>/dev/null || stack_fail "could not create the admin token"
  "$STACK_BIN/nitrowallet-host" token add --id signer --role signer --all-accounts --tokens "$home/tokens.json" \
    --out "$home/signer.token" 2>/dev/null || stack_fail "could not create the signer token"
fi
# State from before signer tokens had to name their accounts: a signer entry
# with no list meant every account, so it gets "all_accounts": true, said aloud.
migrated=$(/usr/bin/python3 - "$home/tokens.json" <<'PY'
import json, os, sys
path = sys.argv[1]
tokens = json.load(open(path))
changed = [t["id"] for t in tokens
           if t.get("role") == "signer" and "accounts" not in t and "all_accounts" not in t]
for t in tokens:
    if t["id"] in changed:
        t["all_accounts"] = True
if changed:
    with open(path + ".tmp", "w") as f:
        json.dump(tokens, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path + ".tmp", 0o600)
    os.rename(path + ".tmp", path)
print(" ".join(changed))
PY
) || stack_fail "could not read $home/tokens.json"
[ -z "$migrated" ] || echo "make run: signer token(s) $migrated had no account list, which meant every account; $home/tokens.json now says \"all_accounts\": true for them" >&2

# --- the host (with its KMS proxy) and the enclave ----------------------------------
# As on Nitro hardware, the enclave's only route to KMS is the host's proxy (a
# byte forwarder; TLS stays end to end): here a unix socket forwarding to
# nitrowallet-kms, in production vsock:8000 forwarding to kms.REGION.amazonaws.com.
sock=$home/enclave.sock
proxy=$home/kms-proxy.sock
if [ ${#sock} -gt 100 ]; then # sun_path holds 108 bytes
  sockdir=$(mktemp -d /tmp/nitrowallet.XXXXXX)
  sock=$sockdir/enclave.sock
  proxy=$sockdir/kms-proxy.sock
fi
rm -f "$sock" "$proxy"
storage=(--db "$home/host.db")
case ${NITROWALLET_STORAGE:-sqlite} in
  sqlite) ;;
  dynamodb)
    storage=(--storage dynamodb --dynamodb-region "$AWS_REGION")
    [ -n "${NITROWALLET_DYNAMODB_ENDPOINT:-}" ] && storage+=(--dynamodb-endpoint "$NITROWALLET_DYNAMODB_ENDPOINT")
    [ "${NITROWALLET_CREATE_TABLES:-0}" = 1 ] && storage+=(--create-tables)
    ;;
  *) stack_fail "NITROWALLET_STORAGE must be sqlite or dynamodb, not '$NITROWALLET_STORAGE'" ;;
esac
stack_kms_proxy_args "$proxy"
stack_host_start "$home/logs/host.log" --listen "$listen" --enclave "unix:$sock" "${storage[@]}" \
  --tokens "$home/tokens.json" --kms-key-id "$key" --tls-cert "$home/host-cert.pem" --tls-key "$home/host-key.pem" \
  --metrics-listen "$metrics_listen" "${STACK_KMS_PROXY_ARGS[@]}"
pids+=("$STACK_HOST_PID")
: >"$home/logs/enclave.log"
stack_enclave_start_via "unix:$proxy" "$sock" "$home/nsm" "$home/logs/enclave.log" --kms-key-arn "$key"
pids+=("$STACK_ENCLAVE_PID")
url=$STACK_HOST_URL
cli=$STACK_BIN/nitrowallet
[ "$url" = https://127.0.0.1:8443 ] || cli="NITROWALLET_URL=$url $cli"
[ "$home" = "$PWD/.nitrowallet" ] || cli="NITROWALLET_HOME=$home $cli"
cli=${cli//$PWD\//}

cat <<EOT

nitrowallet is running (local development stack; NSM emulated, KMS emulated)
  API          $url            (TLS: CA in $home/ca.pem)
  metrics      $STACK_METRICS_URL/metrics  (plain HTTP, loopback; /readyz with details)
  admin token  $home/admin.token    (create, list and read accounts)
  signer token $home/signer.token   (sign)
  KMS key      $key (policy pins PCR0 ${STACK_PCR0:0:16}... of this build)
  storage      ${NITROWALLET_STORAGE:-sqlite}${NITROWALLET_DYNAMODB_ENDPOINT:+ at $NITROWALLET_DYNAMODB_ENDPOINT}
  logs         $home/logs/
$( [ -n "$first" ] && echo "  first start: state created in $home" || echo "  state reused from $home" )

Try, in another terminal:
  $cli demo
  $cli account create --name hot-1
  $cli sign message hot-1 --text 'hello'
  curl --cacert ${home#$PWD/}/ca.pem -H "Authorization: Bearer \$(cat ${home#$PWD/}/admin.token)" $url/v1/accounts

Ctrl-C stops all three.
EOT

# Run until a signal, or until one of the three exits on its own.
set +e
while :; do
  wait -n "${pids[@]}"
  [ -n "$stopping" ] && exit 0
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      for n in kms enclave host; do echo "--- $n log (last lines)"; tail -n 5 "$home/logs/$n.log"; done >&2
      stack_fail "a process of the stack exited unexpectedly (pid $p); stopping the others"
    fi
  done
done
