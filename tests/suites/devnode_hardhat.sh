#!/usr/bin/env bash
# devnode_hardhat.sh BUILD_DIR - nitrowallet against a real Ethereum node.
# Starts Hardhat Network (`hardhat node`, tests/oracle/hardhat.config.cjs,
# chain id 31337, offline) and the local stack (scripts/lib/stack.sh:
# nitrowallet-kms with a PCR0-pinned key, the emulated-NSM enclave,
# nitrowallet-host over plain HTTP on loopback), then:
#   tests/oracle/devnode_flow.mjs  creates an account through the API, funds
#     it from the node, signs EIP-1559, EIP-2930, legacy EIP-155 transfers and
#     a contract creation through the API with nonces and fees read from the
#     node, submits them with eth_sendRawTransaction and checks receipts,
#     hashes, the node-recovered sender, code and exact balance changes;
#   tests/oracle/devnode_sign.mjs  signs random personal_sign messages and
#     EIP-712 documents through the API and has ethers v6 recover the signer.
#   NW_DEVNODE_SEED   seed of the random inputs (default: fresh; printed)
#   NW_DEVNODE_COUNT  personal messages and typed documents each (default 40)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ENCLAVE=$B/bin/nitrowallet-enclave
ORACLE=tests/oracle
HARDHAT=$ORACLE/node_modules/.bin/hardhat

. tests/suites/lib/suite.sh

[ -d $ORACLE/node_modules/ethers ] && [ -x "$HARDHAT" ] || fail "ethers or hardhat missing: run scripts/bootstrap.sh"
seed=${NW_DEVNODE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed; reproduce with: NW_DEVNODE_SEED=$seed bash tests/suites/devnode_hardhat.sh $B"

# --- the node: port 0, the real port read from its ready line ------------------
# Hardhat insists on running from the project that installed it (HH12), so
# it starts in tests/oracle; its cache goes to $tmp.
: >"$tmp/hardhat.log"
(cd $ORACLE && NW_HARDHAT_DIR=$tmp/hardhat HARDHAT_DISABLE_TELEMETRY_PROMPT=true \
  exec node_modules/.bin/hardhat --config hardhat.config.cjs node --hostname 127.0.0.1 --port 0) >"$tmp/hardhat.log" 2>&1 &
hardhat_pid=$!
pids+=("$hardhat_pid")
for ((i = 0; i < 600; i++)); do # up to 60 s on a loaded machine; ~1 s idle
  grep -q 'Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:' "$tmp/hardhat.log" && break
  kill -0 "$hardhat_pid" 2>/dev/null || fail "hardhat node exited"
  sleep 0.1
done
grep -q 'Started HTTP' "$tmp/hardhat.log" || fail "hardhat node not ready after 60 s"
RPC=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/hardhat.log" | sed -n 1p)
chain=$(curl -sS --max-time 20 -H 'Content-Type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$RPC")
[ "$chain" = '{"jsonrpc":"2.0","id":1,"result":"0x7a69"}' ] || fail "eth_chainId: $chain"
pass "hardhat node $(cd $ORACLE && node -p 'require("hardhat/package.json").version') at $RPC, chain id 31337"

# --- the stack -------------------------------------------------------------------
suite_aws_env HOST
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
stack_nsm_init "$tmp/nsm"
stack_kms_start "$tmp/kms" "$tmp/nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key devnode)
stack_kms_pin "$key" "$ENCLAVE"
stack_enclave_start "$tmp/e.sock" "$tmp/nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")

# Tokens as host_api.sh makes them: an admin and a signer for all accounts.
stack_tokens "$tmp" ops:admin 'pay:signer:*'
stack_host_start "$tmp/host.log" --listen 127.0.0.1:0 --enclave "unix:$tmp/e.sock" --db "$tmp/host.db" \
  --tokens "$tmp/tokens.json" --kms-key-id "$key" --insecure-http
pids+=("$STACK_HOST_PID")
pass "stack up: KMS key $key pinned to PCR0, enclave, host at $STACK_HOST_URL"

export NW_API_URL=$STACK_HOST_URL NW_RPC_URL=$RPC NW_ACCOUNT=devnode-1 NW_DEVNODE_SEED=$seed
export NW_ADMIN_TOKEN NW_SIGNER_TOKEN
NW_ADMIN_TOKEN=$(cat "$tmp/ops.token")
NW_SIGNER_TOKEN=$(cat "$tmp/pay.token")

# --- 1. transactions signed by the API, executed by the node ------------------------
node $ORACLE/devnode_flow.mjs >"$tmp/flow.out" 2>&1 || { cat "$tmp/flow.out"; fail "devnode_flow.mjs (seed $seed)"; }
cat "$tmp/flow.out"

# --- 2. random messages and typed data, recovered by ethers --------------------------
node $ORACLE/devnode_sign.mjs >"$tmp/sign.out" 2>&1 || { cat "$tmp/sign.out"; fail "devnode_sign.mjs (seed $seed)"; }
cat "$tmp/sign.out"

# The audit trail holds what was signed: 5 transactions (one for chain 1),
# 2 x COUNT messages and typed documents.
count=${NW_DEVNODE_COUNT:-40}
got=$(/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from SignedValueTable").fetchone()[0])' "$tmp/host.db")
[ "$got" = $((5 + 2 * count)) ] || fail "SignedValueTable has $got rows, want $((5 + 2 * count))"
pass "the audit trail records all $got signatures"

# Stop the daemons (SIGTERM, as in production) and read their logs: under
# build/asan a sanitizer report, leaks included, lands there at exit.
stack_stop "$STACK_HOST_PID" "$STACK_ENCLAVE_PID" "$STACK_KMS_PID"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/host.log" "$tmp/enclave.log" "$tmp/kms.log" >/dev/null; then
  fail "sanitizer report in a daemon log"
fi
pass "host, enclave and KMS stopped cleanly; no sanitizer report in their logs"

echo "devnode_hardhat: all checks passed"
