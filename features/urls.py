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
from typing import Any

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tldextract

from features import rx
from features.parse import distinct, fill, join, string
from features.strings import FNV_OFFSET, FNV_PRIME, as_bytes, fnv1a, from_spans

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


@lru_cache(maxsize=131_072)  # bounded: memory must not grow with the export
def host_info(host: str) -> HostInfo:
    """Everything linksift derives from a host name, cached because hosts repeat a lot.

    For many hosts at once, ``host_table`` gives the same answers in one compiled pass."""
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
    tld = _tld_class(suffix, host.rsplit(".", 1)[-1])
    return HostInfo(host, site, suffix, brand, depth, False, shared, tld)


# ------------------------------------------------------------------------------------------------
# many hosts at once: the Public Suffix List walked by a compiled kernel
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trie:
    """A suffix trie (labels from the right) as flat arrays a kernel can walk.

    Edges live in an open-addressing hash table keyed by (parent node, label bytes); labels are
    compared byte for byte, so a lookup is exact."""

    end: np.ndarray  # per node: a rule ends here
    private: np.ndarray  # per node: that rule is from the PSL's private section
    star: np.ndarray  # per node: its "*" child, or -1
    slot_parent: np.ndarray  # per slot: parent node, or -1 (empty)
    slot_child: np.ndarray
    slot_start: np.ndarray  # per slot: the label's bytes in ``pool``
    slot_len: np.ndarray
    pool: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.end,
            self.private,
            self.star,
            self.slot_parent,
            self.slot_child,
            self.slot_start,
            self.slot_len,
            self.pool,
        )


@numba.njit(cache=True, nogil=True)
def _label_hash(parent, data, start, stop, bang):  # pragma: no cover - compiled
    """FNV-1a of the label (after a "!" when ``bang``), seeded with its parent node."""
    h = FNV_OFFSET ^ np.uint64(parent)
    if bang:
        h = (h ^ np.uint64(33)) * FNV_PRIME
    return fnv1a(data, start, stop, h)


@numba.njit(cache=True, nogil=True)
def _child(trie, parent, data, start, stop, bang):  # pragma: no cover - compiled
    """The child of ``parent`` labelled ``data[start:stop]`` (prefixed by "!" when ``bang``),
    or -1."""
    _, _, _, slot_parent, slot_child, slot_start, slot_len, pool = trie
    mask = slot_parent.shape[0] - 1
    slot = np.int64(_label_hash(parent, data, start, stop, bang) & np.uint64(mask))
    n = stop - start + (1 if bang else 0)
    while slot_parent[slot] >= 0:
        if slot_parent[slot] == parent and slot_len[slot] == n:
            o = slot_start[slot]
            same = True
            if bang:
                same = pool[o] == 33
                o += 1
            j = start
            while same and j < stop:
                same = pool[o] == data[j]
                o += 1
                j += 1
            if same:
                return slot_child[slot]
        slot = (slot + 1) & mask
    return -1


def _build_trie(rules: list[tuple[list[str], bool, bool]]) -> _Trie:
    """A trie from (labels from the right, ends a rule, private) paths."""
    end, private, star = [False], [False], [-1]
    edges: dict[tuple[int, bytes], int] = {}
    for labels, is_end, is_private in rules:
        node = 0
        for label in labels:
            key = (node, label.encode())
            if key not in edges:
                edges[key] = len(end)
                end.append(False)
                private.append(False)
                star.append(-1)
                if label == "*":
                    star[node] = edges[key]
            node = edges[key]
        end[node] = end[node] or is_end
        private[node] = is_private if is_end else private[node]
    size = 1 << max(4, (2 * len(edges)).bit_length())
    slot_parent = np.full(size, -1, np.int64)
    slot_child = np.zeros(size, np.int64)
    slot_start = np.zeros(size, np.int64)
    slot_len = np.zeros(size, np.int64)
    pool = bytearray()
    for (parent, label), child in edges.items():
        raw = np.frombuffer(label, np.uint8)
        bang = label.startswith(b"!")
        body = raw[1:] if bang else raw
        slot = int(_label_hash(parent, body, 0, len(body), bang)) & (size - 1)
        while slot_parent[slot] >= 0:
            slot = (slot + 1) & (size - 1)
        slot_parent[slot], slot_child[slot] = parent, child
        slot_start[slot], slot_len[slot] = len(pool), len(label)
        pool += label
    return _Trie(
        np.asarray(end),
        np.asarray(private),
        np.asarray(star, np.int64),
        slot_parent,
        slot_child,
        slot_start,
        slot_len,
        np.frombuffer(bytes(pool) or b"\0", np.uint8).copy(),
    )


