#!/usr/bin/env python3
"""The raw-bytes floor: API paths fetched and thrown away, as a client that does nothing else would.

    python3 bench/floor.py --server URL --token T [--ca FILE] [--concurrent] PATH...

Each PATH (with its query: selectors) is a GET; one that names a collection is a LIST, fetched in
pages of --limit (500, as kubectl and kubectl-ds ask) with `continue`, asking for gzip as kubectl
does (Accept-Encoding: gzip). Bodies are read to their end and dropped: only the first few KiB of
each page are inflated, to find its `continue` token. --concurrent sends the paths at once (one
connection each), as `kubectl ds why` does; otherwise one after another on one connection.
Prints `PAGES BYTES` (pages fetched, bytes received in bodies, compressed) to stdout.
"""

from __future__ import annotations

import argparse
import http.client
import re
import ssl
import sys
import threading
import zlib
from urllib.parse import quote, urlsplit

CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"]*)"')
LISTS = re.compile(r"/(nodes|pods|daemonsets|controllerrevisions|events|namespaces)$")


class Client:
    def __init__(self, server: str, token: str, ca: str | None):
        url = urlsplit(server)
        if url.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
            self.conn = http.client.HTTPSConnection(url.hostname, url.port or 443, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(url.hostname, url.port or 80)
        self.headers = {"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": "kds-floor",
                        "Authorization": f"Bearer {token}"}
        self.pages = self.bytes = 0

    def get(self, path: str) -> bytes:
        """GET `path`, read its body to the end; the first bytes of it, inflated."""
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        if resp.status != 200:
            raise SystemExit(f"GET {path}: {resp.status} {resp.read()[:200]!r}")
        gz = (resp.getheader("Content-Encoding") or "").lower() == "gzip"
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        head = b""
        while True:
            chunk = resp.read(65536)
            if not chunk:
                break
            self.bytes += len(chunk)
            if len(head) < 4096:
                head += inflate.decompress(chunk, 4096) if inflate else chunk[:4096]
        self.pages += 1
        return head

    def fetch(self, path: str, limit: int) -> None:
        base, _, query = path.partition("?")
        if not LISTS.search(base):
            self.get(path)
            return
        token = ""
        while True:
            q = "&".join(x for x in (query, f"limit={limit}", f"continue={quote(token)}" if token else "") if x)
            head = self.get(f"{base}?{q}")
            found = CONTINUE.search(head.split(b'"items"', 1)[0])
            token = found.group(1).decode() if found else ""
            if not token:
                return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--concurrent", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    clients = [Client(args.server, args.token, args.ca) for _ in (args.paths if args.concurrent else [0])]
    if args.concurrent:
        threads = [threading.Thread(target=c.fetch, args=(p, args.limit)) for c, p in zip(clients, args.paths)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for p in args.paths:
            clients[0].fetch(p, args.limit)
    print(sum(c.pages for c in clients), sum(c.bytes for c in clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
