#!/usr/bin/python3
"""policy_checks.py - the checks of tests/suites/enclave_policy.sh: the
enclave decides every signature under the account's sealed policy, on what is
signed, whoever asks.

Usage: policy_checks.py CASES_DIR
Environment: CLIENT (build/tests/enclave_client), SPEC (the enclave socket),
H (the host's URL), SIGNER (a signer token), STORAGE ("sqlite" or "dynamodb"),
DB (SQLite path) or DDB_URL and PREFIX (dynalite), METRICS (the host's metrics
URL), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.

CASES_DIR holds the requests tests/oracle/policy_requests.mjs made with ethers
and cases.tsv (policy, case, allow|deny, rule); the accounts are named after
the policies.  Each case goes twice:
  - straight to the enclave's socket, with the account record read from the
    store, as a compromised host would send it: allowed -> a signature that
    ethers recovers to the account's address; denied -> POLICY_DENIED naming
    the rule, nothing signed;
  - through the host's API: 200 (signature checked the same way) or 403
    POLICY_DENIED with error.rule.
Then: every API denial is in the audit trail with its rule; /metrics counts
decisions per rule; a stored policy edited, swapped between accounts or
truncated makes the account refuse with SEAL_INVALID, directly and through
the API, and nothing is signed.
"""
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

CASES = sys.argv[1]
CLIENT, SPEC, H, SIGNER = os.environ["CLIENT"], os.environ["SPEC"], os.environ["H"], os.environ["SIGNER"]
STORAGE = os.environ.get("STORAGE", "sqlite")
CREDS = {"access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
         "secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"]}
ORACLE = os.path.join(os.path.dirname(__file__), "..", "oracle", "verify_signed.mjs")
OPS = {"transaction": ("sign_transaction", "transaction"), "message": ("sign_message", "message"),
       "message_hex": ("sign_message", "message"), "typed_data": ("sign_typed_data", "typed-data"),
       "digest": ("sign_digest", "digest")}
_ids = iter(range(1, 1 << 30))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg)


# --- the store, read and written as a compromised host would -----------------------

