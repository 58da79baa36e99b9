"""Feature extraction: one test per signal group on hand-written rows, plus invariants."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from features import spec
from features.extract import Profile, build_profile, extract, feature_frame, link_facts
from features.importers import concat
from serving.reasons import describe
from tests.conftest import AS_OF, links
from tests.features.test_properties import SETTINGS

T = "https://bakewise.example.com/"


def frame(*rows: dict, **kw) -> pl.DataFrame:
    return feature_frame(links(*rows), as_of=AS_OF, **kw).fill_null(float("nan"))


def one(row: dict, **kw) -> dict:
    return frame(row, **kw).row(0, named=True)


def cat(feature: str, value: float) -> str:
    return spec.BY_NAME[feature].categories[int(value)]


def test_domain_and_link_age_in_days():
    f = one(
        {
            "source_url": "https://a.example.com/",
            "target_url": T,
            "source_domain_created": "2016-11-25",
            "first_seen": "2026-11-15",
            "last_seen": "2026-11-24",
        }
    )
    assert f["domain_age_days"] == 3652
    assert f["link_age_days"] == 10
    assert f["days_since_seen"] == 1


def test_missing_inputs_give_missing_features():
    f = one({"source_url": "https://a.example.com/x", "target_url": T})
    for name in (
        "domain_age_days",
        "link_age_days",
        "source_authority",
        "source_traffic",
        "nofollow",
        "sitewide",
        "placement",
        "anchor_type",
        "anchor_words",
        "anchor_share",
        "external_link_share",
        "http_error",
    ):
        assert math.isnan(f[name]), name
    # what the URL itself says is always known
    assert not math.isnan(f["host_hyphens"]) and not math.isnan(f["tld_class"])
    assert cat("source_listed", f["source_listed"]) == "unlisted"


def test_relevance_is_higher_for_an_on_topic_source():
    target = "https://bakewise.example.com/sourdough-rye-bread/"
    rows = frame(
        {
            "source_url": "https://bakers.example.org/blog/sourdough-starter",
            "target_url": target,
            "source_title": "Rye sourdough bread at home",
            "left_context": "my favourite rye bread",
        },
        {
            "source_url": "https://cars.example.org/blog/engine-repair",
            "target_url": target,
            "source_title": "Fixing a diesel engine",
            "left_context": "torque wrench settings",
        },
    )
    on_topic, off_topic = rows["topic_relevance"]
    assert on_topic > 0.2 and off_topic == 0.0


def test_relevance_uses_the_target_profile_for_homepage_targets():
    rows = [
        {
            "source_url": f"https://bread{i}.example.org/post",
            "target_url": T,
            "source_title": f"sourdough bread loaf recipe {i}",
            "anchor_text": "bakewise",
        }
        for i in range(5)
    ] + [
        {
            "source_url": "https://cars.example.org/engines",
            "target_url": T,
            "source_title": "diesel engine repair",
            "anchor_text": "bakewise",
        }
    ]
    f = frame(*rows)
    profile = build_profile([links(*rows)])
    assert {"sourdough", "bread", "loaf", "recipe"} <= set(profile.topic("example.com"))
    assert f["topic_relevance"][0] > 0.3
    assert f["topic_relevance"][-1] == 0.0


def test_target_description_gives_relevance_to_a_single_link():
    row = {
        "source_url": "https://bakers.example.org/rye-tips",
        "target_url": T,
        "source_title": "Rye flour tips",
    }
    assert math.isnan(one(row)["topic_relevance"])
    assert one(row, target_description="rye flour and sourdough")["topic_relevance"] > 0.3


def test_placement_page_type_and_sitewide():
    f = frame(
        {
            "source_url": "https://a.example.com/blog/some-long-article-title",
            "target_url": T,
            "placement": "footer",
            "sitewide": True,
            "is_image": False,
        },
        {"source_url": "https://b.example.com/post/?replytocom=42", "target_url": T},
        {"source_url": "https://c.example.com/members/bob123/", "target_url": T},
        {"source_url": "https://d.example.com/forum/viewtopic.php?t=9", "target_url": T},
        {"source_url": "https://e.example.com/directory/food/bakeries", "target_url": T},
        {"source_url": "https://f.example.com/", "target_url": T},
    )
    assert cat("placement", f["placement"][0]) == "footer"
    assert f["sitewide"][0] == 1.0 and f["is_image"][0] == 0.0
    types = [cat("page_type", v) for v in f["page_type"]]
    assert types == ["article", "comment", "profile", "forum", "directory", "homepage"]


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        ("rye bread", "exact"),
        ("Rye Bread!", "exact"),
        ("rye bread recipes", "partial"),
        ("Bakewise", "branded"),
        ("bake wise flour", "branded"),
        ("https://bakewise.example.com/rye-bread/", "naked_url"),
        ("bakewise.example.com", "naked_url"),
        ("click here", "generic"),
        ("", "empty"),
        ("an interesting story", "other"),
        ("Why rye bread beats every other loaf this winter", "sentence"),
        ("Jean-Marc Dupont", "other"),  # a person's name is not a keyword
    ],
)
def test_anchor_type(anchor, expected):
    f = one(
        {
            "source_url": "https://a.example.com/x",
            "target_url": "https://bakewise.com/rye-bread/",
            "anchor_text": anchor,
        }
    )
    assert cat("anchor_type", f["anchor_type"]) == expected


def test_anchor_words_money_and_spam_terms():
    f = one(
        {
            "source_url": "https://a.example.com/x",
            "target_url": T,
            "anchor_text": "buy cheap viagra online casino",
        }
    )
    assert f["anchor_words"] == 5
    assert f["anchor_money_terms"] == 2  # buy cheap ("online" is everyday prose)
    assert f["anchor_spam_terms"] == 2  # viagra casino


def test_rel_flags_and_http_error():
    f = one(
        {
            "source_url": "https://a.example.com/x",
            "target_url": T,
            "nofollow": True,
            "ugc": False,
            "sponsored": True,
            "redirect": False,
            "source_http_status": 404,
        }
    )
    assert (f["nofollow"], f["ugc"], f["sponsored"], f["redirect"]) == (1, 0, 1, 0)
    assert f["http_error"] == 1.0


def test_authority_traffic_and_outbound_links():
    f = one(
        {
            "source_url": "https://a.example.com/x",
            "target_url": T,
            "source_authority": 71,
            "source_page_authority": 20,
            "source_traffic": 0,
            "source_referring_domains": 900,
            "source_external_links": 30,
            "source_internal_links": 90,
            "source_linked_domains": 12,
        }
    )
    assert (f["source_authority"], f["source_page_authority"], f["source_traffic"]) == (71, 20, 0)
    assert f["source_referring_domains"] == 900 and f["source_linked_domains"] == 12
    assert f["external_link_share"] == pytest.approx(0.25)


def test_url_signals():
    f = frame(
        {"source_url": "https://deep.sub.best-cheap-links.xyz/2024/page-123", "target_url": T},
        {"source_url": "http://203.0.113.9/casino-bonus", "target_url": T},
        {"source_url": "https://mybakery.blogspot.com/post", "target_url": T},
        {"source_url": "https://www.ox.ac.uk/news", "target_url": T},
    )
    assert cat("tld_class", f["tld_class"][0]) == "cheap"
    assert f["subdomain_depth"][0] == 2 and f["host_hyphens"][0] == 2
    assert f["ip_host"][1] == 1.0 and f["source_spam_terms"][1] == 1
    assert f["shared_platform"][2] == 1.0 and f["shared_platform"][3] == 0.0
    assert cat("tld_class", f["tld_class"][3]) == "edu_gov"


def test_profile_aggregates_sitewide_footprint_and_anchor_share():
    rows = [
        {
            "source_url": f"https://farm.example.net/p{i}",
            "target_url": T,
            "anchor_text": "cheap bread",
        }
        for i in range(6)
    ]
    rows += [
        {
            "source_url": "https://solo-one.example.org/a",
            "target_url": T,
            "anchor_text": "Bakewise",
        },
        {
            "source_url": "https://solo-two.example.com/a",
            "target_url": T,
            "anchor_text": "bakewise",
        },
    ]
    f = frame(*rows)
    assert f["links_from_source_site"].to_list() == [6] * 6 + [1, 1]  # sites, not hosts
    assert f["anchor_share"][0] == pytest.approx(6 / 8)
    assert f["anchor_share"][6] == pytest.approx(2 / 8)  # anchors compare case-insensitively


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/comment-signer-un-contrat-de-travail/", "article"),  # French "how to sign..."
        ("/actualites/comment-creer-son-entreprise", "article"),
        ("/blog/mon-article/commentaires/", "comment"),
        ("/post/?replytocom=42", "comment"),
        ("/forum/sujet-123", "forum"),
        ("/foro/tema/12", "forum"),
        ("/annuaire/boulangeries/", "directory"),
        ("/branchenbuch/baeckerei", "directory"),
        ("/profil/jean/", "profile"),
        ("/perfil/maria", "profile"),
        ("/how-to-comment-on-code-reviews/", "article"),
        ("/wp-content/uploads/ho/revenu-fiscal-2020.html", "uploaded_page"),
        ("/wp-content/uploads/guide.pdf", "other"),  # a document, not a planted page
        ("/wp-content/uploads/ho/revenu-fiscal-de-reference-2020", "uploaded_page"),
    ],
)
def test_page_types_are_marked_by_whole_segments_in_seven_languages(path, expected):
    f = one({"source_url": f"https://a.example.com{path}", "target_url": T})
    assert cat("page_type", f["page_type"]) == expected


def test_words_are_matched_whole_and_everyday_words_are_not_spam():
    f = frame(
        {
            "source_url": "https://leseobytibo.fr/",
            "target_url": T,
            "source_title": "Retour sur le hack de la mairie",
        },
        {
            "source_url": "https://a.example.com/x",
            "target_url": T,
            "source_title": "Meilleur casino en ligne et pharmacie",
        },
    )
    assert f["source_spam_terms"].to_list() == [0, 2]


def test_public_lists_mark_sources_on_them():
    from features.lists import domain_lists

    lists = domain_lists()
    spam = lists.filter(pl.col("listed") == "spam_list")["domain"][0]
    good = lists.filter(pl.col("listed") == "reputable_list")["domain"][0]
    f = frame(
        {"source_url": f"https://www.{spam}/page", "target_url": T},
        {"source_url": f"https://news.{good}/story", "target_url": T},
        {"source_url": "https://a.example.com/x", "target_url": T},
    )
    listed = [cat("source_listed", v) for v in f["source_listed"]]
    assert listed == ["spam_list", "reputable_list", "unlisted"]


def test_syndication_spreads_over_target_pages_a_template_does_not():
    """Thousands of distinct article pages linking the target's own stories are news
    syndication; one link repeated on every page of a site is a template."""
    news = [
        {
            "source_url": f"https://exchange.example.com/news/story-{i}",
            "target_url": f"https://bakewise.com/news/story-{i % 40}/",
            "anchor_text": "Source: Bakewise",
        }
        for i in range(200)
    ]
    footer = [
        {
            "source_url": f"https://footer.example.net/page-{i}",
            "target_url": T,
            "anchor_text": "cheap bread",
            "sitewide": True,
        }
        for i in range(50)
    ]
    f = frame(*news, *footer)
    assert f["links_from_source_site"][0] == 200 and f["links_from_source_site"][-1] == 50
    assert f["site_target_spread"][0] == pytest.approx(40 / 200)
    assert f["site_target_spread"][-1] == pytest.approx(1 / 50)


def test_url_case_and_tracking_parameters_do_not_change_features():
    base = {
        "source_url": "https://news.example.com/story/rye?id=7",
        "target_url": T,
        "anchor_text": "rye",
        "source_title": "Rye",
    }
    tagged = {
        **base,
        # a campaign tag that reads like a forum's path must not make the page a forum
        "source_url": "https://NEWS.Example.COM/story/rye?utm_source=x&id=7&fbclid=abc"
        "&utm_content=/forum/#top",
    }
    a, b = frame(base), frame(tagged)
    assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True)


def test_features_do_not_depend_on_chunk_size_or_row_order(tmp_path):
    from training.synth import generate

    table = generate(600, seed=3, as_of=AS_OF)
    profile = build_profile([table], as_of=AS_OF)
    whole = extract(table, profile, as_of=AS_OF)
    for size in (97, 7, 1):
        chunked = np.vstack(
            [extract(table.slice(i, size), profile, as_of=AS_OF) for i in range(0, 600, size)]
        )
        assert np.array_equal(whole, chunked, equal_nan=True)
    order = np.random.default_rng(0).permutation(table.height)
    shuffled = extract(table[order], build_profile([table[order]], as_of=AS_OF), as_of=AS_OF)
    assert np.array_equal(whole[order], shuffled, equal_nan=True)


def _same_profile(a: Profile, b: Profile) -> bool:
    def rows(p: Profile) -> dict[str, list]:
        return {name: sorted(frame.rows()) for name, frame in p.tables().items()}

    return a.finished == b.finished and rows(a) == rows(b)


def test_profile_built_in_chunks_equals_profile_built_at_once():
    from training.synth import generate

    table = generate(500, seed=4, as_of=AS_OF)
    parts = [Profile.of(link_facts(table.slice(i, 64), as_of=AS_OF)) for i in range(0, 500, 64)]
    in_chunks = Profile.merge(parts).finish()
    assert _same_profile(in_chunks, build_profile([table], as_of=AS_OF))
    assert _same_profile(Profile.from_json(in_chunks.to_json()), in_chunks)
    assert concat([table.slice(0, 10), table.slice(10)]).height == 500


def test_spec_lists_every_feature_with_a_template_and_checks_compatibility():
    assert len(set(spec.NAMES)) == len(spec.NAMES)
    for f in spec.FEATURES:
        assert f.label and f.template
        if f.dtype == "category":
            assert set(f.template) == set(f.categories)
    saved = spec.as_dict()
    spec.check_compatible(saved)
    changed = {**saved, "features": saved["features"][:-1]}
    changed["fingerprint"] = spec.fingerprint(changed)
    with pytest.raises(spec.SpecMismatch, match="source_listed"):
        spec.check_compatible(changed)


def test_reasons_render_real_values():
    age = spec.BY_NAME["domain_age_days"]
    assert describe(age, 14 * 365.25) == "source domain is 14 years old"
    assert describe(age, float("nan")) == "source domain age unknown"
    anchor = spec.BY_NAME["anchor_type"]
    text = describe(anchor, 0.0, {"anchor_text": "best rye flour"})
    assert text == "anchor is an exact-match keyword: 'best rye flour'"
    assert describe(spec.BY_NAME["sitewide"], 1.0) == "sitewide link"


anchor_pieces = st.sampled_from(
    [
        "bakewise", "Bake", "wise", "BAKEWISE.com", "bread", "rye", "sourdough", "cheap",
        "buy", "the", "a", "click here", "www.", "https://", "-", "_", ".", " ", "  ", "!",
        "\t", "\x01", "\x0b", "\x1c", "\x7f", "é", "Über", "例え", "ǅ", "²", "\u00a0", "42",
        "€", "™",
    ]
)  # fmt: skip


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.lists(anchor_pieces, max_size=5).map("".join)),
            st.sampled_from(
                [
                    "https://bakewise.example.com/",
                    "https://www.bake-wise.co.uk/rye-bread",
                    "https://ab.example.org/x",
                    "https://über.example.de/brot",
                ]
            ),
        ),
        min_size=1,
        max_size=12,
    )
)
# every row with the same divisor: Polars' division had multiplied by its reciprocal there
@example(
    [(None, "https://bakewise.example.com/")] * 2
    + [("bakewise", "https://bakewise.example.com/")] * 3
)
def test_a_links_features_do_not_depend_on_the_other_links_measured_with_it(rows):
    """Given a profile, each link's features (its anchor type among them, decided once per
    distinct anchor and target) are the same in a table of many links and alone."""
    table = links(
        *(
            {"source_url": f"https://s{i}.example.net/p", "target_url": t, "anchor_text": a}
            for i, (a, t) in enumerate(rows)
        )
    )
    profile = build_profile([table], as_of=AS_OF)
    together = extract(table, profile, as_of=AS_OF)
    alone = np.vstack([extract(table.slice(i, 1), profile, as_of=AS_OF) for i in range(len(rows))])
    assert np.array_equal(together, alone, equal_nan=True)
    anchor_type = together[:, spec.INDEX["anchor_type"]]
    missing = np.asarray([a is None for a, _ in rows])
    assert np.isnan(anchor_type[missing]).all() and not np.isnan(anchor_type[~missing]).any()


def test_every_feature_says_what_real_signal_it_stands_for():
    assert set(spec.WHY) == set(spec.NAMES)
    assert all(len(f.why) > 20 for f in spec.FEATURES)


def test_the_profiles_exact_match_share_counts_followed_keyword_anchors():
    """The seed's "too many exact-match anchor text links": of the target's followed links
    with an anchor, the share whose anchor is nothing but its page's keywords."""
    rows = [
        {
            "source_url": f"https://s{i}.example-{i}.org/post",
            "target_url": "https://bakewise.com/rye-bread/",
            "anchor_text": anchor,
            "nofollow": nofollow,
        }
        for i, (anchor, nofollow) in enumerate(
            [("Rye bread", False)] * 6
            + [("Bakewise", False)] * 3
            + [("great rye bread recipes here", False)]
            + [("rye bread", True)] * 5  # nofollow: not counted
            + [(None, False)]  # no anchor: not counted
        )
    ]
    f = frame(*rows)
    assert f["target_exact_share"].unique().to_list() == [pytest.approx(0.6)]
    assert math.isnan(one(rows[0])["target_exact_share"]) is False  # its own one-link profile
    assert math.isnan(
        extract(links(rows[0]), Profile(), as_of=AS_OF)[0, spec.INDEX["target_exact_share"]]
    )  # no profile (the API): unknown


