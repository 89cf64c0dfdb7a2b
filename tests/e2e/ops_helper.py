#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run inside a node's network namespace by test_ops.py (abstract sockets and
the loopback are per network namespace).

  ops_helper.py listen ADDR       a NOTIFY_SOCKET listener, like systemd's: an
                                  AF_UNIX datagram socket (ADDR a path or
                                  @abstract) with SO_PASSCRED; prints one JSON
                                  line per datagram: sender pid, uid, text
  ops_helper.py http HOST PORT    reads a JSON list of raw requests (latin-1
                                  strings) on stdin, sends each on its own
                                  connection, prints a JSON list of answers
                                  (raw text, or {"error": "..."})
"""
import json
import os
import socket
import struct
import sys


def listen(addr):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
    if not addr.startswith("@"):
        os.chmod(addr, 0o777)  # the daemon runs as nobody
    print(json.dumps({"listening": addr}), flush=True)
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = uid = None
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid, uid, _ = struct.unpack("iII", data[:12])
        print(json.dumps({"pid": pid, "uid": uid, "text": msg.decode("utf-8", "replace")}), flush=True)


def http(host, port):
    out = []
    for req in json.load(sys.stdin):
        try:
            c = socket.create_connection((host, int(port)), timeout=10)
        except OSError as e:
            out.append({"error": type(e).__name__})
            continue
        try:
            c.sendall(req.encode("latin-1"))
            data = b""
            while len(data) < 8 << 20:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            out.append(data.decode("utf-8", "replace"))
        except OSError as e:
            out.append({"error": type(e).__name__})
        finally:
            c.close()
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2])
    else:
        http(sys.argv[2], sys.argv[3])
