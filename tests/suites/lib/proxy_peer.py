#!/usr/bin/python3
"""proxy_peer.py - the independent ends around nitrowallet-host's KMS proxy
(tests/suites/kms_proxy.sh): a recording tap in front of nitrowallet-kms, an
echo-after-EOF server, clients that probe half-close, idle timeout and the
connection bound, and a TLS record reader for what the tap recorded.

  tap PORTFILE TARGET_PORT DUMPDIR   relay 127.0.0.1:0 -> 127.0.0.1:TARGET_PORT,
                                     appending each connection's bytes to
                                     DUMPDIR/<n>.up (to the target) and .down
  echo-eof PORTFILE                  read until EOF, then send it all back, close
  halfclose SOCK BYTES               send BYTES random bytes, shutdown(SHUT_WR),
                                     expect the same bytes back, then EOF
  idle SOCK                          connect, send nothing; print seconds to EOF
  hold SOCK N READYFILE STOPFILE     keep N connections (one byte sent each)
                                     until STOPFILE exists
  closed SOCK                        expect EOF (or reset) within 15 s
  tls-records FILE...                check each file is a whole sequence of TLS
                                     records; print "records bytes"
"""
import os
import socket
import sys
import threading
import time


def listen_tcp(portfile):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmp, portfile)
    return s


def pump(src, dst, out):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            with open(out, "ab") as f:
                f.write(b)
            dst.sendall(b)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def tap(portfile, target, dumpdir):
    s = listen_tcp(portfile)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        r = socket.create_connection(("127.0.0.1", int(target)))
        for a, b, suffix in ((c, r, "up"), (r, c, "down")):
            threading.Thread(target=pump, args=(a, b, os.path.join(dumpdir, "%d.%s" % (n, suffix))),
                             daemon=True).start()


def echo_eof(portfile):
    s = listen_tcp(portfile)

    def serve(c):
        data = bytearray()
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            c.sendall(data)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def unix(path, timeout=15):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(path)
    return c


def read_all(c):
    data = bytearray()
    while True:
        b = c.recv(65536)
        if not b:
            return bytes(data)
        data += b


def halfclose(path, nbytes):
    payload = os.urandom(int(nbytes))
    c = unix(path, 30)
    c.sendall(payload)
    c.shutdown(socket.SHUT_WR)
    got = read_all(c)
    if got != payload:
        sys.exit("half-close: sent %d bytes, got %d back (equal: %s)" % (len(payload), len(got), got == payload))
    print("echoed %d bytes after the half-close" % len(got))


def idle(path):
    c = unix(path, 60)
    t0 = time.monotonic()
    got = read_all(c)
    print("%.2f %d" % (time.monotonic() - t0, len(got)))


def hold(path, n, readyfile, stopfile):
    conns = []
    for _ in range(int(n)):
        c = unix(path)
        c.sendall(b"x")
        conns.append(c)
    open(readyfile, "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        time.sleep(0.1)
    for c in conns:
        c.close()


def closed(path):
    c = unix(path)
    try:
        c.sendall(b"y")
        got = c.recv(1)
    except (ConnectionResetError, BrokenPipeError):  # closed before or after our byte
        got = b""
    except socket.timeout:
        sys.exit("the connection stayed open")
    if got:
        sys.exit("the connection answered %r" % got)
    print("closed")


def tls_records(files):
    """RFC 8446 section 5.1: type(1) legacy_version(2) length(2) fragment."""
    records = total = 0
    for name in files:
        data = open(name, "rb").read()
        i = 0
        while i < len(data):
            if len(data) - i < 5:
                sys.exit("%s: %d trailing bytes are not a record header" % (name, len(data) - i))
            ctype, major, minor, length = data[i], data[i + 1], data[i + 2], int.from_bytes(data[i + 3:i + 5], "big")
            if ctype not in (20, 21, 22, 23) or major != 3 or minor not in (1, 3) or length > 16384 + 256:
                sys.exit("%s: offset %d is not a TLS record (type %d, version %d.%d, length %d)"
                         % (name, i, ctype, major, minor, length))
            if i == 0 and ctype != 22:
                sys.exit("%s: the stream does not start with a handshake record" % name)
            i += 5 + length
            records += 1
        if i != len(data):
            sys.exit("%s: the last record is cut short" % name)
        total += len(data)
    print(records, total)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tls-records":
        tls_records(args)
    else:
        {"tap": tap, "echo-eof": echo_eof, "halfclose": halfclose, "idle": idle, "hold": hold,
         "closed": closed}[cmd](*args)
