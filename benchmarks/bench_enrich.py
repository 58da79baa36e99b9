"""``linksift enrich --pages`` against a loopback HTTP server: pages fetched and read per
second (no pause between requests, four at a time per host; real sites get two and half a
second apart), and the same links again from the cache, measured in the same run."""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl

from benchmarks.common import WORK, Result
from serving.enrich import PageOptions, enrich_pages

TARGET = "https://www.example-target.com/guide/"
PAGE = (
    "<html lang=en><head><title>A page about bread</title></head><body><nav>"
    + "".join(f'<a href="/p{i}">menu {i}</a>' for i in range(30))
    + "</nav><main><article>"
    + "<p>Some words about baking bread at home. </p>" * 40
    + f'<p>See <a href="{TARGET}">the guide</a> for more.</p></article></main>'
    + "<footer>"
    + "".join(f'<a href="https://x{i}.example/">x</a>' for i in range(20))
    + "</footer></body></html>"
).encode()


class _Page(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200 if self.path != "/robots.txt" else 404)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


def run(quick: bool = False) -> list[Result]:
    n = 200 if quick else 2000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    links = pl.DataFrame(
        {"source_url": [f"{site}/page-{i}" for i in range(n)], "target_url": [TARGET] * n}
    )
    WORK.mkdir(parents=True, exist_ok=True)
    cache = WORK / "enrich-pages.db"
    cache.unlink(missing_ok=True)
    options = PageOptions(cache=cache, allow_private=True, delay=0, per_host=4)
    started = time.perf_counter()
    out, _ = enrich_pages(links, options)
    fetched = time.perf_counter() - started
    assert (out["page_status"] == "link found").all()
    started = time.perf_counter()
    enrich_pages(links, options)
    cached = time.perf_counter() - started
    server.shutdown()
    cache.unlink(missing_ok=True)
    return [
        Result(
            "enrich",
            f"pages fetched and read per second, {n:,} pages of 9 KB on loopback",
            n / fetched,
            "pages/s",
            "the same links from the cache",
            n / cached,
        )
    ]


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(r.row())
