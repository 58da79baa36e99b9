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
from pathlib import Path

import numpy as np
import polars as pl

from features import schema, spec, text
from features.urls import host_frame, normalized_url, with_url_parts

PROFILE_TERMS = 40
"""At most this many topical terms per target site."""
PROFILE_MIN_SHARE = 0.03
"""A term must appear on this share of a target's links (and on two) to count as its topic."""

_PAGE_TYPES = (
    ("comment", r"comment|replytocom|guestbook|/respond|#respond|wp-comments"),
    (
        "profile",
        r"/users?/|/profiles?[/.]|/members?[/.]|/author/|/u/|/people/|member\.php|"
        r"profile\.php|/account/|userinfo|/user\.php|/my-profile",
    ),
    (
        "forum",
        r"forum|/threads?/|/topics?/|viewtopic|showthread|/discussion|/community/|"
        r"/board/|/t/|/questions/",
    ),
    (
        "directory",
        r"director(y|ies)|/listings?/|/submit|add-?url|/links?/|/links\.|webdir|"
        r"/catalog|/sites/|/business/|/companies/|/bookmarks?/",
    ),
    ("tag_archive", r"/tags?/|/archives?/|/category/|/page/[0-9]+|/[0-9]{4}/[0-9]{2}/?$|/label/"),
    ("homepage", r"^(/|/index\.(html?|php|aspx?))?\??$"),
    (
        "article",
        r"[^-_/.?&=#\t\n\f\r ]+[-_][^-_/.?&=#\t\n\f\r ]+[-_][^-_/.?&=#\t\n\f\r ]+|\.html?(\?|$)"
        r"|/[0-9]{3,}",
    ),
)
"""Page types by lower-cased path and query (``path?query``), first match wins; anything else
is "other"."""

_NAKED = r"^(https?://|www\.)|^[\w-]+(\.[\w-]+)+(/\S*)?$"
"""An anchor that is a URL or a bare host name."""
_PROFILE_FEATURES = ("topic_relevance", "links_from_source_site", "anchor_type", "anchor_share")
_FACT_FEATURES = tuple(n for n in spec.NAMES if n not in _PROFILE_FEATURES)
_KEYS = {
    "source_site": pl.String,
    "target_site": pl.String,
    "target_path": pl.String,
    "target_brand": pl.String,
    "anchor": pl.String,
    "anchor_key": pl.String,
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
    ).select("target_url", "target_path", "target_site", "target_brand")
    source_hosts = host_frame(links["source_host"]).drop("brand")
    keys = (
        links.select("source_host", "target_url")
        .join(
            source_hosts, left_on="source_host", right_on="host", how="left", maintain_order="left"
        )
        .join(targets, on="target_url", how="left", maintain_order="left")
        .drop("source_host", "target_url")
        .rename({"site": "source_site"})
    )
    page = pl.concat_str(
        [
            pl.col(c).fill_null("")
            for c in ("source_title", "source_path", "left_context", "right_context")
        ],
        separator=" ",
    )
    content = pl.col("page_content")
    return (
        pl.concat([links, keys], how="horizontal")
        .lazy()
        .with_columns(
            page=text.tokens(page),
            anchor_tokens=text.tokens(pl.col("anchor_text")),
            host_words=text.tokens(pl.col("source_host").fill_null("")),
        )
        .with_columns(page_content=text.content_words(pl.col("page")))
        .select(
            *_ages(as_of),
            *_placement(),
            *_anchor(),
            *(_as_float(n).alias(n) for n in ("nofollow", "ugc", "sponsored", "redirect")),
            *_authority_and_outbound(),
            *_source_url(),
            pl.col("source_site"),
            pl.col("target_site"),
            pl.col("target_path").fill_null(""),
            pl.col("target_brand"),
            pl.col("anchor_text").alias("anchor"),
            _anchor_key().alias("anchor_key"),
            # each row's distinct content words (the page's and its host's), for relevance
            content.list.set_union(text.content_words(pl.col("host_words"))).alias("words"),
            # its distinct topical words (the page's and its anchor's), for the target's terms
            text.topical_words(content)
            .list.set_union(text.topical_words(pl.col("anchor_tokens")).fill_null([]))
            .alias("topical"),
        )
        .select(facts_schema().names())
        .collect()
    )


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
        [pl.col("source_path").fill_null(""), pl.col("source_query").fill_null("")],
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
    url = normalized_url(pl.col("source_host"), pl.col("source_path"), pl.col("source_query"))
    spam_words = text.count_in(pl.col("page"), text.SPAM_TERMS) + text.count_in(
        pl.col("host_words"), text.SPAM_TERMS
    )
    return [
        *(pl.col(n) for n in ("tld_class", "shared_platform", "ip_host", "subdomain_depth")),
        url.str.len_chars().cast(pl.Float64).alias("url_length"),
        url.str.count_matches("[0-9]").cast(pl.Float64).alias("url_digits"),
        pl.col("host_hyphens"),
        spam_words.cast(pl.Float64).alias("source_spam_terms"),
    ]


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


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------

