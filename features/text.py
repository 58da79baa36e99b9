"""Words: one tokeniser (a Polars expression) and the small vocabularies the features count.

A token is a run of characters that are neither whitespace nor punctuation/symbols
(``SEPARATORS``), lower-cased. Every text linksift reads (titles, URL paths, contexts, anchors,
host names, a target's description) is split by the same expression, so a word means the same
thing wherever it is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import polars as pl

STOPWORDS = frozenset(
    """
    a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only
    own same so than too very can will just should now is are was were be been being have has
    had having do does did this that these those i me my we our you your he him his she her it
    its they them their what which who whom am would could also may might must shall via per
    www http https com net org html htm php asp aspx index page pages home post posts blog
    article articles news view read more www2 amp utm ref id category tag tags archive archives
    des les une pour dans sur avec par pas qui que est sont plus vous nous der die das und mit
    den von fur ist del los las por con para una que como mas
    """.split()
)

GENERIC_ANCHORS = frozenset(
    a.strip()
    for a in """
    click here|here|this|this link|link|this site|this website|website|site|web site|read more|
    more|more info|more information|learn more|find out more|see more|source|this article|
    this post|article|visit|visit site|visit website|go|go to|home|homepage|home page|view|
    view more|details|continue|continue reading|check it out|check this out|official site|
    official website|see here|click|url|page|this page|download|en savoir plus|ici|cliquez ici|
    lire la suite|hier|mehr|weiterlesen|aqui|leer mas
    """.replace("\n", "").split("|")
    if a.strip()
)

MONEY_WORDS = {
    "en": """buy cheap cheapest discount discounts price prices pricing deal deals sale sales
        coupon coupons promo offer offers affordable hire rent rental loan loans credit
        insurance lawyer attorney quote quotes shop store purchase wholesale supplier
        suppliers agency""",
    "fr": "acheter achat promo réduction tarif tarifs devis soldes prêt crédit assurance avocat",
    "de": "kaufen günstig billig rabatt angebot angebote preis preise bestellen kredit anwalt",
    "es": "comprar barato baratos oferta ofertas descuento precio precios préstamo abogado",
    "it": "comprare acquista economico offerta offerte sconto prezzo prezzi prestito avvocato",
    "pt": "comprar barato oferta desconto preço preços empréstimo advogado",
    "nl": "kopen goedkoop aanbieding korting prijs prijzen lening advocaat",
}
"""Commercial words (money anchors: Google's link spam policy names keyword-rich anchors in
paid placements), per language. Words that are common in ordinary prose in one of the
languages are left out ("best", "free", "online", "review", "service": an editorial article
uses them as often as a paid link)."""

SPAM_WORDS = {
    "en": """casino casinos poker slots betting sportsbook roulette blackjack jackpot gambling
        viagra cialis levitra pharmacy pills tramadol xanax valium phentermine steroids porn
        porno xxx sex sexy escort escorts dating hookup webcam camgirls payday replica
        replicas keygen torrent warez seo backlinks linkbuilding bitcoinmixer forex cbd kratom
        vape nude nudes onlyfans""",
    "fr": "pharmacie sexe",
    "de": "apotheke spielothek spielautomaten potenzmittel",
    "es": "farmacia apuestas tragamonedas",
    "it": "scommesse",
    "pt": "apostas cassino farmácia",
    "nl": "gokken apotheek",
}
"""The topics of link spam (casinos, pharmacies, adult, payday loans, counterfeits, piracy,
link selling), per language, as whole words. Words with an everyday meaning ("hack", "crack",
"bet", "slot", "adult", "essay", "binary", "generator") are left out, and so are words that
mean something else in another of the languages (German "wetten", bets, is Dutch for laws;
French "rencontres" is any meeting): a news story about a hack is not spam."""


def _vocabulary(by_language: dict[str, str]) -> frozenset[str]:
    return frozenset(w for words in by_language.values() for w in words.split())


MONEY_TERMS = _vocabulary(MONEY_WORDS)
SPAM_TERMS = _vocabulary(SPAM_WORDS)

_PUNCT = r"!-/:-@\[-`{-~"  # every ASCII punctuation character
_PUNCT_BUT_URL = r"!-\-;-@\[-`{-~"  # the same without "." "/" and ":"
_UNICODE_PUNCT = (
    r"\x{00A0}-\x{00BF}\x{00D7}\x{00F7}\x{2000}-\x{206F}\x{2190}-\x{2BFF}\x{3000}-\x{303F}"
    r"\x{FE10}-\x{FE6F}\x{FF00}-\x{FF0F}\x{FF1A}-\x{FF20}\x{1F000}-\x{1FAFF}"
)
_SPACE = r"\s\x{1C}-\x{1F}"  # Unicode White_Space, and the ASCII separators Python splits on
SEPARATORS = f"[{_SPACE}{_PUNCT}{_UNICODE_PUNCT}]"
"""Whitespace, punctuation and symbols: what splits words. Symbols outside these ranges (€, ™)
belong to the word they touch."""
TOKEN = f"[^{_SPACE}{_PUNCT}{_UNICODE_PUNCT}]+"
"""A word: a run of characters that are not ``SEPARATORS``."""
ANCHOR_SEPARATORS = f"[{_SPACE}{_PUNCT_BUT_URL}{_UNICODE_PUNCT}]"
"""``SEPARATORS`` but ".", "/" and ":", so naked-URL anchors stay recognisable when anchors
are compared for repetition."""


def tokens(text: pl.Expr) -> pl.Expr:
    """Every word of each value, lower-cased, in text order (null stays null)."""
    return text.str.to_lowercase().str.extract_all(TOKEN)


GENERIC_SERIES = pl.Series(sorted(GENERIC_ANCHORS), dtype=pl.String)
_STOPWORDS = pl.Series(sorted(STOPWORDS), dtype=pl.String).implode()


def is_content(token: pl.Expr) -> pl.Expr:
    """A word that carries meaning: 3+ characters, not a stopword, not a bare number."""
    return (token.str.len_chars() >= 3) & ~token.is_in(_STOPWORDS) & ~token.str.contains(r"^\d+$")


def is_topical(token: pl.Expr) -> pl.Expr:
    """A content word that can name a topic: no digits at all (ids, dates and sizes never
    do, and counting them per target would grow with every page)."""
    return (token.str.len_chars() >= 3) & ~token.is_in(_STOPWORDS) & ~token.str.contains(r"\d")


def content_words(words: pl.Expr) -> pl.Expr:
    """The distinct content words of each list of words."""
    return _kept(words, is_content).list.unique()


def topical_words(words: pl.Expr, *, content: bool = False) -> pl.Expr:
    """The distinct topical words of each list of words; ``content=True`` when the lists are
    distinct content words already, which leaves only the test for digits."""
    if content:
        return _kept(words, lambda w: ~w.str.contains(r"\d"))
    return _kept(words, is_topical).list.unique()


def _kept(words: pl.Expr, keep: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """The words for which ``keep`` holds. Written as two passes because Polars runs a
    ``list.eval`` of a column-wise expression (or of ``drop_nulls`` alone) over all lists at
    once, but a ``filter`` list by list: 3-10x slower on a profile's words."""
    masked = words.list.eval(pl.when(keep(pl.element())).then(pl.element()))
    return masked.list.eval(pl.element().drop_nulls())


def count_in(words: pl.Expr, vocabulary: frozenset[str]) -> pl.Expr:
    """How many of the words (with repeats) are in ``vocabulary``."""
    return words.list.eval(pl.element().is_in(_series(vocabulary))).list.sum()


@lru_cache(maxsize=16)
def _series(vocabulary: frozenset[str]) -> pl.Series:
    return pl.Series(sorted(vocabulary), dtype=pl.String).implode()


@lru_cache(maxsize=1024)
def words(text: str) -> tuple[str, ...]:
    """The distinct content words of one string (for a value given on its own, such as a
    target description), by the same expression."""
    if not text.strip():
        return ()
    frame = pl.DataFrame({"text": [text]}, schema={"text": pl.String})
    return tuple(frame.select(content_words(tokens(pl.col("text")))).item().to_list())
