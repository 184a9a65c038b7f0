#!/usr/bin/env python3
"""drip_proxy.py LISTEN_PORT_FILE UPSTREAM_PORT [DELAY_S]

A TCP proxy on 127.0.0.1 for the KMS deadline test (tests/suites/kms_deadline.sh):
bytes from the client go upstream at once; bytes from upstream go back to the
client one at a time, DELAY_S (default 1) apart, the way a hostile parent
instance could relay KMS's answers to the enclave.  Writes the port it
listens on to LISTEN_PORT_FILE, serves until killed, and appends one line per
connection to stdout ("closed after N bytes in S s") when the client goes.
"""
import socket
import sys
import threading
import time


def pump_up(client, upstream):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            upstream.sendall(data)
    except OSError:
        pass


def serve(client, upstream_port, delay):
    start = time.monotonic()
    sent = 0
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump_up, args=(client, upstream), daemon=True).start()
    try:
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            for i in range(len(data)):
                client.sendall(data[i:i + 1])
                sent += 1
                time.sleep(delay)
    except OSError:
        pass
    finally:
        print("closed after %d bytes in %.1f s" % (sent, time.monotonic() - start), flush=True)
        client.close()
        upstream.close()


def main():
    port_file, upstream_port = sys.argv[1], int(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=serve, args=(client, upstream_port, delay), daemon=True).start()


if __name__ == "__main__":
    main()
