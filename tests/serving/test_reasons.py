"""Reasons are rendered once per shown value; that must never change what a row says."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features import spec
from serving.reasons import REASON_FIELDS, _display_key, describe, format_value, top_reasons
from tests.features.test_properties import SETTINGS

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False),  # features are finite or missing
    st.floats(min_value=-1, max_value=40_000),
    st.integers(min_value=0, max_value=800).map(lambda d: d + 0.5),  # ties: 0.5, 1.5 ...
    st.integers(min_value=0, max_value=200).map(lambda p: p / 200),  # ties of percentages
    st.sampled_from([0.0, -0.0, 0.005, 0.015, 0.125, 59.5, 60.0, 729.9, 730.0, 1e6, -0.4]),
)


@SETTINGS
@given(st.lists(values, min_size=1, max_size=40))
def test_equal_display_keys_mean_equal_text(raw):
    """Values grouped together (same feature, same key) are written the same way."""
    for k, feature in enumerate(spec.FEATURES):
        v = np.asarray(raw, dtype=np.float64)
        if feature.dtype == "category":
            v = np.where(np.isnan(v), v, np.abs(np.nan_to_num(v)) % len(feature.categories))
            v = np.floor(v)
        branch, key = _display_key(np.full(len(v), k), v)
        texts: dict[tuple[float, float], str] = {}
        for b, kk, x in zip(branch, key, v, strict=True):
            text = format_value(feature, float(x))
            assert texts.setdefault((b, kk), text) == text, (feature.name, x)


def _fields(anchors: list[str | None], titles: list[str | None] | None = None) -> pl.DataFrame:
    n = len(anchors)
    return pl.DataFrame(
        {
            "anchor_text": anchors,
            "source_title": titles or [None] * n,
            "source_url": [f"https://site{i}.example.com/page" for i in range(n)],
            "left_context": [None] * n,
            "right_context": [None] * n,
        },
        schema=dict.fromkeys(REASON_FIELDS, pl.String),
    )


def test_reasons_name_the_words_each_row_counted():
    X = np.zeros((4, len(spec.NAMES)))
    col = spec.INDEX["anchor_spam_terms"]
    X[:, col] = [2.0, 1.0, 2.0, 1.0]
    contributions = np.zeros((4, len(spec.NAMES) + 1))
    contributions[:, col] = 1.0
    fields = _fields(["cheap viagra casino", "Casino!", "cheap viagra casino", "poker night"])
    reasons = top_reasons(contributions, X, fields, np.full(4, 2))
    texts = reasons.text[:, 0].tolist()
    assert texts == [
        "anchor uses spam words: 'viagra', 'casino'",
        "anchor uses spam word: 'casino'",
        "anchor uses spam words: 'viagra', 'casino'",
        "anchor uses spam word: 'poker'",
    ]
    assert reasons.labelled(0).to_list() == [f"{t} (+1.0)" for t in texts]


def test_reasons_point_the_way_the_verdict_went_and_never_cite_absence():
    """A spam verdict's reasons push toward spam, a good verdict's toward good; missing
    values, zero counts, unset flags and an unremarkable page type are never reasons."""
    names = ("links_from_source_site", "source_spam_terms", "page_type", "domain_age_days")
    X = np.zeros((2, len(spec.NAMES)))
    X[:, spec.INDEX["links_from_source_site"]] = 1.0
    X[:, spec.INDEX["source_spam_terms"]] = 0.0  # zero spam words
    X[:, spec.INDEX["page_type"]] = spec.PAGE_TYPES.index("other")
    X[:, spec.INDEX["domain_age_days"]] = np.nan
    X[:, spec.INDEX["sitewide"]] = 0.0
    c = np.zeros((2, len(spec.NAMES) + 1))
    for name, push in zip(names, (-0.5, 2.0, 1.5, 1.0), strict=True):
        c[:, spec.INDEX[name]] = push
    c[:, spec.INDEX["sitewide"]] = 0.9
    c[:, spec.INDEX["anchor_share"]] = 0.3  # 0%: a real value
    reasons = top_reasons(c, X, _fields([None, None]), np.asarray([2, 0]))
    shown = [[spec.NAMES[f] for f in row if f >= 0] for row in reasons.feature]
    assert shown == [["anchor_share"], ["links_from_source_site"]]
    assert reasons.labelled(0).to_list() == [
        "0% of the target's links use this same anchor (+0.3)",
        "1 link from this referring site (-0.5)",
    ]
    assert reasons.labelled(1).to_list() == [None, None]


def test_counts_in_reasons_are_plural_correct():
    one, many = (
        describe(spec.BY_NAME[n], v)
        for n, v in (("links_from_source_site", 1.0), ("links_from_source_site", 3.0))
    )
    assert (one, many) == ("1 link from this referring site", "3 links from this referring site")
    assert describe(spec.BY_NAME["host_hyphens"], 1.0) == "source host has 1 hyphen"


def test_a_site_count_says_where_the_sites_links_go():
    """Given three sites' links (1,200 links to 1,150 pages: syndicated stories; 40 links to
    one page: a sitewide footer; one link), when the site's count is a reason, then it says
    how many different target pages the site's links go to."""
    X = np.zeros((3, len(spec.NAMES)))
    X[:, spec.INDEX["links_from_source_site"]] = [1200.0, 40.0, 1.0]
    X[:, spec.INDEX["site_target_spread"]] = [1150 / 1200, 1 / 40, 1.0]
    c = np.zeros((3, len(spec.NAMES) + 1))
    c[:, spec.INDEX["links_from_source_site"]] = [-1.3, 0.7, -0.2]
    reasons = top_reasons(c, X, _fields([None] * 3), k=1)
    assert reasons.text[:, 0].tolist() == [
        "1,200 links from this referring site, to 1,150 different target pages",
        "40 links from this referring site, all to one target page",
        "1 link from this referring site",
    ]