@lru_cache(maxsize=1)
def _tries() -> tuple[_Trie, _Trie]:
    """The Public Suffix List (tldextract's bundled copy, exactly the trie it walks) and the
    shared platforms, as kernel tries."""
    rules: list[tuple[list[str], bool, bool]] = []
    stack = [(_EXTRACT._get_tld_extractor().tlds_incl_private_trie, [])]
    while stack:
        node, path = stack.pop()
        rules.append((path, node.end, node.is_private))
        stack.extend((child, [*path, label]) for label, child in node.matches.items())
    platforms = [(root.split(".")[::-1], True, False) for root in SHARED_PLATFORMS]
    return _build_trie(rules), _build_trie(platforms)


@numba.njit(cache=True, nogil=True)
def _label_start(data, lo, stop):  # pragma: no cover - compiled
    s = stop - 1
    while s >= lo and data[s] != 46:
        s -= 1
    return s + 1


@numba.njit(cache=True, nogil=True)
def _host_spans(offsets, data, psl, platforms, out):  # pragma: no cover - compiled
    """Per host: what ``host_info`` derives, as byte positions and counts.

    out[i] = plain, site start, brand start, brand end, subdomain depth, shared platform,
    suffix start (-1: none), last label start, end (trailing dots stripped), hyphens.
    Hosts that are not plain (anything but a-z, 0-9, '-', '_' and '.'; all digits and dots,
    which may be an IP address; a punycode label) are left to ``host_info``."""
    psl_end, psl_private, psl_star = psl[0], psl[1], psl[2]
    for i in range(offsets.shape[0] - 1):
        lo, hi = offsets[i], offsets[i + 1]
        while lo < hi and data[lo] == 46:
            lo += 1
        while hi > lo and data[hi - 1] == 46:
            hi -= 1
        plain = hi > lo
        digits_and_dots = True
        hyphens = 0
        for j in range(lo, hi):
            b = data[j]
            if not ((97 <= b <= 122) or (48 <= b <= 57) or b == 45 or b == 95 or b == 46):
                plain = False
            if not ((48 <= b <= 57) or b == 46):
                digits_and_dots = False
            hyphens += b == 45
            if (  # a punycode label ("xn--...")
                b == 45
                and j >= lo + 3
                and data[j - 1] == 45
                and data[j - 2] == 110
                and data[j - 3] == 120
                and (j == lo + 3 or data[j - 4] == 46)
            ):
                plain = False
        out[i, 0] = plain and not digits_and_dots
        if not out[i, 0]:
            continue
        # the public suffix: tldextract's trie walk, label by label from the right
        node, suffix, private, stop = 0, -1, False, hi
        while True:
            s = _label_start(data, lo, stop)
            child = _child(psl, node, data, s, stop, False)
            if child >= 0:
                node = child
                if psl_end[node]:
                    suffix, private = s, psl_private[node]
                if s == lo:
                    break
                stop = s - 1
                continue
            if psl_star[node] >= 0:
                suffix = stop + 1 if _child(psl, node, data, s, stop, True) >= 0 else s
                private = psl_private[psl_star[node]]
            break
        last = _label_start(data, lo, hi)
        if suffix < 0:  # no suffix: the last label is the domain
            d_start, d_end = last, hi
        elif suffix == lo:
            d_start, d_end = lo, lo
        else:
            d_start, d_end = _label_start(data, lo, suffix - 1), suffix - 1
        # a shared platform's root: its last 2 (else 3) labels, with a label in front
        root, node, stop = -1, 0, hi
        for k in range(1, 4):
            s = _label_start(data, lo, stop)
            node = _child(platforms, node, data, s, stop, False)
            if node < 0:
                break
            if k >= 2 and platforms[0][node] and s > lo:
                root = s
                break
            if s == lo:
                break
            stop = s - 1
        if root >= 0:
            b_start = _label_start(data, lo, root - 1)
            out[i, 1], out[i, 2], out[i, 3] = b_start, b_start, root - 1
            depth = 0
            for j in range(lo, root - 1):
                depth += data[j] == 46
            shared = True
        else:
            has_domain = suffix >= 0 and d_end > d_start
            out[i, 1] = d_start if has_domain else lo
            out[i, 2], out[i, 3] = d_start, d_end
            depth = 0  # subdomain labels other than "www" (and empty ones)
            stop = d_start - 1
            while stop > lo:
                s = _label_start(data, lo, stop)
                www = stop - s == 3 and data[s] == 119 and data[s + 1] == 119 and data[s + 2] == 119
                depth += stop > s and not www
                stop = s - 1
            shared = private and d_end > d_start
        out[i, 4], out[i, 5], out[i, 6] = depth, shared, suffix
        out[i, 7], out[i, 8], out[i, 9] = last, hi, hyphens


