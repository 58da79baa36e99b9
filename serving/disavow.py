"""A disavow file in Google's format from scored links.

Rules (Google's own plus linksift's):
- UTF-8 text; one ``domain:example.com`` or URL per line; ``#`` comments; at most 100,000 lines
  and 2 MB; URLs at most 2,048 characters.
- ``domain:`` lines only where the evidence is domain-wide: the referring site sent at least two
  links and at least 80% of them are spam, or a spam link is sitewide. Otherwise the spam URLs
  themselves are listed.
- Never a shared platform root (``domain:blogspot.com``), a public suffix, or an IP address as a
  domain: on shared platforms the site is the user's subdomain (``domain:alice.blogspot.com``).
- When the limits are reached, the riskiest entries are kept and a comment says what was cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from features.urls import SHARED_PLATFORMS, host_frame, sites_of

MAX_LINES = 100_000
MAX_BYTES = 2_000_000
MAX_URL = 2048
DOMAIN_SHARE = 0.8
COLUMNS = ["source_url", "verdict", "spam_probability", "reason_1", "sitewide"]


@dataclass
class _Site:
    links: int = 0
    spam: int = 0
    sitewide_spam: int = 0
    max_p: float = 0.0
    reason: str = ""
    urls: dict[str, float] = field(default_factory=dict)


@dataclass
class Disavow:
    text: str
    domains: int
    urls: int
    cut: int

    @property
    def note(self) -> str:
        note = f"{self.domains:,} domains, {self.urls:,} URLs"
        if self.cut:
            note += f"; {self.cut:,} entries cut to stay within Google's limits"
        return note


def domain_allowed(sites: list[str]) -> set[str]:
    """Which ``sites`` may appear as ``domain:site``: not platform roots, public suffixes or
    IP addresses (decided for all of them at once)."""
    hosts = host_frame(pl.Series(sites, dtype=pl.String))
    allowed = hosts.filter(
        (pl.col("brand") != "")
        & (pl.col("ip_host") == 0)
        & (pl.col("site") != pl.col("suffix"))
        & ~pl.col("host").is_in(SHARED_PLATFORMS)
    )
    return set(allowed["host"].to_list())


def collect(tables: Iterable[pl.DataFrame]) -> dict[str, _Site]:
    """Per-site evidence from scored tables (streamed; only a few columns are read)."""
    sites: dict[str, _Site] = {}
    for t in tables:
        urls = t["source_url"].to_list()
        site_of = sites_of(t["source_url"]).to_list()
        verdict = t["verdict"].to_list()
        p = t["spam_probability"].to_numpy()
        reason = t["reason_1"].to_list()
        sitewide = t["sitewide"].to_list()
        for i in range(t.height):
            s = sites.setdefault(site_of[i] or "", _Site())
            s.links += 1
            if verdict[i] != "spam":
                continue
            s.spam += 1
            s.sitewide_spam += bool(sitewide[i])
            if p[i] >= s.max_p:
                s.max_p = float(p[i])
                s.reason = (reason[i] or "").rsplit(" (", 1)[0]
            s.urls[urls[i]] = max(float(p[i]), s.urls.get(urls[i], 0.0))
    return sites


def build(
    sites: dict[str, _Site],
    *,
    header: str = "",
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
) -> Disavow:
    """The disavow file text, riskiest entries first, within the limits."""
    entries: list[tuple[float, list[str], int, int]] = []  # (risk, lines, domains, urls)
    allowed = domain_allowed([site for site, s in sites.items() if s.spam and site])
    for site, s in sites.items():
        if not s.spam:
            continue
        domain_wide = (s.links >= 2 and s.spam / s.links >= DOMAIN_SHARE) or s.sitewide_spam > 0
        if domain_wide and site in allowed:
            why = f"# {site}: {s.spam} of {s.links} links spam"
            if s.reason:
                why += f"; strongest reason: {s.reason}"
            entries.append((s.max_p, [why, f"domain:{site}"], 1, 0))
            continue
        lines = [
            f"# {site}: {s.spam} of {s.links} links spam"
            + (f"; strongest reason: {s.reason}" if s.reason else "")
        ]
        listed = 0
        for url, _p in sorted(s.urls.items(), key=lambda kv: -kv[1]):
            if len(url) > MAX_URL:
                lines.append(f"# skipped a URL longer than {MAX_URL} characters")
                continue
            lines.append(url)
            listed += 1
        if listed:
            entries.append((s.max_p, lines, 0, listed))
    entries.sort(key=lambda e: -e[0])
    head = [
        "# linksift disavow file",
        f"# generated {date.today().isoformat()}" + (f"; {header}" if header else ""),
        "# upload at https://search.google.com/search-console/disavow-links (it replaces "
        "the previous file)",
    ]
    out = list(head)
    size = sum(len(line.encode()) + 1 for line in out)
    domains = urls = cut = 0
    reserve = 2  # room for the truncation comment
    for _risk, lines, d, u in entries:
        extra = sum(len(line.encode()) + 1 for line in lines)
        if len(out) + len(lines) + reserve > max_lines or size + extra + 200 > max_bytes:
            cut += d + u
            continue
        out.extend(lines)
        size += extra
        domains += d
        urls += u
    if cut:
        out.append(
            f"# truncated: {cut:,} lower-risk entries left out to stay within "
            f"{max_lines:,} lines and {max_bytes:,} bytes"
        )
    return Disavow("\n".join(out) + "\n", domains, urls, cut)


def validate(text: str) -> list[str]:
    """Problems with a disavow file (empty list = valid). Used by tests and ``--disavow``."""
    problems = []
    data = text.encode("utf-8")
    lines = text.splitlines()
    domains = [ln.removeprefix("domain:") for ln in lines if ln.startswith("domain:")]
    allowed = domain_allowed(domains)
    if len(lines) > MAX_LINES:
        problems.append(f"{len(lines):,} lines; Google allows {MAX_LINES:,}")
    if len(data) > MAX_BYTES:
        problems.append(f"{len(data):,} bytes; Google allows {MAX_BYTES:,}")
    for n, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("domain:"):
            if line.removeprefix("domain:") not in allowed:
                problems.append(f"line {n}: {line!r} is a shared platform, suffix or IP")
        elif not line.startswith(("http://", "https://")):
            problems.append(f"line {n}: {line!r} is neither a URL nor domain:")
        elif len(line) > MAX_URL:
            problems.append(f"line {n}: URL longer than {MAX_URL} characters")
    return problems


def sites_table(sites: dict[str, _Site], top: int = 25) -> list[dict[str, object]]:
    """The riskiest referring sites (for the report)."""
    rows = [
        {"site": site, "links": s.links, "spam": s.spam, "max_p": s.max_p, "reason": s.reason}
        for site, s in sites.items()
        if s.spam
    ]
    rows.sort(key=lambda r: (-r["spam"], -r["max_p"]))
    return rows[:top]
