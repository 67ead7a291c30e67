"""A loopback TCP proxy that a test can cut: every open connection is reset at once, for real,
as a flaky network or an apiserver restart would do to a long-running watch."""

from __future__ import annotations

import socket
import struct
import threading


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> int:
        """Reset every open connection (RST, not a graceful close). Returns how many were cut."""
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                # linger 0: the close that follows sends RST; SHUT_RD wakes the pipe thread blocked
                # in recv (a bare close() from here would leave the connection open underneath it)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        self.cuts += 1
        return len(conns)

    def close(self):
        self.closed = True
        self.listener.close()
        self.cut()
