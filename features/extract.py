"""Canonical links → the model's feature matrix: one set of Polars expressions, used by batch
scoring, the API, the review page, training, the MLflow pyfunc and Spark alike.

Two seams keep results independent of how the input is cut:

- ``link_facts`` is everything a table of links says about itself (every feature that does not
  depend on the rest of the input, plus the keys and words the others need). Batch scoring
  computes it once per chunk in its first pass.
- ``Profile`` holds the few aggregates measured over a whole link profile (links per referring
  site, anchor repetition per target, the target's topical terms), built by group-bys. Batch
  scoring builds it over the whole file and measures every chunk against the same profile,
  so features do not depend on chunk size or row order. The API measures a link against an
  empty profile (``Profile()``), so its answer never depends on what else is in a request.

``as_of`` is the day ages are measured from; callers fix it once per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash as plh

from features import meaning, schema, spec, text
from features.lists import LISTS, listed
from features.urls import host_frame, strip_tracking, with_url_parts

PROFILE_TERMS = 40
"""At most this many topical terms per target site."""
PROFILE_MIN_SHARE = 0.03
"""A term must appear on this share of a target's links (and on two) to count as its topic."""

_END = r"(/|\.|\?|&|=|$)"
_PAGE_TYPES = (
    (  # pages served from a CMS's upload or temp folders: injected by whoever hacked the site
        "uploaded_page",
        r"/wp-content/uploads/([^.?]*|[^?]*\.(html?|php))(\?|$)|/(images|uploads|tmp|temp)/[^/]*"
        r"\.php|/~temp/",
    ),
    (
        "comment",
        r"replytocom=|/comment-page-[0-9]|wp-comments|[?&#](comment|c)[-_]?id=|"
        r"(^|/)(comments?|commentaires?|kommentare?|comentarios?|commenti|commento|"
        r"reacties?|guestbook|gaestebuch|livre-d-or|respond)" + _END,
    ),
    (
        "profile",
        r"member\.php|profile\.php|userinfo|/user\.php|/my-profile|"
        r"(^|/)(users?|profiles?|members?|author|u|people|account|membres?|profil|profilo|"
        r"perfil|profiel|mitglied(er)?|benutzer|usuarios?|utenti|utente|gebruikers?|leden)" + _END,
    ),
    (
        "forum",
        r"viewtopic|showthread|viewthread|"
        r"(^|/)(forums?|threads?|topics?|discussions?|community|board|t|questions|foros?|"
        r"sujets?|diskussion(en)?|discussione|onderwerp(en)?)" + _END,
    ),
    (
        "directory",
        r"add-?url|submit-(site|url|link)|/links\.|webdir|"
        r"(^|/)(director(y|ies)|listings?|submit|links?|catalog(ue)?|bookmarks?|annuaire|"
        r"verzeichnis|branchenbuch|directorio|elenco|diretorio|"
        r"bedrijvengids|gids|startpagina)" + _END,
    ),
    (
        "tag_archive",
        r"/page/[0-9]+|/[0-9]{4}/[0-9]{2}/?$|"
        r"(^|/)(tags?|archives?|category|categorie|kategorie|categoria|label|etiquette|"
        r"schlagwort)(/|$)",
    ),
    ("homepage", r"^(/|/index\.(html?|php|aspx?))?\??$"),
    (
        "article",
        r"[^-_/.?&=#\t\n\f\r ]+[-_][^-_/.?&=#\t\n\f\r ]+[-_][^-_/.?&=#\t\n\f\r ]+|\.html?(\?|$)"
        r"|/[0-9]{3,}",
    ),
)
"""Page types by lower-cased path and query (``path?query``, the query without tracking
parameters), first match wins; anything else is "other". A type is marked by a whole path
segment (``/forum/``, ``/annuaire/``) or a software marker (``replytocom=``, ``viewtopic``),
in English, French, German, Spanish, Italian, Portuguese and Dutch: never by a word inside a
slug, so a French article ``/comment-signer-un-contrat`` ("how to sign a contract") is an
article, not a comment page."""

