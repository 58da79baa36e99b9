"""Public domain lists as evidence: hosts named on curated link-spam lists, and registrable
domains of universities and US government bodies.

The lists ship inside the package (``features/data/domain_lists``, with their licences and
sources in its README); only lists whose licence allows redistribution are shipped. A host is
on a list when it, or its registrable domain, is listed (a list entry for a subdomain of a
shared platform names that host only). Regenerate the shipped files from the upstream copies
with ``python -m features.lists SOURCE_FOLDER``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import polars as pl

FOLDER = Path(__file__).with_name("data") / "domain_lists"
SHIPPED = {
    "spam-spamdexing-sites.txt": "spam_list",
    "spam-wikimedia-meta-blacklist.txt": "spam_list",
    "spam-dev-copycats.txt": "spam_list",
    "good-universities.txt": "reputable_list",
    "good-dotgov.txt": "reputable_list",
}
"""Shipped list files and what being on one says. Not shipped: the content-farm list and
the news-quality scores (no licence), and the "SEO garbage" list (one person's judgement of
low quality, which names large reputable sites: low quality is not link spam)."""
LISTS = ("spam_list", "reputable_list", "unlisted")


@lru_cache(maxsize=1)
def by_domain() -> dict[str, str]:
    """Domain → which list it is on (``spam_list`` wins when a domain is on both sides).
    Read as plain lines into a dict: the lookup is by dict, and building it through a data
    frame cost a scoring process 25 MB of memory for 700 KB of text."""
    found: dict[str, str] = {}
    for name, listed in sorted(SHIPPED.items(), key=lambda item: item[1] == "spam_list"):
        lines = (FOLDER / name).read_text(encoding="utf-8").splitlines()
        found.update(dict.fromkeys(filter(None, map(str.strip, lines)), listed))
    return found


def domain_lists() -> pl.DataFrame:
    """``domain`` → ``listed``, sorted by domain (for the generator and tests)."""
    found = by_domain()
    return pl.DataFrame({"domain": list(found), "listed": list(found.values())}).sort("domain")


def listed(hosts: pl.DataFrame) -> pl.Series:
    """Which list each row's ``host`` or ``site`` is on (``LISTS``; null host: null).

    Looked up in a dict, host by host: callers pass distinct hosts (a chunk's few thousand,
    or the API's one), and a join would hash the lists' 45,000 domains on every call."""
    lists = by_domain()

    def which(host: str | None, site: str | None) -> str | None:
        if host is None:
            return None
        bare = host.lower().removeprefix("www.")
        return lists.get(bare) or lists.get((site or "").lower()) or "unlisted"

    return pl.Series(
        "listed",
        [which(h, s) for h, s in zip(hosts["host"], hosts["site"], strict=True)],
        dtype=pl.String,
    )


def build(source: Path) -> None:
    """Copy the shipped lists from the upstream copies in ``source`` (with their licences)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        (FOLDER / name).write_bytes((source / name).read_bytes())
    licences = FOLDER / "LICENSES"
    licences.mkdir(exist_ok=True)
    for licence in (source / "LICENSES").iterdir():
        if "seo-garbage" not in licence.name:
            (licences / licence.name).write_bytes(licence.read_bytes())


if __name__ == "__main__":
    build(Path(sys.argv[1]))
