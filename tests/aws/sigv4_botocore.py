#!/usr/bin/python3
"""sigv4_botocore.py - nitrowallet's SigV4 against botocore's SigV4Auth.

Generates random requests (seeded; the seed is printed), signs each with
botocore.auth.SigV4Auth at a frozen random time, and checks that
build/tests/sigv4_tool computes the same Authorization header byte for byte.
Then it asks sigv4_tool verify to accept botocore's signed request and to
refuse mutated copies with the expected failure kind.

With --awscli it also captures three real requests of Debian's awscli
(/usr/bin/aws kms ... --endpoint-url, temporary credentials) on a loopback
HTTP listener and has sigv4_tool verify accept each and refuse it with one
body byte added.

Run with Debian's /usr/bin/python3 and python3-botocore (1.29):
    sigv4_botocore.py --tool build/tests/sigv4_tool [--count 500] [--seed N] [--awscli]

What the generator restricts, and why (docs/sigv4.md):
  * Query strings reach botocore in two ways.  With request.params (raw
    names and values) botocore encodes them itself, and the tool receives the
    query as a client could legally send it (reserved bytes raw or escaped,
    hex in either case, UTF-8 raw or escaped), so our decode-and-re-encode is
    checked against botocore's own encoding.  Spaces are sent as %20 or raw,
    never as '+': we read '+' as a literal plus (RFC 3986; smithy-rs's
    signer encodes it as %2B too), while botocore's own prepare() sends
    spaces as '+' - a divergence that cannot arise for KMS, whose requests
    have no query.  With a query in the
    URL botocore signs the pairs exactly as written, so those are generated
    already in canonical form (what botocore's serializers produce).
  * Header values are printable ASCII with spaces and tabs: botocore's
    str.split() would also fold Unicode spaces (U+00A0, U+2000...), which
    HTTP does not treat as whitespace; header names are RFC 9110 tokens.
  * No Date, Expect, User-Agent or X-Amzn-Trace-Id header is given to the
    signer: botocore replaces Date and never signs the other three, while
    nw_sigv4_sign signs every header it is given.  User-Agent and
    X-Amzn-Trace-Id are still sent, unsigned, to the verifier.
  * Methods are uppercase (botocore uppercases; we refuse lowercase).
"""
import argparse
import base64
import datetime
import http.server
import json
import os
import random
import subprocess
import sys
import threading
import time
import types
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
PATH_EXTRA = "!$&'()*+,;=:@ \"<>\\^`{|}%"
UNICODE = ["\u00e9", "\u00fc", "\u4e2d", "\u6587", "\U0001f600", "\u00df", "\u03a9", "\u00a0", "\u20ac"]
QUERY_EXTRA = "!$&'()*+,;=:@/? #%\"<>[]\\^`{|}"
TCHAR_PUNCT = "!#$%&'*+-.^_`|~"
RESERVED_NAMES = {"host", "authorization", "date", "x-amz-date", "x-amz-security-token",
                  "x-amz-content-sha256", "expect", "user-agent", "x-amzn-trace-id"}
BLACKLIST = {"expect", "user-agent", "x-amzn-trace-id"}  # botocore.auth.SIGNED_HEADERS_BLACKLIST
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class FrozenDateTime(datetime.datetime):
    """datetime whose utcnow() is whatever the test set (botocore 1.29 takes
    the signing time from datetime.datetime.utcnow() in SigV4Auth.add_auth)."""
    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen


botocore.auth.datetime = types.SimpleNamespace(datetime=FrozenDateTime)


class Tool:
    """sigv4_tool --lines as a persistent child: one JSON line in, one out."""

    def __init__(self, path, verify):
        args = [path, "--lines"] + (["verify"] if verify else [])
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  encoding="utf-8")

    def ask(self, obj):
        self.p.stdin.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("sigv4_tool exited")
        return line.rstrip("\n")

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait()
        if rc != 0:
            raise RuntimeError(f"sigv4_tool exit status {rc}")


