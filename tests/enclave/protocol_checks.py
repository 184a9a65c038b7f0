#!/usr/bin/python3
"""protocol_checks.py - the enclave protocol checks of tests/suites/enclave_protocol.sh.

Usage: protocol_checks.py CLIENT SPEC KMS_KEY_ID
Talks to a running nitrowallet-enclave through CLIENT (build/tests/enclave_client)
at SPEC, and checks every signature with ethers v6 (tests/oracle/verify_signed.mjs),
an implementation independent of nitrowallet.  Credentials come from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.  Prints "ok: ..." per check; exits 1
on the first failure.
"""
import base64
import json
import os
import subprocess
import sys
import threading

CLIENT, SPEC, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
CREDS = {"access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
         "secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"]}
ORACLE = os.path.join(os.path.dirname(__file__), "..", "oracle", "verify_signed.mjs")
_ids = iter(range(1, 1 << 30))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg)


def exchange(*frames):
    """Send raw frames on one connection; return the parsed replies."""
    p = subprocess.run([CLIENT, SPEC], input="\n".join(frames) + "\n", capture_output=True, text=True)
    replies = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    if len(replies) != len(frames):
        fail("expected %d replies, got %d (%s)" % (len(frames), len(replies), p.stderr.strip()))
    return replies


def request(op, params):
    rid = next(_ids)
    return json.dumps({"v": 1, "id": rid, "op": op, "params": params}), rid


def call(op, params):
    frame, rid = request(op, params)
    r = exchange(frame)[0]
    if r.get("id") != rid:
        fail("%s: reply id %r is not %r" % (op, r.get("id"), rid))
    return r


def result(op, params):
    r = call(op, params)
    if "result" not in r:
        fail("%s: %s" % (op, r))
    return r["result"]


def expect_error(op, params, code, what):
    r = call(op, params)
    if r.get("error", {}).get("code") != code:
        fail("%s: expected %s, got %s" % (what, code, r))
    ok("%s -> %s (%s)" % (what, code, r["error"]["message"]))


def oracle(*cases):
    p = subprocess.run(["node", ORACLE], input="\n".join(json.dumps(c) for c in cases) + "\n",
                       capture_output=True, text=True)
    return p.stdout.split()


def account(gen, name, allow):
    return {"name": name, "address": gen["address"], "kms_key_id": KEY,
            "encrypted_private_key": gen["encrypted_private_key"],
            "encrypted_data_key": gen["encrypted_data_key"], "policy": {"allow_digest": allow}}


def generate(name, allow):
    g = result("generate_account", {"name": name, "kms_key_id": KEY, "policy": {"allow_digest": allow},
                                    "credentials": CREDS})
    if oracle({"kind": "pubkey", "public_key": g["public_key"]}) != [g["address"]]:
        fail("generate_account: address does not match public_key")
    if len(base64.b64decode(g["encrypted_private_key"])) != 61:
        fail("generate_account: sealed key is not version(1)+nonce(12)+ct(32)+tag(16)")
    return g


def check_accounts():
    import hashlib
    r = result("health", {})
    if r.get("status") != "ok" or r.get("nsm") != "emulated":
        fail("health: %s" % r)
    ok("health: %s" % json.dumps(r))
    a = generate("alice", False)
    b = generate("bob", True)
    for g, canon in ((a, b'{"allow_digest":false}'), (b, b'{"allow_digest":true}')):
        if g["policy_digest"] != "0x" + hashlib.sha256(canon).hexdigest():
            fail("policy_digest is not SHA-256 of %s" % canon)
    if CREDS["secret_access_key"] in json.dumps([a, b]):
        fail("secret in a reply")
    ok("generate_account: two accounts, address = computeAddress(public_key) (ethers), "
       "61-byte seal, policy digests = SHA-256 of the canonical policy")
    return a, b


