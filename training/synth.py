"""A synthetic world of backlinks, labeled good or spam, written as canonical rows.

It exists so the whole pipeline (importers → features → model → reasons) can be trained and
tested without anyone's private data. It is not ground truth: the shipped model learned from
it, and users should retrain on their own reviewed labels.

How the world is built:

- Target sites (the sites being audited) each have a topic, a brand and money pages whose
  URL slugs are keywords. Each target's export comes from one simulated vendor.
- Each link belongs to an archetype (``ARCHETYPES``: share, label, and the distributions its
  signals come from). Referring sites are drawn per (archetype, topic) with a skewed number of
  links per site, so sitewide footers really do repeat.
- Distributions overlap on purpose (legitimate forum links look like comment spam; some PBNs
  have traffic; some editorial links use exact-match anchors) and ``label_noise`` of labels are
  flipped, so a good model scores well but not perfectly.
- Vendors blank what they do not export (``VENDOR_FIELDS``): Semrush has page ascore but no
  traffic, nobody but our own crawler knows domain creation dates, GSC gives only URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from features import schema
from features.lists import domain_lists
from features.text import GENERIC_ANCHORS

TOPICS: dict[str, tuple[str, ...]] = {
    "crypto": (
        "crypto bitcoin ethereum blockchain wallet exchange token defi staking mining "
        "altcoin ledger trading coin solana nft airdrop presale market price chart"
    ),
    "finance": (
        "finance money budget savings invest investing stocks retirement pension tax "
        "mortgage credit debt banking income portfolio dividend fund wealth"
    ),
    "health": (
        "health fitness nutrition diet vitamins sleep wellness doctor clinic therapy "
        "symptoms treatment exercise protein healthy heart medicine care"
    ),
    "travel": (
        "travel flights hotel beach island itinerary backpacking passport visa tour "
        "destination resort cruise adventure luggage airport hostel trip"
    ),
    "cooking": (
        "recipe recipes cooking kitchen baking bread pasta dinner vegan soup sauce "
        "chef ingredients dessert oven spices grill breakfast meal"
    ),
    "software": (
        "software developer python javascript code api cloud database devops linux "
        "programming framework testing deploy server open source app"
    ),
    "gardening": (
        "garden gardening plants seeds soil compost flowers vegetables tomato pruning "
        "greenhouse lawn herbs orchard watering mulch roses"
    ),
    "pets": (
        "dog dogs cat cats puppy kitten pet pets vet grooming training breed leash food "
        "aquarium adoption shelter toys"
    ),
    "realestate": (
        "real estate house home property apartment rent buyer seller mortgage agent "
        "listing renovation interior kitchen bathroom condo"
    ),
    "education": (
        "education school university students teacher learning course courses exam "
        "study lesson classroom degree scholarship homework tutoring"
    ),
    "automotive": (
        "car cars automotive engine tires electric vehicle dealer repair motor "
        "truck suv hybrid battery driving mechanic parts"
    ),
    "business": (
        "business startup entrepreneur freelance marketing sales customers invoice "
        "accounting company management strategy brand small growth"
    ),
    "fashion": (
        "fashion style clothing dress shoes outfit jewelry designer wardrobe trends "
        "accessories jeans jacket sneakers beauty makeup"
    ),
    "gaming": (
        "gaming games console playstation xbox nintendo esports steam rpg shooter "
        "multiplayer strategy indie controller streamer patch"
    ),
}
TOPIC_WORDS = {t: tuple(w.split()) for t, w in TOPICS.items()}
TOPIC_NAMES = tuple(TOPICS)
FILLER = tuple(
    "guide tips ways ideas update story report notes journal weekly how why "
    "what great simple complete ultimate practical everyday modern".split()
)
MONEY = ("best", "cheap", "buy", "top", "discount", "affordable", "online", "review")
SPAM_ANCHORS = (
    "buy viagra online",
    "cheap cialis",
    "online casino",
    "best casino bonus",
    "slots real money",
    "payday loans",
    "replica watches",
    "essay writing service",
    "sports betting tips",
    "cheap pharmacy pills",
    "free spins casino",
    "adult dating",
    "buy followers",
    "poker online",
)
SYLLABLES = tuple(
    "ka lo mi nu ra te zo pi ven dor lin tas mar bel cor fin gal hex jun kip "
    "lux mon nex orb pal qui rex sol tor ulm vex wix yar zen ark bay cam dex".split()
)
GOOD_TLDS = (
    ("com", 0.62),
    ("org", 0.1),
    ("net", 0.08),
    ("co.uk", 0.06),
    ("de", 0.05),
    ("fr", 0.04),
    ("io", 0.03),
    ("edu", 0.02),
)
CHEAP_TLDS = (
    ("xyz", 0.2),
    ("top", 0.15),
    ("online", 0.15),
    ("site", 0.1),
    ("club", 0.1),
    ("info", 0.15),
    ("icu", 0.05),
    ("buzz", 0.05),
    ("space", 0.05),
)
PLATFORMS = ("blogspot.com", "wordpress.com", "tumblr.com", "weebly.com", "wixsite.com")
GENERIC = tuple(sorted(a for a in GENERIC_ANCHORS if a.isascii()))
ANCHOR_KINDS = (
    *("exact", "partial", "branded", "naked_url", "generic", "empty", "sentence", "other"),
    "spam",
)
PLACES = schema.PLACEMENTS

VENDOR_SHARES = {
    "ahrefs": 0.3,
    "semrush": 0.3,
    "majestic": 0.08,
    "moz": 0.08,
    "gsc": 0.06,
    "crawler": 0.18,
}
VENDOR_FIELDS: dict[str, frozenset[str]] = {
    "ahrefs": frozenset(
        "anchor_text source_title left_context right_context placement nofollow "
        "ugc sponsored is_image redirect source_authority source_page_authority "
        "source_traffic source_referring_domains source_linked_domains "
        "source_external_links source_http_status source_language first_seen "
        "last_seen".split()
    ),
    "semrush": frozenset(
        "anchor_text source_title nofollow ugc sponsored is_image "
        "sitewide source_page_authority source_external_links "
        "source_internal_links first_seen last_seen".split()
    ),
    "majestic": frozenset(
        "anchor_text nofollow is_image redirect source_authority first_seen last_seen".split()
    ),
    "moz": frozenset(
        "anchor_text source_title nofollow redirect source_authority "
        "source_page_authority source_referring_domains".split()
    ),
    "gsc": frozenset({"last_seen"}),
    "crawler": frozenset(c for c in schema.CANONICAL if c != "label"),
}
"""Which canonical fields each simulated vendor fills (URLs always)."""


@dataclass(frozen=True)
class Archetype:
    label: str
    share: float
    relevant: float  # probability the referring site shares the target's topic
    anchors: dict[str, float]
    places: dict[str, float]
    page: str  # path style
    authority: tuple[float, float]  # normal mean, sd (Ahrefs-DR-like scale)
    traffic: tuple[float, float, float]  # lognormal mu, sigma, probability of zero
    age_years: tuple[float, float]  # uniform range of domain age
    external: tuple[float, float]  # lognormal mu, sigma of outbound links on the page
    links_per_site: float  # mean links from one referring site (geometric)
    nofollow: float = 0.1
    ugc: float = 0.0
    sponsored: float = 0.0
    sitewide: float = 0.02
    image: float = 0.04
    cheap_tld: float = 0.02
    platform: float = 0.03
    edu_gov: float = 0.0
    http_error: float = 0.01
    redirect: float = 0.02
    recent: float = 0.0  # probability the link was first seen in the last 90 days
    listed: float = 0.0  # probability a site is drawn from a public list (spam or reputable)
    template: bool = False  # a site repeats one link (one target page, one anchor)
    stories: bool = False  # each link goes to a page of its own (syndicated stories)


ARCHETYPES: dict[str, Archetype] = {
    # ---- good --------------------------------------------------------------------------------
    "editorial": Archetype(
        "good",
        0.19,
        0.85,
        {
            "branded": 0.35,
            "partial": 0.25,
            "naked_url": 0.12,
            "other": 0.13,
            "exact": 0.08,
            "generic": 0.07,
        },
        {"content": 0.92, "sidebar": 0.04, "unknown": 0.04},
        "article",
        (45, 18),
        (8, 2, 0.06),
        (3, 22),
        (3, 0.7),
        1.6,
        nofollow=0.15,
        sponsored=0.02,
        platform=0.04,
        listed=0.02,
    ),
    "news": Archetype(
        "good",
        0.07,
        0.7,
        {"branded": 0.5, "naked_url": 0.15, "other": 0.2, "partial": 0.1, "generic": 0.05},
        {"content": 0.95, "unknown": 0.05},
        "news",
        (72, 12),
        (11, 1.5, 0.01),
        (8, 28),
        (3.6, 0.6),
        1.3,
        nofollow=0.3,
        sponsored=0.01,
    ),
    "niche_blog": Archetype(
        "good",
        0.14,
        0.8,
        {
            "branded": 0.3,
            "partial": 0.25,
            "other": 0.2,
            "generic": 0.1,
            "exact": 0.07,
            "naked_url": 0.08,
        },
        {"content": 0.85, "sidebar": 0.1, "unknown": 0.05},
        "article",
        (22, 12),
        (5.5, 2, 0.25),
        (1, 12),
        (3.2, 0.8),
        1.8,
        nofollow=0.12,
        platform=0.25,
        cheap_tld=0.03,
    ),
    "resource_page": Archetype(
        "good",
        0.06,
        0.85,
        {"branded": 0.45, "other": 0.25, "naked_url": 0.2, "partial": 0.1},
        {"content": 0.7, "sidebar": 0.2, "unknown": 0.1},
        "resources",
        (35, 15),
        (7, 2, 0.1),
        (3, 18),
        (4.4, 0.6),
        1.2,
        nofollow=0.2,
        edu_gov=0.12,
        listed=0.1,
    ),
    "community": Archetype(
        "good",
        0.08,
        0.8,
        {"naked_url": 0.35, "branded": 0.3, "other": 0.2, "partial": 0.1, "generic": 0.05},
        {"comment": 0.55, "content": 0.35, "profile": 0.1},
        "forum",
        (55, 20),
        (9, 2, 0.05),
        (5, 22),
        (3.8, 0.8),
        1.5,
        nofollow=0.6,
        ugc=0.55,
    ),
    "citation": Archetype(
        "good",
        0.06,
        0.5,
        {"branded": 0.55, "naked_url": 0.4, "other": 0.05},
        {"directory": 0.6, "content": 0.3, "unknown": 0.1},
        "listing",
        (58, 15),
        (9.5, 1.5, 0.03),
        (8, 24),
        (3.5, 0.6),
        1.1,
        nofollow=0.5,
        listed=0.03,
    ),
    "syndication": Archetype(
        "good",
        0.06,
        0.9,
        {"branded": 0.55, "sentence": 0.25, "naked_url": 0.1, "other": 0.1},
        {"content": 0.95, "unknown": 0.05},
        "news",
        (30, 22),
        (7, 2.5, 0.25),
        (2, 20),
        (3.2, 0.7),
        120,
        nofollow=0.75,
        stories=True,
    ),
    # ---- spam --------------------------------------------------------------------------------
    "pbn": Archetype(
        "spam",
        0.07,
        0.2,
        {"exact": 0.5, "partial": 0.25, "branded": 0.1, "other": 0.1, "naked_url": 0.05},
        {"content": 0.9, "unknown": 0.1},
        "article",
        (36, 12),
        (2, 2.2, 0.55),
        (0.3, 4),
        (3.2, 0.6),
        2.0,
        nofollow=0.03,
        platform=0.05,
        cheap_tld=0.15,
        listed=0.15,
    ),
    "comment_spam": Archetype(
        "spam",
        0.06,
        0.3,
        {
            "exact": 0.3,
            "naked_url": 0.25,
            "spam": 0.1,
            "branded": 0.15,
            "generic": 0.1,
            "partial": 0.1,
        },
        {"comment": 0.9, "unknown": 0.1},
        "comment",
        (25, 15),
        (5, 2.5, 0.3),
        (1, 15),
        (5, 1),
        2.5,
        nofollow=0.55,
        ugc=0.3,
        listed=0.1,
    ),
    "profile_spam": Archetype(
        "spam",
        0.04,
        0.15,
        {"naked_url": 0.45, "branded": 0.25, "exact": 0.2, "spam": 0.1},
        {"profile": 0.85, "unknown": 0.15},
        "profile",
        (42, 20),
        (7, 2.5, 0.2),
        (2, 18),
        (2.5, 0.8),
        1.3,
        nofollow=0.5,
        ugc=0.15,
        listed=0.1,
    ),
    "free_directory": Archetype(
        "spam",
        0.04,
        0.1,
        {"naked_url": 0.4, "branded": 0.25, "exact": 0.25, "other": 0.1},
        {"directory": 0.7, "content": 0.2, "sidebar": 0.1},
        "directory",
        (12, 8),
        (2, 2, 0.7),
        (0.5, 10),
        (6.5, 1.0),
        1.5,
        nofollow=0.1,
        cheap_tld=0.4,
        listed=0.2,
    ),
    "sitewide_footer": Archetype(
        "spam",
        0.04,
        0.3,
        {"exact": 0.55, "partial": 0.2, "branded": 0.2, "spam": 0.05},
        {"footer": 0.6, "sidebar": 0.3, "navigation": 0.1},
        "any",
        (20, 12),
        (4, 2.5, 0.35),
        (1, 12),
        (3.5, 0.8),
        60,
        sitewide=0.9,
        nofollow=0.05,
        cheap_tld=0.1,
        template=True,
    ),
    "hacked": Archetype(
        "spam",
        0.03,
        0.05,
        {"spam": 0.8, "exact": 0.15, "other": 0.05},
        {"content": 0.5, "unknown": 0.5},
        "hacked",
        (55, 15),
        (8, 2, 0.1),
        (6, 25),
        (4, 0.9),
        3.0,
        nofollow=0.02,
        edu_gov=0.25,
        http_error=0.05,
        listed=0.2,
    ),
    "link_farm": Archetype(
        "spam",
        0.04,
        0.05,
        {"exact": 0.45, "naked_url": 0.25, "spam": 0.1, "other": 0.2},
        {"content": 0.5, "sidebar": 0.3, "directory": 0.2},
        "farm",
        (9, 7),
        (0.5, 1.5, 0.8),
        (0.2, 5),
        (8, 0.8),  # outbound links: thousands (domain lists, spun-article hubs)
        2.0,
        nofollow=0.05,
        cheap_tld=0.5,
        platform=0.1,
        http_error=0.05,
        listed=0.25,
    ),
    # pages made by machines about other sites (domain lists, "website worth" and "site info"
    # pages, scraped directories): they link to every site they crawl, whether or not its
    # owner builds links, so they are drawn per target apart from its own spam share (below);
    # the anchor is the domain or the URL, the page lists thousands of sites, nobody visits
    "scraper": Archetype(
        "spam",
        0.0,  # not drawn with the other spam: see SCRAPED
        0.0,
        {"naked_url": 0.6, "branded": 0.35, "other": 0.05},
        {"content": 0.3, "directory": 0.3, "unknown": 0.4},
        "scraper",
        (10, 8),
        (0.5, 1.5, 0.85),
        (0.5, 12),
        (7.5, 0.6),
        1.1,
        nofollow=0.3,
        cheap_tld=0.3,
        listed=0.1,
    ),
    "new_domain": Archetype(
        "spam",
        0.03,
        0.25,
        {"exact": 0.6, "partial": 0.2, "naked_url": 0.1, "spam": 0.1},
        {"content": 0.8, "sidebar": 0.2},
        "article",
        (4, 4),
        (0.5, 1.5, 0.85),
        (0.02, 0.5),
        (3.5, 0.8),
        1.5,
        nofollow=0.02,
        cheap_tld=0.5,
        recent=0.7,
    ),
}


SCRAPED = (0.7, 9.0)
"""Beta distribution of the share of a target's links from machine-made pages (mean 7%)."""
SCRAPER_WORDS = tuple(
    "top websites domain list page site info worth value estimate traffic rank stats whois "
    "report analysis similar sites links directory".split()
)
"""The template words of machine-made pages, the same whatever the site listed."""