def rstr(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def gen_segment(rng):
    r = rng.random()
    if r < 0.08:
        return rng.choice([".", "..", ""])
    if r < 0.15:
        return rng.choice(["%2F", "%20", "%41%42", "%e2%82%ac", "%2E%2E", "%", "%zz"])
    out = []
    for _ in range(rng.randint(1, 10)):
        k = rng.random()
        if k < 0.6:
            out.append(rng.choice(UNRESERVED))
        elif k < 0.85:
            out.append(rng.choice(PATH_EXTRA))
        else:
            out.append(rng.choice(UNICODE))
    return "".join(out)


def gen_path(rng):
    segs = [gen_segment(rng) for _ in range(rng.randint(0, 6))]
    path = "/" + "/".join(segs)
    if segs and rng.random() < 0.3:
        path += "/"
    return path


def wire_char(rng, ch):
    """One character of a query name or value as a client may legally send it:
    escaped (hex digits in either case) or, where it may appear raw, raw.  A
    raw '+' is a literal plus for us, which is what botocore signs for '+'."""
    must_escape = ch in "&=#%" or ord(ch) < 0x20
    raw_odds = 0.9 if ch in UNRESERVED else 0.2 if ch == " " else 0.3 if ord(ch) >= 0x80 else 0.5
    if not must_escape and rng.random() < raw_odds:
        return ch
    return "".join("%" + (f"{b:02x}" if rng.random() < 0.3 else f"{b:02X}") for b in ch.encode())


def gen_query_text(rng):
    alphabet = UNRESERVED * 2 + QUERY_EXTRA + "".join(UNICODE)
    return rstr(rng, alphabet, 0, 8)


def gen_query(rng):
    """(mode, params or None, url_query, wire_query)"""
    r = rng.random()
    if r < 0.25:
        return "none", None, "", ""
    n = rng.randint(1, 6)
    names = [gen_query_text(rng) or "k" for _ in range(rng.randint(1, n))]
    pairs = [(rng.choice(names), gen_query_text(rng)) for _ in range(n)]
    if r < 0.65:  # params: botocore encodes them itself
        wire = "&".join("".join(wire_char(rng, c) for c in k) + "=" + "".join(wire_char(rng, c) for c in v)
                        for k, v in pairs)
        return "params", pairs, "", wire
    parts = []
    for k, v in pairs:  # URL: already canonical, as botocore's serializers write it
        ek = quote(k, safe="-_.~")
        parts.append(ek if (v == "" and rng.random() < 0.3) else ek + "=" + quote(v, safe="-_.~"))
    q = "&".join(parts)
    return "url", None, q, q


def gen_header_name(rng):
    while True:
        name = rstr(rng, UNRESERVED[:62] + "-" + (TCHAR_PUNCT if rng.random() < 0.2 else ""), 1, 16)
        r = rng.random()
        if r < 0.2:
            name = "X-Amz-" + name
        elif r < 0.3:
            name = "x-amz-meta-" + name
        name = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
        if name.lower() not in RESERVED_NAMES:
            return name


def gen_header_value(rng):
    if rng.random() < 0.1:
        return rng.choice(["", " ", "\t", "  \t "])
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    out = []
    for _ in range(rng.randint(0, 40)):
        out.append(rng.choice([" ", "  ", "\t", " \t  "]) if rng.random() < 0.2 else rng.choice(printable))
    return "".join(out)


def gen_request(rng):
    host = rng.choice(["example.amazonaws.com", "kms.us-east-1.amazonaws.com", "127.0.0.1:4566",
                       "localhost:8443", "kms.cn-north-1.amazonaws.com.cn"])
    mode, params, url_query, wire_query = gen_query(rng)
    headers = [("Host", host)]
    for _ in range(rng.randint(0, 8)):
        if headers[1:] and rng.random() < 0.15:  # same name again, possibly in another case
            name = rng.choice(headers[1:])[0]
            name = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
        else:
            name = gen_header_name(rng)
        headers.append((name, gen_header_value(rng)))
    if rng.random() < 0.3:
        headers.append(("Content-Type", rng.choice(["application/x-amz-json-1.1", "text/plain; charset=utf-8"])))
    if rng.random() < 0.3:
        headers.append(("X-Amz-Target", rng.choice(["TrentService.Decrypt", "TrentService.GenerateDataKey"])))
    r = rng.random()
    if r < 0.3:
        body = b""
    elif r < 0.7:
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000)))
    else:
        body = json.dumps({"KeyId": rstr(rng, UNRESERVED, 1, 30)}).encode()
    r = rng.random()
    payload = None
    if r < 0.2:
        payload = botocore.auth.sha256(body).hexdigest()
    elif r < 0.25:
        payload = "UNSIGNED-PAYLOAD"
    if payload is not None:
        headers.append((rng.choice(["X-Amz-Content-SHA256", "x-amz-content-sha256"]), payload))
    unsigned = []
    if rng.random() < 0.4:
        unsigned.append(("User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.1 botocore/2.9.19"))
    if rng.random() < 0.2:
        unsigned.append(("X-Amzn-Trace-Id", "Root=1-" + rstr(rng, "0123456789abcdef", 8, 8)))
    akid = ("AKIA" + rstr(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16) if rng.random() < 0.7
            else rstr(rng, UNRESERVED[:62], 1, 40))
    token = None if rng.random() < 0.5 else rstr(rng, B64, 100, 600) + rng.choice(["", "=", "=="])
    region = (rng.choice(["us-east-1", "eu-west-3", "cn-north-1", "ap-southeast-2", "us-gov-west-1"])
              if rng.random() < 0.7 else rstr(rng, "abcdefghijklmnopqrstuvwxyz", 2, 2) + "-"
              + rstr(rng, "abcdefghijklmnopqrstuvwxyz", 4, 9) + "-" + str(rng.randint(1, 9)))
    service = (rng.choice(["kms", "service", "sts", "execute-api", "s3", "dynamodb"]) if rng.random() < 0.7
               else rstr(rng, "abcdefghijklmnopqrstuvwxyz0123456789-", 1, 20))
    method = (rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]) if rng.random() < 0.9
              else rstr(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 10))
    start = datetime.datetime(2000, 1, 1)
    ts = start + datetime.timedelta(seconds=rng.randint(0, 100 * 365 * 86400))
    return {
        "method": method, "host": host, "path": gen_path(rng), "mode": mode, "params": params,
        "url_query": url_query, "wire_query": wire_query, "headers": headers, "unsigned": unsigned,
        "body": body, "akid": akid, "secret": rstr(rng, B64, 40, 40), "token": token, "region": region,
        "service": service, "ts": ts, "payload": payload,
    }