_NAKED = r"^(https?://|www\.)|^[\w-]+(\.[\w-]+)+(/\S*)?$"
"""An anchor that is a URL or a bare host name."""
_PROFILE_FEATURES = (
    *("topic_relevance", "topic_similarity", "links_from_source_site", "site_target_spread"),
    *("anchor_type", "anchor_share", "target_exact_share"),
)
_FACT_FEATURES = tuple(n for n in spec.NAMES if n not in _PROFILE_FEATURES)
_MEASURED_BY = (
    *("target_path", "target_brand", "source_site", "anchor_key", "anchor_shape"),
    *("words", "anchor_content"),
)
"""The facts the profile's measures need (``feature_table``)."""
_KEYS = {
    "source_site": pl.String,
    "target_site": pl.String,
    "target_path": pl.String,
    "target_brand": pl.String,
    "anchor_key": pl.String,
    "anchor_shape": pl.Float64,
    "anchor_content": pl.List(pl.String),
    "keyword_anchor": pl.Float64,
    "words": pl.List(pl.String),
    "topical": pl.List(pl.String),
}


def facts_schema() -> pl.Schema:
    """Columns of ``link_facts``: the profile-independent features, then keys and words."""
    return pl.Schema({**dict.fromkeys(_FACT_FEATURES, pl.Float64), **_KEYS})


# --------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------


