"""Hosts, sites and URL normalisation.

A "site" is the unit a person owns: the registrable domain (``news.example.co.uk`` →
``example.co.uk``), except on shared platforms where every user's subdomain is its own site
(``alice.blogspot.com``, ``bob.wordpress.com``). Disavow files and per-domain aggregates are
keyed on sites, so one spammy blog never condemns the whole platform.

URLs are split by one regular expression (a Polars expression); what a host means comes from
tldextract's public API (its bundled Public Suffix List: no network at run time), asked once
per distinct host and kept in a bounded cache, because hosts repeat across a profile.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from functools import lru_cache

import polars as pl
import tldextract

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


SHARED_PLATFORMS = tuple(
    """
    blogspot.com wordpress.com github.io tumblr.com medium.com wixsite.com weebly.com
    livejournal.com substack.com netlify.app vercel.app herokuapp.com web.app firebaseapp.com
    pages.dev wikidot.com over-blog.com jimdosite.com webnode.page site123.me strikingly.com
    blogger.com typepad.com hatenablog.com sites.google.com notion.site gitbook.io ucoz.ru
    narod.ru
    """.split()
)
"""Roots whose subdomains belong to different people. Never disavowed as a whole."""

CHEAP_TLDS = frozenset(
    "xyz top club online site space website icu buzz work live click link fun shop store "
    "loan win bid trade date racing review stream download cricket science party gq ga ml "
    "cf tk pw cc ws info biz su rest bar cyou sbs cfd monster quest best".split()
)
GENERIC_TLDS = frozenset("com net org".split())
EDU_GOV = ("edu", "gov", "mil", "ac", "int", "gouv", "gob", "govt", "go")

TLD_CLASSES = ("generic", "country", "edu_gov", "cheap", "new_generic")

TRACKING_PARAMS = (
    r"utm_[a-z_]*|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|ref_src|"
    r"spm|scid|hsa_[a-z]*|oly_[a-z_]*|vero_[a-z]*|__s"
)

URL_PARTS = (
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]*)"
    r"(?::(?P<port>[0-9]*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"
)
"""Host, path and query of an absolute URL (the port's digits are dropped; anything else
after a colon belongs to the path)."""


def with_url_parts(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    """``frame`` with each URL of ``column`` split: its lower-cased host, its path and its query
    ("" when the URL has none) as ``{prefix}host``, ``{prefix}path`` and ``{prefix}query``; all
    three are null where the value is not an absolute URL."""
    split, parts = _url_parts(column, prefix)
    return (
        frame.lazy()
        .with_columns(split)
        .with_columns(parts)
        .drop("__parts")
        .collect(engine="in-memory")
    )


@lru_cache(maxsize=16)
def _url_parts(column: str, prefix: str) -> tuple[pl.Expr, list[pl.Expr]]:
    parts = pl.col("__parts")
    matched = parts.struct.field("scheme").is_not_null()
    return pl.col(column).str.extract_groups(URL_PARTS).alias("__parts"), [
        parts.struct.field("host").str.to_lowercase().alias(f"{prefix}host"),
        pl.when(matched).then(parts.struct.field("path")).alias(f"{prefix}path"),
        pl.when(matched).then(parts.struct.field("query").fill_null("")).alias(f"{prefix}query"),
    ]


_TRACKING = rf"(^|&)({TRACKING_PARAMS})(=[^&]*)?"


def strip_tracking(query: pl.Expr) -> pl.Expr:
    """Query strings without tracking parameters (utm_*, fbclid, gclid...)."""
    return query.str.replace_all(_TRACKING, "").str.replace(r"^&+", "")


def normalized_url(host: pl.Expr, path: pl.Expr, query: pl.Expr) -> pl.Expr:
    """Scheme-less, lower-case host, no fragment, no tracking parameters, no trailing '?'.

    URL-derived features and disavow lines use this form, so a link scores the same
    whatever case its host is written in or which campaign tags it carries."""
    q = strip_tracking(query.fill_null(""))
    return pl.concat_str(
        host.fill_null(""),
        path.fill_null(""),
        pl.when(q != "").then(pl.lit("?") + q).otherwise(pl.lit("")),
    )


_PLATFORMS = frozenset(SHARED_PLATFORMS)
_TLD_CODES = {c: float(i) for i, c in enumerate(TLD_CLASSES)}
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _is_ip(host: str) -> bool:
    if _IPV4.match(host) is None and ":" not in host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _platform_root(host: str) -> str | None:
    """The shared platform a host is a user's site on (``alice.blogspot.com``), if any."""
    labels = host.split(".")
    for k in (2, 3):
        if len(labels) > k and ".".join(labels[-k:]) in _PLATFORMS:
            return ".".join(labels[-k:])
    return None