_COUNTS = {
    "sites": {"source_site": pl.String, "links": pl.Int64},
    "targets": {"target_site": pl.String, "links": pl.Int64},
    "anchors": {"anchor_key": pl.String, "links": pl.Int64},
    "terms": {"target_site": pl.String, "term": pl.String, "links": pl.Int64},
    "brands": {"target_site": pl.String, "target_brand": pl.String},
}


def _empty(part: str) -> pl.DataFrame:
    return pl.DataFrame(schema=_COUNTS[part])


@dataclass(frozen=True)
class Profile:
    """Aggregates over a whole link profile that each link is measured against: links per
    referring site (``sites``), per target site (``targets``), per target and anchor
    (``anchors``), and each target site's topical ``terms`` with the links they appear on.

    A profile made from one table (``Profile.of``) counts every word of every target; one
    that is ``finished`` keeps only each target's topic (``PROFILE_TERMS``). Profiles of
    parts of an input add up (``merge``) to the profile of the whole, exactly.
    ``Profile()`` is the empty profile: nothing is known about the rest of the input."""

    sites: pl.DataFrame = field(default_factory=lambda: _empty("sites"))
    targets: pl.DataFrame = field(default_factory=lambda: _empty("targets"))
    anchors: pl.DataFrame = field(default_factory=lambda: _empty("anchors"))
    terms: pl.DataFrame = field(default_factory=lambda: _empty("terms"))
    brands: pl.DataFrame = field(default_factory=lambda: _empty("brands"))
    finished: bool = True

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
        return cls(
            count("source_site"), count("target_site"), count("anchor_key"), terms, brands, False
        )

    @classmethod
    def merge(cls, parts: Iterable[Profile]) -> Profile:
        """Parts of one input's profile added up (unfinished)."""
        parts = list(parts)

        def summed(name: str, keys: list[str]) -> pl.DataFrame:
            frames = [getattr(p, name) for p in parts] or [_empty(name)]
            return pl.concat(frames).group_by(keys).agg(pl.col("links").sum())

        brands = pl.concat([p.brands for p in parts] or [_empty("brands")]).unique(
            "target_site", keep="first", maintain_order=True
        )
        return cls(
            summed("sites", ["source_site"]),
            summed("targets", ["target_site"]),
            summed("anchors", ["anchor_key"]),
            summed("terms", ["target_site", "term"]),
            brands,
            False,
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
        return Profile(self.sites, self.targets, self.anchors, terms, self.brands, True)

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
        d = json.loads(blob)
        frames = {n: pl.DataFrame(d[n], schema=_COUNTS[n]) for n in _COUNTS}
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
    finished ``profile``.

    Targets are numbered (``target``: one per distinct site and path) so each link's
    relevance is counted by joining its words with its target's keywords, and each anchor is
    typed once per distinct (anchor, target)."""
    if not profile.finished:
        raise ValueError("measure links against a finished profile (Profile.finish())")
    facts = facts.with_columns(pl.col("target_site").fill_null(""))
    targets = _targets(facts, profile, target_description)
    keywords = targets.select("target", word="keywords").explode("word").drop_nulls("word")
    rows = facts.join(
        targets.select("target_site", "target_path", "target", "brand", "n_keywords"),
        on=["target_site", "target_path"],
        how="left",
        maintain_order="left",
    ).with_row_index("link")
    hits = (
        rows.select("link", "target", word="words")
        .explode("word")
        .join(keywords, on=["target", "word"], how="semi")
        .group_by("link")
        .len("hits")
    )
    anchor_types = _anchor_types(rows.select("anchor", "target", "brand"), targets)
    measured = (
        rows.lazy()
        .with_columns(n_words=pl.col("words").list.len())
        .drop("words", "topical", strict=False)
        .join(hits.lazy(), on="link", how="left", maintain_order="left")
        .join(anchor_types.lazy(), on=["anchor", "target"], how="left", maintain_order="left")
        .join(
            _counts(profile.sites, rows, "site"),
            on="source_site",
            how="left",
            maintain_order="left",
        )
        .join(
            _counts(profile.targets, rows, "target"),
            on="target_site",
            how="left",
            maintain_order="left",
        )
        .join(
            _counts(profile.anchors, rows, "anchor"),
            on="anchor_key",
            how="left",
            maintain_order="left",
        )
    )
    denominator = (pl.col("n_words") * pl.col("n_keywords")).cast(pl.Float64).sqrt()
    profiled = {
        "topic_relevance": pl.when(denominator > 0).then(pl.col("hits").fill_null(0) / denominator),
        "links_from_source_site": pl.col("site_links").cast(pl.Float64),
        "anchor_type": pl.col("anchor_type"),
        "anchor_share": pl.col("anchor_links") / pl.col("target_links"),
    }
    return measured.select(profiled.get(n, pl.col(n)).alias(n) for n in spec.NAMES).collect()


def _counts(counts: pl.DataFrame, rows: pl.DataFrame, name: str) -> pl.LazyFrame:
    """The ``counts`` of the keys ``rows`` has, as ``{name}_links``: a profile of a million
    links has hundreds of thousands of sites, and matching them against a chunk's keys first
    halves the join's cost."""
    key = counts.columns[0]
    found = counts.join(rows.select(pl.col(key).unique()), on=key, how="semi")
    return found.lazy().rename({"links": f"{name}_links"})


def matrix(table: pl.DataFrame) -> np.ndarray:
    """A feature table as the model's matrix (rows × ``spec.NAMES``, float64, NaN = unknown)."""
    return np.ascontiguousarray(table.select(spec.NAMES).to_numpy(), dtype=np.float64)


def _targets(facts: pl.DataFrame, profile: Profile, description: str | None) -> pl.DataFrame:
    """One row per distinct target (site and path), numbered (``target``), with its brand and
    keywords: its topical terms in the profile, the words of its URL path and of the
    description, not its brand."""
    topics = profile.terms.group_by("target_site").agg(pl.col("term").alias("topic"))
    described = text.words(description or "")
    keywords = (
        pl.concat_list(
            pl.col("topic").fill_null([]),
            text.content_words(text.tokens(pl.col("target_path"))),
            pl.lit(described, dtype=pl.List(pl.String)),
        )
        .list.unique()
        .list.set_difference(pl.concat_list("brand"))
    )
    return (
        facts.select("target_site", "target_path", brand=pl.col("target_brand").fill_null(""))
        .unique(["target_site", "target_path"], keep="first", maintain_order=True)
        .with_row_index("target")
        .join(topics, on="target_site", how="left", maintain_order="left")
        .with_columns(keywords=keywords)
        .with_columns(n_keywords=pl.col("keywords").list.len())
        .drop("topic")
    )


_ANCHOR_CODES = {name: float(i) for i, name in enumerate(spec.ANCHOR_TYPES)}


def _code(name: str) -> pl.Expr:
    return pl.lit(_ANCHOR_CODES[name])


def _anchor_types(pairs: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """The anchor type of each distinct (anchor, target) pair, against the target's brand and
    keywords: empty, naked URL or generic by the anchor alone; else branded when it contains
    the brand (or is most of it), exact when all its content words are target keywords,
    partial when some are, other when none are."""
    pairs = pairs.drop_nulls("anchor").unique(["anchor", "target"], maintain_order=True)
    anchors = (
        pairs.select(pl.col("anchor").unique())
        .with_columns(
            a=pl.col("anchor")
            .str.to_lowercase()
            .str.replace_all(r"[\s\x{1C}-\x{1F}]+", " ")
            .str.strip_chars()
        )
        .with_columns(words=text.tokens(pl.col("a")))
        .with_columns(
            compact=pl.col("words").list.join(""),
            content=text.content_words(pl.col("words")),
            alone=pl.when(pl.col("a") == "")
            .then(_code("empty"))
            .when(pl.col("a").str.contains(_NAKED))
            .then(_code("naked_url"))
            .when(
                pl.col("words").list.join(" ").is_in(list(text.GENERIC_ANCHORS))
                | pl.col("a").is_in(list(text.GENERIC_ANCHORS))
            )
            .then(_code("generic")),
        )
    )
    hits = (
        pairs.join(anchors.select("anchor", word="content"), on="anchor")
        .explode("word")
        .join(
            targets.select("target", word="keywords").explode("word"),
            on=["target", "word"],
            how="semi",
        )
        .group_by("anchor", "target")
        .len("hits")
    )
    brand = pl.col("brand").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    compact, size = pl.col("compact"), pl.col("content").list.len()
    branded = (pl.col("b").str.len_chars() >= 3) & (
        compact.str.contains(pl.col("b"), literal=True)
        | (
            (compact.str.len_chars() >= 0.6 * pl.col("b").str.len_chars())
            & pl.col("b").str.contains(compact, literal=True)
        )
    )
    return (
        pairs.join(anchors, on="anchor", how="left")
        .join(hits, on=["anchor", "target"], how="left")
        .with_columns(b=brand, hits=pl.col("hits").fill_null(0))
        .select(
            "anchor",
            "target",
            anchor_type=pl.when(pl.col("alone").is_not_null())
            .then(pl.col("alone"))
            .when(branded)
            .then(_code("branded"))
            .when(size == 0)
            .then(_code("other"))
            .when(pl.col("hits") == size)
            .then(_code("exact"))
            .when(pl.col("hits") > 0)
            .then(_code("partial"))
            .otherwise(_code("other")),
        )
    )


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
    facts = link_facts(links, as_of=as_of or date.today())
    if profile is None:
        profile = Profile.of(facts).finish()
    return feature_table(facts, profile, target_description=target_description)