def link_facts(links: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """What a table of canonical links says about itself (``facts_schema``), one row per link.

    In stages, each computed once: URLs split (targets once per distinct URL), what each
    distinct host means (``urls.host_frame``, joined on narrow key columns), the words of the
    page, the anchor and the source host; then every fact as a column expression of those."""
    used = [c for c in schema.CANONICAL if c not in ("label", "source_language")]
    links = with_url_parts(links.select(used), "source_url", "source_")
    targets = with_url_parts(links.select(pl.col("target_url").unique()), "target_url", "target_")
    targets = targets.join(
        host_frame(targets["target_host"]).select(
            target_host="host", target_site="site", target_brand="brand"
        ),
        on="target_host",
        how="left",
    ).select(
        "target_url",
        "target_path",
        "target_site",
        "target_brand",
        # the keywords a page was built for, once per distinct target (``_keyword_anchor``)
        target_words=text.content_words(text.tokens(pl.col("target_path"))),
    )
    source_hosts = host_frame(links["source_host"]).drop("brand")
    source_hosts = source_hosts.with_columns(source_listed=listed(source_hosts)).with_columns(
        _category(pl.col("source_listed"), LISTS)
    )
    keys = (
        links.select("source_host", "target_url")
        .join(
            source_hosts, left_on="source_host", right_on="host", how="left", maintain_order="left"
        )
        .join(targets, on="target_url", how="left", maintain_order="left")
        .drop("source_host", "target_url")
        .rename({"site": "source_site"})
    )
    *stages, facts = _fact_columns(as_of)
    query = pl.concat([links, keys], how="horizontal").lazy()
    for stage in stages:
        query = query.with_columns(stage)
    return query.select(facts).collect(engine="in-memory")


@lru_cache(maxsize=16)
def _fact_columns(as_of: date) -> tuple[list[pl.Expr], ...]:
    """The expressions of ``link_facts``' last stages (the words of the page, the anchor and
    the host; the content words of the page and the anchor; the anchor's shape; every fact),
    built once per ``as_of``: a query's cost for one link is mostly in building its
    expressions."""
    page = pl.concat_str(
        [
            pl.col(c).fill_null("")
            for c in ("source_title", "source_path", "left_context", "right_context")
        ],
        separator=" ",
    )
    tokens = [
        text.tokens(page).alias("page"),
        text.tokens(pl.col("anchor_text")).alias("anchor_tokens"),
        text.tokens(pl.col("source_host").fill_null("")).alias("host_words"),
    ]
    contents = [
        text.content_words(pl.col("page")).alias("page_content"),
        text.content_words(pl.col("anchor_tokens")).alias("anchor_content"),
    ]
    shape = [_anchor_shape().alias("anchor_shape")]
    content = pl.col("page_content")
    facts = {
        **{e.meta.output_name(): e for e in _ages(as_of)},
        **{e.meta.output_name(): e for e in _placement()},
        **{e.meta.output_name(): e for e in _anchor()},
        **{n: _as_float(n).alias(n) for n in ("nofollow", "ugc", "sponsored", "redirect")},
        **{e.meta.output_name(): e for e in _authority_and_outbound()},
        **{e.meta.output_name(): e for e in _source_url()},
        "source_site": pl.col("source_site"),
        "target_site": pl.col("target_site"),
        "target_path": pl.col("target_path").fill_null(""),
        "target_brand": pl.col("target_brand"),
        "anchor_key": _anchor_key().alias("anchor_key"),
        "anchor_shape": pl.col("anchor_shape"),
        "anchor_content": pl.col("anchor_content"),
        "keyword_anchor": _keyword_anchor().alias("keyword_anchor"),
        # each row's distinct content words (the page's and its host's), for relevance
        "words": content.list.set_union(text.content_words(pl.col("host_words"))).alias("words"),
        # its distinct topical words (the page's and its anchor's), for the target's terms
        "topical": text.topical_words(content, content=True)
        .list.set_union(text.topical_words(pl.col("anchor_tokens")).fill_null([]))
        .alias("topical"),
    }
    return tokens, contents, shape, [facts[name] for name in facts_schema().names()]


def _as_float(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)


def _ages(as_of: date) -> list[pl.Expr]:
    def days_since(column: str) -> pl.Expr:
        return (pl.lit(as_of) - pl.col(column)).dt.total_days().clip(lower_bound=0)

    return [
        days_since("source_domain_created").cast(pl.Float64).alias("domain_age_days"),
        days_since("first_seen").cast(pl.Float64).alias("link_age_days"),
        days_since("last_seen").cast(pl.Float64).alias("days_since_seen"),
    ]


def _category(expr: pl.Expr, categories: tuple[str, ...]) -> pl.Expr:
    """Each value's position in ``categories`` as a float (null: null or not one of them)."""
    codes = {c: float(i) for i, c in enumerate(categories)}
    return expr.replace_strict(codes, default=None, return_dtype=pl.Float64)


def _placement() -> list[pl.Expr]:
    where = pl.concat_str(
        [pl.col("source_path").fill_null(""), strip_tracking(pl.col("source_query").fill_null(""))],
        separator="?",
    ).str.to_lowercase()
    page_type = pl.lit(float(spec.PAGE_TYPES.index("other")))
    for name, pattern in reversed(_PAGE_TYPES):  # the first pattern that matches wins
        code = float(spec.PAGE_TYPES.index(name))
        page_type = pl.when(where.str.contains(pattern)).then(pl.lit(code)).otherwise(page_type)
    return [
        _category(pl.col("placement"), schema.PLACEMENTS).alias("placement"),
        page_type.alias("page_type"),
        _as_float("sitewide").alias("sitewide"),
        _as_float("is_image").alias("is_image"),
    ]


def _anchor() -> list[pl.Expr]:
    tokens = pl.col("anchor_tokens")
    return [
        tokens.list.len().cast(pl.Float64).alias("anchor_words"),
        text.count_in(tokens, text.MONEY_TERMS).cast(pl.Float64).alias("anchor_money_terms"),
        text.count_in(tokens, text.SPAM_TERMS).cast(pl.Float64).alias("anchor_spam_terms"),
    ]


def _authority_and_outbound() -> list[pl.Expr]:
    external, internal = pl.col("source_external_links"), pl.col("source_internal_links")
    total = external + internal
    status = pl.col("source_http_status")
    numbers = (
        "source_authority",
        "source_page_authority",
        "source_traffic",
        "source_referring_domains",
        "source_external_links",
        "source_linked_domains",
    )
    return [
        *(pl.col(n) for n in numbers),
        pl.when(total > 0)
        .then(external / total)
        .when(total == 0)
        .then(pl.lit(0.0))
        .alias("external_link_share"),
        (status >= 400).cast(pl.Float64).alias("http_error"),
    ]


def _source_url() -> list[pl.Expr]:
    spam_words = text.count_in(pl.col("page"), text.SPAM_TERMS) + text.count_in(
        pl.col("host_words"), text.SPAM_TERMS
    )
    return [
        *(pl.col(n) for n in ("tld_class", "shared_platform", "ip_host", "subdomain_depth")),
        pl.col("host_hyphens"),
        spam_words.cast(pl.Float64).alias("source_spam_terms"),
        pl.col("source_listed"),
    ]


def _keyword_anchor() -> pl.Expr:
    """1 when the anchor is nothing but words of the target page's URL path (the keywords the
    page was built for: "rye bread" to ``/rye-bread/``), 0 for any other anchor, null without
    one: what the profile's exact-match share counts (``Profile.anchor_mix``)."""
    return (
        pl.when(pl.col("anchor_text").is_null())
        .then(pl.lit(None, pl.Float64))
        .otherwise((_in_target_path() & pl.col("anchor_shape").is_null()).cast(pl.Float64))
    )


def pair_keys() -> list[pl.Expr]:
    """A (referring site, target page) pair as two numbers, ``site`` and ``target`` (null
    when either is unknown): what a referring site's spread is counted by. A profile of
    millions of links holds millions of pairs; as text they took 430 MB more at the peak of a
    2M-link run. xxHash64, a published algorithm (the Spark path computes the same), as
    signed 64-bit numbers (Spark has no unsigned ones)."""
    page = plh.concat_str([pl.col("target_site"), pl.col("target_path")], separator="\x1f")
    return [
        _hashed(pl.col("source_site")).alias("site"),
        _hashed(page).alias("target"),
    ]


def _hashed(text: pl.Expr) -> pl.Expr:
    return text.nchash.xxhash64().reinterpret(signed=True)


def _anchor_key() -> pl.Expr:
    """Target site and anchor, the anchor lower-cased with punctuation folded to single spaces:
    the key anchor repetition is counted by."""
    anchor = (
        pl.col("anchor_text")
        .str.to_lowercase()
        .str.replace_all(text.ANCHOR_SEPARATORS + "+", " ")
        .str.strip_chars()
    )
    return pl.concat_str([pl.col("target_site"), anchor], separator="\x1f")


_ANCHOR_CODES = {name: float(i) for i, name in enumerate(spec.ANCHOR_TYPES)}
SENTENCE_WORDS = 6
"""An anchor of this many words or more is a sentence or an article's title: not a keyword,
whatever words it shares with the target."""


def _code(name: str) -> pl.Expr:
    return pl.lit(_ANCHOR_CODES[name])


def _anchor_shape() -> pl.Expr:
    """The anchor type when the anchor alone decides it (empty, naked URL, generic, a
    sentence, a name the linked page is not named for) or with the target's brand (branded:
    it contains the brand, or is most of it); null otherwise, when the target's keywords
    decide (see ``feature_table``)."""
    a = (
        pl.col("anchor_text")
        .str.to_lowercase()
        .str.replace_all(r"[\s\x{1C}-\x{1F}]+", " ")
        .str.strip_chars()
    )
    words = pl.col("anchor_tokens")
    compact = words.list.join("")
    brand = pl.col("target_brand").fill_null("").str.to_lowercase()
    brand = brand.str.replace_all(r"[^\p{L}\p{N}]", "")
    generic = text.GENERIC_SERIES.implode()
    branded = (brand.str.len_chars() >= 3) & (
        compact.str.contains(brand, literal=True)
        | (
            (compact.str.len_chars() >= 0.6 * brand.str.len_chars())
            & brand.str.contains(compact, literal=True)
        )
    )
    return (
        pl.when(a == "")
        .then(_code("empty"))
        .when(a.str.contains(_NAKED))
        .then(_code("naked_url"))
        .when(words.list.join(" ").is_in(generic) | a.is_in(generic))
        .then(_code("generic"))
        .when(branded)
        .then(_code("branded"))
        .when(words.list.len() >= SENTENCE_WORDS)
        .then(_code("sentence"))
        .when(_name_like() & ~_in_target_path())
        .then(_code("other"))
    )


def _name_like() -> pl.Expr:
    """Two or three capitalised words ("Florian Charpentier", "Jean-Marc Dupont"): a person's
    or an organisation's name, not a keyword, unless the linked page is named for it."""
    return (
        pl.col("anchor_text")
        .str.strip_chars()
        .str.contains(r"^\p{Lu}\p{Ll}+([ -]\p{Lu}\p{Ll}+){1,2}$")
        .fill_null(False)
    )


def _in_target_path() -> pl.Expr:
    """Every content word of the anchor is a word of the target page's URL path."""
    anchor = pl.col("anchor_content")
    return (anchor.list.len() > 0) & (
        anchor.list.set_difference(pl.col("target_words")).list.len() == 0
    )


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------

_COUNTS = {
    "sites": {"source_site": pl.String, "links": pl.Int64},
    "pairs": {"site": pl.Int64, "target": pl.Int64},
    "spread": {"source_site": pl.String, "links": pl.Int64},
    "anchor_mix": {"target_site": pl.String, "links": pl.Int64, "exact": pl.Int64},
    "targets": {"target_site": pl.String, "links": pl.Int64},
    "anchors": {"anchor_key": pl.String, "links": pl.Int64},
    "terms": {"target_site": pl.String, "term": pl.String, "links": pl.Int64},
    "brands": {"target_site": pl.String, "target_brand": pl.String},
}


def _empty(part: str) -> pl.DataFrame:
    return pl.DataFrame(schema=_COUNTS[part])


def anchor_mix(facts: pl.DataFrame) -> pl.DataFrame:
    """Per target site: its followed links with an anchor (nofollow unknown counts as
    followed), and how many of them are keyword anchors (``_keyword_anchor``)."""
    return (
        facts.filter(
            pl.col("target_site").is_not_null()
            & pl.col("keyword_anchor").is_not_null()
            & (pl.col("nofollow").fill_null(0.0) < 0.5)
        )
        .group_by("target_site")
        .agg(links=pl.len().cast(pl.Int64), exact=pl.col("keyword_anchor").sum().cast(pl.Int64))
    )


@dataclass(frozen=True)
class Profile:
    """Aggregates over a whole link profile that each link is measured against: links per
    referring site (``sites``), per target site (``targets``), per target and anchor
    (``anchors``), each target site's topical ``terms`` with the links they appear on, and
    how many distinct target pages each referring site links to (``spread``: its ``links``
    column counts target pages, not links), and each target's followed links with an anchor
    and how many of those are keyword anchors (``anchor_mix``).

    A profile made from one table (``Profile.of``) counts every word of every target and
    keeps every distinct (referring site, target page) pair (``pairs``, as two hashes); one
    that is ``finished`` keeps only each target's topic (``PROFILE_TERMS``) and the number of
    distinct pairs per site (``spread``).
    Profiles of parts of an input add up (``merge``) to the profile of the whole, exactly.
    ``Profile()`` is the empty profile: nothing is known about the rest of the input."""

    sites: pl.DataFrame = field(default_factory=lambda: _empty("sites"))
    targets: pl.DataFrame = field(default_factory=lambda: _empty("targets"))
    anchors: pl.DataFrame = field(default_factory=lambda: _empty("anchors"))
    terms: pl.DataFrame = field(default_factory=lambda: _empty("terms"))
    brands: pl.DataFrame = field(default_factory=lambda: _empty("brands"))
    pairs: pl.DataFrame = field(default_factory=lambda: _empty("pairs"))
    anchor_mix: pl.DataFrame = field(default_factory=lambda: _empty("anchor_mix"))
    spread: pl.DataFrame = field(default_factory=lambda: _empty("spread"))
    finished: bool = True
    lookups: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, facts: pl.DataFrame) -> Profile:
        """The (unfinished) profile of one table's facts."""

        def count(key: str) -> pl.DataFrame:
            return facts.group_by(key).len("links").drop_nulls(key).cast({"links": pl.Int64})

        terms = (
            facts.select("target_site", pl.col("topical").alias("term"))
            .drop_nulls("target_site")
            .explode("term")
            .drop_nulls("term")
            .group_by("target_site", "term")
            .len("links")
            .cast({"links": pl.Int64})
        )
        brands = (
            facts.select("target_site", "target_brand")
            .drop_nulls("target_site")
            .unique("target_site", keep="first", maintain_order=True)
        )
        pairs = facts.select(pair_keys()).drop_nulls().unique()
        return cls(
            sites=count("source_site"),
            targets=count("target_site"),
            anchors=count("anchor_key"),
            terms=terms,
            brands=brands,
            pairs=pairs,
            anchor_mix=anchor_mix(facts),
            finished=False,
        )

    @classmethod
    def merge(cls, parts: Iterable[Profile]) -> Profile:
        """Parts of one input's profile added up (unfinished)."""
        parts = list(parts)

        def summed(name: str, keys: list[str]) -> pl.DataFrame:
            """The parts' table ``name`` with every count column summed per key."""
            frames = [getattr(p, name) for p in parts] or [_empty(name)]
            return pl.concat(frames).group_by(keys).agg(pl.all().exclude(keys).sum())

        brands = pl.concat([p.brands for p in parts] or [_empty("brands")]).unique(
            "target_site", keep="first", maintain_order=True
        )
        return cls(
            anchor_mix=summed("anchor_mix", ["target_site"]),
            sites=summed("sites", ["source_site"]),
            targets=summed("targets", ["target_site"]),
            anchors=summed("anchors", ["anchor_key"]),
            terms=summed("terms", ["target_site", "term"]),
            brands=brands,
            # distinct pairs are only counted when finished: the parts' are kept side by side
            pairs=pl.concat([p.pairs for p in parts] or [_empty("pairs")]),
            finished=False,
        )

    def finish(self) -> Profile:
        """Keep each target's topic: the words on at least ``PROFILE_MIN_SHARE`` of its links
        (and on two), not its brand, the ``PROFILE_TERMS`` most frequent (ties by the word)."""
        if self.finished:
            return self
        floor = pl.max_horizontal(pl.lit(2.0), (PROFILE_MIN_SHARE * pl.col("target_links")).ceil())
        terms = (
            self.terms.join(
                self.targets.rename({"links": "target_links"}), on="target_site", how="left"
            )
            .join(self.brands, on="target_site", how="left")
            .filter(
                (pl.col("links") >= floor)
                & (pl.col("term") != pl.col("target_brand").fill_null(""))
            )
            .sort(["target_site", "links", "term"], descending=[False, True, False])
            .group_by("target_site", maintain_order=True)
            .head(PROFILE_TERMS)
            .select(_COUNTS["terms"].keys())
        )
        pages = self.pairs.unique().group_by("site").len("links").cast({"links": pl.Int64})
        spread = (
            self.sites.select("source_site", site=_hashed(pl.col("source_site")))
            .join(pages, on="site", how="inner")
            .select("source_site", "links")
        )
        return Profile(
            sites=self.sites,
            targets=self.targets,
            anchors=self.anchors,
            terms=terms,
            brands=self.brands,
            spread=spread,
            anchor_mix=self.anchor_mix,
            finished=True,
        )

    def topic(self, site: str) -> list[str]:
        """A target site's topical terms, sorted."""
        return sorted(self.terms.filter(pl.col("target_site") == site)["term"].to_list())

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in _COUNTS}

    def write(self, folder: Path) -> None:
        """Save as Arrow IPC files in ``folder`` (what a resumable batch run keeps)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables().items():
            frame.write_ipc(folder / f"{name}.arrow")
        (folder / "finished").write_text(str(self.finished))

    @classmethod
    def read(cls, folder: Path) -> Profile:
        frames = {name: pl.read_ipc(folder / f"{name}.arrow") for name in _COUNTS}
        return cls(**frames, finished=(folder / "finished").read_text() == "True")

    def to_json(self) -> str:
        return json.dumps(
            {
                "finished": self.finished,
                **{n: f.to_dict(as_series=False) for n, f in self.tables().items()},
            }
        )

    @classmethod
    def from_json(cls, blob: str) -> Profile:
        """A profile saved by ``to_json`` (tables a saved profile predates are empty)."""
        d = json.loads(blob)
        frames = {n: pl.DataFrame(d[n], schema=_COUNTS[n]) for n in _COUNTS if n in d}
        return cls(**frames, finished=d["finished"])


def build_profile(tables: Iterable[pl.DataFrame], *, as_of: date | None = None) -> Profile:
    """The finished profile of canonical tables (parts of one input)."""
    day = as_of or date.today()
    return Profile.merge(Profile.of(link_facts(t, as_of=day)) for t in tables).finish()


# --------------------------------------------------------------------------------------------
# features measured against the profile
# --------------------------------------------------------------------------------------------


def feature_table(
    facts: pl.DataFrame, profile: Profile, *, target_description: str | None = None
) -> pl.DataFrame:
    """Every feature (``spec.NAMES``, floats, null = unknown): ``facts`` measured against a
    finished ``profile``, in one query.

    Targets are numbered (``target``: one per distinct site and path); a link's page words
    and anchor words are matched with its target's keywords in one join, for relevance
    (cosine between the words and the keywords) and for the anchor type (exact when all the
    anchor's content words are keywords, partial when some are, other when none are)."""
    if not profile.finished:
        raise ValueError("measure links against a finished profile (Profile.finish())")
    # the profile's measures are computed on the few columns they need, then put beside the
    # facts
    links = facts.lazy().select(pl.col("target_site").fill_null(""), *_MEASURED_BY)
    targets = _targets(links, profile, target_description).collect().lazy()  # used twice
    rows = links.join(
        targets.select("target_site", "target_path", "target", "n_keywords"),
        on=["target_site", "target_path"],
        how="left",
        maintain_order="left",
    ).with_row_index("link")
    words = pl.concat(
        [
            rows.select("link", "target", word="words", anchor=pl.lit(False)),
            rows.select("link", "target", word="anchor_content", anchor=pl.lit(True)),
        ]
    ).explode("word")
    keywords = targets.select("target", word="keywords").explode("word")
    hits = (
        words.join(keywords, on=["target", "word"], how="semi")
        .group_by("link")
        .agg(hits=(~pl.col("anchor")).sum(), anchor_hits=pl.col("anchor").sum())
    )
    measured = (
        rows.with_columns(
            n_words=pl.col("words").list.len(), n_anchor=pl.col("anchor_content").list.len()
        )
        .drop("words", "topical", strict=False)
        .join(hits, on="link", how="left", maintain_order="left")
        .with_columns(pl.col("hits", "anchor_hits").fill_null(0))
    )
    for part, key, name in (
        ("sites", "source_site", "site_links"),
        ("spread", "source_site", "site_targets"),
        ("targets", "target_site", "target_links"),
        ("anchors", "anchor_key", "anchor_links"),
    ):
        measured = _with_counts(measured, profile, part, key, name)
    anchor, size = pl.col("anchor_hits"), pl.col("n_anchor")
    anchor_type = (
        pl.when(pl.col("anchor_content").is_null())
        .then(pl.lit(None, pl.Float64))
        .when(pl.col("anchor_shape").is_not_null())
        .then(pl.col("anchor_shape"))
        .when((size == 0) | (anchor == 0))
        .then(_code("other"))
        .when(anchor == size)
        .then(_code("exact"))
        .otherwise(_code("partial"))
    )
    mix = profile.anchor_mix.lazy().select("target_site", mix_links="links", mix_exact="exact")
    measured = measured.join(mix, on="target_site", how="left", maintain_order="left")
    m = measured.select(
        "hits", "n_words", "n_keywords", "site_links", "site_targets", "anchor_links",
        "target_links", "mix_links", "mix_exact", "target", anchor_type=anchor_type,
    ).collect(engine="in-memory")  # fmt: skip
    # by meaning: each distinct target's keywords as one vector, each link's words as one
    target_means = meaning.side_vectors(targets.select("keywords").collect()["keywords"])
    similarity = meaning.cosine(
        meaning.side_vectors(facts["words"]), target_means[m["target"].fill_null(0).to_numpy()]
    )
    similarity[m["target"].is_null().to_numpy()] = np.nan
    relevance = np.sqrt(_floats(m["n_words"]) * _floats(m["n_keywords"]))
    measures = {
        "topic_relevance": _divided(m["hits"], np.where(relevance > 0, relevance, np.nan)),
        "topic_similarity": pl.Series(similarity, nan_to_null=True),
        "links_from_source_site": m["site_links"].cast(pl.Float64),
        "site_target_spread": _divided(m["site_targets"], _floats(m["site_links"])),
        "anchor_type": m["anchor_type"],
        "anchor_share": _divided(m["anchor_links"], _floats(m["target_links"])),
        "target_exact_share": _divided(
            m["mix_exact"], np.where(_floats(m["mix_links"]) > 0, _floats(m["mix_links"]), np.nan)
        ),
    }
    return pl.concat(
        [facts.select(_FACT_FEATURES), pl.DataFrame(measures)], how="horizontal"
    ).select(spec.NAMES)


def _floats(values: pl.Series) -> np.ndarray:
    return values.cast(pl.Float64).to_numpy()  # null: NaN


def _divided(numerator: pl.Series, denominator: np.ndarray) -> pl.Series:
    """Row-by-row IEEE division (null where either side is unknown). Not Polars' division: when
    every row of a chunk had the same divisor it multiplied by the reciprocal (3 / 5 came out
    as 0.6000000000000001 there and 0.6 for the same link alone)."""
    return pl.Series(_floats(numerator) / denominator, nan_to_null=True)


def _with_counts(
    rows: pl.LazyFrame, profile: Profile, part: str, key: str, name: str
) -> pl.LazyFrame:
    """``rows`` with the link count of its ``key`` in ``profile.{part}`` as ``name`` (null when
    the profile does not know the key).

    A profile of a million links has hundreds of thousands of sites, and every chunk is
    measured against it: keys are joined by a 64-bit hash (hashed once per profile) and then
    compared, so the join hashes numbers rather than every profile key's text again. Should
    two of the profile's keys share a hash, its keys are joined as text."""
    if getattr(profile, part).is_empty():  # no profile (the API): nothing to look up
        return rows.with_columns(pl.lit(None, pl.Int64).alias(name))
    table = profile.lookups.get(part)
    if table is None:
        table = getattr(profile, part).select(
            pl.col(key).hash().alias("__hash"), pl.col(key).alias("__key"), pl.col("links")
        )
        if table["__hash"].n_unique() < table.height:
            table = table.with_columns(pl.col("__key").alias("__hash"))
        profile.lookups[part] = table
    join_key = pl.col(key) if table.schema["__hash"] == pl.String else pl.col(key).hash()
    return (
        rows.with_columns(join_key.alias("__hash"))
        .join(table.lazy(), on="__hash", how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("__key") == pl.col(key)).then(pl.col("links")).alias(name))
        .drop("__hash", "__key", "links")
    )


