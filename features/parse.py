"""Parsers from raw export strings to canonical values, as Polars expressions.

Every parser takes an expression of cleaned strings (``clean``: trimmed, so blank means empty)
and returns the typed value: null where the cell was blank or could not be parsed. A cell that
held something yet gave no value is bad (``bad``); callers turn that into a per-row reject
reason naming the field, so nothing is silently dropped. Blank is not bad: it means "unknown".
"""

from __future__ import annotations

from datetime import date

import polars as pl

TRUE = ("true", "1", "yes", "y", "t", "+", "x")
FALSE = ("false", "0", "no", "n", "f", "-")

_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_THOUSANDS = r"^[+-]?[0-9]{1,3}([,' ][0-9]{3})+(\.[0-9]+)?$"
_DECIMAL_COMMA = r"^[+-]?[0-9]+,[0-9]+$"
_SCHEME = r"^[a-zA-Z][a-zA-Z0-9+.-]*://"
_HOSTLIKE = r"^[^\t\n\f\r /?#:@]+\.[^\t\n\f\r /?#:@.]+([:/?#]|$)"
_VALID_URL = (
    r"^[hH][tT][tT][pP][sS]?://([^@/?#\x00-\x20\x7f]*@)?"
    r"(\[[0-9a-fA-F:.]+\]|[^\x00-\x20\x7f/?#:@.\[\]]+(\.[^\x00-\x20\x7f/?#:@.\[\]]+)+\.?)"
    r"(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f]*)?$"
)
MAX_URL_LENGTH = 4096
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)"
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d.%m.%Y",
)
_FIRST_DAY = date(1, 1, 1)


def clean(s: pl.Expr) -> pl.Expr:
    """Trim whitespace (including non-breaking spaces) around each value."""
    return s.str.replace_all("\u00a0", " ", literal=True).str.strip_chars()


def blank(s: pl.Expr) -> pl.Expr:
    """Null or empty."""
    return s.is_null() | (s == "")


def bad(value: pl.Expr, s: pl.Expr) -> pl.Expr:
    """A cleaned cell that held something, yet gave no value."""
    return value.is_null() & ~blank(s)


_HOST = r"^[hH][tT][tT][pP][sS]?://(?:[^@/?#]*@)?(\[[^\]]*\]|[^/?#:]*)"
_LABEL = r"[a-zA-Z0-9_](?:[a-zA-Z0-9_-]*[a-zA-Z0-9_])?"
_TOP = r"[a-zA-Z0-9-]*[a-zA-Z][a-zA-Z0-9-]*"
_PLAIN_HOST_URL = (
    r"^[hH][tT][tT][pP][sS]?://(?:[^@/?#]*@)?"
    rf"(?:\[[0-9a-fA-F:.]+\]|[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}|(?:{_LABEL}\.)+{_TOP}\.?)"
    r"(?:[:/?#]|$)"
)
"""A URL whose host is an IP address or ASCII labels of letters, digits, inner hyphens and
underscores (some subdomains have them), the last one not all digits."""


def valid_hosts(urls: pl.Series) -> pl.Series:
    """Whether each URL's host is a name a browser could reach: ``_PLAIN_HOST_URL``, and
    labels no longer than 63 characters (253 in all); punycode (``xn--``) and non-ASCII names
    must be valid IDNA 2008, which also refuses invisible characters such as a zero-width
    space. Percent escapes and spaces are not host names. Hosts are taken apart only for the
    few URLs that need more than the pattern."""
    plain = urls.str.contains(_PLAIN_HOST_URL).fill_null(False)
    closer = ~plain | urls.str.contains("xn--", literal=True).fill_null(False)
    closer |= urls.str.contains(r"^[^/]*//[^/?#]*[^./?#:@]{64}").fill_null(False)
    if not closer.any():
        return plain
    hosts = urls.filter(closer).str.extract(_HOST, 1).str.to_lowercase()
    labels_fit = hosts.str.len_bytes() <= 253
    labels_fit &= ~hosts.str.contains(r"[^.]{64}")
    checked = plain.filter(closer) & ~hosts.str.contains("xn--", literal=True)
    checked = (checked | _idna_ok(hosts)) & labels_fit
    return plain.clone().scatter(closer.arg_true(), checked.fill_null(False))