def sign_botocore(d):
    """Sign with botocore at d["ts"]; the request's headers afterwards."""
    url = "https://" + d["host"] + d["path"] + ("?" + d["url_query"] if d["url_query"] else "")
    hdrs = HTTPHeaders()
    for name, value in d["headers"] + d["unsigned"]:
        hdrs[name] = value  # email.message semantics: appends, keeps duplicates
    req = AWSRequest(method=d["method"], url=url, headers=hdrs, data=d["body"], params=d["params"] or {})
    FrozenDateTime.frozen = d["ts"]
    auth = SigV4Auth(Credentials(d["akid"], d["secret"], d["token"]), d["service"], d["region"])
    auth.add_auth(req)
    return list(req.headers.items()), auth, req


def tool_request(d, headers):
    out = {"method": d["method"], "path": d["path"], "query": d["wire_query"],
           "headers": [[n, v] for n, v in headers], "body_b64": base64.b64encode(d["body"]).decode(),
           "access_key": d["akid"], "secret_key": d["secret"], "region": d["region"], "service": d["service"]}
    if d["token"] is not None:
        out["session_token"] = d["token"]
    return out


def authorization_of(headers):
    return next(v for n, v in headers if n.lower() == "authorization")


def with_authorization(headers, value):
    return [(n, value if n.lower() == "authorization" else v) for n, v in headers]


