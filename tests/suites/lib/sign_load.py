"""sign_load.py URL TOKEN ACCOUNT PREFIX THREADS OUT SECONDS - a signing load
that keeps what it was given: THREADS keep-alive connections (http.client)
each POST /v1/accounts/ACCOUNT/sign/message in a loop, and every 200 reply,
once its body has been read in full, is appended to OUT as one JSON line
{"request_id", "body", "signature"} (flushed at once: a line exists only
for a signature the client really received).  A thread stops at its first
transport error (the host was killed) or after SECONDS.  Prints a JSON
summary: ok, statuses other than 200, transport errors.

Used by tests/suites/host_durability.sh."""
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, token, account, prefix, threads, out_path, seconds = sys.argv[1:8]
u = urllib.parse.urlsplit(url)
path = "/v1/accounts/%s/sign/message" % account
deadline = time.monotonic() + float(seconds)
lock = threading.Lock()
out = open(out_path, "a", buffering=1)
summary = {"ok": 0, "other_status": {}, "transport_errors": 0}


def worker(t):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    i = 0
    while time.monotonic() < deadline:
        body = json.dumps({"message": "%s-%d-%d" % (prefix, t, i)})
        i += 1
        try:
            conn.request("POST", path, body=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            with lock:
                summary["transport_errors"] += 1
            return
        with lock:
            if resp.status != 200:
                summary["other_status"][resp.status] = summary["other_status"].get(resp.status, 0) + 1
                continue
            sig = json.loads(data)["signature"]
            out.write(json.dumps({"request_id": resp.getheader("X-Request-Id"), "body": body,
                                  "signature": sig}) + "\n")
            summary["ok"] += 1


ts = [threading.Thread(target=worker, args=(t,)) for t in range(int(threads))]
for th in ts:
    th.start()
for th in ts:
    th.join()
out.close()
print(json.dumps(summary))
