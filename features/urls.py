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

import idna
import polars as pl
import tldextract

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)
_PUBLIC_ONLY = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
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
    parts = pl.col("__parts")
    matched = parts.struct.field("scheme").is_not_null()
    return (
        frame.with_columns(pl.col(column).str.extract_groups(URL_PARTS).alias("__parts"))
        .with_columns(
            parts.struct.field("host").str.to_lowercase().alias(f"{prefix}host"),
            pl.when(matched).then(parts.struct.field("path")).alias(f"{prefix}path"),
            pl.when(matched)
            .then(parts.struct.field("query").fill_null(""))
            .alias(f"{prefix}query"),
        )
        .drop("__parts")
    )


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


_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _is_ip(host: str) -> bool:
    if _IPV4.match(host) is None and ":" not in host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


_MAX_RULE_LABELS = 8  # the longest Public Suffix List rule has 7 labels; one more for wildcards


def _ascii(label: str) -> str:
    """A label as hosts spell it: punycode for international names."""
    if label.isascii() or label in ("*",):
        return label
    prefix = "!" if label.startswith("!") else ""
    return prefix + idna.encode(label.removeprefix("!")).decode("ascii")


@lru_cache(maxsize=1)
def _suffix_table() -> pl.DataFrame:
    """The Public Suffix List as a table keyed by every suffix a host can end in that the list
    knows: each rule and every trailing part of one (``node``), whether it is a rule
    (``rule``, its section in ``rule_private``), whether a wildcard rule ``*.suffix`` lies
    below it (``wild``, ``wild_private``), whether it is an exception (``!suffix``).

    Rules come from tldextract's bundled snapshot through its public ``tlds`` (private-section
    rules are those only the extractor that includes them lists); labels are punycode."""
    international = {
        rule: ".".join(_ascii(label) for label in rule.split("."))
        for rule in _EXTRACT.tlds
        if not rule.isascii()
    }
    rules = pl.DataFrame({"rule": _EXTRACT.tlds}).with_columns(
        private=~pl.col("rule").is_in(_PUBLIC_ONLY.tlds),
        name=pl.col("rule").replace(international),
    )
    labels = pl.col("name").str.split(".")
    nodes = (  # every trailing part of every rule
        rules.select(labels=labels, k=pl.int_ranges(1, labels.list.len() + 1))
        .explode("k")
        .select(suffix=pl.col("labels").list.slice(-pl.col("k")).list.join("."), node=True)
    )
    wild = rules.filter(pl.col("name").str.starts_with("*."))
    exception = rules.filter(pl.col("name").str.starts_with("!"))
    flags = pl.concat(
        [
            nodes,
            rules.select(suffix="name", rule=True, rule_private="private"),
            wild.select(suffix=pl.col("name").str.slice(2), wild=True, wild_private="private"),
            exception.select(suffix=pl.col("name").str.slice(1), exception=True),
        ],
        how="diagonal",
    )
    return flags.group_by("suffix").agg(pl.col(f).fill_null(False).any() for f in _SUFFIX_FLAGS)


_SUFFIX_FLAGS = ("node", "rule", "rule_private", "wild", "wild_private", "exception")