def check_signing(a, b):
    acct = account(a, "alice", False)
    tx = {"type": 2, "chainId": 31337, "nonce": 7, "gas": 21000, "maxFeePerGas": "0x77359400",
          "maxPriorityFeePerGas": "0x3b9aca00", "to": "0x" + "11" * 20, "value": "1000000000000000000"}
    r = result("sign_transaction", {"account": acct, "credentials": CREDS, "transaction": tx})
    got = oracle({"kind": "tx", "raw": r["raw_transaction"]}, {"kind": "txhash", "raw": r["raw_transaction"]})
    if got != [a["address"], r["transaction_hash"]] or r["from"] != a["address"]:
        fail("sign_transaction: ethers says %s, reply %s" % (got, r))
    if r["signature"]["y_parity"] not in (0, 1) or r["signature"]["v"] != hex(r["signature"]["y_parity"]):
        fail("sign_transaction: signature %s" % r["signature"])
    ok("sign_transaction EIP-1559: ethers Transaction.from(raw).from and .hash match")
    legacy = {"chainId": 1, "nonce": 0, "gas": 21000, "gasPrice": "0x1", "to": "0x" + "22" * 20}
    r = result("sign_transaction", {"account": acct, "credentials": CREDS, "transaction": legacy})
    if oracle({"kind": "tx", "raw": r["raw_transaction"]}) != [a["address"]] or r["signature"]["v"] not in ("0x25", "0x26"):
        fail("sign_transaction legacy: %s" % r)
    ok("sign_transaction legacy EIP-155: ethers recovers the account, v = %s" % r["signature"]["v"])
    for text in ("hello nitrowallet", "ünïcødé ✓ \n multi-line"):
        r = result("sign_message", {"account": acct, "credentials": CREDS, "message": text})
        if oracle({"kind": "message", "text": text, "signature": r["signature"]}) != [a["address"]]:
            fail("sign_message %r" % text)
    r = result("sign_message", {"account": acct, "credentials": CREDS, "message_hex": "0xdeadbeef00"})
    if oracle({"kind": "message", "hex": "0xdeadbeef00", "signature": r["signature"]}) != [a["address"]]:
        fail("sign_message hex")
    ok("sign_message (text, unicode text, message_hex): ethers verifyMessage recovers the account")
    td = {"types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
                    "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}]},
          "primaryType": "Mail", "domain": {"name": "Ether Mail", "chainId": 1},
          "message": {"to": "0x" + "cd" * 20, "contents": "Hello, Bob!"}}
    r = result("sign_typed_data", {"account": acct, "credentials": CREDS, "typed_data": td})
    if oracle({"kind": "typed", "typed_data": td, "signature": r["signature"]}) != [a["address"]]:
        fail("sign_typed_data: %s" % r)
    if oracle({"kind": "digest", "digest": r["digest"], "signature": r["signature"]}) != [a["address"]]:
        fail("sign_typed_data: digest and signature disagree")
    ok("sign_typed_data: ethers verifyTypedData recovers the account")
    digest = "0x" + "ab" * 32
    expect_error("sign_digest", {"account": acct, "credentials": CREDS, "digest": digest}, "POLICY_DENIED",
                 "sign_digest on an account created with allow_digest false")
    forged = dict(acct, policy={"allow_digest": True})
    expect_error("sign_digest", {"account": forged, "credentials": CREDS, "digest": digest}, "SEAL_INVALID",
                 "sign_digest with the policy flipped to true by the host")
    r = result("sign_digest", {"account": account(b, "bob", True), "credentials": CREDS, "digest": digest})
    if oracle({"kind": "digest", "digest": digest, "signature": r["signature"]}) != [b["address"]]:
        fail("sign_digest: %s" % r)
    ok("sign_digest allowed for the allow_digest account: ethers recoverAddress matches")


def check_swaps(a, b):
    msg = "swap"
    acct_a = account(a, "alice", False)
    swaps = {
        "encrypted_private_key": dict(acct_a, encrypted_private_key=b["encrypted_private_key"]),
        "encrypted_data_key": dict(acct_a, encrypted_data_key=b["encrypted_data_key"]),
        "address": dict(acct_a, address=b["address"]),
        "name": dict(acct_a, name="bob"),
    }
    for field, acct in swaps.items():
        expect_error("sign_message", {"account": acct, "credentials": CREDS, "message": msg}, "SEAL_INVALID",
                     "%s swapped between two accounts" % field)
    bad = dict(CREDS, secret_access_key="wrong-secret")
    expect_error("sign_message", {"account": acct_a, "credentials": bad, "message": msg}, "KMS_DENIED",
                 "wrong AWS secret key")