def matrix(table: pl.DataFrame) -> np.ndarray:
    """A feature table as the model's matrix (rows × ``spec.NAMES``, float64, NaN = unknown)."""
    return np.ascontiguousarray(table.select(spec.NAMES).to_numpy(), dtype=np.float64)


def _own_words(description: str | None) -> pl.Expr:
    """What a target says of itself, whatever the profile: the words of its URL path and of
    the description."""
    return pl.concat_list(
        text.content_words(text.tokens(pl.col("target_path"))),
        pl.lit(text.words(description or ""), dtype=pl.List(pl.String)),
    )


def _targets(links: pl.LazyFrame, profile: Profile, description: str | None) -> pl.LazyFrame:
    """One row per distinct target (site and path), numbered (``target``), with its brand and
    keywords: its topical terms in the profile, the words of its URL path and of the
    description, not its brand."""
    topics = profile.terms.lazy().group_by("target_site").agg(pl.col("term").alias("topic"))
    keywords = (
        pl.concat_list(pl.col("topic").fill_null([]), _own_words(description))
        .list.unique()
        .list.set_difference(pl.concat_list("brand"))
    )
    return (
        links.select("target_site", "target_path", brand=pl.col("target_brand").fill_null(""))
        .unique(["target_site", "target_path"], keep="first", maintain_order=True)
        .with_row_index("target")
        .join(topics, on="target_site", how="left", maintain_order="left")
        .with_columns(keywords=keywords)
        .with_columns(n_keywords=pl.col("keywords").list.len())
        .drop("topic")
    )