def _walk(names: pl.DataFrame) -> pl.DataFrame:
    """Per ``name`` (a lower-case ASCII host): its trailing parts (``tails``: its last 1, 2, ...
    labels, up to the longest rule and one more), its label count ``n``, how many labels form
    its public suffix (``suffix_labels``, 0 when none) and whether that suffix is a
    private-section rule.

    tldextract's walk of the list, as a join: the trailing parts are looked up in
    ``_suffix_table``. The longest rule among them is the suffix, unless the walk meets a
    wildcard first: where the parts the list knows end (``known`` labels) and ``*.`` those
    labels is a rule, the suffix is one label longer, or exactly ``known`` labels when the
    longer part is an exception."""
    k, n = pl.col("k"), pl.col("n")
    walked = (
        names.select("name", labels=pl.col("name").str.split("."))
        .with_columns(n=pl.col("labels").list.len())
        .with_columns(k=pl.int_ranges(1, pl.min_horizontal(n, _MAX_RULE_LABELS) + 1))
        .explode("k")
        .with_columns(tail=pl.col("labels").list.slice(n - k).list.join("."))
        .join(_suffix_table(), left_on="tail", right_on="suffix", how="left", maintain_order="left")
        .fill_null(False)
        .group_by("name", maintain_order=True)
        .agg(
            pl.col("tail").alias("tails"),
            n.first(),
            *(pl.col(flag) for flag in ("wild", "wild_private", "exception", "rule_private")),
            known=pl.col("node").sum(),  # the parts the list knows are always the first ones
            longest=(k * pl.col("rule").cast(pl.Int64)).max(),
        )
    )
    known, longest = pl.col("known"), pl.col("longest")

    def at(flags: str, labels: pl.Expr) -> pl.Expr:
        """The flag of the trailing part of ``labels`` labels (false when there is none)."""
        found = pl.col(flags).list.get(labels - 1, null_on_oob=True)
        return pl.when(labels > 0).then(found).fill_null(False)

    wildcard = at("wild", known) & (n > known)
    return walked.select(
        "name",
        "tails",
        "n",
        suffix_labels=pl.when(wildcard)
        .then(pl.when(at("exception", known + 1)).then(known).otherwise(known + 1))
        .otherwise(longest),
        private=pl.when(wildcard)
        .then(at("wild_private", known))
        .otherwise(at("rule_private", longest)),
    )


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


def ascii_host(host: str) -> str:
    """A host as the Public Suffix List is walked with it: no dots at the ends, lower case,
    punycode for international names."""
    name = host.strip(".").lower()
    if not name.isascii():
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name


def _first_label(text: pl.Expr) -> pl.Expr:
    return text.str.split_exact(".", 1).struct.field("field_0")