def check_bad_input(a):
    acct = account(a, "alice", False)
    good, rid = request("health", {})
    replies = exchange('{"v":1,"id":5,', "[1,2]", '{"v":2,"id":1,"op":"health","params":{}}',
                       '{"v":1,"id":1,"op":"health","params":{},"extra":1}', good)
    codes = [r.get("error", {}).get("code") for r in replies[:4]]
    if codes != ["BAD_REQUEST"] * 4 or replies[4].get("id") != rid or "result" not in replies[4]:
        fail("malformed requests: %s" % replies)
    ok("malformed JSON, non-object, wrong version, unknown envelope field -> BAD_REQUEST; "
       "the same connection then answers health")
    cases = [
        ("generate_account", {"name": "x y", "kms_key_id": KEY, "policy": {"allow_digest": False},
                              "credentials": CREDS}, "name with a space"),
        ("generate_account", {"name": "x", "kms_key_id": KEY, "policy": {"allow_digest": 1},
                              "credentials": CREDS}, "policy.allow_digest not a boolean"),
        ("sign_transaction", {"account": acct, "credentials": CREDS, "transaction": {"chainId": 1}},
         "transaction without nonce"),
        ("sign_message", {"account": acct, "credentials": CREDS, "message": "a", "message_hex": "0x00"},
         "message and message_hex together"),
        ("sign_digest", {"account": acct, "credentials": CREDS, "digest": "0x00"}, "short digest"),
        ("attestation", {"nonce": "0x" + "00" * 65}, "attestation nonce over 64 bytes"),
        ("sign_message", {"account": dict(acct, encrypted_data_key="!!"), "credentials": CREDS,
                          "message": "a"}, "encrypted_data_key not base64"),
    ]
    for op, params, what in cases:
        expect_error(op, params, "BAD_REQUEST", what)
    r = result("attestation", {"nonce": "0x" + "ab" * 64, "user_data": "0x01"})
    if len(base64.b64decode(r["document"])) < 500:
        fail("attestation document too short")
    ok("attestation with a 64-byte nonce and user data returns a document")


def check_pipelining():
    """Three requests written before any reply is read: replies in order, same connection."""
    import socket
    import struct
    path = SPEC[len("unix:"):]
    frames = [request("health", {})[0], "{nope", request("attestation", {"nonce": "0x01"})[0]]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    s.sendall(b"".join(struct.pack(">I", len(f)) + f.encode() for f in frames))
    replies = []
    buf = b""
    while len(replies) < 3:
        chunk = s.recv(65536)
        if not chunk:
            fail("pipelining: connection closed after %d replies" % len(replies))
        buf += chunk
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
            n = struct.unpack(">I", buf[:4])[0]
            replies.append(json.loads(buf[4:4 + n]))
            buf = buf[4 + n:]
    s.close()
    ids = [json.loads(f)["id"] if f.startswith('{"') else None for f in frames]
    if [r.get("id") for r in replies] != ids or "result" not in replies[0] or "error" not in replies[1] \
            or "document" not in replies[2].get("result", {}):
        fail("pipelining: %s" % replies)
    ok("pipelined requests (valid, malformed, valid) answered in order on one connection")


def check_busy():
    """Many parallel generate_account calls against a 1-worker, 1-slot enclave (BUSY_SPEC)."""
    spec = os.environ.get("BUSY_SPEC")
    if not spec:
        return
    lock = threading.Lock()

    def one(i, codes):
        frame, _ = request("generate_account", {"name": "busy%d" % i, "kms_key_id": KEY,
                                                "policy": {"allow_digest": False}, "credentials": CREDS})
        p = subprocess.run([CLIENT, spec, frame], capture_output=True, text=True)
        r = json.loads(p.stdout) if p.stdout.strip() else {}
        with lock:
            codes.append("ok" if "result" in r else r.get("error", {}).get("code", "none"))
    for _ in range(3):  # a very slow machine may serialise one round by accident
        codes = []
        threads = [threading.Thread(target=one, args=(i, codes)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if set(codes) - {"ok", "BUSY"}:
            fail("BUSY: %s" % codes)
        if "BUSY" in codes and "ok" in codes:
            break
    else:
        fail("BUSY never seen: %s" % codes)
    ok("24 parallel requests to 1 worker + queue 1: %d done, %d BUSY" % (codes.count("ok"), codes.count("BUSY")))


def main():
    a, b = check_accounts()
    check_signing(a, b)
    check_swaps(a, b)
    check_bad_input(a)
    check_pipelining()
    check_busy()
    with open(os.environ["ACCOUNT_OUT"], "w") as f:
        json.dump(account(a, "alice", False), f)


main()