def test_relevance_by_meaning_sees_what_shared_words_miss_in_english_and_french():
    def pair(source: str, title: str, target: str) -> dict:
        return {"source_url": source, "target_url": target, "source_title": title}

    shoes, micro = "https://shop.example.com/running-shoes/", "https://lamicro.fr/micro-entreprise/"
    f = frame(
        pair("https://a.example.org/marathon-plan", "Marathon training plan", shoes),
        pair("https://b.example.org/casino-bonus", "Best casino bonus slots", shoes),
        pair("https://c.example.fr/statut-auto-entrepreneur", "Devenir auto-entrepreneur", micro),
        pair("https://d.example.fr/recette-pain", "Recette de pain au levain", micro),
    )
    assert f["topic_relevance"][0] == 0 == f["topic_relevance"][1]  # no word in common
    sim = f["topic_similarity"].to_list()
    assert sim[0] > sim[1] + 0.05 and sim[2] > sim[3] + 0.05


def test_a_sides_vector_is_wordllamas_own_embedding_of_its_words():
    """Summing each word's token vectors (each word tokenised once, cached) gives WordLlama's
    embedding of the words as one text, up to scale; an empty side has no vector. Words that
    fall back to bytes, accents written as two characters and long slugs are split from
    the words tokenised with them exactly, however many there are."""
    from features import meaning

    odd = ["東京都", "nai\u0308ve", "straße", "🙂emoji", "x" * 300, "россия", "١٢٣abc"]
    odd += [f"page{i}about" for i in range(1200)]  # more words than one text takes
    sides = pl.Series(
        [["marathon", "training", "plan"], [], ["recette", "pain", "levain"], *([w] for w in odd)]
    )
    ours = meaning.side_vectors(sides)
    texts = ["marathon training plan", "recette pain levain", *odd]
    theirs = np.asarray(meaning._model().embed(texts), dtype=np.float32)
    assert np.isnan(ours[1]).all()
    same = meaning.cosine(np.delete(ours, 1, axis=0), theirs)
    assert np.allclose(same, 1.0, atol=1e-5)


