"""``linksift enrich --pages``: what the source page itself says about a link, for exports that
do not (Semrush, Moz, Majestic and Search Console give no placement, most give no context).

Each distinct source page is fetched once (httpx, asynchronously: a few pages per host at a
time with a pause between them, robots.txt honoured, timeouts, a size cap, HTML only, a
redirect limit) and kept in a SQLite cache; then parsed with a real HTML parser (Lexbor,
through selectolax) to find the link to the target: whether it is there, its rel attributes,
where it sits in the page (main content, navigation, header, footer, sidebar, comments, an
author box: by landmark elements, ARIA roles and common CMS class names), the words either
side of it, the page's outbound links, title and language. Missing columns are filled; what
the export gave is kept unless ``overwrite``; every row says what was done (``page_status``)
and which columns came from the page (``page_filled``); a page that no longer carries the
link marks it ``lost`` (the disavow rules then leave it out), unless the export says itself.

Safe by default: only http and https, and no request to a private, loopback, link-local
(cloud metadata) or reserved address unless ``allow_private`` (which the tests use, on
loopback). This is the only part of linksift that uses the network, and only when asked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sqlite3
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx
import polars as pl

from features import schema
from serving.disavow import LOST_COLUMNS

USER_AGENT = "linksift/0.1 (backlink audit; +https://github.com/linksift)"
PLACEMENT_MARKERS = (
    # (placement, tags, ARIA roles, words in class or id); the nearest marked ancestor wins
    ("comment", (), (), ("comment", "comments", "respond", "reply", "disqus")),
    ("profile", (), (), ("author", "bio", "byline", "about-author")),
    ("navigation", ("nav",), ("navigation", "menubar", "menu"), ("nav", "menu", "navbar")),
    ("header", ("header",), ("banner",), ("header", "masthead")),
    ("footer", ("footer",), ("contentinfo",), ("footer", "colophon")),
    ("sidebar", ("aside",), ("complementary",), ("sidebar", "widget", "blogroll")),
    (
        "content",
        ("main", "article"),
        ("main", "article"),
        ("content", "entry-content", "post-content", "article", "post", "entry"),
    ),
)
FILLED = (
    *("placement", "nofollow", "ugc", "sponsored", "is_image", "anchor_text"),
    *("left_context", "right_context", "source_title", "source_language"),
    *("source_external_links", "source_http_status"),
)
"""The canonical columns a page can fill."""


@dataclass
class PageOptions:
    cache: Path | None = None
    cache_days: float = 30.0
    per_host: int = 2
    delay: float = 0.5  # seconds between two requests to one host
    concurrency: int = 16
    timeout: float = 10.0
    max_bytes: int = 2_000_000
    max_redirects: int = 5
    allow_private: bool = False
    overwrite: bool = False
    contact: str = ""  # put in the user agent, so site owners can reach whoever crawls them


@dataclass
class Page:
    """A fetched page (``html`` is None when there is none to read; ``note`` says why)."""

    status: int | None
    html: str | None
    note: str
    url: str = ""  # after redirects


@dataclass
class EnrichSummary:
    input: str
    output: str
    links: int = 0
    pages: int = 0
    fetched: int = 0
    cached: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        lines = [
            f"{self.input}: {self.links:,} links on {self.pages:,} pages "
            f"({self.fetched:,} fetched, {self.cached:,} from the cache) → {self.output}"
        ]
        for status, n in sorted(self.statuses.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {n:>8,}  {status}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# caches and filling, shared by pages and domain age
# ------------------------------------------------------------------------------------------------


def _from_cache(keys: list[str], cache: Any) -> tuple[dict[str, Any], list[str]]:
    """What ``cache`` (a ``PageCache`` or ``RdapCache``, or None) already holds for ``keys``,
    and the keys still to ask for."""
    found: dict[str, Any] = {}
    todo = []
    for key in keys:
        hit = cache.get(key) if cache else None
        if hit is None:
            todo.append(key)
        else:
            found[key] = hit
    return found, todo


def _filled(links: pl.DataFrame, mine: pl.Series, overwrite: bool) -> tuple[pl.Series, pl.Series]:
    """Column ``mine.name`` of ``links`` with ``mine``'s values where the export had none (or
    everywhere ``mine`` has one, with ``overwrite``), and where ``mine`` was used."""
    name = mine.name
    theirs = links[name] if name in links.columns else pl.Series(name, [None] * links.height)
    use = mine.is_not_null() & (theirs.is_null() | overwrite)
    merged = pl.select(pl.when(use).then(mine).otherwise(theirs.cast(mine.dtype)))
    return merged.to_series().alias(name), use


# ------------------------------------------------------------------------------------------------
# fetching
# ------------------------------------------------------------------------------------------------


def refused_address(host: str, allow_private: bool) -> str | None:
    """Why ``host`` may not be fetched (None: it may): every address it resolves to must be a
    public one, unless private ones are allowed."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return "host not found"
    if allow_private:
        return None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return f"refused: {host} is a private, loopback or reserved address"
    return None


