#!/usr/bin/env python3
"""A throttling TCP proxy on loopback: a wide-area link between clients and the apiserver.

    python3 bench/wanproxy.py --target 127.0.0.1:6443 [--mbit 100] [--rtt-ms 20]

prints `PORT CONTROL_PORT` on its first line and runs until killed. Every byte, both ways, is
delayed by half the round-trip time and paced at the link's bandwidth; each direction is one link
shared by every connection (as one client's uplink and downlink are). TLS passes through untouched
(the clients' kubeconfig points its server at PORT; the apiserver's certificate names 127.0.0.1).
A connection to CONTROL_PORT answers `UP DOWN CONNECTIONS\n`: the bytes carried client-to-server
and server-to-client, and the connections opened, since the start (the bench reads them before and
after a measure: bytes on the wire per command).

What it does not model: loss, TCP slow start over the link (the loopback TCP windows are already
open), and a send buffer that fills (it reads as fast as the sender sends and queues what the link
has not carried yet).
"""

from __future__ import annotations

import argparse
import queue
import socket
import sys
import threading
import time

CHUNK = 16384


class Link:
    """One direction: a queue served at `rate` bytes/s, then `delay` seconds of propagation."""

    def __init__(self, rate: float, delay: float):
        self.rate, self.delay = rate, delay
        self.free_at = 0.0
        self.bytes = 0
        self.lock = threading.Lock()

    def due(self, n: int, arrived: float) -> float:
        """When `n` bytes that arrived at `arrived` have crossed the link (their last byte)."""
        with self.lock:
            start = max(arrived, self.free_at)
            self.free_at = start + n / self.rate
            self.bytes += n
            return self.free_at + self.delay


def pipe(src: socket.socket, dst: socket.socket, link: Link) -> None:
    """Carry src -> dst over `link`: a reader stamps each chunk, a writer releases it when due."""
    chunks: queue.Queue = queue.Queue()

    def read():
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                chunks.put((link.due(len(data), time.monotonic()), data))
        except OSError:
            pass
        chunks.put((link.free_at + link.delay, None))

    def write():
        try:
            while True:
                due, data = chunks.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if data is None:
                    dst.shutdown(socket.SHUT_WR)
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    threading.Thread(target=read, daemon=True).start()
    threading.Thread(target=write, daemon=True).start()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", required=True, help="HOST:PORT of the server")
    ap.add_argument("--mbit", type=float, default=100.0, help="bandwidth each way, Mbit/s (default 100)")
    ap.add_argument("--rtt-ms", type=float, default=20.0, help="round-trip time, ms (default 20)")
    args = ap.parse_args()
    host, _, port = args.target.rpartition(":")
    target = (host, int(port))
    rate, delay = args.mbit * 1e6 / 8, args.rtt_ms / 2000.0
    up, down = Link(rate, delay), Link(rate, delay)
    conns = [0]

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    control = socket.socket()
    control.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    control.bind(("127.0.0.1", 0))
    control.listen(16)

    def serve_control():
        while True:
            c, _ = control.accept()
            with c:
                c.sendall(f"{up.bytes} {down.bytes} {conns[0]}\n".encode())

    threading.Thread(target=serve_control, daemon=True).start()
    print(listener.getsockname()[1], control.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()

        def connect(client=client):
            # the TCP handshake crosses the link too: one round trip before the first byte
            time.sleep(2 * delay)
            try:
                server = socket.create_connection(target)
            except OSError:
                client.close()
                return
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns[0] += 1
            pipe(client, server, up)
            pipe(server, client, down)

        threading.Thread(target=connect, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