TOPIC_WORDS_SHOWN = 3


def topic_words(
    facts: pl.DataFrame, profile: Profile, *, target_description: str | None = None
) -> pl.Series:
    """What relevance by meaning compared, in words, for its reason: ": the page about 'a',
    'b', the target about 'c', 'd'" (empty when either side has no words). The page's words
    in reading order, the target's most frequent terms in the profile (for a target the
    profile does not know: the words of its path and of the description)."""
    topics = (
        profile.terms.lazy()
        .group_by("target_site", maintain_order=True)  # terms come most frequent first
        .agg(topic=pl.col("term").head(TOPIC_WORDS_SHOWN))
    )
    own = _own_words(target_description).list.unique(maintain_order=True)
    target = pl.when(pl.col("topic").list.len() > 0).then("topic").otherwise(own)

    def quoted(words: pl.Expr) -> pl.Expr:
        joined = words.list.head(TOPIC_WORDS_SHOWN).list.join("', '")
        return pl.concat_str([pl.lit("'"), joined, pl.lit("'")])

    clause = pl.format(
        ": the page about {}, the target about {}", quoted(pl.col("words")), quoted(target)
    )
    shown = (pl.col("words").list.len() > 0) & (target.list.len() > 0)
    rows = facts.lazy().select(pl.col("target_site").fill_null(""), "target_path", "words")
    if profile.terms.is_empty():  # no profile (the API): no join to make
        rows = rows.with_columns(topic=pl.lit([], pl.List(pl.String)))
    else:
        rows = rows.join(topics, on="target_site", how="left", maintain_order="left")
    said = pl.when(shown).then(clause).otherwise(pl.lit(""))
    return rows.select(said.alias("topics")).collect().to_series()


