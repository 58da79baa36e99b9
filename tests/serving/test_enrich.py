"""`linksift enrich --pages` against a real HTTP server on loopback: what each page says about
its link, politeness (robots.txt, caps, redirects, the cache), and the private-address guard."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest

from serving.enrich import PageOptions, enrich_pages, read_page
from tests.conftest import ROOT, run_cli

TARGET = "https://www.lamicrodeflo.fr/guide-tva/"
LINK = f'<a href="{TARGET}"'
PAGES = {
    "/article": (
        200,
        "text/html; charset=utf-8",
        f"""<html lang="fr-FR"><head><title>Guide TVA des indépendants</title></head><body>
        <nav><a href="/">Accueil</a></nav>
        <main><article><p>Pour la TVA en micro-entreprise, lisez {LINK}>le guide de Flo</a>
        qui explique tout, pas à pas.</p>
        <p><a href="https://other.example/x">ailleurs</a></p></article></main>
        <footer><a href="https://partner.example/">partenaire</a></footer></body></html>""",
    ),
    "/footer": (
        200,
        "text/html",
        f"""<html><head><title>Footer</title></head><body><main><p>texte</p></main>
        <footer class="site-footer">{LINK} rel="nofollow sponsored">micro entreprise</a>
        </footer></body></html>""",
    ),
    "/sidebar": (
        200,
        "text/html",
        f"""<html><body><div class="content">x</div><div class="widget_links">
        <ul><li>{LINK}><img src="logo.png" alt="La micro de Flo"></a></li></ul></div>
        </body></html>""",
    ),
    "/comments": (
        200,
        "text/html",
        f"""<html><body><article><p>post</p></article><div id="comments"><p>Bravo ! Voir
        {LINK} rel="ugc">ici</a> merci</p></div></body></html>""",
    ),
    "/gone": (200, "text/html", "<html><body><p>no link here any more</p></body></html>"),
    "/private/page": (200, "text/html", f"<html><body>{LINK}>x</a></body></html>"),
    "/missing": (404, "text/html", "not found"),
    "/file.pdf": (200, "application/pdf", "%PDF-1.4"),
    "/big": (200, "text/html", "<html><body>" + "a" * 3_000_000 + "</body></html>"),
    "/loop": (302, "text/html", ""),
    "/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
}


class _Pages(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    stall: ClassVar[threading.Event] = threading.Event()  # set: "/stall" hangs

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/stall":
            while self.stall.is_set():
                time.sleep(0.05)
            self.path = "/article"
        status, kind, body = PAGES.get(self.path, (404, "text/plain", "no"))
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", kind)
        if status == 302:
            self.send_header("location", "/loop")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _links(site: str, paths: list[str], **given: list) -> pl.DataFrame:
    return pl.DataFrame(
        {"source_url": [site + p for p in paths], "target_url": [TARGET] * len(paths), **given}
    )


def test_each_page_says_where_its_link_sits(site: str, tmp_path: Path):
    paths = ["/article", "/footer", "/sidebar", "/comments", "/gone"]
    options = PageOptions(cache=tmp_path / "pages.db", allow_private=True, delay=0)
    out, summary = enrich_pages(_links(site, paths), options)
    rows = {r["source_url"].removeprefix(site): r for r in out.iter_rows(named=True)}
    article = rows["/article"]
    assert article["page_status"] == "link found" and article["placement"] == "content"
    assert article["anchor_text"] == "le guide de Flo" and article["nofollow"] is False
    assert article["left_context"].endswith("en micro-entreprise, lisez")
    assert article["right_context"].startswith("qui explique tout")
    assert article["source_title"] == "Guide TVA des indépendants"
    assert article["source_language"] == "fr" and article["source_external_links"] == 3
    assert article["source_http_status"] == 200
    footer = rows["/footer"]
    assert (footer["placement"], footer["nofollow"], footer["sponsored"]) == ("footer", True, True)
    sidebar = rows["/sidebar"]
    assert sidebar["placement"] == "sidebar" and sidebar["is_image"] is True
    assert sidebar["anchor_text"] == "La micro de Flo"
    assert (rows["/comments"]["placement"], rows["/comments"]["ugc"]) == ("comment", True)
    assert rows["/gone"]["page_status"] == "link not on page"
    assert rows["/gone"]["placement"] is None
    assert summary.fetched == 5 and summary.statuses["link found"] == 4


def test_what_cannot_be_read_is_said_row_by_row(site: str, tmp_path: Path):
    paths = ["/private/page", "/missing", "/file.pdf", "/big", "/loop"]
    options = PageOptions(cache=tmp_path / "pages.db", allow_private=True, delay=0)
    out, _ = enrich_pages(_links(site, paths), options)
    assert out["page_status"].to_list() == [
        "robots.txt disallows",
        "HTTP 404",
        "not HTML (application/pdf)",
        "larger than 2,000,000 bytes",
        "too many redirects",
    ]
    assert out.height == len(paths)  # nothing lost


def test_private_addresses_are_refused_unless_allowed(site: str, tmp_path: Path):
    before = len(_Pages.requests)
    out, _ = enrich_pages(_links(site, ["/article"]), PageOptions(cache=None))
    assert out["page_status"][0].startswith("refused: 127.0.0.1 is a private")
    assert len(_Pages.requests) == before  # no request left the machine's guard


def test_the_cache_answers_a_second_run_and_the_export_keeps_its_own_values(
    site: str, tmp_path: Path
):
    options = PageOptions(cache=tmp_path / "pages.db", allow_private=True, delay=0)
    enrich_pages(_links(site, ["/footer"]), options)
    before = len(_Pages.requests)
    given = _links(site, ["/footer"], placement=["content"], nofollow=[None])
    out, summary = enrich_pages(given, options)
    assert len(_Pages.requests) == before and summary.cached == 1
    row = out.row(0, named=True)
    assert row["placement"] == "content"  # what the export said stays
    assert row["nofollow"] is True  # what it did not say comes from the page
    assert "placement" not in row["page_filled"] and "nofollow" in row["page_filled"]
    forced, _ = enrich_pages(given, PageOptions(**{**options.__dict__, "overwrite": True}))
    assert forced["placement"][0] == "footer"


def test_enrich_then_score_from_the_command_line(site: str, tmp_path: Path):
    export = tmp_path / "export.csv"
    _links(site, ["/article", "/footer", "/gone"]).write_csv(export)
    enriched = tmp_path / "enriched.csv"
    done = run_cli(
        "enrich", str(export), "-o", str(enriched), "--pages", "--allow-private",
        "--cache", str(tmp_path / "cache"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())  # the terminal may wrap lines
    assert "3 links on 3 pages (3 fetched" in said and "2 link found" in said
    scored = tmp_path / "scored.csv"
    done = run_cli("score", str(enriched), "-o", str(scored))
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(scored, infer_schema=False)
    assert table["placement"].to_list() == ["content", "footer", None]
    assert table["lost"].fill_null("").to_list() == ["", "", "true"]  # the disavow rules read it
    assert set(table["evidence"]) == {"export"}  # the page gave what the export did not


def test_reading_a_page_needs_no_network():
    html = f'<html><body><aside role="complementary">{LINK}>x</a></aside></body></html>'
    assert read_page(html, "https://a.example/p", TARGET)["placement"] == "sidebar"


# -- domain age from a loopback RDAP server (RFC 9083 answers) ----------------------------------

RDAP = {
    "oldblog.fr": {
        "objectClassName": "domain",
        "ldhName": "oldblog.fr",
        "events": [
            {"eventAction": "registration", "eventDate": "2009-04-17T10:11:12Z"},
            {"eventAction": "expiration", "eventDate": "2099-04-17T10:11:12Z"},
            {"eventAction": "last changed", "eventDate": "2025-01-01T00:00:00Z"},
        ],
    },
    "fresh-spam.xyz": {
        "objectClassName": "domain",
        "ldhName": "fresh-spam.xyz",
        "events": [{"eventAction": "registration", "eventDate": "2026-11-04T08:00:00Z"}],
    },
}


class _Rdap(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    busy: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        import json
        import time

        domain = self.path.rsplit("/", 1)[-1]
        self.requests.append(domain)
        if domain == "slow.com":
            time.sleep(2)
        if domain == "busy.com" and domain not in self.busy:
            self.busy.add(domain)  # the first answer is 429, the retry succeeds
            self.send_response(429)
            self.send_header("retry-after", "1")
            self.end_headers()
            return
        answer = RDAP.get(domain) or (
            {"events": [{"eventAction": "registration", "eventDate": "2015-06-01T00:00:00Z"}]}
            if domain in ("busy.com", "slow.com")
            else None
        )
        body = json.dumps(answer or {"errorCode": 404, "title": "Not Found"}).encode()
        self.send_response(200 if answer else 404)
        self.send_header("content-type", "application/rdap+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def rdap() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rdap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rdap/domain/{{domain}}"
    server.shutdown()


def test_domain_age_comes_from_rdap_with_a_status_for_every_row(rdap: str, tmp_path: Path):
    from serving.enrich import RdapOptions, enrich_domain_age

    links = pl.DataFrame(
        {
            "source_url": [
                "https://www.oldblog.fr/a",
                "https://blog.oldblog.fr/b",  # same registrable domain: one query
                "https://fresh-spam.xyz/x",
                "https://gone-domain.com/",
                "https://busy.com/p",
                "https://alice.blogspot.com/post",
                "http://203.0.113.9/page",
            ],
            "target_url": [TARGET] * 7,
        }
    )
    options = RdapOptions(cache=tmp_path / "rdap.db", url=rdap, timeout=5)
    out = enrich_domain_age(links, options)
    assert out["domain_age_status"].to_list() == [
        "registered 2009-04-17",
        "registered 2009-04-17",
        "registered 2026-11-04",
        "not found",
        "registered 2015-06-01",  # after a 429 with Retry-After
        "shared platform: no registration of its own",
        "an IP address: no registration",
    ]
    assert out["source_domain_created"].cast(pl.String).to_list()[:3] == [
        "2009-04-17",
        "2009-04-17",
        "2026-11-04",
    ]
    asked = list(_Rdap.requests)
    assert asked.count("oldblog.fr") == 1 and asked.count("busy.com") == 2
    # a second run is answered by the cache, "not found" included (kept for a day)
    enrich_domain_age(links, options)
    assert _Rdap.requests == asked


def test_a_slow_registry_times_out_without_stopping_the_rest(rdap: str, tmp_path: Path):
    from serving.enrich import RdapOptions, enrich_domain_age

    links = pl.DataFrame(
        {"source_url": ["https://slow.com/", "https://www.oldblog.fr/"], "target_url": [TARGET] * 2}
    )
    out = enrich_domain_age(links, RdapOptions(url=rdap, timeout=0.5))
    assert out["domain_age_status"].to_list() == ["timed out", "registered 2009-04-17"]


def test_the_shipped_bootstrap_names_servers_and_a_refreshed_copy_wins(tmp_path: Path):
    """Offline out of the box: IANA's snapshot inside the package maps TLDs to servers; an
    unknown TLD gets a status, not a failure; a newer copy in the cache folder is used."""
    import json

    from serving.enrich import SHIPPED_BOOTSTRAP, RdapOptions, _servers, enrich_domain_age

    servers = _servers(tmp_path / "absent.json")
    assert servers["com"] == "https://rdap.verisign.com/com/v1/"
    assert servers["fr"].startswith("https://") and len(servers) > 1000
    links = pl.DataFrame({"source_url": ["https://www.oldblog.zz/"], "target_url": [TARGET]})
    out = enrich_domain_age(links, RdapOptions(bootstrap=tmp_path / "absent.json"))
    assert out["domain_age_status"][0] == "no RDAP server for .zz"
    assert out["source_domain_created"][0] is None

    shipped = json.loads(SHIPPED_BOOTSTRAP.read_text())
    newer = {
        **shipped,
        "publication": "2099-01-01T00:00:00Z",
        "services": [[["com"], ["https://mirror.test/"]]],
    }
    older = {**newer, "publication": "2000-01-01T00:00:00Z"}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert _servers(tmp_path / "newer.json") == {"com": "https://mirror.test/"}
    assert _servers(tmp_path / "older.json")["com"] == "https://rdap.verisign.com/com/v1/"


def test_enrich_fills_domain_age_and_placement_from_the_command_line(
    site: str, rdap: str, tmp_path: Path
):
    export = tmp_path / "export.csv"
    pl.DataFrame(
        {"source_url": [f"{site}/article", f"{site}/gone"], "target_url": [TARGET] * 2}
    ).write_csv(export)
    enriched = tmp_path / "enriched.csv"
    done = run_cli(
        "enrich", str(export), "-o", str(enriched), "--pages", "--domain-age",
        "--allow-private", "--cache", str(tmp_path / "cache"),
        env={"LINKSIFT_RDAP_URL": rdap},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(enriched, infer_schema=False)
    assert table["placement"].to_list() == ["content", None]
    assert table["page_status"].to_list() == ["link found", "link not on page"]
    assert table["domain_age_status"].to_list() == ["an IP address: no registration"] * 2


def test_score_can_enrich_first(site: str, rdap: str, tmp_path: Path):
    export = tmp_path / "export.csv"
    pl.DataFrame({"source_url": [f"{site}/footer"], "target_url": [TARGET]}).write_csv(export)
    scored = tmp_path / "scored.csv"
    done = run_cli(
        "score", str(export), "-o", str(scored), "--enrich", "pages,domain-age",
        "--allow-private", cwd=tmp_path, env={"LINKSIFT_RDAP_URL": rdap},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = pl.read_csv(scored, infer_schema=False).row(0, named=True)
    assert (row["placement"], row["nofollow"], row["page_status"]) == (
        "footer",
        "true",
        "link found",
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".linksift-enrich")] == []
    assert "(enriched)" in " ".join(done.stdout.split())


def test_a_killed_enrich_resumes_from_its_cache(site: str, tmp_path: Path):
    """Pages are cached as they arrive: after a kill, the next run fetches only the rest."""
    export = tmp_path / "export.csv"
    paths = ["/footer", "/comments", "/sidebar", "/stall"]
    _links(site, paths).write_csv(export)
    args = [
        sys.executable, "-m", "linksift.cli", "enrich", str(export), "-o",
        str(tmp_path / "out.csv"), "--pages", "--allow-private", "--cache", str(tmp_path / "c"),
    ]  # fmt: skip
    _Pages.stall.set()
    start = len(_Pages.requests)
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not {"/footer", "/comments", "/sidebar", "/stall"} <= set(_Pages.requests[start:]):
            assert time.time() < deadline and proc.poll() is None, "the run did not get going"
            time.sleep(0.1)
        time.sleep(1.0)  # the three answered pages are written to the cache meanwhile
        proc.kill()
        proc.wait()
    finally:
        _Pages.stall.clear()
    again = len(_Pages.requests)
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [p for p in _Pages.requests[again:] if p != "/robots.txt"] == ["/stall"]
    said = " ".join(done.stdout.split())
    assert "(1 fetched, 3 from the cache)" in said