@dataclass(frozen=True)
class HostTable:
    """``host_info`` of every value of an array of hosts, as columns."""

    site: pa.Array
    brand: pa.Array
    tld_class: np.ndarray  # index into TLD_CLASSES
    shared_platform: np.ndarray
    is_ip: np.ndarray
    subdomain_depth: np.ndarray
    hyphens: np.ndarray


_TLD_CODES = {c: k for k, c in enumerate(TLD_CLASSES)}


def _infos_table(infos: list[HostInfo | None]) -> HostTable:
    """A host table from ``host_info`` answers (None for a null host)."""

    def column(get: Any, dtype: type) -> np.ndarray:
        return np.asarray([0 if i is None else get(i) for i in infos], dtype)

    return HostTable(
        pa.array([None if i is None else i.site for i in infos], pa.string()),
        pa.array([None if i is None else i.brand for i in infos], pa.string()),
        column(lambda i: _TLD_CODES[i.tld_class], np.int64),
        column(lambda i: i.shared_platform, bool),
        column(lambda i: i.is_ip, bool),
        column(lambda i: i.subdomain_depth, np.int64),
        column(lambda i: i.host.count("-"), np.int64),
    )


def host_table(hosts: pa.Array) -> HostTable:
    """``host_info`` for many hosts: plain host names (nearly all of them) in one compiled
    pass; the rest (IP addresses, international names, odd characters) one by one, as are
    all of a few hosts (an API request), where host_info's cache costs less."""
    if len(hosts) <= rx.SMALL:
        return _infos_table([None if h is None else host_info(h) for h in hosts.to_pylist()])
    offsets, data, valid = as_bytes(hosts)
    n = len(offsets) - 1
    out = np.zeros((n, 10), np.int64)
    psl, platforms = _tries()
    _host_spans(offsets, data, psl.arrays(), platforms.arrays(), out)
    plain = out[:, 0] == 1
    site = from_spans(data, out[:, 1], out[:, 8], valid)
    brand = from_spans(data, out[:, 2], out[:, 3], valid)
    # the TLD class depends on the suffix (or, without one, the last label): once per value
    has_suffix = out[:, 6] >= 0
    values, index = distinct(
        from_spans(data, np.where(has_suffix, out[:, 6], out[:, 7]), out[:, 8])
    )
    pairs, row_pair = np.unique(index * 2 + has_suffix, return_inverse=True)
    per_pair = []
    for pair in pairs.tolist():
        key = values[pair // 2]
        per_pair.append(_TLD_CODES[_tld_class(key if pair % 2 else "", key.rsplit(".", 1)[-1])])
    tld = np.asarray(per_pair, np.int64)[row_pair.ravel()]
    shared, depth, hyphens = out[:, 5] == 1, out[:, 4].copy(), out[:, 9].copy()
    is_ip = np.zeros(n, bool)
    other = np.flatnonzero(~plain & valid)
    if len(other):
        sub = _infos_table([host_info(h) for h in hosts.take(pa.array(other)).to_pylist()])
        mask = pa.array(np.isin(np.arange(n), other))
        site = pc.replace_with_mask(site, mask, sub.site)
        brand = pc.replace_with_mask(brand, mask, sub.brand)
        tld[other], shared[other], is_ip[other] = sub.tld_class, sub.shared_platform, sub.is_ip
        depth[other], hyphens[other] = sub.subdomain_depth, sub.hyphens
    return HostTable(site, brand, tld, shared, is_ip, depth, hyphens)


_URL_PARTS = (
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]*)"
    r"(?::(?P<port>\d*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"
)
"""What ``split_urls`` computes, as the regular expression it is equal to (the tests check the
two agree): host, path and query of an absolute URL; no match (null parts) otherwise."""