def _idna_ok(hosts: pl.Series) -> pl.Series:
    """IDNA 2008 for the international names among ``hosts`` (lower-cased); false for the
    rest."""
    import idna

    def ok(host: str | None) -> bool:
        if host is None:
            return False
        name = host.rstrip(".")
        try:
            # the mapping may only fold case: one that drops characters (a zero-width
            # space) or rewrites them would make the name look like another
            if idna.uts46_remap(name, std3_rules=True, transitional=False) != name:
                return False
            idna.encode(name)
            return True
        except (idna.IDNAError, UnicodeError, ValueError):
            return False

    candidates = hosts.str.contains("[^\x00-\x7f]|xn--").fill_null(False)
    checked = {h: ok(h) for h in hosts.filter(candidates).unique().to_list()}
    return hosts.replace_strict(checked, default=False, return_dtype=pl.Boolean)


def parse_url(s: pl.Expr) -> pl.Expr:
    """http(s) URLs with a valid host (``valid_hosts``); ``example.com/page`` and
    ``//example.com`` get an ``http`` scheme."""
    bare = ~s.str.contains(_SCHEME) & s.str.contains(_HOSTLIKE)
    fixed = (
        pl.when(s.str.starts_with("//"))
        .then(pl.lit("http:") + s)
        .when(bare)
        .then(pl.lit("http://") + s)
        .otherwise(s)
    )
    ok = fixed.str.contains(_VALID_URL) & (fixed.str.len_chars() <= MAX_URL_LENGTH)
    host_ok = fixed.map_batches(valid_hosts, return_dtype=pl.Boolean)
    return pl.when(ok & host_ok).then(fixed)


def parse_bool(s: pl.Expr) -> pl.Expr:
    """true/false/TRUE/1/0/yes/no/+/-; blank is null."""
    v = s.str.to_lowercase()
    return v.replace_strict(
        {**dict.fromkeys(TRUE, True), **dict.fromkeys(FALSE, False)},
        default=None,
        return_dtype=pl.Boolean,
    )


def parse_number(s: pl.Expr) -> pl.Expr:
    """Finite decimals; accepts thousands separators (1,234 / 1 234 / 1'234) and a decimal comma."""
    plain = (
        pl.when(s.str.contains(_THOUSANDS))
        .then(s.str.replace_all(r"[,' ]", ""))
        .when(s.str.contains(_DECIMAL_COMMA))
        .then(s.str.replace(",", ".", literal=True))
        .otherwise(s)
    )
    number = pl.when(plain.str.contains(_NUMBER)).then(plain.cast(pl.Float64, strict=False))
    return pl.when(number.is_finite()).then(number)


def parse_date(s: pl.Expr) -> pl.Expr:
    """ISO dates and datetimes, ``Sep 15, 2026``, ``15 Sep 2026``, ``2026/09/15``, ``15.09.2026``."""
    iso = s.str.contains(_ISO) & ~s.str.contains("\n", literal=True)
    parsed = (
        pl.when(iso)
        .then(s.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        .otherwise(pl.coalesce([s.str.strptime(pl.Date, f, strict=False) for f in _DATE_FORMATS]))
    )
    return pl.when(parsed >= _FIRST_DAY).then(parsed)


def parse_category(s: pl.Expr, allowed: tuple[str, ...], synonyms: dict[str, str]) -> pl.Expr:
    """Lower-cased value from ``allowed`` (after mapping ``synonyms``); anything else is null."""
    v = s.str.to_lowercase().str.replace_all(r"[\s\x{1C}-\x{1F}]+", " ")
    mapping = {**{c: c for c in allowed}, **{k: v for k, v in synonyms.items() if v in allowed}}
    return v.replace_strict(mapping, default=None, return_dtype=pl.String)


def parse_choice(s: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """One of ``mapping``'s keys (any case), given as its value."""
    return s.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)


def typed(s: pl.Expr, dtype: pl.DataType, kind: str) -> pl.Expr | None:
    """Columns that already have the canonical type (Parquet, JSON numbers) skip string
    parsing; numbers must still be finite."""
    if kind == "number" and (dtype.is_float() or dtype.is_integer()):
        number = s.cast(pl.Float64)
        return pl.when(number.is_finite()).then(number)
    if kind == "bool" and dtype == pl.Boolean:
        return s
    if kind == "date" and dtype == pl.Date:
        return s
    if kind == "date" and isinstance(dtype, pl.Datetime):
        return s.dt.date()
    return None
