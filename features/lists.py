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
def domain_lists() -> pl.DataFrame:
    """``domain`` → ``listed`` (``spam_list`` wins when a domain is on both sides)."""
    frames = [
        pl.read_csv(
            FOLDER / name, has_header=False, new_columns=["domain"], schema={"domain": pl.String}
        ).with_columns(listed=pl.lit(listed))
        for name, listed in SHIPPED.items()
    ]
    return (
        pl.concat(frames)
        .sort(pl.col("listed") != "spam_list")
        .unique("domain", keep="first")
        .sort("domain")
    )


def listed(hosts: pl.DataFrame) -> pl.Series:
    """Which list each row's ``host`` or ``site`` is on (``LISTS``; null host: null)."""
    lists = domain_lists()
    bare = hosts.select(
        host=pl.col("host").str.to_lowercase().str.strip_prefix("www."),
        site=pl.col("site").str.to_lowercase(),
    ).with_row_index("i")
    by_host = bare.join(lists, left_on="host", right_on="domain", how="left").select("i", "listed")
    by_site = bare.join(lists, left_on="site", right_on="domain", how="left").select(
        "i", on_site="listed"
    )
    both = by_host.join(by_site, on="i").sort("i")
    return both.select(
        pl.when(bare.sort("i")["host"].is_null())
        .then(pl.lit(None, pl.String))
        .otherwise(pl.coalesce("listed", "on_site", pl.lit("unlisted")))
        .alias("listed")
    )["listed"]


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