def ddb():
    import botocore.session
    return botocore.session.get_session().create_client(
        "dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=os.environ["DDB_URL"])


def read_record(name):
    if STORAGE == "sqlite":
        import sqlite3
        c = sqlite3.connect(os.environ["DB"], timeout=30)
        row = c.execute("select KeyId, Address, EncryptedPrivateKey, EncryptedDataKey, Policy, PolicyDigest "
                        "from AccountTable where Name=?", (name,)).fetchone()
        c.close()
        keys = ("KeyId", "Address", "EncryptedPrivateKey", "EncryptedDataKey", "Policy", "PolicyDigest")
        return dict(zip(keys, row))
    item = ddb().get_item(TableName=os.environ["PREFIX"] + "AccountTable", Key={"Name": {"S": name}},
                          ConsistentRead=True)["Item"]
    return {k: v["S"] for k, v in item.items() if "S" in v}


def write_policy(name, policy, digest):
    if STORAGE == "sqlite":
        import sqlite3
        c = sqlite3.connect(os.environ["DB"], timeout=30)
        c.execute("update AccountTable set Policy=?, PolicyDigest=? where Name=?", (policy, digest, name))
        c.commit()
        c.close()
        return
    ddb().update_item(TableName=os.environ["PREFIX"] + "AccountTable", Key={"Name": {"S": name}},
                      UpdateExpression="SET #p = :p, #d = :d",
                      ExpressionAttributeNames={"#p": "Policy", "#d": "PolicyDigest"},
                      ExpressionAttributeValues={":p": {"S": policy}, ":d": {"S": digest}})


def account_param(name, rec):
    return {"name": name, "address": rec["Address"], "kms_key_id": rec["KeyId"],
            "encrypted_private_key": rec["EncryptedPrivateKey"], "encrypted_data_key": rec["EncryptedDataKey"],
            "policy": json.loads(rec["Policy"])}


# --- the two ways in ---------------------------------------------------------------

def direct(op, params):
    rid = next(_ids)
    frame = json.dumps({"v": 1, "id": rid, "op": op, "params": params})
    p = subprocess.run([CLIENT, SPEC], input=frame + "\n", capture_output=True, text=True)
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        fail("%s: no reply from the enclave (%s)" % (op, p.stderr.strip()))
    r = json.loads(lines[0])
    if r.get("id") != rid:
        fail("%s: reply id %r is not %r" % (op, r.get("id"), rid))
    return r


def api(path, body=None, token=SIGNER):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    data = json.dumps(body).encode() if body is not None else None
    rq = urllib.request.Request(H + path, data=data, method="POST" if body is not None else "GET",
                                headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(rq, timeout=30, context=ctx) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def signed_of(body, result):
    """The verify_signed.mjs line for a signature over body."""
    if "transaction" in body:
        return {"kind": "tx", "raw": result["raw_transaction"]}
    if "message" in body:
        return {"kind": "message", "text": body["message"], "signature": result["signature"]}
    if "message_hex" in body:
        return {"kind": "message", "hex": body["message_hex"], "signature": result["signature"]}
    if "typed_data" in body:
        return {"kind": "typed", "typed_data": body["typed_data"], "signature": result["signature"]}
    return {"kind": "digest", "digest": body["digest"], "signature": result["signature"]}


def main():
    cases = [line.rstrip("\n").split("\t") for line in open(os.path.join(CASES, "cases.tsv")) if line.strip()]
    records = {p: read_record(p) for p in sorted({c[0] for c in cases})}
    verify = []  # (what, oracle line, expected address)
    api_denials = {}
    for policy, name, decision, rule in cases:
        body = json.load(open(os.path.join(CASES, name + ".json")))
        kind = next(k for k in OPS if k in body)
        op, path = OPS[kind]
        rec = records[policy]
        params = dict(body, account=account_param(policy, rec), credentials=CREDS)
        r = direct(op, params)
        if decision == "allow":
            if "result" not in r:
                fail("%s/%s direct: expected a signature, got %s" % (policy, name, r))
            if r["result"].get("policy_rule") != rule:
                fail("%s/%s direct: allowed by %r, want %r" % (policy, name, r["result"].get("policy_rule"), rule))
            verify.append(("%s/%s direct" % (policy, name), signed_of(body, r["result"]), rec["Address"]))
        else:
            e = r.get("error", {})
            if "result" in r or e.get("code") != "POLICY_DENIED" or ('rule "%s"' % rule) not in e.get("message", ""):
                fail("%s/%s direct: expected POLICY_DENIED naming rule %s, got %s" % (policy, name, rule, r))
        status, j = api("/v1/accounts/%s/sign/%s" % (policy, path), body)
        if decision == "allow":
            if status != 200 or j.get("policy_rule") != rule:
                fail("%s/%s API: expected 200 by rule %s, got %d %s" % (policy, name, rule, status, j))
            verify.append(("%s/%s API" % (policy, name), signed_of(body, j), rec["Address"]))
        else:
            e = j.get("error", {})
            if status != 403 or e.get("code") != "POLICY_DENIED" or e.get("rule") != rule:
                fail("%s/%s API: expected 403 POLICY_DENIED rule %s, got %d %s" % (policy, name, rule, status, j))
            api_denials.setdefault(policy, []).append((body, rule, e.get("request_id")))
    p = subprocess.run(["node", ORACLE], input="\n".join(json.dumps(v[1]) for v in verify) + "\n",
                       capture_output=True, text=True)
    got = p.stdout.split("\n")
    for i, (what, _, want) in enumerate(verify):
        if i >= len(got) or got[i].lower() != want.lower():
            fail("%s: ethers recovered %r, the account is %s" % (what, got[i] if i < len(got) else None, want))
    n_allow = sum(1 for c in cases if c[2] == "allow")
    ok("%d requests just inside a rule signed (ethers recovered each signer, directly and through the API); "
       "%d just outside refused with POLICY_DENIED naming the rule, directly and with 403 and error.rule"
       % (n_allow, len(cases) - n_allow))
    check_audit(api_denials)
    check_metrics(cases)
    check_tampering(records)


def check_audit(api_denials):
    n = 0
    for policy, denials in api_denials.items():
        status, j = api("/v1/accounts/%s/signatures?limit=100" % policy, token=os.environ["ADMIN"])
        if status != 200:
            fail("audit trail of %s: %d %s" % (policy, status, j))
        got = {s["request_id"]: s for s in j["signatures"] if s["kind"] == "denied"}
        for body, rule, rid in denials:
            s = got.get(rid)
            if s is None or s["request"]["denied"]["rule"] != rule or s["request"]["request"] != body or \
                    s["signed_value"] != "0x":
                fail("audit trail of %s: denial %s (rule %s) missing or wrong: %s" % (policy, rid, rule, s))
            n += 1
        signed = [s for s in j["signatures"] if s["kind"] != "denied"]
        if any(s["request_id"] in {d[2] for d in denials} for s in signed):
            fail("audit trail of %s: a denied request has a signature" % policy)
    ok("%d denials in the audit trail, each with its kind, rule and request id, none with a signature" % n)


def check_metrics(cases):
    with urllib.request.urlopen(os.environ["METRICS"] + "/metrics", timeout=30) as r:
        text = r.read().decode()
    want = {}
    for _, _, decision, rule in cases:
        want[(rule, decision)] = want.get((rule, decision), 0) + 1
    for (rule, decision), n in want.items():
        line = 'nitrowallet_policy_decisions_total{rule="%s",decision="%s"} %d' % (rule, decision, n)
        if line not in text.splitlines():
            fail("/metrics lacks %r:\n%s" % (line, "\n".join(l for l in text.splitlines() if "policy" in l)))
    ok("/metrics counts the API's decisions per rule (%d rule/decision pairs)" % len(want))


def check_tampering(records):
    hot, other = records["hot-wallet"], records["payroll-token"]
    body = {"transaction": {"type": 2, "chainId": 1, "nonce": 1, "gas": 21000, "maxFeePerGas": "1",
                            "maxPriorityFeePerGas": "1", "value": "1",
                            "to": "0x1111111111111111111111111111111111111111"}}
    status, j = api("/v1/accounts/hot-wallet/signatures?limit=100", token=os.environ["ADMIN"])
    before = len(j["signatures"])
    edited = json.loads(hot["Policy"])
    edited["rules"][0]["value_max"] = str(10 ** 24)
    shortened = hot["Policy"][:len(hot["Policy"]) // 2]
    variants = [
        ("edited (value_max raised, digest kept)", json.dumps(edited), hot["PolicyDigest"]),
        ("edited (value_max raised, digest recomputed by the host)", json.dumps(edited),
         "0x" + __import__("hashlib").sha256(json.dumps(edited).encode()).hexdigest()),
        ("swapped with payroll-token's (policy and digest)", other["Policy"], other["PolicyDigest"]),
        ("truncated", shortened, hot["PolicyDigest"]),
    ]
    for what, policy, digest in variants:
        write_policy("hot-wallet", policy, digest)
        rec = dict(hot, Policy=policy, PolicyDigest=digest)
        try:
            account = account_param("hot-wallet", rec)
        except ValueError:  # truncated: not JSON; the host still sends what it read
            account = dict(account_param("hot-wallet", hot), policy=policy)
        r = direct("sign_transaction", dict(body, account=account, credentials=CREDS))
        want_direct = ("SEAL_INVALID", "BAD_REQUEST") if what == "truncated" else ("SEAL_INVALID",)
        if r.get("error", {}).get("code") not in want_direct:
            fail("policy %s, straight to the enclave: %s" % (what, r))
        status, j = api("/v1/accounts/hot-wallet/sign/transaction", body)
        if status != 422 or j.get("error", {}).get("code") != "SEAL_INVALID":
            fail("policy %s, through the API: %d %s" % (what, status, j))
        ok("hot-wallet's stored policy %s: the enclave refuses (%s), the API says 422 SEAL_INVALID"
           % (what, r["error"]["code"]))
    write_policy("hot-wallet", hot["Policy"], hot["PolicyDigest"])
    status, j = api("/v1/accounts/hot-wallet/signatures?limit=100", token=os.environ["ADMIN"])
    if len(j["signatures"]) != before:
        fail("tampered policies: the audit trail changed (%d -> %d)" % (before, len(j["signatures"])))
    status, j = api("/v1/accounts/hot-wallet/sign/transaction", body)
    if status != 200:
        fail("restored policy: %d %s" % (status, j))
    ok("nothing was signed or recorded while the policy was tampered with; restored, the account signs again")


main()