def mutations(rng, d, vreq, headers):
    """(what, request, expected kind) for each mutation of a verified request."""
    authz = authorization_of(headers)
    signed = authz.split("SignedHeaders=")[1].split(",")[0].split(";")
    epoch = int(d["ts"].replace(tzinfo=datetime.timezone.utc).timestamp())
    out = []

    def mut(what, kind, **changes):
        m = dict(vreq)
        m.update(changes)
        out.append((what, m, kind))

    def hdrs(h):
        return [[n, v] for n, v in h]

    mut("method changed", "BAD_SIGNATURE", method="POST" if d["method"] == "GET" else "GET")
    mut("path changed", "BAD_SIGNATURE", path=d["path"] + "zz")
    mut("query changed", "BAD_SIGNATURE", query=d["wire_query"] + ("&" if d["wire_query"] else "") + "zzmut=1")
    choices = [i for i, (n, _) in enumerate(headers)
               if n.lower() in signed and n.lower() not in ("x-amz-date", "x-amz-content-sha256")]
    i = rng.choice(choices)
    changed = [(n, v + "Z" if k == i else v) for k, (n, v) in enumerate(headers)]
    mut(f"signed header {headers[i][0]} changed", "BAD_SIGNATURE", headers=hdrs(changed))
    mut("body changed", "BAD_SIGNATURE", body_b64=base64.b64encode(d["body"] + b"x").decode())
    mut("x-amz-date too old", "EXPIRED", now=epoch + 301 + rng.randint(0, 10**6))
    mut("x-amz-date in the future", "EXPIRED", now=epoch - 301 - rng.randint(0, 10**6))
    mut("wrong secret", "BAD_SIGNATURE", secret_key=("A" if d["secret"][0] != "A" else "B") + d["secret"][1:])
    mut("unknown key id", "UNKNOWN_KEY", access_key=d["akid"] + "X")
    mut("wrong service", "BAD_SIGNATURE", service=d["service"] + "x")
    cut = rng.randint(0, len(authz) - 1)
    mut(f"Authorization truncated to {cut}", "MALFORMED", headers=hdrs(with_authorization(headers, authz[:cut])))
    k = len(authz) - 1 - rng.randint(0, 63)
    flipped = authz[:k] + ("0" if authz[k] != "0" else "1") + authz[k + 1:]
    mut("one signature digit changed", "BAD_SIGNATURE", headers=hdrs(with_authorization(headers, flipped)))
    no_host = authz.replace("SignedHeaders=" + ";".join(signed),
                            "SignedHeaders=" + ";".join(s for s in signed if s != "host"))
    mut("host not in SignedHeaders", "MALFORMED", headers=hdrs(with_authorization(headers, no_host)))
    mut("unsigned x-amz-* header", "MALFORMED", headers=hdrs(headers + [("X-Amz-Mutant", "1")]))
    return out


class Tally:
    def __init__(self, seed):
        self.passed = self.failed = 0
        self.seed = seed

    def check(self, ok, index, what, detail):
        if ok:
            self.passed += 1
            return
        self.failed += 1
        if self.failed <= 25:
            print(f"FAIL seed={self.seed} request={index}: {what}\n    {detail}")