def _pick(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    keys = list(probs)
    p = np.asarray([probs[k] for k in keys], dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _names(rng: np.random.Generator, n: int, parts: int) -> np.ndarray:
    idx = rng.integers(len(SYLLABLES), size=(n, parts))
    syl = np.asarray(SYLLABLES, dtype=object)[idx]
    out = syl[:, 0]
    for k in range(1, parts):
        out = out + syl[:, k]
    return out


@dataclass
class _Target:
    brand: str
    host: str
    topic: str
    vendor: str
    pages: list[tuple[str, tuple[str, ...]]]  # (url, keywords); pages[0] is the homepage


def _targets(rng: np.random.Generator, count: int) -> list[_Target]:
    out = []
    vendors = list(VENDOR_SHARES)
    vp = np.asarray(list(VENDOR_SHARES.values()))
    for i in range(count):
        topic = TOPIC_NAMES[i % len(TOPIC_NAMES)]
        brand = str(_names(rng, 1, 2)[0]) + str(
            rng.choice(("ly", "hub", "io", "lab", "wise", "base", "", ""))
        )
        host = f"{brand}.{rng.choice(['com', 'com', 'com', 'co.uk', 'de', 'fr', 'net', 'io'])}"
        root = f"https://{'www.' if rng.random() < 0.5 else ''}{host}"
        pages: list[tuple[str, tuple[str, ...]]] = [(root + "/", ())]
        for _ in range(int(rng.integers(4, 12))):
            kw = tuple(dict.fromkeys(rng.choice(TOPIC_WORDS[topic], int(rng.integers(2, 4)))))
            if rng.random() < 0.4:
                kw = (str(rng.choice(MONEY)), *kw)
            pages.append((f"{root}/{'-'.join(kw)}/", tuple(str(k) for k in kw)))
        vendor = vendors[rng.choice(len(vendors), p=vp / vp.sum())]
        out.append(_Target(brand, host, topic, vendor, pages))
    return out


def _sites(rng: np.random.Generator, a: Archetype, topic: str, size: int) -> dict[str, np.ndarray]:
    """Attributes of ``size`` referring sites of one archetype and topic."""
    roll = rng.random(size)
    words = np.asarray(TOPIC_WORDS[topic], dtype=object)[
        rng.integers(len(TOPIC_WORDS[topic]), size=size)
    ]
    stem = np.where(rng.random(size) < 0.5, words + _names(rng, size, 1), _names(rng, size, 3))
    stem = np.where(rng.random(size) < 0.15, stem + "-" + _names(rng, size, 1), stem)
    good = _pick(rng, dict(GOOD_TLDS), size)
    cheap = _pick(rng, dict(CHEAP_TLDS), size)
    edu = _pick(rng, {"edu": 0.5, "gov": 0.2, "ac.uk": 0.15, "gouv.fr": 0.15}, size)
    tld = np.where(
        roll < a.platform + a.cheap_tld,
        cheap,
        np.where(roll < a.platform + a.cheap_tld + a.edu_gov, edu, good),
    )
    www = np.where(rng.random(size) < 0.6, "www.", "")
    host = www + stem + "." + tld
    platform = _names(rng, size, 3) + "." + _pick(rng, {p: 1 for p in PLATFORMS}, size)
    host = np.where(roll < a.platform, platform, host)
    if a.listed:  # real hostnames from the public lists the source_listed feature reads
        side = "reputable_list" if a.label == "good" or a.page == "hacked" else "spam_list"
        pool = _listed(side)
        drawn = pool[rng.integers(len(pool), size=size)]
        host = np.where(
            rng.random(size) < a.listed, np.where(www != "", "www." + drawn, drawn), host
        )
    authority = np.clip(rng.normal(*a.authority, size), 0, 100)
    mu, sigma, p0 = a.traffic
    traffic = np.where(rng.random(size) < p0, 0.0, np.round(rng.lognormal(mu, sigma, size)))
    age = rng.uniform(*a.age_years, size)
    # a few sites break their archetype's pattern (PBNs with traffic, old spam domains...)
    odd = rng.random(size) < 0.08
    authority = np.where(odd, np.clip(rng.normal(35, 20, size), 0, 100), authority)
    traffic = np.where(odd, np.round(rng.lognormal(6, 2.5, size)), traffic)
    age = np.where(odd, rng.uniform(0.3, 20, size), age)
    return {
        "host": host,
        "authority": np.round(authority, 1),
        "traffic": traffic,
        "age_days": age * 365.25,
        # domains linking to the page (as Ahrefs exports it): mostly none or one
        "referring": np.where(
            rng.random(size) < 0.6, 0.0, np.round(rng.lognormal(np.log1p(authority) * 0.4, 1.0))
        ),
        "language": _pick(rng, {"en": 0.8, "fr": 0.07, "de": 0.07, "es": 0.06}, size),
    }


@lru_cache(maxsize=2)
def _listed(side: str) -> np.ndarray:
    """The domains of one side of the shipped public lists."""
    lists = domain_lists()
    return lists.filter(pl.col("listed") == side)["domain"].to_numpy().astype(object)


def _title_pool(
    rng: np.random.Generator, topic: str, size: int = 400
) -> tuple[list[str], list[str]]:
    """(slugs, titles) of source pages about a topic."""
    slugs, titles = [], []
    for _ in range(size):
        words = [str(w) for w in rng.choice(TOPIC_WORDS[topic], int(rng.integers(3, 6)))]
        title = " ".join(w.capitalize() for w in words)
        if rng.random() < 0.5:
            title = f"{str(rng.choice(FILLER)).capitalize()} {title}"
        slugs.append("-".join(words))
        titles.append(title)
    return slugs, titles


def _page(
    style: str, topic: str, slug: str, title: str, uid: int, r: float, spam: str, user: str
) -> tuple[str, str]:
    """(path, title) of a source page in one of the archetypes' styles."""
    if style == "any":
        style = ("article", "homepage", "article", "tag")[uid % 4]
    if style == "article":
        if r < 0.3:
            return f"/{2015 + uid % 11}/{1 + uid % 12:02d}/{slug}.html", title
        return f"/blog/{slug}/", title
    if style == "news":
        return f"/news/{2018 + uid % 8}/{slug}-{uid % 100000}", title
    if style == "resources":
        return (
            ("/resources/", "/useful-links/", f"/{topic}-resources/", f"/blog/{slug}/")[uid % 4],
            f"{title} Resources",
        )
    if style == "forum":
        if r < 0.5:
            return f"/forum/viewtopic.php?t={uid % 90000}", title
        return f"/threads/{slug}.{uid % 90000}/", title
    if style == "listing":
        return f"/business/{slug}-{uid % 9000}", f"{title} - Business Listing"
    if style == "comment":
        if r < 0.5:
            return f"/blog/{slug}/?replytocom={uid % 99999}", title
        return f"/{slug}/comment-page-{1 + uid % 9}/", title
    if style == "profile":
        return (
            (f"/members/{user}/", f"/user/{user}", f"/profile/{user}")[uid % 3],
            f"{user} - Profile",
        )
    if style == "directory":
        return (
            (
                f"/directory/{topic}/{slug}",
                f"/submit/listing-{uid % 99999}",
                f"/links/{topic}-{uid % 500}.html",
                f"/{topic}/",
            )[uid % 4],
            f"{title} Directory",
        )
    if style == "hacked":
        s = spam.replace(" ", "-")
        return (
            (
                f"/wp-content/uploads/{s}-{uid % 9999}.html",
                f"/images/{s}.php",
                f"/~temp/{s}-{uid % 999}/",
            )[uid % 3],
            title if r < 0.5 else spam.title(),
        )
    if style == "farm":  # half of them with paths that mark no page type (as on the web)
        return (
            f"/page-{uid:x}{uid % 89999 + 1000}.html",
            f"/{slug.split('-')[0]}/",
            f"/?p={uid % 99999}",
            f"/{uid:x}",
        )[uid % 4], f"{title} | {uid % 9000 + 1000}"
    if style == "scraper":  # pages numbered by the thousand, titled by their template
        words = [SCRAPER_WORDS[(uid // k) % len(SCRAPER_WORDS)] for k in (1, 7, 49)]
        return (
            f"/domain-list-{uid % 900}",
            f"/site/{user.lower()}.com",
            f"/websites/{uid % 9000}.html",
            f"/{'-'.join(words)}-{uid % 90}/",
        )[uid % 4], f"{' '.join(words).title()} | page no. {uid % 900}"
    if style == "tag":
        return f"/tag/{slug.split('-')[0]}/", title
    return "/", title


def _anchor(
    kind: str,
    target: _Target,
    page: tuple[str, tuple[str, ...]],
    r: float,
    words: str,
    generic: str,
    spam: str,
    filler: str,
) -> str:
    if kind == "exact":
        return " ".join(page[1]) if page[1] else words
    if kind == "partial":
        kw = list(page[1]) or words.split()[:1]
        return " ".join([*kw[: max(1, len(kw) - 1)], filler])
    if kind == "branded":
        return (
            target.brand,
            target.brand.capitalize(),
            target.host,
            f"{target.brand.capitalize()} {filler}",
            f"Source: {target.brand.capitalize()}",
        )[int(r * 5)]
    if kind == "naked_url":
        return (page[0], f"https://{target.host}", f"www.{target.host}", target.host)[int(r * 4)]
    if kind == "generic":
        return generic
    if kind == "empty":
        return ""
    if kind == "spam":
        return spam
    if kind == "sentence":  # an article's title as anchor: six words or more
        return f"{words} {filler} {words.split()[0]} today".capitalize()
    return words


def generate(
    n: int,
    seed: int = 0,
    as_of: date | None = None,
    label_noise: float = 0.03,
    targets: int | None = None,
    vendor: str | None = None,
) -> pl.DataFrame:
    """``n`` labeled canonical links (plus ``archetype`` and ``vendor`` columns).

    ``targets`` fixes the number of audited sites (default grows with ``n``); ``vendor``
    makes every row come from one vendor (default: one vendor per target, mixed).
    """
    as_of = as_of or date.today()
    rng = np.random.default_rng(seed)
    targets = _targets(rng, targets or int(np.clip(n // 1500, 8, 240)))
    if vendor is not None:
        for t in targets:
            t.vendor = vendor
    weights = rng.pareto(1.2, len(targets)) + 0.05
    t_idx = rng.choice(len(targets), size=n, p=weights / weights.sum())
    # each target has a spam share of its own (some sites are hit by spam campaigns)
    target_spam = rng.beta(2, 3.5, len(targets))
    names = list(ARCHETYPES)
    good = [k for k in names if ARCHETYPES[k].label == "good"]
    spam = [k for k in names if ARCHETYPES[k].label == "spam"]
    is_spam = rng.random(n) < target_spam[t_idx]
    drawn = [k for k in spam if ARCHETYPES[k].share > 0]
    arch = np.where(
        is_spam,
        _pick(rng, {k: ARCHETYPES[k].share for k in drawn}, n),
        _pick(rng, {k: ARCHETYPES[k].share for k in good}, n),
    )
    # machine-made pages reach any site, careful or not: a share of each target's links of
    # its own (most get a few, some are flooded), independent of its own spam share
    scraped = rng.random(n) < rng.beta(*SCRAPED, len(targets))[t_idx]
    arch = np.where(scraped, "scraper", arch)
    pools = {t: _title_pool(rng, t) for t in TOPIC_NAMES}
    contexts = {
        t: [" ".join(str(w) for w in rng.choice(TOPIC_WORDS[t], 7)) for _ in range(300)]
        for t in TOPIC_NAMES
    }
    target_topic = np.asarray([targets[i].topic for i in t_idx], dtype=object)
    out: dict[str, np.ndarray] = {}

    def put(name: str, idx: np.ndarray, values: object) -> None:
        if name not in out:
            out[name] = np.full(n, None, dtype=object)
        out[name][idx] = values

    for name in names:
        a = ARCHETYPES[name]
        rows = np.flatnonzero(arch == name)
        m = len(rows)
        if m == 0:
            continue
        relevant = rng.random(m) < a.relevant
        topic = np.where(
            relevant,
            target_topic[rows],
            np.asarray(TOPIC_NAMES, dtype=object)[rng.integers(len(TOPIC_NAMES), size=m)],
        )
        host = np.empty(m, dtype=object)
        site = {
            k: np.empty(m, dtype=object)
            for k in ("authority", "traffic", "age_days", "referring", "language")
        }
        for t in TOPIC_NAMES:
            sel = np.flatnonzero(topic == t)
            if len(sel) == 0:
                continue
            size = max(1, round(len(sel) / a.links_per_site))
            attrs = _sites(rng, a, t, size)
            # a skewed draw: a few sites carry many links (sitewide footers, farms)
            pick = np.minimum((size * rng.random(len(sel)) ** 1.6).astype(int), size - 1)
            host[sel] = attrs["host"][pick]
            for k in site:
                site[k][sel] = attrs[k][pick]
        kind = _pick(rng, a.anchors, m)
        r = rng.random((m, 4))
        sitewide = r[:, 0] < a.sitewide
        is_image = (kind == "empty") | (rng.random(m) < a.image)
        blank_alt = is_image & (kind != "empty") & (r[:, 1] < 0.5)
        place = _pick(rng, a.places, m)
        recent = rng.random(m) < a.recent
        first_age = np.where(recent, rng.integers(5, 90, m), rng.integers(30, 1800, m))
        last_age = (first_age * rng.random(m)).astype(int)
        age_days = np.asarray(site["age_days"], dtype=float)
        age_days = np.where(recent & (age_days > 200), rng.uniform(20, 180, m), age_days)
        ext = np.round(rng.lognormal(*a.external, m))
        generic = rng.choice(GENERIC, m)
        spam_a = rng.choice(SPAM_ANCHORS, m)
        filler = rng.choice(FILLER, m)
        user = _names(rng, m, 2)
        src, tgt, anchors, titles, left, right = [], [], [], [], [], []
        fixed: dict[tuple[str, int], tuple[tuple[str, tuple[str, ...]], str]] = {}
        for j in range(m):
            i = rows[j]
            tg = targets[t_idx[i]]
            k = kind[j]
            if k in ("branded", "generic") and r[j, 2] < 0.7:
                page = tg.pages[0]
            elif k == "exact":
                page = tg.pages[1 + int(r[j, 3] * (len(tg.pages) - 1))]
            else:
                page = tg.pages[int(r[j, 3] * len(tg.pages))]
            if a.stories:  # a syndicated story (one of the target's 40 latest), republished
                n_story = (i * 7919) % 40
                story = pools[tg.topic][0][n_story]
                page = (f"{tg.pages[0][0]}news/{story}-{n_story}/", tuple(story.split("-")))
            tp = topic[j]
            slugs, pool_titles = pools[tp]
            q = (i * 7919) % len(slugs)
            path, title = _page(
                a.page, tp, slugs[q], pool_titles[q], i, r[j, 1], spam_a[j], f"{user[j]}{i % 999}"
            )
            if sitewide[j] and a.sitewide > 0.5:
                path = f"/{slugs[(q + 1) % len(slugs)]}-{i % 997}/"
            words = pool_titles[(q + 3) % len(slugs)].lower()
            anchor = _anchor(k, tg, page, r[j, 0], words, generic[j], spam_a[j], filler[j])
            if a.template:  # the site's first link to this target, repeated on every page
                page, anchor = fixed.setdefault((host[j], t_idx[i]), (page, anchor))
            src.append(f"https://{host[j]}{path}")
            tgt.append(page[0])
            anchors.append("" if blank_alt[j] else anchor)
            titles.append(title)
            ctx = contexts[tp]
            content = place[j] == "content" and a.page != "scraper"  # around it: more domains
            left.append(ctx[i % 300] if content else "")
            right.append(ctx[(i * 31) % 300] if content else "")
        put("source_url", rows, src)
        put("target_url", rows, tgt)
        put("anchor_text", rows, anchors)
        put("source_title", rows, titles)
        put("left_context", rows, left)
        put("right_context", rows, right)
        put("placement", rows, place)
        put("nofollow", rows, rng.random(m) < a.nofollow)
        put("ugc", rows, rng.random(m) < a.ugc)
        put("sponsored", rows, rng.random(m) < a.sponsored)
        put("is_image", rows, is_image)
        put("sitewide", rows, sitewide)
        put("redirect", rows, rng.random(m) < a.redirect)
        auth = np.asarray(site["authority"], dtype=float)
        put("source_authority", rows, auth)
        put(
            "source_page_authority",
            rows,
            # page-level scores sit far below the site's: half the pages of a real export
            # score 0 (Ahrefs UR, Semrush Page ascore)
            np.where(
                rng.random(m) < 0.5,
                0.0,
                np.round(np.clip(auth * rng.uniform(0.05, 0.4, m) + rng.normal(0, 3, m), 0, 100)),
            ),
        )
        put("source_traffic", rows, site["traffic"])
        put("source_referring_domains", rows, site["referring"])
        put("source_linked_domains", rows, np.round(ext * rng.uniform(0.4, 0.95, m)))
        put("source_external_links", rows, ext)
        put("source_internal_links", rows, np.round(rng.lognormal(3.5, 0.8, m)))
        put(
            "source_http_status",
            rows,
            np.where(rng.random(m) < a.http_error, rng.choice([404, 410, 500, 403], m), 200),
        )
        put("source_language", rows, site["language"])
        put("first_seen", rows, first_age)
        put("last_seen", rows, last_age)
        put("source_domain_created", rows, age_days.astype(int))
        put("label", rows, a.label)
        put("archetype", rows, name)
    flip = rng.random(n) < label_noise
    out["label"] = np.where(flip, np.where(out["label"] == "spam", "good", "spam"), out["label"])
    out["vendor"] = np.asarray([targets[i].vendor for i in t_idx], dtype=object)
    epoch = (as_of - date(1970, 1, 1)).days
    for name in ("first_seen", "last_seen", "source_domain_created"):
        out[name] = epoch - out[name].astype(np.int64)
    return _apply_vendors(out, rng)


_SCALES = {
    # how each vendor's authority number relates to the Ahrefs-like one we generate
    "majestic": lambda x, rng: np.clip(x * 0.6 + rng.normal(0, 5, len(x)), 0, 100),
    "moz": lambda x, rng: np.clip(x * 0.85 + 6 + rng.normal(0, 5, len(x)), 0, 100),
}


def _apply_vendors(cols: dict[str, np.ndarray], rng: np.random.Generator) -> pl.DataFrame:
    """Blank what each row's vendor does not export, and rescale vendor-specific metrics."""
    vendor = cols["vendor"]
    arrays: dict[str, pl.Series] = {}
    for name in (*schema.CANONICAL, "archetype", "vendor"):
        values = np.asarray(cols[name], dtype=object).copy()
        if name in schema.BY_NAME and not schema.BY_NAME[name].required and name != "label":
            present = np.zeros(len(values), dtype=bool)
            for v, fields in VENDOR_FIELDS.items():
                if name in fields:
                    present |= vendor == v
            if name == "source_authority":
                x = np.asarray(values, dtype=float)
                for v, scale in _SCALES.items():
                    m = vendor == v
                    x[m] = np.round(scale(x[m], rng), 1)
                values = x.astype(object)
            if name == "placement":
                # Ahrefs only knows content / not content; Semrush only flags forms (comments)
                m = vendor == "ahrefs"
                values[m] = np.where(values[m] == "content", "content", "unknown")
                m = vendor == "semrush"
                values[m] = np.where(values[m] == "comment", "comment", None)
            values[~present] = None
        kind = schema.BY_NAME[name].kind if name in schema.BY_NAME else "text"
        if kind == "date":
            arrays[name] = pl.Series(name, values.tolist(), dtype=pl.Int32).cast(pl.Date)
        else:
            typ = schema.polars_type(name) if name in schema.BY_NAME else pl.String()
            arrays[name] = pl.Series(name, values.tolist(), dtype=typ)
    return pl.DataFrame(list(arrays.values()))


# The columns of a typical labeled sheet an agency keeps: the link, its anchor, whether it is
# nofollow, the vendor's authority number and when it was found, plus the label.
AGENCY_COLUMNS = (
    "source_url",
    "target_url",
    "anchor_text",
    "nofollow",
    "source_authority",
    "first_seen",
    "label",
)


def agency_sheet(
    n: int, spam_share: float, seed: int = 0, as_of: date | None = None
) -> pl.DataFrame:
    """``n`` generated links cut down to what an agency has labeled: ``spam_share`` spam and
    only ``AGENCY_COLUMNS`` filled (the rest empty), no archetypes. For checking that training
    holds up on small, imbalanced, narrow data."""
    pool = generate(3 * n, seed=seed, as_of=as_of, vendor="ahrefs").drop("archetype", "vendor")
    spam = round(n * spam_share)
    rng = np.random.default_rng(seed)
    picked = []
    for label, count in (("spam", spam), ("good", n - spam)):
        rows = np.flatnonzero((pool["label"] == label).to_numpy())
        picked.append(rng.choice(rows, count, replace=False))
    sheet = pool[np.sort(np.concatenate(picked))]
    return sheet.with_columns(
        pl.lit(None, dtype=sheet.schema[c]).alias(c)
        for c in sheet.columns
        if c not in AGENCY_COLUMNS
    )


def write(table: pl.DataFrame, path: str | Path) -> Path:
    """Write generated links as Parquet (``.parquet``) or CSV (anything else)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table.write_parquet(path)
    else:
        schema.write_csv(table, path)
    return path


AHREFS_HEADER = (
    "#",
    "Referring page title",
    "Referring page URL",
    "Language",
    "Platform",
    "Referring page HTTP code",
    "Domain rating",
    "UR",
    "Domain traffic",
    "Referring domains",
    "Linked domains",
    "External links",
    "Page traffic",
    "Keywords",
    "Target URL",
    "Left context",
    "Anchor",
    "Right context",
    "Redirect Chain URLs",
    "Redirect Chain status codes",
    "Type",
    "Content",
    "Nofollow",
    "UGC",
    "Sponsored",
    "Rendered",
    "Raw",
    "Lost status",
    "Drop reason",
    "Discovered status",
    "First seen",
    "Last seen",
    "Lost",
    "Author",
    "Links in group",
)


def to_ahrefs(table: pl.DataFrame) -> pl.DataFrame:
    """Canonical links laid out as an Ahrefs backlinks export (labels dropped)."""
    d = table.to_dict(as_series=False)
    n = table.height

    def text(name: str) -> list[str]:
        return ["" if v is None else str(v) for v in d[name]]

    def num(name: str) -> list[str]:
        return ["" if v is None else f"{v:g}" for v in d[name]]

    def flag(values: list[object]) -> list[str]:
        return ["" if v is None else ("TRUE" if v else "FALSE") for v in values]

    def day(name: str) -> list[str]:
        return ["" if v is None else f"{v} 00:00:00" for v in d[name]]

    kind = [
        "image" if img else ("redirect" if red else "text")
        for img, red in zip(d["is_image"], d["redirect"], strict=True)
    ]
    cols = {
        "#": [str(i + 1) for i in range(n)],
        "Referring page title": text("source_title"),
        "Referring page URL": text("source_url"),
        "Language": text("source_language"),
        "Referring page HTTP code": num("source_http_status"),
        "Domain rating": num("source_authority"),
        "UR": num("source_page_authority"),
        "Domain traffic": num("source_traffic"),
        "Referring domains": num("source_referring_domains"),
        "Linked domains": num("source_linked_domains"),
        "External links": num("source_external_links"),
        "Target URL": text("target_url"),
        "Left context": text("left_context"),
        "Anchor": text("anchor_text"),
        "Right context": text("right_context"),
        "Type": kind,
        "Content": flag([None if p is None else p == "content" for p in d["placement"]]),
        "Nofollow": flag(d["nofollow"]),
        "UGC": flag(d["ugc"]),
        "Sponsored": flag(d["sponsored"]),
        "First seen": day("first_seen"),
        "Last seen": day("last_seen"),
    }
    return pl.DataFrame(
        {h: cols.get(h, [""] * n) for h in AHREFS_HEADER},
        schema=dict.fromkeys(AHREFS_HEADER, pl.String),
    )
