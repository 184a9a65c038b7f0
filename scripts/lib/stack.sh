# scripts/lib/stack.sh - start the parts of the local stack, one function
# each.  Sourced by scripts/run-local.sh (`make run`) and by the scripted
# suites in tests/suites/, so the stack a developer runs is the stack the
# tests exercise.
#
# The caller sets:
#   STACK_BIN  directory holding nitrowallet-kms, nitrowallet-enclave,
#              nitrowallet-host (build/bin)
#   and defines stack_fail MESSAGE (prints and exits; suites use their
#   `fail`, run-local.sh its own).
# Functions set STACK_* variables with what they started (pids, URLs).
# STACK_PRELOAD, when set, is the LD_PRELOAD of the enclave and host (the
# free()-scanning shim, tests/suites/secrets_freed.sh); NW_FREESCAN_SECRETS,
# when set, is the file the secrets made here (API tokens) are added to.
# Everything listens on loopback or on unix sockets; nothing here is used on
# Nitro hardware.

# stack_wait_for FILE PATTERN [TENTHS]: wait until FILE contains PATTERN.
stack_wait_for() {
  local i
  for ((i = 0; i < ${3:-150}; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stack_stop PID...: SIGTERM each, then wait for it (never fails: cleanup
# must not decide a result under set -e).
stack_stop() {
  local p
  for p in "$@"; do
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# stack_nsm_init DIR: create the emulated NSM's development chain in DIR
# (kept if present); nitrowallet-kms trusts DIR/nsm-dev-root.pem.
stack_nsm_init() {
  "$STACK_BIN/nitrowallet-enclave" --dev --nsm emulated --nsm-state "$1" --nsm-init >/dev/null ||
    stack_fail "cannot create the emulated NSM state in $1"
}

# stack_kms_start STATE_DIR NSM_DIR LOG [LISTEN]: start nitrowallet-kms,
# trusting the emulated NSM's root; sets STACK_KMS_PID, STACK_KMS_URL,
# STACK_KMS_PORT, STACK_KMS_CA (its CA certificate) and exports
# AWS_CA_BUNDLE so awscli trusts it.
stack_kms_start() {
  # Truncate here, not in the child's redirection: the wait below must never
  # read a ready line left in LOG by an earlier run (make run reuses its logs).
  : >"$3"
  "$STACK_BIN/nitrowallet-kms" --state "$1" --listen "${4:-127.0.0.1:0}" --region "${AWS_REGION:-us-east-1}" \
    --attestation-root "$2/nsm-dev-root.pem" >>"$3" 2>&1 &
  STACK_KMS_PID=$!
  stack_wait_for "$3" 'listening on https://' || stack_fail "nitrowallet-kms did not start: $(tail -n 5 "$3")"
  STACK_KMS_URL=$(grep -o 'https://127.0.0.1:[0-9]*' "$3" | sed -n 1p)
  STACK_KMS_PORT=${STACK_KMS_URL##*:}
  STACK_KMS_CA=$1/ca.pem
  export AWS_CA_BUNDLE=$STACK_KMS_CA
}

# stack_aws ARGS...: awscli against the running nitrowallet-kms.
stack_aws() {
  /usr/bin/aws --endpoint-url "$STACK_KMS_URL" --output json "$@"
}

# stack_kms_create_key DESCRIPTION: print the ARN of a new key (the enclave
# takes only full key ARNs: --kms-key-arn).
stack_kms_create_key() {
  stack_aws kms create-key --description "$1" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])'
}

# stack_kms_pin KEY_ID ENCLAVE_BINARY [ACTIONS]: set the key's policy so that
# only an enclave measuring PCR0 = sha384(ENCLAVE_BINARY) (what the emulated
# NSM reports for that binary) may GenerateDataKey and Decrypt, as the
# production policy pins the enclave image's PCR0.  ACTIONS (a JSON list,
# default ["kms:GenerateDataKey","kms:Decrypt"]) narrows what it may do.
stack_kms_pin() {
  local pcr0 actions=${3:-'["kms:GenerateDataKey","kms:Decrypt"]'}
  pcr0=$(sha384sum "$2" | cut -d' ' -f1)
  stack_aws kms put-key-policy --key-id "$1" --policy-name default --policy "$(cat <<JSON
{"Version":"2012-10-17","Statement":[
 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"*"},
  "Action":["kms:DescribeKey","kms:GetKeyPolicy","kms:PutKeyPolicy"],"Resource":"*"},
 {"Sid":"enclave","Effect":"Allow","Principal":{"AWS":"*"},
  "Action":$actions,"Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":"$pcr0"}}}]}
JSON
)" || stack_fail "put-key-policy on $1"
  STACK_PCR0=$pcr0
}

# stack_enclave_start SOCKET NSM_DIR LOG [ARGS...]: start the enclave
# binary ${STACK_ENCLAVE:-$STACK_BIN/nitrowallet-enclave} with the emulated
# NSM on a unix socket, reaching the running nitrowallet-kms; sets
# STACK_ENCLAVE_PID.  LOG is appended to.
stack_enclave_start() {
  stack_enclave_start_via "tcp:127.0.0.1:$STACK_KMS_PORT" "$@"
}

