#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A mesh node in Python, for the bindings' netns test (and as an example):
asyncio drives the library's loop and reads commands from stdin on the same
loop. Prints every event and answer as one JSON line.

Usage: node_main.py CONFIG_FILE
stdin: "snapshot" | "metrics" | "join MULTIADDR" | "rotate" | "set-psk CONFIG_FILE" |
"admission-token [TOKEN]" | "admission-publish REVOCATION" | "leave" | "stop";
exits after "stopped". With W2W_PY_LOG=1 the node's log lines are printed too
({"event": "log", ...}).
"""
import asyncio
import dataclasses
import json
import os
import sys

if not os.environ.get("W2W_PY_INSTALLED"):  # test_package.py runs it against the installed package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from w2wesher import Config, Error, Loop, Node  # noqa: E402


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main(path):
    loop = Loop()
    cfg = Config.load(path, generate=True, env=True)
    if os.environ.get("W2W_PY_LOG"):
        node = Node(loop, cfg, log=lambda level, msg: out({"event": "log", "level": level, "message": msg}))
    else:
        node = Node(loop, cfg)  # no log sink: log lines go to the "w2wesher.node" logger
    cfg.close()  # the node has its own copy
    node.add_callback(lambda ev: out({"event": ev.type, **dataclasses.asdict(ev)}))
    aio = asyncio.get_running_loop()
    lines = asyncio.Queue()
    buf = bytearray()

    def on_stdin():
        data = os.read(0, 4096)
        if not data:
            aio.remove_reader(0)
            lines.put_nowait(None)
            return
        buf.extend(data)
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            lines.put_nowait(line.decode().strip())
    aio.add_reader(0, on_stdin)
    node.start()
    out({"event": "started", "peer_id": node.snapshot().self.peer_id})

    async def commands():
        while True:
            line = await lines.get()
            try:
                if line is None or line == "stop":
                    node.stop()
                    return
                if line == "leave":
                    node.leave()
                    return
                if line == "snapshot":
                    out({"event": "snapshot", **dataclasses.asdict(node.snapshot())})
                elif line.startswith("join "):
                    node.join(line[5:])
                elif line == "rotate":
                    node.rotate_wg_key()
                elif line == "metrics":
                    out({"event": "metrics", "metrics": {m.name: dataclasses.asdict(m)
                                                         for m in node.metrics().values()}})
                elif line.startswith("set-psk "):
                    with Config.load(line[8:]) as new:  # [P2P] PSK/PSKFile/NextPSKFile of the edited file
                        node.set_psk(new)
                    out({"event": "psk-set"})
                elif line.split(" ", 1)[0] == "admission-token":
                    node.set_admission_token(line[16:] or None)
                    out({"event": "token-set"})
                elif line.startswith("admission-publish "):
                    out({"event": "published", "new": node.admission_publish(line[18:])})
            except Error as e:
                out({"event": "command-error", "command": line, "error": str(e), "code": e.code})
    await commands()
    await node.wait_stopped(timeout=30)
    aio.remove_reader(0)  # False when stdin already ended
    node.close()
    loop.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