@numba.njit(cache=True, nogil=True)
def _is_scheme_char(b: int) -> bool:  # pragma: no cover - compiled
    return (97 <= b <= 122) or (65 <= b <= 90) or (48 <= b <= 57) or b in (43, 45, 46)


@numba.njit(cache=True, nogil=True)
def _url_spans(offsets, data, valid, spans):  # pragma: no cover - compiled
    """spans[i] = host start, host end, path start, path end, query start, query end, matched,
    host not ASCII: ``_URL_PARTS`` matched byte by byte (one pass, no backtracking needed)."""
    for i in range(offsets.shape[0] - 1):
        spans[i, 6] = spans[i, 7] = 0
        if not valid[i]:
            continue
        p, end = offsets[i], offsets[i + 1]
        b = data[p] if p < end else 0
        if not ((97 <= b <= 122) or (65 <= b <= 90)):
            continue
        p += 1
        while p < end and _is_scheme_char(data[p]):
            p += 1
        if p + 3 > end or data[p] != 58 or data[p + 1] != 47 or data[p + 2] != 47:  # "://"
            continue
        p += 3
        q = p  # optional user info: up to the first '@' if it comes before any of '/?#'
        while q < end and data[q] not in (64, 47, 63, 35):
            q += 1
        if q < end and data[q] == 64:
            p = q + 1
        host_start = p
        q = -1
        if p < end and data[p] == 91:  # "[...]"
            q = p + 1
            while q < end and data[q] != 93:
                q += 1
            q = q + 1 if q < end else -1
        if q < 0:
            q = p
            while q < end and data[q] not in (58, 47, 63, 35):
                q += 1
        spans[i, 0], spans[i, 1] = host_start, q
        for j in range(host_start, q):
            if data[j] >= 128:
                spans[i, 7] = 1
                break
        p = q
        if p < end and data[p] == 58:  # ":port" (digits only; the rest belongs to the path)
            p += 1
            while p < end and 48 <= data[p] <= 57:
                p += 1
        q = p
        while q < end and data[q] not in (63, 35):
            q += 1
        spans[i, 2], spans[i, 3] = p, q
        p = q
        if p < end and data[p] == 63:
            q = p + 1
            while q < end and data[q] != 35:
                q += 1
            spans[i, 4], spans[i, 5] = p + 1, q
        else:
            spans[i, 4], spans[i, 5] = p, p
        spans[i, 6] = 1


def split_urls(urls: pa.Array) -> dict[str, pa.Array]:
    """Lower-cased host, path and query of each URL (null parts where it is not an absolute
    URL): ``_URL_PARTS``, computed in one compiled pass over the bytes."""
    offsets, data, valid = as_bytes(urls)
    spans = np.zeros((len(offsets) - 1, 8), np.int64)
    _url_spans(offsets, data, valid, spans)
    matched = spans[:, 6] == 1
    host = from_spans(data, spans[:, 0], spans[:, 1], matched, lower=True)
    if spans[:, 7].any():  # lower-case the other letters too (as ``utf8_lower`` does)
        other = pa.array(spans[:, 7] == 1)
        host = pc.replace_with_mask(host, other, pc.utf8_lower(host.filter(other)))
    return {
        "host": host,
        "path": from_spans(data, spans[:, 2], spans[:, 3], matched),
        "query": from_spans(data, spans[:, 4], spans[:, 5], matched),
    }


_TRACKING = rf"(^|&)({TRACKING_PARAMS})(=[^&]*)?"


def strip_tracking(query: pa.Array) -> pa.Array:
    """Drop tracking parameters (utm_*, fbclid, gclid...) from query strings.

    Many rows: the two rewriting passes run only on the rows they change (a tracking
    parameter, or a leading "&"), found by one automaton pass; most queries have neither."""
    if not pc.any(pc.not_equal(query, string(""))).as_py():
        return query
    touched = None
    if len(query) > rx.SMALL:
        touched = rx.first_match(query, (_TRACKING, "^&")) >= 0
        if not touched.any():
            return query
        query, whole = query.filter(pa.array(touched)), query
    q = rx.replace(rx.replace(query, _TRACKING, ""), r"^&+", "")
    return q if touched is None else pc.replace_with_mask(whole, pa.array(touched), q)


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