# stack_enclave_start_via KMS_CONNECT SOCKET NSM_DIR LOG [ARGS...]: as
# stack_enclave_start, but the enclave's only route to KMS is KMS_CONNECT
# (e.g. unix:DIR/kms-proxy.sock, the host's --kms-proxy); TLS is still
# verified for kms.$AWS_REGION.amazonaws.com against nitrowallet-kms's CA,
# whose certificate carries that name (--kms-ca; STACK_ENCLAVE_KMS_CA=""
# leaves it out, so the enclave trusts only its compiled-in AWS roots).
stack_enclave_start_via() {
  local connect=$1 sock=$2 nsm=$3 log=$4 seen n i ca=${STACK_ENCLAVE_KMS_CA-$STACK_KMS_CA}
  shift 4
  seen=$(grep -c -- "listening on unix:$sock " "$log" 2>/dev/null || true)
  LD_PRELOAD=${STACK_PRELOAD:-${LD_PRELOAD:-}} \
    "${STACK_ENCLAVE:-$STACK_BIN/nitrowallet-enclave}" --dev --nsm emulated --nsm-state "$nsm" --listen "unix:$sock" \
    --kms-connect "$connect" ${ca:+--kms-ca "$ca"} \
    --kms-region "${AWS_REGION:-us-east-1}" "$@" >>"$log" 2>&1 &
  STACK_ENCLAVE_PID=$!
  # LOG may hold the ready line of an earlier run: wait for one more.
  for ((i = 0; i < 150; i++)); do
    n=$(grep -c -- "listening on unix:$sock " "$log" 2>/dev/null || true)
    [ "${n:-0}" -gt "${seen:-0}" ] && return 0
    kill -0 "$STACK_ENCLAVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  stack_fail "nitrowallet-enclave did not start: $(tail -n 5 "$log")"
}

# stack_kms_proxy_args SOCKET: set STACK_KMS_PROXY_ARGS to the host flags
# of a KMS proxy on unix:SOCKET forwarding to the running nitrowallet-kms
# (127.0.0.1:$STACK_KMS_PORT, the only allowlist entry), the local stand-in
# for `--kms-proxy vsock:8000` forwarding to kms.REGION.amazonaws.com:443.
stack_kms_proxy_args() {
  STACK_KMS_PROXY_ARGS=(--kms-proxy "unix:$1=127.0.0.1:$STACK_KMS_PORT" --proxy-allow "127.0.0.1:$STACK_KMS_PORT")
}

# stack_tokens DIR ID:ROLE[:ACCOUNT,...|:*]...: API tokens made with
# `nitrowallet-host token add`: hashes in DIR/tokens.json, each token in
# DIR/ID.token (0600).  A signer names its accounts, or `*` for every
# account (--all-accounts).
stack_tokens() {
  local dir=$1 spec id role accts a args
  shift
  for spec in "$@"; do
    IFS=: read -r id role accts <<<"$spec"
    args=(--id "$id" --role "$role" --tokens "$dir/tokens.json" --out "$dir/$id.token")
    if [ "$accts" = "*" ]; then
      args+=(--all-accounts)
    else
      IFS=, read -r -a accts <<<"$accts"
      for a in "${accts[@]}"; do args+=(--account "$a"); done
    fi
    "$STACK_BIN/nitrowallet-host" token add "${args[@]}" 2>/dev/null || stack_fail "nitrowallet-host token add $spec"
    [ -z "${NW_FREESCAN_SECRETS:-}" ] || { cat "$dir/$id.token"; echo; } >>"$NW_FREESCAN_SECRETS"
  done
}

# stack_host_start LOG ARGS...: start nitrowallet-host with ARGS; sets
# STACK_HOST_PID, STACK_HOST_URL (from its ready line) and
# STACK_METRICS_URL (its metrics listener: a free loopback port unless ARGS
# name one with --metrics-listen).  LOG is truncated.
stack_host_start() {
  local log=$1 metrics=(--metrics-listen 127.0.0.1:0)
  shift
  [[ " $* " == *" --metrics-listen "* ]] && metrics=()
  : >"$log" # here, not in the child: never read an earlier run's ready line
  LD_PRELOAD=${STACK_PRELOAD:-${LD_PRELOAD:-}} "$STACK_BIN/nitrowallet-host" "${metrics[@]}" "$@" >>"$log" 2>&1 &
  STACK_HOST_PID=$!
  stack_wait_for "$log" 'nitrowallet-host: listening on' || stack_fail "nitrowallet-host did not start: $(tail -n 5 "$log")"
  STACK_HOST_URL=$(sed -n 's|^nitrowallet-host: listening on \(https\{0,1\}://127.0.0.1:[0-9]*\).*|\1|p' "$log" | sed -n 1p)
  STACK_METRICS_URL=$(sed -n 's|^nitrowallet-host: metrics on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$log" | sed -n 1p)
}