# --------------------------------------------------------------------------------------------
# front doors
# --------------------------------------------------------------------------------------------


def extract(
    links: pl.DataFrame,
    profile: Profile | None = None,
    *,
    as_of: date | None = None,
    target_description: str | None = None,
) -> np.ndarray:
    """Feature matrix (rows × ``spec.NAMES``, float64, NaN = unknown) for canonical links.

    ``profile`` defaults to the profile of ``links`` itself; pass the profile of the whole
    input when scoring it in parts, or ``Profile()`` to measure each link on its own.
    """
    return matrix(feature_frame(links, profile, as_of=as_of, target_description=target_description))


def feature_frame(
    links: pl.DataFrame,
    profile: Profile | None = None,
    *,
    as_of: date | None = None,
    target_description: str | None = None,
) -> pl.DataFrame:
    """``extract`` as a table with the feature names as columns."""
    facts, profile = measured_against(links, profile, as_of=as_of)
    return feature_table(facts, profile, target_description=target_description)


def measured_against(
    links: pl.DataFrame, profile: Profile | None, *, as_of: date | None = None
) -> tuple[pl.DataFrame, Profile]:
    """The links' facts and the finished profile they are measured against: ``profile``, or
    the profile of these links themselves when it is None."""
    facts = link_facts(links, as_of=as_of or date.today())
    return facts, Profile.of(facts).finish() if profile is None else profile
