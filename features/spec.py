"""The feature spec: names, order, types, monotone directions, labels and reason templates.

The spec is saved beside every trained booster. A model refuses to load when its saved spec
differs from this one (``check_compatible``), because the same name computed differently
would silently change what the model means.

Reason templates are ``str.format`` patterns. ``{value}`` is the feature value rendered with
the feature's ``fmt``; canonical fields such as ``{anchor_text}`` can be used too. Boolean and
categorical features have one template per value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from features.lists import LISTS
from features.schema import PLACEMENTS
from features.urls import TLD_CLASSES

VERSION = "4"
"""Bumped whenever a feature's meaning changes. 2: ``anchor_words`` counts words only (1 also
counted an empty token for punctuation at either end of the anchor). 3: a referring site's
spread over target pages (syndication is not a sitewide template), public domain lists,
page types by whole path segments in seven languages, sentence anchors, whole-word
vocabularies in seven languages; URL length and digits dropped (generator artefacts: news
URLs are long and full of dates); the profile's exact-match share (over-optimisation). 4:
relevance by meaning (``topic_similarity``); pages in upload folders without an extension are
planted pages too; a capitalised two- or three-word name is not a keyword anchor unless the
linked page is named for it."""

ANCHOR_TYPES = (
    *("exact", "partial", "branded", "naked_url", "generic", "empty", "sentence", "other"),
)
PAGE_TYPES = (
    "uploaded_page",
    "comment",
    "profile",
    "forum",
    "directory",
    "tag_archive",
    "homepage",
    "article",
    "other",
)

Fmt = Literal["int", "float1", "pct", "age", "count"]


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    label: str
    template: str | dict[str, str]
    dtype: Literal["float", "bool", "category"] = "float"
    monotone: int = 0
    fmt: Fmt = "int"
    categories: tuple[str, ...] = ()
    silent: tuple[str, ...] = ()
    """Values (as ``format_value`` shows them) that are the absence of evidence, never a
    reason: a page type nothing marks, zero spam words, a flag that is not set."""
    silent_below: float | None = None
    """Raw values under this are the absence of evidence too (a natural exact-match share)."""

    @property
    def why(self) -> str:
        """The real-world signal this feature stands for (``WHY``)."""
        return WHY[self.name]


def _bool(true: str, false: str) -> dict[str, str]:
    return {"true": true, "false": false}


FEATURES: tuple[Feature, ...] = (
    # --- age -------------------------------------------------------------------------------
    Feature(
        "domain_age_days",
        "age",
        "source domain age",
        "source domain is {value} old",
        monotone=-1,
        fmt="age",
    ),
    Feature(
        "link_age_days",
        "age",
        "link age",
        "link first seen {value} ago",
        fmt="age",
    ),
    Feature(
        "days_since_seen",
        "age",
        "time since last seen",
        "link last seen {value} ago",
        fmt="age",
    ),
    # --- relevance -------------------------------------------------------------------------
    Feature(
        "topic_relevance",
        "relevance",
        "topical relevance",
        "topical overlap with the target is {value}",
        monotone=-1,
        fmt="pct",
    ),
    Feature(
        "topic_similarity",
        "relevance",
        "relevance by meaning",
        "source page's topic is {value} similar in meaning to the target's{detail}",
        monotone=-1,
        fmt="pct",
    ),
    # --- placement -------------------------------------------------------------------------
    Feature(
        "placement",
        "placement",
        "placement",
        {
            "content": "link sits in the main content",
            "navigation": "link sits in the navigation",
            "header": "link sits in the page header",
            "footer": "link sits in the footer",
            "sidebar": "link sits in a sidebar",
            "comment": "link sits in a comment",
            "profile": "link sits on a user profile",
            "directory": "link sits in a directory listing",
            "unknown": "link is outside the main content",
        },
        dtype="category",
        categories=PLACEMENTS,
    ),
    Feature(
        "page_type",
        "placement",
        "source page type",
        {
            "uploaded_page": "source is a page planted in an uploads or temp folder (hacked site)",
            "comment": "source URL is a comment page",
            "profile": "source URL is a user profile",
            "forum": "source URL is a forum thread",
            "directory": "source URL is a directory/submission page",
            "tag_archive": "source URL is a tag or archive page",
            "homepage": "link is on the source's homepage",
            "article": "link is on an article page",
            "other": "source page type is unremarkable",
        },
        dtype="category",
        categories=PAGE_TYPES,
        silent=("other",),
    ),
    Feature(
        "sitewide",
        "placement",
        "sitewide link",
        _bool("sitewide link", "not a sitewide link"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "is_image",
        "placement",
        "image link",
        _bool("image link", "text link"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "links_from_source_site",
        "placement",
        "links from the referring site",
        "{value} link{s} from this referring site{detail}",
        fmt="count",
    ),
    # many links from one site mean different things: a template (sitewide footer, blogroll)
    # repeats one link to one page; syndication and news coverage link many distinct pages.
    # Its reasons are said with the site's link count (``serving.reasons``)
    Feature(
        "site_target_spread",
        "placement",
        "target pages per link from the site",
        "{value} as many different target pages as links from this referring site",
        monotone=-1,
        fmt="pct",
    ),
    # --- anchor ----------------------------------------------------------------------------
    Feature(
        "anchor_type",
        "anchor",
        "anchor type",
        {
            "exact": "anchor is an exact-match keyword: '{anchor_text}'",
            "partial": "anchor partially matches target keywords: '{anchor_text}'",
            "branded": "branded anchor: '{anchor_text}'",
            "naked_url": "naked-URL anchor: '{anchor_text}'",
            "generic": "generic anchor: '{anchor_text}'",
            "empty": "empty or image anchor",
            "sentence": "a sentence or title as anchor: '{anchor_text}'",
            "other": "descriptive anchor: '{anchor_text}'",
        },
        dtype="category",
        categories=ANCHOR_TYPES,
    ),
    Feature("anchor_words", "anchor", "anchor length", "anchor has {value} word{s}"),
    Feature(
        "anchor_money_terms",
        "anchor",
        "commercial terms in anchor",
        "anchor uses commercial word{s}: {detail}",
        silent=("0",),
    ),
    Feature(
        "anchor_spam_terms",
        "anchor",
        "spam terms in anchor",
        "anchor uses spam word{s}: {detail}",
        silent=("0",),
    ),
    Feature(
        "anchor_share",
        "anchor",
        "anchor repetition",
        "{value} of the target's links use this same anchor",
        fmt="pct",
    ),
    Feature(
        "target_exact_share",
        "anchor",
        "exact-match share of the profile",
        "{value} of the target's followed links use exact-match keyword anchors",
        monotone=1,
        fmt="pct",
        silent_below=0.10,  # natural profiles stay under it; the report warns above it
    ),
    # --- rel flags -------------------------------------------------------------------------
    Feature(
        "nofollow",
        "rel",
        "nofollow",
        _bool("nofollow link", "followed (dofollow) link"),
        dtype="bool",
    ),
    Feature(
        "ugc",
        "rel",
        "rel=ugc",
        _bool("marked as user-generated (ugc)", "not marked ugc"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "sponsored",
        "rel",
        "rel=sponsored",
        _bool("marked as sponsored", "not marked sponsored"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "redirect",
        "rel",
        "redirect",
        _bool("reaches the target through a redirect", "links to the target directly"),
        dtype="bool",
        silent=("false",),
    ),
    # --- authority and traffic -------------------------------------------------------------
    Feature(
        "source_authority",
        "authority",
        "source authority",
        "source authority is {value}/100",
        monotone=-1,
    ),
    Feature(
        "source_page_authority",
        "authority",
        "source page authority",
        "source page authority is {value}/100",
        monotone=-1,
    ),
    Feature(
        "source_traffic",
        "authority",
        "source traffic",
        "source site gets {value} organic visit{s} a month",
        monotone=-1,
        fmt="count",
    ),
    Feature(
        "source_referring_domains",
        "authority",
        "source referring domains",
        "the source has {value} referring domain{s}",
        monotone=-1,
        fmt="count",
    ),
    # --- outbound links --------------------------------------------------------------------
    Feature(
        "source_external_links",
        "outbound",
        "outbound links",
        "source page has {value} outbound link{s}",
        monotone=1,
        fmt="count",
    ),
    Feature(
        "source_linked_domains",
        "outbound",
        "linked domains",
        "source page links to {value} domain{s}",
        monotone=1,
        fmt="count",
    ),
    Feature(
        "external_link_share",
        "outbound",
        "share of external links",
        "{value} of the source page's links are external",
        fmt="pct",
    ),
    Feature(
        "http_error",
        "outbound",
        "source HTTP error",
        _bool("source page answers with an HTTP error", "source page answers normally"),
        dtype="bool",
        silent=("false",),
    ),
    # --- source URL ------------------------------------------------------------------------
    Feature(
        "tld_class",
        "url",
        "source TLD",
        {
            "generic": "source is on a common TLD (.com/.net/.org)",
            "country": "source is on a country-code TLD",
            "edu_gov": "source is an education/government site",
            "cheap": "source is on a cheap, spam-prone TLD",
            "new_generic": "source is on a newer generic TLD",
        },
        dtype="category",
        categories=TLD_CLASSES,
    ),
    Feature(
        "shared_platform",
        "url",
        "shared platform",
        _bool("source is a free blog/hosting subdomain", "source has its own domain"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "ip_host",
        "url",
        "IP host",
        _bool("source host is a bare IP address", "source host is a domain name"),
        dtype="bool",
        silent=("false",),
    ),
    Feature(
        "subdomain_depth",
        "url",
        "subdomain depth",
        "source host has {value} subdomain level{s}",
        silent=("0",),
    ),
    Feature(
        "host_hyphens",
        "url",
        "hyphens in source host",
        "source host has {value} hyphen{s}",
        silent=("0",),
    ),
    Feature(
        "source_spam_terms",
        "url",
        "spam terms on the source",
        "source page (title, URL or text around the link) uses spam word{s}: {detail}",
        silent=("0",),
    ),
    # real labels: curated public lists (features/data/domain_lists)
    Feature(
        "source_listed",
        "url",
        "public domain lists",
        {
            "spam_list": "source domain is on a public link-spam list",
            "reputable_list": "source is a university or government domain (public list)",
            "unlisted": "source is on no public list",
        },
        dtype="category",
        categories=LISTS,
        silent=("unlisted",),
    ),
)

WHY: dict[str, str] = {
    "domain_age_days": "seed signal 'domain age': throwaway domains registered for links",
    "link_age_days": "how long the link has stood; bought links arrive in bursts",
    "days_since_seen": "a link the vendor has not seen for long may be gone",
    "topic_relevance": "seed signal 'topical relevance': a casino page linking a bakery",
    "topic_similarity": "topical relevance by meaning (an embedding), not shared words: "
    "'marathon training plan' is close to 'running shoes'",
    "placement": "seed signal 'placement': in-content links are editorial, footers templates "
    "(Ahrefs 'Content', the crawler's position)",
    "page_type": "comment, profile, forum and directory pages are where links are self-placed",
    "sitewide": "vendor marker (Semrush 'Sitewide'): one link repeated on every page",
    "is_image": "image links carry their alt text as anchor, often empty",
    "links_from_source_site": "how much of the profile one site accounts for",
    "site_target_spread": "a template repeats one link to one page; syndication and news "
    "coverage link many distinct pages",
    "anchor_type": "seed signal 'anchor match': exact-match anchors are what link schemes buy",
    "anchor_words": "anchor length: keyword anchors are short, titles long",
    "anchor_money_terms": "commercial anchors ('buy', 'cheap') in paid placements",
    "anchor_spam_terms": "casino, pharma, adult and link-selling words in the anchor",
    "anchor_share": "one anchor repeated across a profile is over-optimisation",
    "target_exact_share": "seed signal 'too many exact-match anchor text links': the share of "
    "the target's followed links whose anchor is nothing but its page's keywords",
    "nofollow": "rel=nofollow (vendor flag): passes no credit, Google ignores it",
    "ugc": "rel=ugc (vendor flag): user-generated content",
    "sponsored": "rel=sponsored (vendor flag): a declared paid link",
    "redirect": "links reaching the target through redirects",
    "source_authority": "the vendor's site authority (Ahrefs DR, Moz DA, Majestic TF)",
    "source_page_authority": "the vendor's page authority (Ahrefs UR, Semrush Page ascore)",
    "source_traffic": "organic traffic: real sites have readers, link farms rarely",
    "source_referring_domains": "how many domains link to the source (vendor column)",
    "source_external_links": "outbound links on the page: thousands make it a link list",
    "source_linked_domains": "domains the page links to: thousands make it a link list",
    "external_link_share": "a page that links mostly out, not within its own site",
    "http_error": "a source page that answers with an error",
    "tld_class": "cheap TLDs host most throwaway spam domains",
    "shared_platform": "free blog subdomains are cheap to make by the thousand",
    "ip_host": "a bare IP address instead of a domain name",
    "subdomain_depth": "deep generated subdomains (a.b.c.example.xyz)",
    "host_hyphens": "keyword-stuffed hostnames (best-cheap-seo-links.com)",
    "source_spam_terms": "casino, pharma, adult and link-selling words on the source page",
    "source_listed": "real labels: curated public spam lists and university/government "
    "domain lists",
}
"""Each feature's rationale: the seed signal or vendor marker it stands for."""

NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
INDEX: dict[str, int] = {n: i for i, n in enumerate(NAMES)}
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
CATEGORICAL: tuple[int, ...] = tuple(i for i, f in enumerate(FEATURES) if f.dtype == "category")
MONOTONE: tuple[int, ...] = tuple(f.monotone for f in FEATURES)


def as_dict() -> dict[str, Any]:
    """The spec as saved beside a booster."""
    body = {"version": VERSION, "features": [asdict(f) for f in FEATURES]}
    return {**body, "fingerprint": fingerprint(body)}


def fingerprint(body: dict[str, Any]) -> str:
    """Hash of what changes a model's meaning: names, order, types, categories, directions."""
    core = [[f["name"], f["dtype"], list(f["categories"]), f["monotone"]] for f in body["features"]]
    blob = json.dumps([body["version"], core], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class SpecMismatch(ValueError):
    """A model was trained on a different feature spec than this code computes."""


def check_compatible(saved: dict[str, Any]) -> None:
    """Refuse a saved spec that differs from this code's spec, saying how."""
    current = as_dict()
    if saved.get("fingerprint") != fingerprint(saved):
        raise SpecMismatch(
            "spec.json: its stored fingerprint does not match the features it lists "
            "(the file was edited); retrain or restore the model"
        )
    if saved["fingerprint"] == current["fingerprint"]:
        return
    names = [f["name"] for f in saved.get("features", [])]
    missing = [n for n in NAMES if n not in names]
    extra = [n for n in names if n not in NAMES]
    detail = []
    if missing:
        detail.append(f"features this code computes but the model lacks: {missing}")
    if extra:
        detail.append(f"features the model expects but this code lacks: {extra}")
    if not detail and saved.get("version") != VERSION:
        detail.append("the features are computed differently in this version")
    if not detail:
        detail.append("same names, but order, types, categories or directions differ")
    raise SpecMismatch(
        f"the model was trained on feature spec v{saved.get('version')} "
        f"({saved.get('fingerprint')}), this linksift computes v{VERSION} "
        f"({current['fingerprint']}): " + "; ".join(detail) + ". Retrain the model."
    )
