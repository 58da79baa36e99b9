"""The canonical link table: one row per backlink, the contract every part of linksift uses.

This module is the single place that says which columns exist, what type each has, what it
means and which vendor column feeds it. Importers build their header mappings from
``COLUMNS``; validation, features, training, batch and the API read the same definitions.

Conventions:
- ``source_url`` and ``target_url`` are required; every other column is optional and is null
  when the input does not carry it. Nothing is invented.
- Text columns that exist in an export but are blank are the empty string (a known-empty
  anchor); text columns the export lacks are null.
- Numbers are float64 (null = unknown), flags are nullable booleans, dates are calendar dates.
- Unknown input columns pass through untouched; the importer adds ``row`` (the 1-based record
  number in the input), ``link_id`` (a stable hash of source, target and anchor) and
  ``duplicate`` (true for the second and later copies of the same link).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Kind = Literal["url", "text", "category", "bool", "number", "date", "label"]

VENDORS = ("canonical", "ahrefs", "semrush", "majestic", "moz", "gsc", "crawler")

PLACEMENTS = (
    "content",
    "navigation",
    "header",
    "footer",
    "sidebar",
    "comment",
    "profile",
    "directory",
    "unknown",
)
"""Where on the source page the link sits; ``unknown`` means "known not to be in the main
content, exact position not given" (Ahrefs ``Content = FALSE``)."""

PLACEMENT_SYNONYMS = {
    "body": "content",
    "main": "content",
    "article": "content",
    "in content": "content",
    "nav": "navigation",
    "menu": "navigation",
    "head": "header",
    "foot": "footer",
    "widget": "sidebar",
    "blogroll": "sidebar",
    "aside": "sidebar",
    "comments": "comment",
    "user profile": "profile",
    "listing": "directory",
}

LABEL_SYNONYMS = {"good": "good", "0": "good", "spam": "spam", "1": "spam"}


@dataclass(frozen=True)
class Source:
    """How one vendor feeds a canonical column.

    ``headers`` are header aliases matched case-insensitively. When ``values`` is given it
    rewrites raw values (lower-cased) before parsing and any other non-empty value becomes
    ``other`` (null when ``other`` is None). ``empty`` replaces blank cells (Majestic leaves
    flags blank when false).
    """

    headers: tuple[str, ...]
    values: dict[str, str] | None = None
    other: str | None = None
    empty: str | None = None

    def describe(self) -> str:
        text = " / ".join(self.headers)
        if self.values:
            text += " (" + ", ".join(f"{k} → {v}" for k, v in self.values.items())
            text += f", other → {self.other})" if self.other else ")"
        if self.empty:
            text += f" (blank → {self.empty})"
        return text


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    doc: str
    required: bool = False
    sources: dict[str, Source] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None


def _src(*headers: str, **kw: object) -> Source:
    return Source(tuple(headers), **kw)  # type: ignore[arg-type]


_FLAG = {"empty": "false"}  # Majestic: a blank flag means "not set"
# the open-source backlinks-analysis crawler names the HTML section a link sits in
_POSITIONS = {
    "body": "content",
    "main": "content",
    "article": "content",
    "content": "content",
    "header": "header",
    "nav": "navigation",
    "footer": "footer",
    "aside": "sidebar",
    "sidebar": "sidebar",
    "comment": "comment",
    "comments": "comment",
}