def test_a_sites_spread_is_said_once_with_its_link_count():
    """Given a sitewide footer (40 links, one page) whose spread and count both push toward
    spam, and syndication (1,200 links, 1,150 pages) where both speak for the link, when the
    reasons are rendered, then the two are one reason, with the counts and both
    contributions, not the same fact twice or a share that reads backwards."""
    X = np.zeros((2, len(spec.NAMES)))
    X[:, spec.INDEX["links_from_source_site"]] = [40.0, 1200.0]
    X[:, spec.INDEX["site_target_spread"]] = [1 / 40, 1150 / 1200]
    X[:, spec.INDEX["domain_age_days"]] = 400.0
    c = np.zeros((2, len(spec.NAMES) + 1))
    c[:, spec.INDEX["site_target_spread"]] = [1.7, -0.9]
    c[:, spec.INDEX["links_from_source_site"]] = [0.6, -0.4]
    c[:, spec.INDEX["domain_age_days"]] = [1.0, -0.2]
    reasons = top_reasons(c, X, _fields([None] * 2), verdict=np.array([2, 0]), k=3)
    assert reasons.text[:, :2].tolist() == [
        [
            "40 links from this referring site, all to one target page",
            "source domain is 13 months old",
        ],
        [
            "1,200 links from this referring site, to 1,150 different target pages",
            "source domain is 13 months old",
        ],
    ]
    assert reasons.contribution[:, 0] == pytest.approx([2.3, -1.3])
    assert (reasons.feature[:, 2] == -1).all()  # nothing else to say


def test_a_natural_exact_match_share_is_never_a_reason():
    col = spec.INDEX["target_exact_share"]
    X = np.zeros((2, len(spec.NAMES)))
    X[:, col] = [0.01, 0.4]
    c = np.zeros((2, len(spec.NAMES) + 1))
    c[:, col] = [-0.8, 0.8]
    fields = pl.DataFrame(
        {f: [None, None] for f in REASON_FIELDS}, schema=dict.fromkeys(REASON_FIELDS, pl.String)
    )
    reasons = top_reasons(c, X, fields, np.asarray([0, 2]))
    assert reasons.labelled(0).to_list() == [
        None,
        "40% of the target's followed links use exact-match keyword anchors (+0.8)",
    ]


def test_relevance_by_meaning_names_the_topics_it_compared():
    """Given a casino page and a running blog linking a running-shoe page, when the
    similarity is a reason, then it names the page's words and the target's, and the review
    page's explanation says the same."""
    from features.extract import Profile
    from serving.model import LinkModel
    from tests.conftest import links

    model = LinkModel.load(None)
    table = links(
        {
            "source_url": "https://casino-bonus.example.net/free-spins",
            "target_url": "https://shop.example.com/running-shoes",
            "anchor_text": "this shop",
            "source_title": "Casino bonus and free spins",
        },
        {
            "source_url": "https://runblog.example.org/marathon-plan",
            "target_url": "https://shop.example.com/running-shoes",
            "anchor_text": "this shop",
            "source_title": "My marathon training plan",
        },
    )
    scores = model.score(table, Profile(), top=len(spec.NAMES))
    at = spec.INDEX["topic_similarity"]
    said = [
        text
        for row in range(2)
        for f, text in zip(scores.reasons.feature[row], scores.reasons.text[row], strict=True)
        if f == at
    ]
    assert said, "relevance by meaning is a reason for at least one of the two"
    for text in said:
        assert "the target about 'running', 'shoes'" in text
        assert "the page about 'casino'" in text or "the page about 'marathon'" in text
    # the review page shows the same text wherever the reason is among the link's top three
    explained = model.explain_one(table, Profile())
    first = next(c for c in explained["contributions"] if c["feature"] == "topic_similarity")
    top3 = model.score(table.slice(0, 1), Profile()).reasons
    if at in top3.feature[0]:
        assert first["text"] == top3.text[0][list(top3.feature[0]).index(at)]
        assert "the page about 'casino', 'bonus'" in first["text"]