def host_frame(hosts: pl.Series) -> pl.DataFrame:
    """What linksift derives from each distinct non-null host (``HOST_SCHEMA``), ready to be
    joined on ``host``; codes and flags as floats, as the feature matrix holds them.

    ``site``: the registrable domain (``news.example.co.uk`` → ``example.co.uk``), or on a
    shared platform the user's subdomain with the platform (``alice.blogspot.com``); the host
    itself when it has no public suffix. ``brand``: the label left of the public suffix (the
    user's label on a platform). ``subdomain_depth``: labels left of the brand, "www" and
    empty ones aside. IP addresses are their own site, without a brand."""
    distinct = hosts.drop_nulls().unique().to_frame("host")
    # dots, case and punycode in Python, for the few hosts that need it (international names)
    plain = pl.col("host").str.contains(r"^[a-z0-9_-]([a-z0-9._-]*[a-z0-9_-])?$")
    odd = distinct.filter(~plain)["host"].to_list()
    names = distinct.with_columns(name=pl.col("host").replace({h: ascii_host(h) for h in odd}))
    ips = [
        h for h in names.filter(pl.col("name").str.contains(r"^[0-9.]+$|:"))["name"] if _is_ip(h)
    ]
    tails, n, size = pl.col("tails"), pl.col("n"), pl.col("suffix_labels")
    # tldextract's reading: the label left of the suffix is the domain; without a suffix, the
    # last label is
    suffix = (
        pl.when(size > 0).then(tails.list.get(size - 1, null_on_oob=True)).otherwise(pl.lit(""))
    )
    registrable = pl.when((size > 0) & (n > size)).then(tails.list.get(size, null_on_oob=True))
    domain = (
        pl.when(size == 0)
        .then(tails.list.first())
        .otherwise(_first_label(pl.col("registrable")).fill_null(""))
    )
    root = (
        pl.when((n > 2) & tails.list.get(1, null_on_oob=True).is_in(SHARED_PLATFORMS))
        .then(2)
        .when((n > 3) & tails.list.get(2, null_on_oob=True).is_in(SHARED_PLATFORMS))
        .then(3)
    )
    platform_site = tails.list.get(pl.col("root"), null_on_oob=True)
    on_platform = pl.col("root").is_not_null()
    # the labels left of the domain (the subdomain): the name without its last part
    kept = pl.when(size == 0).then(tails.list.first()).otherwise(pl.col("registrable"))
    left_of_domain = pl.col("name").str.head(
        (
            pl.col("name").str.len_chars().cast(pl.Int64) - kept.str.len_chars().cast(pl.Int64) - 1
        ).clip(lower_bound=0)
    )
    sub_labels = pl.col("left").str.split(".")
    depth = (
        pl.when(pl.col("left").fill_null("") == "")
        .then(0)
        .otherwise(
            sub_labels.list.len()
            - sub_labels.list.count_matches("www")
            - sub_labels.list.count_matches("")
        )
    )
    last = tails.list.first()
    first_of_suffix = _first_label(pl.col("suffix"))
    tld = (
        pl.when(
            last.is_in(EDU_GOV)
            | first_of_suffix.is_in(EDU_GOV)
            | ("." + pl.col("suffix") + ".").str.contains(".gov.", literal=True)
        )
        .then(pl.lit("edu_gov"))
        .when(last.is_in(CHEAP_TLDS))
        .then(pl.lit("cheap"))
        .when(last.is_in(GENERIC_TLDS))
        .then(pl.lit("generic"))
        .when((last.str.len_chars() == 2) | last.str.starts_with("xn--"))
        .then(pl.lit("country"))
        .otherwise(pl.lit("new_generic"))
    )
    walked = (
        _walk(names.filter(~pl.col("name").is_in(ips)).select("name").unique())
        .with_columns(suffix=suffix, registrable=registrable, root=root)
        .with_columns(domain=domain, left=left_of_domain)
        .select(
            "name",
            site=pl.when(on_platform)
            .then(platform_site)
            .when(pl.col("registrable").is_not_null() & (pl.col("domain") != ""))
            .then(pl.col("registrable"))
            .otherwise(pl.col("name")),
            brand=pl.when(on_platform)
            .then(_first_label(platform_site))
            .otherwise(pl.col("domain")),
            suffix="suffix",
            tld_class=tld.replace_strict(
                {c: float(i) for i, c in enumerate(TLD_CLASSES)}, return_dtype=pl.Float64
            ),
            shared_platform=(on_platform | (pl.col("private") & (pl.col("domain") != ""))).cast(
                pl.Float64
            ),
            ip_host=pl.lit(0.0),
            subdomain_depth=pl.when(on_platform)
            .then(n - pl.col("root") - 1)
            .otherwise(depth)
            .cast(pl.Float64),
        )
    )
    addresses = pl.DataFrame(
        {
            "name": ips,
            "site": ips,
            "brand": "",
            "suffix": "",
            "tld_class": 0.0,
            "shared_platform": 0.0,
            "ip_host": 1.0,
            "subdomain_depth": 0.0,
        },
        schema={k: v for k, v in HOST_SCHEMA.items() if k not in ("host", "host_hyphens")}
        | {"name": pl.String},
    )
    return (
        names.join(pl.concat([walked, addresses], how="diagonal"), on="name", how="left")
        .with_columns(
            host_hyphens=pl.col("name").str.count_matches("-", literal=True).cast(pl.Float64)
        )
        .select(HOST_SCHEMA.keys())
    )


def sites_of(urls: pl.Series) -> pl.Series:
    """The site (see module doc) of each URL; null where it is not an absolute URL."""
    hosts = with_url_parts(pl.DataFrame({"url": urls}), "url", "")
    sites = host_frame(hosts["host"]).select("host", "site")
    return hosts.join(sites, on="host", how="left", maintain_order="left")["site"]
