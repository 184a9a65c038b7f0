#!/usr/bin/python3
"""ddb_fault_proxy.py UPSTREAM_URL - a loopback HTTP proxy between
nitrowallet-host and a DynamoDB endpoint (dynalite) that injects faults on
command, for tests/suites/host_dynamodb_faults.sh.

Listens on 127.0.0.1, an ephemeral port, and prints
"fault proxy listening on http://127.0.0.1:PORT".  POST / is DynamoDB
traffic: forwarded byte for byte (body and the signed headers) unless a
fault applies.  Control, by GET (never sent by the host):

  /__fault/set?mode=M&n=N[&skip=K][&target=OP]
      the next N requests (after letting K pass) whose X-Amz-Target ends in
      .OP (any op if no target) get fault M:
        throttle    400 ThrottlingException
        pte         400 ProvisionedThroughputExceededException
        rle         400 RequestLimitExceeded
        500         500 InternalServerError
        503         503 with a plain-text body (a load balancer's)
        validation  400 ValidationException (a client error)
        lose        forwarded, then answered 500 (applied, reply lost)
        down        connection closed without a reply
  /__fault/barrier?target=OP&n=N
      hold the next N requests for OP until all N have arrived (20 s at
      most), then forward them together: concurrent writes, for certain
  /__fault/stats  {"OP": {"requests": r, "injected": i}, ...} since reset
  /__fault/reset  clear faults, barrier and counters
"""
import http.client
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
LOCK = threading.Condition()
STATE = {"fault": None, "barrier": None, "stats": {}}

TYPES = {
    "throttle": (400, "ThrottlingException"),
    "pte": (400, "ProvisionedThroughputExceededException"),
    "rle": (400, "RequestLimitExceeded"),
    "500": (500, "InternalServerError"),
    "validation": (400, "ValidationException"),
}
FORWARD = ("Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization", "X-Amz-Security-Token")


def decide(op):
    """Count the request; return the fault mode to apply, or None."""
    with LOCK:
        s = STATE["stats"].setdefault(op, {"requests": 0, "injected": 0})
        s["requests"] += 1
        f = STATE["fault"]
        if f is None or f["n"] <= 0 or (f["target"] and f["target"] != op):
            return None
        if f["skip"] > 0:
            f["skip"] -= 1
            return None
        f["n"] -= 1
        s["injected"] += 1
        return f["mode"]


def barrier(op):
    with LOCK:
        b = STATE["barrier"]
        if b is None or b["target"] != op or b["arrived"] >= b["n"]:
            return
        b["arrived"] += 1
        LOCK.notify_all()
        LOCK.wait_for(lambda: b["arrived"] >= b["n"], timeout=20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="application/x-amz-json-1.0"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        with LOCK:
            if u.path == "/__fault/set":
                STATE["fault"] = {"mode": q["mode"], "n": int(q["n"]), "skip": int(q.get("skip", 0)),
                                  "target": q.get("target")}
            elif u.path == "/__fault/barrier":
                STATE["barrier"] = {"target": q["target"], "n": int(q["n"]), "arrived": 0}
            elif u.path == "/__fault/reset":
                STATE.update(fault=None, barrier=None, stats={})
            elif u.path != "/__fault/stats":
                return self.reply(404, "{}")
            body = json.dumps(STATE["stats"], sort_keys=True)
        self.reply(200, body, "application/json")

    def forward(self, body):
        c = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        try:
            c.request("POST", "/", body, {h: self.headers[h] for h in FORWARD if self.headers[h] is not None})
            r = c.getresponse()
            return r.status, r.read().decode(), r.getheader("Content-Type", "application/x-amz-json-1.0")
        finally:
            c.close()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        op = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        mode = decide(op)
        if mode is None:
            barrier(op)
            return self.reply(*self.forward(body))
        if mode == "down":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "503":
            return self.reply(503, "Service Unavailable", "text/plain")
        if mode == "lose":
            self.forward(body)
            mode = "500"
        status, t = TYPES[mode]
        self.reply(status, json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#" + t, "message": "injected " + t}))


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("fault proxy listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