def test_word_vectors_stay_right_when_the_cache_fills_and_threads_share_it(monkeypatch):
    """Given a word cache far smaller than the words met, when two threads ask for sides at
    once and the cache is emptied again and again, then every side's vector is the one
    computed with nothing cached."""
    from concurrent.futures import ThreadPoolExecutor

    from features import meaning

    sides = [
        pl.Series([[f"w{(i * 7 + j) % 400}" for j in range(i % 5)] for i in range(k, k + 60)])
        for k in range(0, 600, 60)
    ]
    model = meaning._model()

    def text_vector(words: list[str]) -> np.ndarray:  # WordLlama's tokens of the side's text
        ids = model.tokenizer.encode(" ".join(words), add_special_tokens=False).ids
        return model.embedding[ids].sum(axis=0)

    expected = [np.array([text_vector(w) for w in side.to_list()]) for side in sides]
    monkeypatch.setattr(meaning, "_MAX_WORDS", 50)
    monkeypatch.setattr(meaning, "_TABLE", meaning._TABLE)  # both restored afterwards
    monkeypatch.setattr(meaning, "_VOCAB", {})
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(meaning.side_vectors, sides * 3))
    for side, want, have in zip(sides * 3, expected * 3, got, strict=True):
        empty = (side.list.len() == 0).to_numpy()
        assert np.isnan(have[empty]).all()
        assert np.allclose(have[~empty], want[~empty], atol=1e-4)
