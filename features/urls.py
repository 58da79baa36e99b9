"""Hosts, sites and URL normalisation.

A "site" is the unit a person owns: the registrable domain (``news.example.co.uk`` →
``example.co.uk``), except on shared platforms where every user's subdomain is its own site
(``alice.blogspot.com``, ``bob.wordpress.com``). Disavow files and per-domain aggregates are
keyed on sites, so one spammy blog never condemns the whole platform.

URLs are split by one regular expression (a Polars expression). What a host means comes from
the Public Suffix List bundled with tldextract (read through its public ``tlds``: no network
at run time), turned into a table that hosts' trailing names are looked up in, as Polars
expressions over every distinct host at once; tests hold the result to tldextract's own
reading of every rule.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache

import polars as pl
import tldextract

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


_TRACKING = rf"(^|&)({TRACKING_PARAMS})=[^&]*"


def strip_tracking(query: pl.Expr) -> pl.Expr:
    """Query strings without tracking parameters (``utm_*``, ``fbclid``, ``gclid``...): what a
    feature reads of a query, so campaign tags never change it. A parameter is known by its
    name up to the "=" (``_gaxyz=1`` is kept, ``_ga=1`` is not)."""
    return query.str.replace_all(_TRACKING, "").str.replace(r"^&+", "")


_IPV4 = r"^\d{1,3}(\.\d{1,3}){3}$"
_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what Python's str.strip() removes in ASCII


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def ascii_host(host: str) -> str:
    """A host as the Public Suffix List is read with it: no dots at the ends, lower case,
    punycode for international names."""
    name = host.strip(".").lower()
    if not name.isascii():
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name


def _psl_name(name: str) -> str:
    """What tldextract reads of a host name: after any "@", no spaces or final dots, ASCII
    dots."""
    name = name.rpartition("@")[-1].strip().rstrip(".\u3002\uff0e\uff61")
    return name.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")


_NODE, _END, _PRIVATE, _WILDCARD, _WILDCARD_PRIVATE, _EXCEPTION, _PLATFORM = (
    1 << i for i in range(7)
)


def _suffix_flags() -> tuple[tuple[pl.Series, pl.Series], ...]:
    """The bundled Public Suffix List (tldextract's public ``tlds``) as flags per dotted name:
    a node of the rule tree (``_NODE``: some rule ends in it), a rule (``_END``, ``_PRIVATE``
    when in the private section), the parent of a wildcard rule ``*.name`` (``_WILDCARD``,
    ``_WILDCARD_PRIVATE``), an exception ``!name`` (``_EXCEPTION``); and the shared platforms
    (``_PLATFORM``). Names with non-ASCII labels are there as written and in punycode.

    One table (names, flags) per number of labels: the table for k labels is all a host's
    last k labels are looked up in, so a lookup hashes only its own names. Built once per
    process (scoring threads wait for the first)."""
    with _SUFFIX_LOCK:
        return _built_suffix_flags()


_SUFFIX_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _built_suffix_flags() -> tuple[tuple[pl.Series, pl.Series], ...]:
    def rules(private: bool) -> list[str]:
        return tldextract.TLDExtract(
            suffix_list_urls=(), cache_dir=None, include_psl_private_domains=private
        ).tlds

    public = set(rules(False))
    flags: dict[str, int] = {}

    def add(name: str, flag: int) -> None:
        flags[name] = flags.get(name, 0) | flag
        if not name.isascii():
            add(".".join(_punycode(label) for label in name.split(".")), flag)

    for rule in rules(True):
        private = rule not in public
        if rule.startswith("!"):
            add(rule[1:], _EXCEPTION)
            continue
        wildcard = rule.startswith("*.")
        name = rule[2:] if wildcard else rule
        labels = name.split(".")
        for k in range(1, len(labels) + 1):
            add(".".join(labels[-k:]), _NODE)
        if wildcard:
            add(name, _WILDCARD | (_WILDCARD_PRIVATE if private else 0))
        else:
            add(name, _END | (_PRIVATE if private else 0))
    for platform in SHARED_PLATFORMS:
        add(platform, _PLATFORM)
    by_size: list[dict[str, int]] = [{} for _ in range(max(n.count(".") for n in flags) + 1)]
    for name, flag in flags.items():
        by_size[name.count(".")][name] = flag
    return tuple(
        (pl.Series(list(names), dtype=pl.String), pl.Series(list(names.values()), dtype=pl.Int64))
        for names in by_size
    )


def _punycode(label: str) -> str:
    """A label as the idna codec writes it (the list's labels are in nameprep form already,
    so punycode alone gives the same, much faster)."""
    return label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")


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


def host_frame(hosts: pl.Series) -> pl.DataFrame:
    """What linksift derives from each distinct non-null host (``HOST_SCHEMA``), ready to be
    joined on ``host``; codes and flags as floats, as the feature matrix holds them.

    ``site``: the registrable domain (``news.example.co.uk`` → ``example.co.uk``), or on a
    shared platform the user's subdomain with the platform (``alice.blogspot.com``); the host
    itself when it has no public suffix. ``brand``: the label left of the public suffix (the
    user's label on a platform). ``subdomain_depth``: labels left of the brand, "www" and
    empty ones aside. IP addresses are their own site, without a brand.

    Public suffixes are read as tldextract reads them (tested against it on every rule), by
    looking a host's trailing names up in the suffix table (``_suffix_flags``) in Polars: a
    profile has hundreds of thousands of distinct hosts. Only international and IP-like
    names are looked at in Python.

    A few hosts at a time (the API) are remembered: a lookup costs a few milliseconds
    whatever its size, and the same hosts come back request after request."""
    frame = pl.DataFrame({"host": hosts}, schema={"host": pl.String}).drop_nulls().unique()
    if frame.height > _REMEMBER_FROM:
        return _described(frame)
    rows = [_REMEMBERED.get(h) for h in frame["host"]]
    if all(r is not None for r in rows):
        return pl.DataFrame(rows, schema=HOST_SCHEMA, orient="row")
    described = _described(frame)
    if len(_REMEMBERED) > _REMEMBERED_MAX:  # bounded: a long-running service
        _REMEMBERED.clear()
    _REMEMBERED.update((row[0], row) for row in described.iter_rows())
    return described


_REMEMBER_FROM = 64
_REMEMBERED: dict[str, tuple] = {}
_REMEMBERED_MAX = 100_000


def _described(frame: pl.DataFrame) -> pl.DataFrame:
    """``HOST_SCHEMA`` for a frame of distinct non-null hosts."""
    plain = pl.col("host").str.strip_chars(".").str.to_lowercase()
    frame = frame.with_columns(name=_except(pl.col("host"), plain, ascii_host, frame["host"]))
    # tldextract reads the part after any "@", without spaces or final dots
    psl = pl.col("name").str.split("@").list.last().str.strip_chars(_SPACES)
    ips = [n for n in frame.filter(_IP_LIKE)["name"] if _is_ip(n)]
    return (
        frame.with_columns(
            psl=_except(pl.col("name"), psl.str.strip_chars_end("."), _psl_name, frame["name"]),
            ip=pl.col("name").is_in(pl.Series(ips, dtype=pl.String).implode()),
        )
        .lazy()
        .pipe(
            _stages,
            [
                [pl.col("psl").str.split(".").alias("__labels")],
                _suffix_flag_columns(),
                *_suffix_length(),
                *_host_columns(),
            ],
        )
        .collect(engine="in-memory")
    )


_IP_LIKE = pl.col("name").str.contains(_IPV4) | pl.col("name").str.contains(":", literal=True)


def _except(
    column: pl.Expr, ascii_form: pl.Expr, python: Callable[[str], str], values: pl.Series
) -> pl.Expr:
    """``ascii_form`` of each value, or ``python(value)`` for the few non-ASCII ones (found
    by Polars: a profile's hundreds of thousands of hosts are not walked in Python)."""
    odd = values.filter(values.str.len_bytes() != values.str.len_chars()).to_list()
    if not odd:
        return ascii_form
    return column.replace_strict(
        odd, [python(v) for v in odd], default=ascii_form, return_dtype=pl.String
    )


def _stages(frame: pl.LazyFrame, stages: list[list[pl.Expr]]) -> pl.LazyFrame:
    """``frame`` with each stage's columns added in turn; the last stage is selected."""
    for stage in stages[:-1]:
        frame = frame.with_columns(stage)
    return frame.select(stages[-1])


def _labels() -> pl.Expr:
    """The labels of the name tldextract reads (split once, in the first stage)."""
    return pl.col("__labels")


def _suffix_flag_columns() -> list[pl.Expr]:
    """``__f{k}``: the suffix table's flags for each host's last k labels (0: not there)."""
    labels = _labels()
    return [
        pl.when(labels.list.len() >= k)
        .then(labels.list.slice(-k).list.join("."))
        .replace_strict(names, flags, default=0, return_dtype=pl.Int64)
        .fill_null(0)
        .alias(f"__f{k}")
        for k, (names, flags) in enumerate(_suffix_flags(), start=1)
    ]


def _suffix_length() -> list[list[pl.Expr]]:
    """``__s``: how many labels the public suffix has, ``__private``: from the private
    section; tldextract's walk down the rule tree (``suffix_index``) as column arithmetic, in
    stages (each uses the columns of the one before)."""
    f = [pl.col(f"__f{k}") for k in range(1, len(_suffix_flags()) + 1)]

    def has(flags: pl.Expr, flag: int) -> pl.Expr:
        return (flags & flag) != 0

    def at(k: pl.Expr) -> pl.Expr:  # the flags of the last k labels
        return pl.coalesce([pl.when(k == i + 1).then(fk) for i, fk in enumerate(f)] + [pl.lit(0)])

    walked = pl.col("__walked")  # how deep the walk went: the last labels that are a node
    # the walk stops at a label the tree does not have: under a wildcard, that label is part
    # of the suffix unless an exception rule names it
    wildcard = (walked >= 1) & (walked < pl.col("__n")) & has(at(walked), _WILDCARD)
    exception = has(at(walked + 1), _EXCEPTION)
    longest = pl.max_horizontal(
        [pl.when(has(fk, _END)).then(pl.lit(i + 1, pl.Int32)) for i, fk in enumerate(f)]
    ).fill_null(0)
    return [
        [
            _labels().list.len().alias("__n"),
            pl.sum_horizontal([has(fk, _NODE).cast(pl.Int32) for fk in f]).alias("__walked"),
        ],
        [
            wildcard.alias("__wildcard"),
            pl.when(wildcard)
            .then(pl.when(exception).then(walked).otherwise(walked + 1))
            .otherwise(longest)
            .alias("__s"),
        ],
        [
            pl.when(pl.col("__wildcard"))
            .then(has(at(walked), _WILDCARD_PRIVATE))
            .otherwise(has(at(pl.col("__s")), _PRIVATE))
            .alias("__private")
        ],
    ]


def _host_columns() -> list[list[pl.Expr]]:
    """``HOST_SCHEMA`` from the suffix length, the platform and the IP flag, in stages."""
    labels, s, n = _labels(), pl.col("__s"), pl.col("__n")
    subdomain = labels.list.head(pl.max_horizontal(n - s - 1, pl.lit(0)))
    # a user's site on a shared platform: the platform and the label left of it
    platform = [(n > k) & ((pl.col(f"__f{k}") & _PLATFORM) != 0) for k in (2, 3)]
    k = pl.when(platform[0]).then(2).when(platform[1]).then(3)
    parts = [
        pl.when(s > 0)
        .then(labels.list.slice(-s).list.join("."))
        .otherwise(pl.lit(""))
        .alias("suffix"),
        pl.when(s < n).then(labels.list.get(n - s - 1)).otherwise(pl.lit("")).alias("__domain"),
        subdomain.list.eval((pl.element() != "") & (pl.element() != "www"))
        .list.sum()
        .alias("__depth"),
        labels.list.slice(-k).list.join(".").alias("__root"),
        labels.list.get(n - k - 1).alias("__user"),
        k.alias("__k"),
        labels.list.last().alias("__last"),
    ]
    suffix, domain, k, user = pl.col("suffix"), pl.col("__domain"), pl.col("__k"), pl.col("__user")
    ip, on_platform = pl.col("ip"), k.is_not_null()
    registrable = pl.when((suffix != "") & (domain != "")).then(domain + "." + suffix)
    described = [
        pl.col("host"),
        pl.when(ip)
        .then(pl.col("name"))
        .when(on_platform)
        .then(user + "." + pl.col("__root"))
        .otherwise(registrable.fill_null(pl.col("name")))
        .alias("site"),
        pl.when(ip).then(pl.lit("")).when(on_platform).then(user).otherwise(domain).alias("brand"),
        pl.when(ip).then(pl.lit("")).otherwise(suffix).alias("suffix"),
        pl.when(ip)
        .then(pl.lit(_TLD_CODES["generic"]))
        .otherwise(_tld_class(suffix, pl.col("__last")))
        .alias("tld_class"),
        (~ip & (on_platform | (pl.col("__private") & (domain != ""))))
        .cast(pl.Float64)
        .alias("shared_platform"),
        ip.cast(pl.Float64).alias("ip_host"),
        pl.when(ip)
        .then(0)
        .when(on_platform)
        .then(n - k - 1)
        .otherwise(pl.col("__depth"))
        .cast(pl.Float64)
        .alias("subdomain_depth"),
        pl.col("name").str.count_matches("-", literal=True).cast(pl.Float64).alias("host_hyphens"),
    ]
    return [parts, described]


_TLD_CODES = {c: float(i) for i, c in enumerate(TLD_CLASSES)}


def _tld_class(suffix: pl.Expr, last: pl.Expr) -> pl.Expr:
    """The class of a host's TLD (``TLD_CLASSES`` code) from its public suffix and its last
    label."""

    def among(values: Iterable[str]) -> pl.Expr:
        return pl.Series(sorted(values), dtype=pl.String).implode()

    first = suffix.str.split(".").list.first()
    code = {c: pl.lit(v) for c, v in _TLD_CODES.items()}
    return (
        pl.when(
            last.is_in(among(EDU_GOV))
            | first.is_in(among(EDU_GOV))
            | ("." + suffix + ".").str.contains(".gov.", literal=True)
        )
        .then(code["edu_gov"])
        .when(last.is_in(among(CHEAP_TLDS)))
        .then(code["cheap"])
        .when(last.is_in(among(GENERIC_TLDS)))
        .then(code["generic"])
        .when((last.str.len_chars() == 2) | last.str.starts_with("xn--"))
        .then(code["country"])
        .otherwise(code["new_generic"])
    )


def sites_of(urls: pl.Series) -> pl.Series:
    """The site (see module doc) of each URL; null where it is not an absolute URL."""
    hosts = with_url_parts(pl.DataFrame({"url": urls}), "url", "")
    sites = host_frame(hosts["host"]).select("host", "site")
    return hosts.join(sites, on="host", how="left", maintain_order="left")["site"]