class PageCache:
    """Fetched pages by URL in SQLite (compressed), good for ``days``."""

    def __init__(self, path: Path, days: float) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "create table if not exists pages (url text primary key, fetched_at real, "
            "status integer, note text, final_url text, body blob)"
        )
        self.max_age = days * 86400

    def get(self, url: str) -> Page | None:
        row = self.db.execute(
            "select fetched_at, status, note, final_url, body from pages where url = ?", (url,)
        ).fetchone()
        if row is None or time.time() - row[0] > self.max_age:
            return None
        html = zlib.decompress(row[4]).decode("utf-8") if row[4] is not None else None
        return Page(row[1], html, row[2], row[3])

    def put(self, url: str, page: Page) -> None:
        body = zlib.compress(page.html.encode("utf-8")) if page.html is not None else None
        self.db.execute(
            "insert or replace into pages values (?, ?, ?, ?, ?, ?)",
            (url, time.time(), page.status, page.note, page.url, body),
        )
        self.db.commit()


class Fetcher:
    """Fetches pages politely: per-host limits and pauses, robots.txt, caps and checks."""

    def __init__(self, client: httpx.AsyncClient, options: PageOptions) -> None:
        self.client, self.options = client, options
        self.hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(options.per_host)
        )
        self.last: dict[str, float] = {}
        self.robots: dict[str, RobotFileParser | None] = {}
        self.agent = USER_AGENT + (f" {options.contact}" if options.contact else "")

    async def page(self, url: str) -> Page:
        for _ in range(self.options.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return Page(None, None, "not an http(s) URL", url)
            refused = await asyncio.to_thread(
                refused_address, parts.hostname, self.options.allow_private
            )
            if refused:
                return Page(None, None, refused, url)
            if not await self._allowed(url):
                return Page(None, None, "robots.txt disallows", url)
            async with self.hosts[parts.netloc]:
                await self._pause(parts.netloc)
                try:
                    page, location = await self._get(url)
                except httpx.TimeoutException:
                    return Page(None, None, "timed out", url)
                except httpx.HTTPError as exc:
                    return Page(None, None, f"could not connect ({exc.__class__.__name__})", url)
            if location is None:
                return page
            url = urljoin(url, location)
        return Page(None, None, "too many redirects", url)

    async def _pause(self, host: str) -> None:
        wait = self.last.get(host, 0.0) + self.options.delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last[host] = time.monotonic()

    async def _get(self, url: str) -> tuple[Page, str | None]:
        async with self.client.stream("GET", url) as response:
            if response.is_redirect:
                return Page(response.status_code, None, "redirect", url), response.headers.get(
                    "location"
                )
            if response.status_code >= 400:
                return Page(response.status_code, None, f"HTTP {response.status_code}", url), None
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in ("text/html", "application/xhtml+xml"):
                return Page(
                    response.status_code, None, f"not HTML ({kind or 'no type'})", url
                ), None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.options.max_bytes:
                    note = f"larger than {self.options.max_bytes:,} bytes"
                    return Page(response.status_code, None, note, url), None
            text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
            return Page(response.status_code, text, "fetched", url), None

    async def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.robots:
            rules: RobotFileParser | None = None
            try:
                async with self.hosts[parts.netloc]:
                    await self._pause(parts.netloc)
                    r = await self.client.get(origin + "/robots.txt")
                if r.status_code < 400 and len(r.content) < 500_000:
                    rules = RobotFileParser()
                    rules.parse(r.text.splitlines())
            except httpx.HTTPError:
                rules = None  # no robots.txt to read: allowed
            self.robots[origin] = rules
        rules = self.robots[origin]
        return rules is None or rules.can_fetch(self.agent, url)


async def fetch_all(
    urls: list[str], options: PageOptions, cache: PageCache | None = None
) -> dict[str, Page]:
    """Every URL's page, at most ``concurrency`` at a time overall; each page goes into
    ``cache`` as soon as it is fetched, so a killed run resumes where it stopped."""
    limits = asyncio.Semaphore(options.concurrency)
    headers = {"user-agent": USER_AGENT + (f" {options.contact}" if options.contact else "")}
    async with httpx.AsyncClient(
        headers=headers, timeout=options.timeout, follow_redirects=False
    ) as client:
        fetcher = Fetcher(client, options)

        async def one(url: str) -> tuple[str, Page]:
            async with limits:
                page = await fetcher.page(url)
            if cache:
                cache.put(url, page)
            return url, page

        return dict(await asyncio.gather(*(one(u) for u in urls)))


# ------------------------------------------------------------------------------------------------
# reading a page
# ------------------------------------------------------------------------------------------------


def _comparable(url: str) -> str:
    """A URL as links to the same page compare: no fragment, lower-case host without
    ``www.``, either scheme, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", host, path, parts.query, ""))


def _placement(node: Any) -> str:
    """Where a link sits: the nearest ancestor with a landmark, role or CMS class name."""
    while node is not None and node.tag not in ("html", "-document"):
        attrs = node.attributes or {}
        role = (attrs.get("role") or "").lower()
        names = " ".join(str(attrs.get(k) or "") for k in ("class", "id"))
        words = set(names.lower().replace("_", "-").split())
        parts = words | {p for w in words for p in w.split("-")}
        for placement, tags, roles, names in PLACEMENT_MARKERS:
            if node.tag in tags or role in roles or parts & set(names):
                return placement
        node = node.parent
    return "unknown"


def read_page(html: str, page_url: str, target_url: str) -> dict[str, object]:
    """What the page says about its link to ``target_url`` (canonical column → value), with
    ``page_status``: "link found" or "link not on page"."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title = tree.css_first("title")
    root = tree.css_first("html")
    lang = ((root.attributes.get("lang") if root else None) or "").split("-")[0].lower() or None
    host = (urlsplit(page_url).hostname or "").lower().removeprefix("www.")
    target = _comparable(target_url)
    outbound, found = 0, None
    for a in tree.css("a[href]"):
        href = urljoin(page_url, a.attributes.get("href") or "")
        if urlsplit(href).scheme not in ("http", "https"):
            continue
        if (urlsplit(href).hostname or "").lower().removeprefix("www.") != host:
            outbound += 1
        if found is None and _comparable(href) == target:
            found = a
    fields: dict[str, object] = {
        "source_title": title.text(strip=True) if title else None,
        "source_language": lang,
        "source_external_links": float(outbound),
    }
    if found is None:
        return {**fields, "page_status": "link not on page"}
    rel = set((found.attributes.get("rel") or "").lower().split())
    image = found.css_first("img")
    text = " ".join(found.text(separator=" ").split())
    if not text and image is not None:
        text = (image.attributes.get("alt") or "").strip()
    block = found.parent
    while block is not None and block.tag in ("span", "strong", "em", "b", "i", "u"):
        block = block.parent
    around = " ".join((block.text(separator=" ") if block else "").split())
    at = around.find(text) if text else -1
    left = around[:at][-100:].strip() if at >= 0 else None
    right = around[at + len(text) :][:100].strip() if at >= 0 else None
    return {
        **fields,
        "anchor_text": text,
        "placement": _placement(found.parent),
        "nofollow": "nofollow" in rel,
        "ugc": "ugc" in rel,
        "sponsored": "sponsored" in rel,
        "is_image": image is not None and not " ".join(found.text().split()),
        "left_context": left or None,
        "right_context": right or None,
        "page_status": "link found",
    }


# ------------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------------


def enrich_pages(links: pl.DataFrame, options: PageOptions) -> tuple[pl.DataFrame, EnrichSummary]:
    """``links`` (canonical) with the columns its source pages fill, ``page_status`` and
    ``page_filled`` (which columns the page filled)."""
    summary = EnrichSummary("", "", links=links.height)
    if options.cache:
        options.cache.parent.mkdir(parents=True, exist_ok=True)
    urls = links["source_url"].unique().drop_nulls().to_list()
    summary.pages = len(urls)
    cache = PageCache(options.cache, options.cache_days) if options.cache else None
    pages, todo = _from_cache(urls, cache)
    summary.cached = len(pages)
    fetched = asyncio.run(fetch_all(todo, options, cache)) if todo else {}
    summary.fetched = len(fetched)
    pages.update(fetched)
    rows = []
    for source, target in links.select("source_url", "target_url").iter_rows():
        page = pages.get(source) if source else None
        if page is None or page.html is None:
            status = page.note if page else "no source URL"
            rows.append({"page_status": status, "source_http_status": page and page.status})
            continue
        rows.append(
            {**read_page(page.html, page.url or source, target), "source_http_status": page.status}
        )
    found = pl.DataFrame(
        rows,
        schema={
            "page_status": pl.String,
            **{c: schema.polars_type(c) for c in FILLED},
        },
        orient="row",
        strict=False,
    )
    filled, columns = [], []
    for name in FILLED:
        column, use = _filled(links, found[name], options.overwrite)
        columns.append(column)
        filled.append(pl.when(pl.lit(use)).then(pl.lit(name)))
    provenance = pl.select(pl.concat_str(filled, separator=",", ignore_nulls=True)).to_series()
    out = links.with_columns(
        *columns,
        found["page_status"].alias("page_status"),
        provenance.replace("", None).alias("page_filled"),
    )
    if not any(c.lower() in LOST_COLUMNS for c in links.columns):
        # a page that no longer carries the link: the disavow rules read it as lost
        gone = found["page_status"] == "link not on page"
        out = out.with_columns(lost=pl.when(gone).then(pl.lit("true")))
    for status, n in out["page_status"].value_counts().iter_rows():
        summary.statuses[status] = n
    return out, summary


# ------------------------------------------------------------------------------------------------
# domain age from the registries (RDAP, RFC 9082/9083)
# ------------------------------------------------------------------------------------------------

BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
# IANA's file as published (see serving/data/README.md): enrich works offline out of the box,
# and ``--refresh-bootstrap`` puts a newer copy in the cache folder, which then wins.
SHIPPED_BOOTSTRAP = Path(__file__).parent / "data" / "rdap-dns.json"


@dataclass
class RdapOptions:
    cache: Path | None = None
    bootstrap: Path | None = None  # a refreshed copy of IANA's bootstrap (``refresh_bootstrap``)
    url: str = ""  # a URL template with {domain}: every query to one server (LINKSIFT_RDAP_URL)
    days: float = 30.0  # how long an answer is kept (never past the domain's expiry)
    missing_days: float = 1.0  # how long "not found" and failures are kept
    per_server: int = 2
    timeout: float = 10.0
    retries: int = 3


@dataclass
class Registration:
    status: str
    created: str | None = None  # ISO date
    expires: str | None = None


def refresh_bootstrap(path: Path, timeout: float = 20.0) -> str:
    """Download IANA's RDAP bootstrap for domain names to ``path``; its publication date."""
    r = httpx.get(BOOTSTRAP_URL, timeout=timeout, headers={"user-agent": USER_AGENT})
    r.raise_for_status()
    data = r.json()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(r.text, encoding="utf-8")
    return str(data.get("publication", "unknown date"))


def _bootstrap(path: Path | None) -> dict:
    """The newest of IANA's bootstrap files at hand: the shipped snapshot or a refreshed copy."""
    import json

    files = [SHIPPED_BOOTSTRAP] + ([path] if path is not None and path.exists() else [])
    found = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return max(found, key=lambda d: str(d.get("publication", "")))


def _servers(path: Path | None) -> dict[str, str]:
    """TLD → RDAP base URL (https where the registry offers it, as RFC 9224 asks)."""
    return {
        tld.lower(): next((u for u in urls if u.startswith("https://")), urls[0])
        for tlds, urls in _bootstrap(path).get("services", [])
        for tld in tlds
    }


def parse_rdap(answer: dict) -> Registration:
    """The registration and expiration events of an RDAP domain answer (RFC 9083)."""
    events = {
        e.get("eventAction"): str(e.get("eventDate") or "")[:10] for e in answer.get("events", [])
    }
    created = events.get("registration") or None
    if created is None:
        return Registration("no registration date in the answer")
    return Registration(f"registered {created}", created, events.get("expiration") or None)


class RdapCache:
    """Answers by domain in SQLite, with their own expiry (a failure is kept for less long)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "create table if not exists rdap (domain text primary key, until real, status text, "
            "created text, expires text)"
        )

    def get(self, domain: str) -> Registration | None:
        row = self.db.execute(
            "select until, status, created, expires from rdap where domain = ?", (domain,)
        ).fetchone()
        if row is None or row[0] < time.time():
            return None
        return Registration(row[1], row[2], row[3])

    def put(self, domain: str, found: Registration, options: RdapOptions) -> None:
        days = options.days if found.created else options.missing_days
        until = time.time() + days * 86400
        if found.expires:  # re-checked once the registration has expired
            try:
                from datetime import datetime

                expiry = datetime.fromisoformat(found.expires).timestamp()
                until = min(until, max(expiry, time.time() + 3600))
            except ValueError:
                pass
        self.db.execute(
            "insert or replace into rdap values (?, ?, ?, ?, ?)",
            (domain, until, found.status, found.created, found.expires),
        )
        self.db.commit()


async def _registration(
    client: httpx.AsyncClient, url: str, gate: asyncio.Semaphore, options: RdapOptions
) -> Registration:
    """One domain's answer, retried with backoff on 429 (Retry-After) and 5xx."""
    for attempt in range(options.retries + 1):
        async with gate:
            try:
                r = await client.get(url, headers={"accept": "application/rdap+json"})
            except httpx.TimeoutException:
                return Registration("timed out")
            except httpx.HTTPError as exc:
                return Registration(f"could not connect ({exc.__class__.__name__})")
        if r.status_code == 404:
            return Registration("not found")
        if r.status_code == 429 or r.status_code >= 500:
            if attempt == options.retries:
                return Registration(
                    "rate limited" if r.status_code == 429 else f"HTTP {r.status_code}"
                )
            wait = r.headers.get("retry-after", "")
            await asyncio.sleep(float(wait) if wait.isdigit() else 0.5 * 2**attempt)
            continue
        if r.status_code >= 400:
            return Registration(f"HTTP {r.status_code}")
        try:
            return parse_rdap(r.json())
        except ValueError:
            return Registration("not an RDAP answer")
    return Registration("rate limited")


async def registrations(
    domains: list[str], options: RdapOptions, cache: RdapCache | None = None
) -> dict[str, Registration]:
    """Each domain's registration, one query per domain, a few at a time per RDAP server;
    each answer goes into ``cache`` as it arrives (a killed run resumes)."""
    servers = {} if options.url else _servers(options.bootstrap)
    gates: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(options.per_server))

    async def _kept(domain: str, asking: Any) -> Registration:
        answer = await asking
        if cache:
            cache.put(domain, answer, options)
        return answer

    out: dict[str, Registration] = {}
    jobs = []
    async with httpx.AsyncClient(
        timeout=options.timeout, headers={"user-agent": USER_AGENT}, follow_redirects=True
    ) as client:
        for domain in domains:
            if options.url:
                url = options.url.replace("{domain}", domain)
            else:
                tld = domain.rsplit(".", 1)[-1]
                base = servers.get(tld)
                if base is None:
                    out[domain] = Registration(f"no RDAP server for .{tld}")
                    continue
                url = base.rstrip("/") + "/domain/" + domain
            server = urlsplit(url).netloc
            jobs.append((domain, _kept(domain, _registration(client, url, gates[server], options))))
        answers = await asyncio.gather(*(job for _, job in jobs))
    out.update({domain: a for (domain, _), a in zip(jobs, answers, strict=True)})
    return out


