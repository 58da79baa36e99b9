"""Hosts, sites and URL normalisation.

A "site" is the unit a person owns: the registrable domain (``news.example.co.uk`` →
``example.co.uk``), except on shared platforms where every user's subdomain is its own site
(``alice.blogspot.com``, ``bob.wordpress.com``). Disavow files and per-domain aggregates are
keyed on sites, so one spammy blog never condemns the whole platform.

The Public Suffix List comes from tldextract's bundled snapshot: no network at run time.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tldextract

from features import rx
from features.parse import as_string, fill, join, string

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)

SHARED_PLATFORMS = (
    "blogspot.com",
    "wordpress.com",
    "github.io",
    "tumblr.com",
    "medium.com",
    "wixsite.com",
    "weebly.com",
    "livejournal.com",
    "substack.com",
    "netlify.app",
    "vercel.app",
    "herokuapp.com",
    "web.app",
    "firebaseapp.com",
    "pages.dev",
    "wikidot.com",
    "over-blog.com",
    "jimdosite.com",
    "webnode.page",
    "site123.me",
    "strikingly.com",
    "blogger.com",
    "typepad.com",
    "hatenablog.com",
    "sites.google.com",
    "notion.site",
    "gitbook.io",
    "ucoz.ru",
    "narod.ru",
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


@dataclass(frozen=True, slots=True)
class HostInfo:
    host: str
    site: str
    suffix: str
    brand: str
    subdomain_depth: int
    is_ip: bool
    shared_platform: bool
    tld_class: str


_PLATFORM_SET = frozenset(SHARED_PLATFORMS)
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _platform_root(host: str) -> str | None:
    labels = host.split(".")
    for k in (2, 3):
        if len(labels) > k and ".".join(labels[-k:]) in _PLATFORM_SET:
            return ".".join(labels[-k:])
    return None


def _is_ip(host: str) -> bool:
    if _IPV4.match(host) is None and ":" not in host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


@lru_cache(maxsize=131_072)  # bounded: memory must not grow with the export
def host_info(host: str) -> HostInfo:
    """Everything linksift derives from a host name, cached because hosts repeat a lot."""
    host = host.strip(".").lower()
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if _is_ip(host):
        return HostInfo(host, host, "", "", 0, True, False, "generic")
    ext = _EXTRACT(host)
    suffix = ext.suffix
    root = _platform_root(host)
    if root:
        head = host[: -len(root) - 1]
        label = head.rsplit(".", 1)[-1]
        site = f"{label}.{root}"
        brand = label
        depth = head.count(".")
    else:
        site = ext.top_domain_under_public_suffix or host
        brand = ext.domain
        depth = len([p for p in ext.subdomain.split(".") if p and p != "www"])
    shared = root is not None or (ext.is_private and bool(ext.domain))
    last = suffix.rsplit(".", 1)[-1] if suffix else host.rsplit(".", 1)[-1]
    first = suffix.split(".", 1)[0] if suffix else ""
    if last in EDU_GOV or first in EDU_GOV or ".gov." in f".{suffix}.":
        tld = "edu_gov"
    elif last in CHEAP_TLDS:
        tld = "cheap"
    elif last in GENERIC_TLDS:
        tld = "generic"
    elif len(last) == 2 or last.startswith("xn--"):
        tld = "country"
    else:
        tld = "new_generic"
    return HostInfo(host, site, suffix, brand, depth, False, shared, tld)


_URL_PARTS = (
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]*)"
    r"(?::(?P<port>\d*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"
)


def split_urls(urls: pa.Array) -> dict[str, pa.Array]:
    """Lower-cased host, path and query of each URL (vectorised)."""
    parts = rx.extract(as_string(urls), _URL_PARTS)
    return {"host": pc.utf8_lower(parts["host"]), "path": parts["path"], "query": parts["query"]}


def strip_tracking(query: pa.Array) -> pa.Array:
    """Drop tracking parameters (utm_*, fbclid, gclid...) from query strings."""
    if not pc.any(pc.not_equal(query, string(""))).as_py():
        return query
    q = rx.replace(query, rf"(^|&)({TRACKING_PARAMS})(=[^&]*)?", "")
    return rx.replace(q, r"^&+", "")


def normalize_urls(urls: pa.Array) -> pa.Array:
    """Scheme-less, lower-case host, no fragment, no tracking parameters, no trailing '?'.

    URL-derived features and disavow lines use this form, so a link scores the same
    whatever case its host is written in or which campaign tags it carries.
    """
    parts = split_urls(urls)
    return join_url(parts["host"], parts["path"], parts["query"])


def join_url(host: pa.Array, path: pa.Array, query: pa.Array) -> pa.Array:
    """The normalised URL (see ``normalize_urls``) from its split parts."""
    query = strip_tracking(fill(query, ""))
    sep = pc.if_else(pc.equal(query, string("")), string(""), string("?"))
    return join(host, fill(path, ""), sep, query, sep="")


def sites_of(urls: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The site (see module doc) of each URL, looked up once per distinct host."""
    hosts = pc.dictionary_encode(split_urls(urls)["host"])
    if isinstance(hosts, pa.ChunkedArray):
        hosts = hosts.combine_chunks()
    table = np.asarray(
        [host_info(h).site for h in hosts.dictionary.to_pylist()] + [None], dtype=object
    )
    idx = np.asarray(fill(hosts.indices, len(table) - 1).to_numpy(zero_copy_only=False))
    return table[idx]