COLUMNS: tuple[Column, ...] = (
    Column(
        "source_url",
        "url",
        "URL of the page that carries the link (http/https; a missing scheme means http).",
        required=True,
        sources={
            "ahrefs": _src("Referring page URL"),
            "semrush": _src("Source url"),
            "majestic": _src("Source URL"),
            "moz": _src("URL", "Source URL"),
            "gsc": _src("Linking page", "Linking pages"),
            "crawler": _src("backlink"),
        },
    ),
    Column(
        "target_url",
        "url",
        "URL the link points to (your page). GSC exports lack it: pass --target.",
        required=True,
        sources={
            "ahrefs": _src("Target URL", "Link URL"),
            "semrush": _src("Target url"),
            "majestic": _src("Target URL"),
            "moz": _src("Target URL"),
            "crawler": _src("target_url"),
        },
    ),
    Column(
        "anchor_text",
        "text",
        "Visible anchor text ('' for an image link without alt text).",
        sources={
            "ahrefs": _src("Anchor", "Link Anchor"),
            "semrush": _src("Anchor"),
            "majestic": _src("Anchor Text"),
            "moz": _src("Anchor Text"),
            "crawler": _src("anchor_text"),
        },
    ),
    Column(
        "source_title",
        "text",
        "Title of the source page.",
        sources={
            "ahrefs": _src("Referring page title"),
            "semrush": _src("Source title"),
            "moz": _src("Title"),
        },
    ),
    Column(
        "left_context",
        "text",
        "Text right before the link.",
        sources={"ahrefs": _src("Left context", "TextPre")},
    ),
    Column(
        "right_context",
        "text",
        "Text right after the link.",
        sources={"ahrefs": _src("Right context", "TextPost")},
    ),
    Column(
        "placement",
        "category",
        "Where the link sits: " + " | ".join(PLACEMENTS) + ".",
        sources={
            "ahrefs": _src("Content", values={"true": "content", "false": "unknown"}),
            "semrush": _src("Form", values={"true": "comment"}),
            "crawler": _src("position", values=_POSITIONS, other="unknown"),
        },
    ),
    Column(
        "nofollow",
        "bool",
        "rel=nofollow.",
        sources={
            "ahrefs": _src("Nofollow"),
            "semrush": _src("Nofollow"),
            "majestic": _src("FlagNoFollow", **_FLAG),
            "moz": _src("Only rel=nofollow"),
            "crawler": _src("is_doFollow", values={"true": "false", "false": "true"}),
        },
    ),
    Column(
        "ugc",
        "bool",
        "rel=ugc (user-generated content).",
        sources={"ahrefs": _src("UGC"), "semrush": _src("Ugc")},
    ),
    Column(
        "sponsored",
        "bool",
        "rel=sponsored (paid placement).",
        sources={"ahrefs": _src("Sponsored"), "semrush": _src("Sponsored")},
    ),
    Column(
        "is_image",
        "bool",
        "The link is an image.",
        sources={
            "ahrefs": _src("Type", values={"image": "true"}, other="false"),
            "semrush": _src("Image"),
            "majestic": _src("FlagImageLink", **_FLAG),
            "crawler": _src("anchor_type", values={"image": "true", "text": "false"}),
        },
    ),
    Column(
        "sitewide",
        "bool",
        "The link appears on (nearly) every page of the source site.",
        sources={"semrush": _src("Sitewide")},
    ),
    Column(
        "redirect",
        "bool",
        "The link reaches the target through a redirect.",
        sources={
            "ahrefs": _src("Type", values={"redirect": "true"}, other="false"),
            "majestic": _src("FlagRedirect", **_FLAG),
            "moz": _src("301"),
        },
    ),
    Column(
        "source_authority",
        "number",
        "Vendor's domain-level authority of the source, 0-100.",
        low=0,
        high=100,
        sources={
            "ahrefs": _src("Domain rating", "DR"),
            "majestic": _src("SourceTrustFlow"),
            "moz": _src("Domain Authority"),
        },
    ),
    Column(
        "source_page_authority",
        "number",
        "Vendor's page-level authority of the source page, 0-100.",
        low=0,
        high=100,
        sources={
            "ahrefs": _src("UR", "URL Rating"),
            "semrush": _src("Page ascore"),
            "moz": _src("Page Authority"),
        },
    ),
    Column(
        "source_traffic",
        "number",
        "Estimated monthly organic visits of the source site.",
        low=0,
        sources={"ahrefs": _src("Domain traffic")},
    ),
    Column(
        "source_referring_domains",
        "number",
        "Domains linking to the source (page or domain, as the vendor gives it).",
        low=0,
        sources={
            "ahrefs": _src("Referring domains"),
            "moz": _src("Number of Domains Linking to Domain"),
        },
    ),
    Column(
        "source_linked_domains",
        "number",
        "Distinct domains the source page links out to.",
        low=0,
        sources={"ahrefs": _src("Linked domains")},
    ),
    Column(
        "source_external_links",
        "number",
        "Outbound (external) links on the source page.",
        low=0,
        sources={
            "ahrefs": _src("External links"),
            "semrush": _src("External links"),
            "crawler": _src("externalLinks"),
        },
    ),
    Column(
        "source_internal_links",
        "number",
        "Internal links on the source page.",
        low=0,
        sources={"semrush": _src("Internal links")},
    ),
    Column(
        "source_http_status",
        "number",
        "HTTP status of the source page when last crawled.",
        low=100,
        high=599,
        sources={"ahrefs": _src("Referring page HTTP code"), "crawler": _src("status_code")},
    ),
    Column(
        "source_language",
        "text",
        "Language code of the source page.",
        sources={"ahrefs": _src("Language")},
    ),
    Column(
        "first_seen",
        "date",
        "Date the vendor first saw the link.",
        sources={
            "ahrefs": _src("First seen"),
            "semrush": _src("First seen"),
            "majestic": _src("Source First Found Date", "FirstIndexedDate"),
        },
    ),
    Column(
        "last_seen",
        "date",
        "Date the vendor last saw (crawled) the link.",
        sources={
            "ahrefs": _src("Last seen"),
            "semrush": _src("Last seen"),
            "majestic": _src("Source Crawl Date", "LastSeenDate"),
            "gsc": _src("Last crawled"),
        },
    ),
    Column(
        "source_domain_created",
        "date",
        "Registration date of the source domain (WHOIS/RDAP); no vendor export carries it.",
    ),
    Column(
        "label",
        "label",
        "Training label: good | spam (0/1 accepted). Only in labeled data.",
    ),
)