def run_one(rng, index, signer, verifier, tally, stats):
    d = gen_request(rng)
    headers, auth, req = sign_botocore(d)
    want = authorization_of(headers)
    to_sign = [(n, v) for n, v in headers if n.lower() not in BLACKLIST and n.lower() != "authorization"]
    got = signer.ask(tool_request(d, to_sign))
    detail = f"botocore: {want}\n    ours:     {got}"
    if got != want:
        del req.headers["Authorization"]
        detail += "\n    botocore canonical request:\n      " + auth.canonical_request(req).replace("\n", "\n      ")
    tally.check(got == want, index, "Authorization differs from botocore's", detail)
    stats["mode:" + d["mode"]] = stats.get("mode:" + d["mode"], 0) + 1
    stats["session token"] += d["token"] is not None
    stats["empty body"] += d["body"] == b""
    vreq = tool_request(d, headers)
    epoch = int(d["ts"].replace(tzinfo=datetime.timezone.utc).timestamp())
    vreq["now"] = epoch + rng.randint(-300, 300)
    expect = "BAD_SIGNATURE" if d["payload"] == "UNSIGNED-PAYLOAD" else "OK"
    answer = verifier.ask(vreq)
    tally.check(answer.split(" ")[0] == expect, index, f"verify of botocore's request: want {expect}", answer)
    if expect != "OK":
        return
    for what, m, kind in mutations(rng, d, vreq, headers):
        answer = verifier.ask(m)
        tally.check(answer.split(" ")[0] == kind, index, f"mutation '{what}': want {kind}", answer)


class Capture(http.server.BaseHTTPRequestHandler):
    """Records each POST as a sigv4_tool request and answers like KMS."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _, query = self.path.partition("?")
        Capture.seen.append({"method": self.command, "path": path, "query": query,
                             "headers": [[k, v] for k, v in self.headers.items()],
                             "body_b64": base64.b64encode(body).decode()})
        out = b'{"Keys":[],"Aliases":[],"KeyMetadata":{"KeyId":"k"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def check_awscli(tool, tally):
    akid, secret = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    server = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=akid, AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN="tok/en+==",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    calls = [["list-keys"], ["describe-key", "--key-id", "alias/a b"],
             ["encrypt", "--key-id", "k", "--plaintext", "aGVsbG8=", "--encryption-context", "a=b"]]
    try:
        for args in calls:
            subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{server.server_address[1]}",
                            "--region", "eu-west-3", "kms"] + args, env=env, capture_output=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    tally.check(len(Capture.seen) == len(calls), "awscli", f"{len(calls)} requests captured", Capture.seen)
    verifier = Tool(tool, True)
    for i, q in enumerate(Capture.seen):
        q.update(access_key=akid, secret_key=secret, region="eu-west-3", service="kms", now=int(time.time()))
        answer = verifier.ask(q)
        tally.check(answer == "OK", f"awscli {i}", "verify of awscli's request", answer)
        q["body_b64"] = base64.b64encode(base64.b64decode(q["body_b64"]) + b" ").decode()
        answer = verifier.ask(q)
        tally.check(answer.startswith("BAD_SIGNATURE"), f"awscli {i}", "awscli's request, body changed", answer)
    verifier.close()
    print(f"awscli: {len(Capture.seen)} real requests (kms {', '.join(c[0] for c in calls)}) verified, and"
          " refused with one body byte added")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--awscli", action="store_true")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"sigv4_botocore: botocore {botocore.__version__}, {args.count} random requests, seed {seed}"
          f" (rerun: --seed {seed})")
    rng = random.Random(seed)
    signer, verifier = Tool(args.tool, False), Tool(args.tool, True)
    tally = Tally(seed)
    stats = {"session token": 0, "empty body": 0}
    for i in range(args.count):
        run_one(rng, i, signer, verifier, tally, stats)
    signer.close()
    verifier.close()
    if args.awscli:
        check_awscli(args.tool, tally)
    print("request mix: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    print("checked: Authorization byte for byte against botocore, verification of botocore's request, and 14"
          " mutations each (method, path, query, signed header, body, date both ways, secret, key id, service,"
          " truncated Authorization, one signature digit, host unsigned, unsigned x-amz-* header)")
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