def _tld_class(suffix: str, last: str) -> str:
    """The class of a host's TLD from its public suffix and its last label."""
    first = suffix.split(".", 1)[0] if suffix else ""
    if last in EDU_GOV or first in EDU_GOV or ".gov." in f".{suffix}.":
        return "edu_gov"
    if last in CHEAP_TLDS:
        return "cheap"
    if last in GENERIC_TLDS:
        return "generic"
    if len(last) == 2 or last.startswith("xn--"):
        return "country"
    return "new_generic"


def ascii_host(host: str) -> str:
    """A host as the Public Suffix List is read with it: no dots at the ends, lower case,
    punycode for international names."""
    name = host.strip(".").lower()
    if not name.isascii():
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name


HOST_SCHEMA = {
    "host": pl.String,
    "site": pl.String,
    "brand": pl.String,
    "suffix": pl.String,
    "tld_class": pl.Float64,
    "shared_platform": pl.Float64,
    "ip_host": pl.Float64,
    "subdomain_depth": pl.Float64,
    "host_hyphens": pl.Float64,
}


@lru_cache(maxsize=262_144)  # bounded: memory must not grow with the export
def host_info(host: str) -> tuple[str, str, str, float, float, float, float, float]:
    """What linksift derives from one host (``HOST_SCHEMA`` after ``host``), cached because
    hosts repeat across a profile and from one request to the next.

    ``site``: the registrable domain (``news.example.co.uk`` → ``example.co.uk``), or on a
    shared platform the user's subdomain with the platform (``alice.blogspot.com``); the host
    itself when it has no public suffix. ``brand``: the label left of the public suffix (the
    user's label on a platform). ``subdomain_depth``: labels left of the brand, "www" and
    empty ones aside. IP addresses are their own site, without a brand."""
    name = ascii_host(host)
    hyphens = float(name.count("-"))
    if _is_ip(name):
        return name, "", "", _TLD_CODES["generic"], 0.0, 1.0, 0.0, hyphens
    ext = _EXTRACT(name)
    root = _platform_root(name)
    if root:
        head = name[: -len(root) - 1]
        brand = head.rsplit(".", 1)[-1]
        site, depth = f"{brand}.{root}", head.count(".")
    else:
        site, brand = ext.top_domain_under_public_suffix or name, ext.domain
        depth = len([p for p in ext.subdomain.split(".") if p and p != "www"])
    shared = root is not None or (ext.is_private and bool(ext.domain))
    tld = _TLD_CODES[_tld_class(ext.suffix, name.rsplit(".", 1)[-1])]
    return site, brand, ext.suffix, tld, float(shared), 0.0, float(depth), hyphens


def host_frame(hosts: pl.Series) -> pl.DataFrame:
    """``host_info`` of each distinct non-null host (``HOST_SCHEMA``), ready to be joined on
    ``host``; codes and flags as floats, as the feature matrix holds them."""
    distinct = hosts.drop_nulls().unique().to_list()
    return pl.DataFrame([(h, *host_info(h)) for h in distinct], schema=HOST_SCHEMA, orient="row")


def sites_of(urls: pl.Series) -> pl.Series:
    """The site (see module doc) of each URL; null where it is not an absolute URL."""
    hosts = with_url_parts(pl.DataFrame({"url": urls}), "url", "")
    sites = host_frame(hosts["host"]).select("host", "site")
    return hosts.join(sites, on="host", how="left", maintain_order="left")["site"]
