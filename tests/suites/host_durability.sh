#!/usr/bin/env bash
# host_durability.sh BUILD_DIR - no signature that nitrowallet-host returned
# is lost when the host is SIGKILLed in the middle of a signing load (issue
# 6, point 4; docs/storage.md "Group commit").
#
# The stack is nitrowallet-kms, an emulated-NSM enclave pinned to its PCR0
# and nitrowallet-host on SQLite (group commit).  Each of ROUNDS rounds
# starts the host on the same database file, runs 24 concurrent signing
# loops (tests/suites/lib/sign_load.py, which writes down every signature
# it received with a 200), SIGKILLs the host once some hundred signatures
# have been returned, while requests are in flight and commits are being
# batched.  After the last round /usr/bin/python3's sqlite3 (not our code)
# checks that every returned signature is in SignedValueTable with its
# request id and request body, that the file passes PRAGMA integrity_check,
# and the host starts again on it and signs.
#
# SIGKILL tests the commit protocol (no reply before the commit holding its
# row has returned); it does not cut the power: the kernel's page cache
# survives a killed process.  Power-loss durability rests on
# synchronous=FULL in WAL mode: COMMIT returns after the WAL is fsynced
# (docs/storage.md explains the argument).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
ROUNDS=${ROUNDS:-5}
ENCLAVE=$B/bin/nitrowallet-enclave

. tests/suites/lib/suite.sh
suite_aws_env DURABLE
export NITROWALLET_HOME=$tmp/home
mkdir -p "$NITROWALLET_HOME"
stack_nsm_init "$tmp/nsm"
stack_kms_start "$tmp/kms" "$tmp/nsm" "$tmp/kms.log"
pids+=("$STACK_KMS_PID")
key=$(stack_kms_create_key host-durability)
stack_kms_pin "$key" "$ENCLAVE"
stack_enclave_start "$tmp/e.sock" "$tmp/nsm" "$tmp/enclave.log" --kms-key-arn "$key" --workers 2
pids+=("$STACK_ENCLAVE_PID")
stack_tokens "$tmp" ops:admin 'pay:signer:*'
DB=$tmp/host.db

host_pid=
start_host() { # LOG
  stack_host_start "$tmp/$1.log" --listen 127.0.0.1:0 --insecure-http --enclave "unix:$tmp/e.sock" --db "$DB" \
    --tokens "$tmp/tokens.json" --kms-key-id "$key" --connections 8
  host_pid=$STACK_HOST_PID
  pids+=("$host_pid")
  H=$STACK_HOST_URL
}
start_host host0
status=$(curl -sS --max-time 30 -o "$tmp/acct.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$tmp/ops.token")" \
  -H 'Content-Type: application/json' --data-binary '{"name":"durable"}' "$H/v1/accounts")
[ "$status" = 201 ] || fail "account creation: $status $(cat "$tmp/acct.json")"
pass "account 'durable' created on $H"

for ((r = 1; r <= ROUNDS; r++)); do
  [ "$r" = 1 ] || start_host "host$r"
  out=$tmp/returned-$r.jsonl
  : >"$out"
  py tests/suites/lib/sign_load.py "$H" "$(cat "$tmp/pay.token")" durable "round$r" 24 "$out" 120 \
    >"$tmp/load-$r.json" 2>"$tmp/load-$r.log" &
  load_pid=$!
  # Kill once the load is well under way (a different count each round).
  want=$((100 * r + 50))
  for ((i = 0; i < 12000; i++)); do
    [ "$(wc -l <"$out")" -ge "$want" ] && break
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.01
  done
  [ "$(wc -l <"$out")" -ge "$want" ] || fail "round $r: only $(wc -l <"$out") signatures returned before the kill"
  kill -9 "$host_pid"
  wait "$host_pid" 2>/dev/null || true
  wait "$load_pid" || fail "round $r: the load client failed: $(cat "$tmp/load-$r.log")"
  py - "$tmp/load-$r.json" <<'PY' || fail "round $r: $(cat "$tmp/load-$r.json")"
import json, sys
s = json.load(open(sys.argv[1]))
# statuses other than 200 would mean the load was not clean before the kill;
# transport errors are the requests in flight or sent after the kill
sys.exit(0 if s["ok"] > 0 and not s["other_status"] and s["transport_errors"] > 0 else 1)
PY
  pass "round $r: host SIGKILLed mid-load after $(wc -l <"$out") signatures returned; load: $(cat "$tmp/load-$r.json")"
done

# Every returned signature is in the audit trail, exactly once, with its own
# request id and request body; the file is intact.
py - "$DB" "$tmp"/returned-*.jsonl <<'PY' >"$tmp/check.txt" || fail "audit trail check: $(cat "$tmp/check.txt")"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ic = db.execute("PRAGMA integrity_check").fetchall()
if ic != [("ok",)]:
    print("integrity_check:", ic); sys.exit(1)
returned = [json.loads(l) for f in sys.argv[2:] for l in open(f)]
missing = []
for r in returned:
    n = db.execute('SELECT count(*) FROM SignedValueTable WHERE RequestId = ? AND SignedValue = ? AND "Transaction" = ?'
                   " AND Name = 'durable' AND Kind = 'message'", (r["request_id"], r["signature"], r["body"])).fetchone()[0]
    if n != 1:
        missing.append((r["request_id"], n))
total = db.execute("SELECT count(*) FROM SignedValueTable").fetchone()[0]
seqs = db.execute("SELECT count(DISTINCT Seq) FROM SignedValueTable").fetchone()[0]
if missing or seqs != total or len({r["request_id"] for r in returned}) != len(returned):
    print("missing or duplicated:", missing[:10], len(missing), "of", len(returned)); sys.exit(1)
print(f"{len(returned)} returned signatures all recorded once; {total} rows in all "
      f"({total - len(returned)} recorded but not returned: in flight at a kill); integrity_check ok")
PY
pass "$(cat "$tmp/check.txt")"

start_host host-final
status=$(curl -sS --max-time 30 -o "$tmp/final.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$tmp/pay.token")" \
  -H 'Content-Type: application/json' --data-binary '{"message":"after the kills"}' "$H/v1/accounts/durable/sign/message")
[ "$status" = 200 ] || fail "signing after the kills: $status $(cat "$tmp/final.json")"
pass "the host restarts on the killed database and signs"
echo "host_durability: all checks passed"