def enrich_domain_age(
    links: pl.DataFrame, options: RdapOptions, overwrite: bool = False
) -> pl.DataFrame:
    """``links`` with ``source_domain_created`` from the registries where it is missing, and
    ``domain_age_status`` per row."""
    from features.urls import host_frame, with_url_parts

    hosts = with_url_parts(links.select("source_url"), "source_url", "")
    described = host_frame(hosts["host"]).select("host", "site", "shared_platform", "ip_host")
    rows = hosts.select("host").join(described, on="host", how="left", maintain_order="left")
    domains = (
        rows.filter((pl.col("shared_platform") == 0) & (pl.col("ip_host") == 0))["site"]
        .drop_nulls()
        .unique()
        .to_list()
    )
    cache = RdapCache(options.cache) if options.cache else None
    found, todo = _from_cache(domains, cache)
    fresh = asyncio.run(registrations(todo, options, cache)) if todo else {}
    found.update(fresh)
    status, created = [], []
    for site, platform, ip in rows.select("site", "shared_platform", "ip_host").iter_rows():
        if site is None:
            status.append("no host")
            created.append(None)
        elif platform == 1:
            status.append("shared platform: no registration of its own")
            created.append(None)
        elif ip == 1:
            status.append("an IP address: no registration")
            created.append(None)
        else:
            answer = found[site]
            status.append(answer.status)
            created.append(answer.created)
    mine = pl.Series("source_domain_created", created, dtype=pl.String).str.to_date()
    merged, _ = _filled(links, mine, overwrite)
    return links.with_columns(merged, pl.Series("domain_age_status", status))
