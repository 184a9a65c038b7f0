#!/usr/bin/env python3
"""hostile_clients.py - idle and slow-loris clients against nitrowallet-host
(tests/suites/host_slow_clients.sh, issue 11 point 3).

usage: hostile_clients.py PORT CA_PEM SIGNER_TOKEN HOST_PID REQUEST_TIMEOUT_S PER_IP OUT_JSON

  1. IDLE connections that never start the TLS handshake, spread over source
     addresses 127.0.0.2.. (each under the per-address limit);
  2. LORIS connections from 127.0.0.100 that finish the TLS handshake and
     then send one header byte a second;
  3. meanwhile, from 127.0.0.1, a normal client: GET /healthz on fresh
     connections (latency of each, TCP + TLS + request) and signing requests
     on a keep-alive connection;
  4. PER_IP + 100 connections from 127.0.0.200: the ones over the limit are
     closed by the server at once;
  5. after REQUEST_TIMEOUT_S (+ slack) every idle and loris connection must
     have been closed by the server: the deadline is not reset per byte.
Everything opened is closed at the end.  The host's thread count is read
from /proc while the connections are held.  Results go to OUT_JSON.
"""
import http.client
import json
import os
import resource
import socket
import ssl
import sys
import threading
import time

IDLE, LORIS = 2000, 200

port, ca, token, host_pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
req_timeout, per_ip, out_path = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

ctx = ssl.create_default_context(cafile=ca)
opened = []


def connect_from(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    opened.append(s)
    return s


def server_closed(s):
    """True when the server has closed (or reset) the connection."""
    s.setblocking(False)
    try:
        while True:  # TLS: skip records that carry no data (session tickets)
            if s.recv(4096) == b"":
                return True
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False  # nothing to read yet: still open
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
        return True
    except (ssl.SSLError, OSError):
        return True  # any other failure to read is the connection gone
    finally:
        s.setblocking(True)


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


t_start = time.monotonic()
idle = []
n_src = (IDLE + per_ip - 1) // (per_ip - 10)
for i in range(IDLE):
    idle.append(connect_from(f"127.0.0.{2 + i % n_src}"))
loris = []
for i in range(LORIS):
    raw = connect_from("127.0.0.100")
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    opened[-1] = s
    loris.append(s)
opened_s = time.monotonic() - t_start

stop = threading.Event()
line = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
dripped = [0]


def drip():
    i = 0
    while not stop.is_set() and i < len(line):
        for s in loris:
            try:
                s.send(line[i:i + 1])
            except OSError:
                pass
        i += 1
        dripped[0] = i
        stop.wait(1.0)


dripper = threading.Thread(target=drip, daemon=True)
dripper.start()

# --- the normal client while the connections are held -------------------------
threads_held = threads_of(host_pid)
health_ms, sign_ok, sign_fail = [], 0, []
api = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10,
                                  source_address=("127.0.0.1", 0))
load_until = max(time.monotonic() + 2.0, t_start + req_timeout - 1.5)  # before the first deadlines
while time.monotonic() < load_until:
    t0 = time.monotonic()
    h = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        h.request("GET", "/healthz")
        r = h.getresponse()
        r.read()
        ok = r.status == 200
    except Exception as e:  # a timeout is the failure being tested for
        ok = False
    finally:
        h.close()
    health_ms.append((time.monotonic() - t0) * 1000 if ok else 1e9)
    try:
        api.request("POST", "/v1/accounts/loris/sign/message", body=json.dumps({"message": f"m{len(health_ms)}"}),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = api.getresponse()
        body = r.read()
        if r.status == 200:
            sign_ok += 1
        else:
            sign_fail.append(f"{r.status} {body[:120]!r}")
    except Exception as e:
        sign_fail.append(repr(e))
        api.close()
        api = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    time.sleep(0.05)
api.close()
open_at_end_of_load = sum(1 for s in idle + loris if not server_closed(s))

# --- the per-address limit -------------------------------------------------------
burst = []
refused = 0
for i in range(per_ip + 100):
    try:
        burst.append(connect_from("127.0.0.200"))
    except OSError:
        refused += 1
time.sleep(1.0)
burst_closed = refused + sum(1 for s in burst if server_closed(s))

# --- after the deadline: everything the server should have closed ----------------
deadline_wait = opened_s + req_timeout + 3.0 - (time.monotonic() - t_start)  # past the last one opened
if deadline_wait > 0:
    time.sleep(deadline_wait)
stop.set()
dripper.join(timeout=5)
idle_closed = sum(1 for s in idle if server_closed(s))
loris_closed = sum(1 for s in loris if server_closed(s))
elapsed = time.monotonic() - t_start

for s in opened:
    try:
        s.close()
    except OSError:
        pass
left_open = sum(1 for s in opened if s.fileno() != -1)

health_ms.sort()
json.dump({
    "idle": IDLE, "loris": LORIS, "opened_in_s": round(opened_s, 2),
    "host_threads_while_held": threads_held,
    "still_open_after_load": open_at_end_of_load,
    "healthz_count": len(health_ms), "healthz_max_ms": round(health_ms[-1], 1) if health_ms else None,
    "healthz_p50_ms": round(health_ms[len(health_ms) // 2], 1) if health_ms else None,
    "sign_ok": sign_ok, "sign_fail": sign_fail[:5],
    "per_ip_attempts": per_ip + 100, "per_ip_closed": burst_closed,
    "idle_closed": idle_closed, "loris_closed": loris_closed, "loris_bytes_sent": dripped[0],
    "elapsed_s": round(elapsed, 1), "left_open_by_script": left_open,
}, open(out_path, "w"), indent=1)