NOT_A_LINK: dict[str, tuple[str, tuple[str, ...], str]] = {
    "crawler": ("is_exist", ("false", "0"), "expected a page that still carries the link"),
}
"""Vendor rows that are not backlinks (the crawler also lists pages where it found no link):
format -> (header, values that say so, what was expected). Such rows are rejected with that
reason before anything else is checked."""

EVIDENCE = ("url only", "url + anchor", "export")
"""How much a row says beyond its URLs: nothing (a Search Console export), its anchor text,
or an export's page fields and metrics (title, context, placement, authority, traffic,
outbound links, rel flags)."""
_PAGE_FIELDS = (
    *("source_title", "left_context", "right_context", "placement", "nofollow", "ugc"),
    *("sponsored", "sitewide", "source_authority", "source_page_authority", "source_traffic"),
    *("source_referring_domains", "source_linked_domains", "source_external_links"),
)


def evidence(links: pl.DataFrame) -> pl.Series:
    """Each row's ``EVIDENCE`` level."""
    present = [c for c in _PAGE_FIELDS if c in links.columns]
    fields = pl.any_horizontal(pl.col(c).is_not_null() for c in present) if present else False
    anchor = pl.col("anchor_text").is_not_null() if "anchor_text" in links.columns else False
    return links.select(
        pl.when(fields)
        .then(pl.lit(EVIDENCE[2]))
        .when(anchor)
        .then(pl.lit(EVIDENCE[1]))
        .otherwise(pl.lit(EVIDENCE[0]))
        .alias("evidence")
    ).to_series()


BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
CANONICAL = tuple(c.name for c in COLUMNS)
EXTRA = ("row", "link_id", "duplicate")
"""Columns the importer adds to every canonical table."""

_TYPES: dict[Kind, pl.DataType] = {
    "url": pl.String(),
    "text": pl.String(),
    "category": pl.String(),
    "label": pl.String(),
    "bool": pl.Boolean(),
    "number": pl.Float64(),
    "date": pl.Date(),
}


def polars_type(name: str) -> pl.DataType:
    """Type of a canonical or extra column."""
    if name == "row":
        return pl.Int64()
    if name == "link_id":
        return pl.String()
    if name == "duplicate":
        return pl.Boolean()
    return _TYPES[BY_NAME[name].kind]


def canonical_schema() -> pl.Schema:
    """Schema of the importer's extra columns plus the canonical columns."""
    return pl.Schema({name: polars_type(name) for name in (*EXTRA, *CANONICAL)})


def describe() -> str:
    """The column reference as Markdown (used by the README and ``linksift columns``)."""
    lines = ["| column | type | meaning | fed by |", "|---|---|---|---|"]
    for col in COLUMNS:
        fed = "; ".join(f"{v}: {s.describe()}" for v, s in col.sources.items()) or "canonical only"
        kind = col.kind + (" (required)" if col.required else "")
        rng = ""
        if col.low is not None or col.high is not None:
            rng = f" Range {col.low if col.low is not None else ''}..{col.high or ''}."
        lines.append(f"| `{col.name}` | {kind} | {col.doc}{rng} | {fed} |")
    return "\n".join(lines)


FORMULA_START = r"^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]"
"""What a spreadsheet may run as a formula at the start of a cell (OWASP's list, plus line
feeds and the full-width forms some spreadsheets fold to ASCII)."""


def spreadsheet_safe(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with every text cell and column name that a spreadsheet would run as a
    formula (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM``) prefixed with ``'``, which shows it as
    text. Every CSV linksift writes goes through ``write_csv``; Parquet keeps values as they
    are."""
    import re

    start = re.compile(FORMULA_START)
    names = {c: f"'{c}" for c in table.columns if start.match(c)}
    return table.with_columns(pl.col(pl.String).str.replace(FORMULA_START, "'$0")).rename(names)


def write_csv(table: pl.DataFrame, target: object, *, include_header: bool = True) -> None:
    """Write ``table`` as CSV, safe to open in a spreadsheet (``spreadsheet_safe``)."""
    spreadsheet_safe(table).write_csv(target, include_header=include_header)  # type: ignore[arg-type]
