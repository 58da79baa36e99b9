"""A disavow proposal in Google's format from scored links.

Google's guidance (Search Central, link spam updates 2022-2024): its systems ignore most spammy
links on their own; a disavow file is for links you built or paid for, or after a manual
action. So the file proposes only what can matter, and says it must be reviewed:

- Only followed, live links count: nofollow/ugc/sponsored links pass nothing, and lost links
  are gone; both are left out and the header counts them.
- Under the default policy, ``cleanup``, a link is proposed when its verdict is spam. Under
  ``manual-action`` (a site under a manual action, or one that bought links), links judged
  "review" are proposed too.
- A referring site whose proposed links are most of its followed live links, and which has no
  good followed link, is listed as ``domain:`` (a single-page spam site stays covered when its
  page number changes); a site that also has good links gets URL lines.
- Never a shared platform root (``domain:blogspot.com``), a public suffix, or an IP address as a
  domain: on shared platforms the site is the user's subdomain (``domain:alice.blogspot.com``).
- Each entry's comment gives its counts and the reason most of its proposed links share.
- Google's format and limits: UTF-8 text; one ``domain:example.com`` or URL per line; ``#``
  comments; at most 100,000 lines and 2 MB; URLs at most 2,048 characters. When the limits
  are reached, the riskiest entries are kept and a comment says what was cut.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from features.urls import SHARED_PLATFORMS, host_frame, sites_of

MAX_LINES = 100_000
MAX_BYTES = 2_000_000
MAX_URL = 2048
POLICIES = {
    "cleanup": ("spam",),
    "manual-action": ("spam", "review"),
}
"""Which verdicts a policy proposes (followed, live links only)."""
LOST_COLUMNS = ("lost link", "lost status", "lost")
"""Vendor columns that say a link is gone (Semrush: "Lost link" true/false; Ahrefs: "Lost
status", empty while live), matched case-insensitively among the pass-through columns."""
GUIDANCE = (
    "Google ignores most spammy links on its own; disavow links you built or paid for, or "
    "after a manual action (Search Central). Review every line before uploading."
)


@dataclass
class _Site:
    links: int = 0
    live: int = 0
    unfollowed_links: int = 0  # every nofollow/ugc/sponsored link, whatever its verdict
    verdicts: Counter = field(default_factory=Counter)
    first_seen: str = ""
    last_seen: str = ""
    followed: int = 0  # followed and live
    good: int = 0  # followed, live and judged good
    proposed: int = 0
    sitewide: int = 0  # proposed links marked sitewide
    unfollowed: int = 0  # links of the proposed verdicts left out as nofollow/ugc/sponsored
    lost: int = 0  # ... left out as lost
    max_p: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    urls: dict[str, float] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The reason most proposed links share, with how many."""
        if not self.reasons:
            return ""
        text, n = self.reasons.most_common(1)[0]
        return f"{text} ({n} of {self.proposed})"


@dataclass
class Disavow:
    text: str
    domains: int
    urls: int
    cut: int
    left_out: int = 0

    @property
    def note(self) -> str:
        note = f"{self.domains:,} domains, {self.urls:,} URLs"
        if self.left_out:
            note += f"; {self.left_out:,} nofollow, lost or not editorial links left out"
        if self.cut:
            note += f"; {self.cut:,} entries cut to stay within Google's limits"
        return note


def domain_allowed(sites: list[str]) -> set[str]:
    """Which ``sites`` may appear as ``domain:site``: not platform roots, public suffixes or
    IP addresses (decided for all of them at once)."""
    hosts = host_frame(pl.Series(sites, dtype=pl.String))
    allowed = hosts.filter(
        (pl.col("brand") != "")
        & (pl.col("ip_host") == 0)
        & (pl.col("site") != pl.col("suffix"))
        & ~pl.col("host").is_in(SHARED_PLATFORMS)
    )
    return set(allowed["host"].to_list())


_CONTRIBUTION = re.compile(r" \([+-][0-9.]+\)$")
NOT_EDITORIAL = {
    "search-result page": (
        r"^https?://([a-z0-9-]+\.)*(google|bing|yahoo|yandex|baidu|duckduckgo|ecosia|qwant|"
        r"startpage|ask|aol|naver|seznam|sogou)\.[a-z.]+/(search|s|web|html|res|yandsearch)?"
        r"[/?#]?.*[?&](q|p|query|text|wd|word)="
    ),
    "web proxy or cache": (
        r"^https?://(webcache\.googleusercontent\.com|translate\.google\.[a-z.]+|"
        r"[a-z0-9-]+\.translate\.goog|web\.archive\.org|archive\.(ph|today|is|li|vn|md)|"
        r"([a-z0-9-]+\.)*(croxyproxy|proxysite|hidester|kproxy|hide\.me|proxyium|"
        r"proxfree|4everproxy|blockaway|proxyscrape)\.[a-z.]+)[/:?#]"
    ),
}
"""Pages that show a link without anyone placing it: a search engine's results for a query,
a translation proxy, a cache or archive copy, a web proxy. Google does not count them as
editorial links; they are "ignore" whatever the model says."""


def ignored_because(table: pl.DataFrame) -> pl.Series:
    """Why each link needs no action whatever its verdict (null: it may): not an editorial
    page (``NOT_EDITORIAL``), lost (a vendor's lost column), or nofollow/ugc/sponsored."""
    url = pl.col("source_url").str.to_lowercase()
    rel = unfollowed_flags(table)
    reason = pl.lit(None, pl.String)
    for why, pattern in reversed(NOT_EDITORIAL.items()):
        reason = pl.when(url.str.contains(pattern)).then(pl.lit(why)).otherwise(reason)
    lost = lost_flags(table)
    return table.select(
        pl.when(reason.is_not_null())
        .then(reason)
        .when(lost)
        .then(pl.lit("lost link"))
        .when(rel)
        .then(pl.lit("nofollow"))
        .alias("ignored")
    ).to_series()


def unfollowed_flags(table: pl.DataFrame) -> pl.Series:
    """Whether each link is nofollow, ugc or sponsored (a flag the export lacks is false)."""
    return table.select(
        pl.any_horizontal(
            pl.col(c).fill_null(False) if c in table.columns else pl.lit(False)
            for c in ("nofollow", "ugc", "sponsored")
        )
    ).to_series()


def link_actions(table: pl.DataFrame, verdict: pl.Series, policy: str = "cleanup") -> pl.Series:
    """Each link's action: ``disavow`` (proposed: a verdict the policy acts on, on a followed,
    live, editorial link), ``ignore: <why>``, ``review``, or ``keep``."""
    ignored = ignored_because(table)
    return pl.select(
        pl.when(ignored.is_not_null() & verdict.is_in(["spam", "review"]))
        .then(pl.lit("ignore: ") + ignored)
        .when(ignored.is_in(list(NOT_EDITORIAL)).fill_null(False))
        .then(pl.lit("ignore: ") + ignored)
        .when(verdict.is_in(POLICIES[policy]))
        .then(pl.lit("disavow"))
        .when(verdict.is_in(["spam", "review"]))
        .then(pl.lit("review"))
        .otherwise(pl.lit("keep"))
        .alias("action")
    ).to_series()


def lost_flags(table: pl.DataFrame) -> pl.Series:
    """Whether each link is gone, from a vendor's lost column (false when there is none)."""
    by_name = {c.lower(): c for c in table.columns}
    for name in LOST_COLUMNS:
        if name in by_name:
            v = table[by_name[name]].cast(pl.String).str.strip_chars().str.to_lowercase()
            return ~v.fill_null("").is_in(["", "false", "0", "no", "live"])
    return pl.Series([False] * table.height, dtype=pl.Boolean)


def collect(tables: Iterable[pl.DataFrame], policy: str = "cleanup") -> dict[str, _Site]:
    """Per-site evidence from scored tables (streamed; a few columns are read: the URL,
    verdict, probability, first reason, sitewide and rel flags, and a vendor's lost column)."""
    if policy not in POLICIES:
        raise ValueError(f"--disavow-policy: expected one of {', '.join(POLICIES)}, got {policy!r}")
    proposing = POLICIES[policy]
    sites: dict[str, _Site] = {}
    for t in tables:
        urls = t["source_url"].to_list()
        site_of = sites_of(t["source_url"]).to_list()
        verdict = t["verdict"].cast(pl.String).to_list()
        p = t["spam_probability"].to_numpy()
        reason = t["reason_1"].to_list()
        sitewide = t["sitewide"].to_list()
        ignored = ignored_because(t).to_list()  # not editorial, lost, or nofollow
        unfollowed = [why is not None and why != "lost link" for why in ignored]
        lost = [why == "lost link" for why in ignored]
        rel, gone = unfollowed_flags(t).to_list(), lost_flags(t).to_list()  # for the counts
        first = _dates(t, "first_seen")
        last = _dates(t, "last_seen")
        for i in range(t.height):
            s = sites.setdefault(site_of[i] or "", _Site())
            s.links += 1
            s.live += not gone[i]
            s.unfollowed_links += bool(rel[i])
            s.verdicts[verdict[i]] += 1
            if first[i] and (not s.first_seen or first[i] < s.first_seen):
                s.first_seen = first[i]
            if last[i] and last[i] > s.last_seen:
                s.last_seen = last[i]
            if unfollowed[i] or lost[i]:
                if verdict[i] in proposing:
                    s.lost += bool(lost[i])
                    s.unfollowed += not lost[i]
                continue
            s.followed += 1
            s.good += verdict[i] == "good"
            if verdict[i] not in proposing:
                continue
            s.proposed += 1
            s.sitewide += bool(sitewide[i])
            s.max_p = max(s.max_p, float(p[i]))
            s.reasons[_CONTRIBUTION.sub("", reason[i] or "") or "no reason given"] += 1
            s.urls[urls[i]] = max(float(p[i]), s.urls.get(urls[i], 0.0))
    return sites


def _dates(table: pl.DataFrame, name: str) -> list[str | None]:
    """ISO dates of a column (None where absent), whether it was read as dates or text."""
    if name not in table.columns:
        return [None] * table.height
    return table[name].cast(pl.String).str.slice(0, 10).to_list()


def _whole_site(s: _Site) -> bool:
    """A site's proposed links stand for the site: most of its followed live links (or a
    sitewide one), and no good followed link."""
    return s.good == 0 and (s.proposed * 2 > s.followed or s.sitewide > 0)


def read_scored(path: str) -> pl.DataFrame:
    """A ``linksift score`` output (CSV or Parquet) with the columns ``collect`` reads typed."""
    if str(path).lower().endswith((".parquet", ".pq")):
        table = pl.read_parquet(path)
    else:
        table = pl.read_csv(path, infer_schema=False)
    flags = [c for c in ("sitewide", "nofollow", "ugc", "sponsored") if c in table.columns]
    return table.with_columns(
        *(pl.col(c).cast(pl.String).str.to_lowercase().is_in(["true", "1"]) for c in flags),
        pl.col("spam_probability").cast(pl.Float64),
    )


def domains_table(sites: dict[str, _Site], decisions: Decisions | None = None) -> pl.DataFrame:
    """One row per referring domain (the registrable domain, or the user's site on a shared
    platform): its links, followed and live links, verdict counts, the domain's verdict (the
    most common) and action, the reason most of its proposed links share, first and last
    seen. Actions: ``disavow`` (a ``domain:`` line), ``disavow URLs`` (URL lines), ``ignore``
    (spam or review verdicts, but only on nofollow or lost links: nothing to do), ``review``,
    ``keep``; the store's lists decide first (``disavow (deny list)``, ``keep (allow list)``).
    Link counts add up to the links scored."""
    allowed = domain_allowed([site for site, s in sites.items() if s.proposed and site])
    listed = {v: d for (k, v), (d, _) in (decisions or {}).items() if k == "domain"}
    rows = []
    for site, s in sites.items():
        if site in listed:
            action = "disavow (deny list)" if listed[site] == "deny" else "keep (allow list)"
        elif s.proposed:
            action = "disavow" if _whole_site(s) and site in allowed else "disavow URLs"
        elif s.unfollowed or s.lost:
            action = "ignore"
        elif s.verdicts["review"] or s.verdicts["spam"]:
            action = "review"
        else:
            action = "keep"
        rows.append(
            {
                "referring_domain": site,
                "links": s.links,
                "followed_links": s.links - s.unfollowed_links,
                "live_links": s.live,
                "good": s.verdicts["good"],
                "review": s.verdicts["review"],
                "spam": s.verdicts["spam"],
                "verdict": s.verdicts.most_common(1)[0][0] if s.verdicts else "",
                "action": action,
                "proposed_links": s.proposed,
                "max_spam_probability": round(s.max_p, 6),
                "main_reason": s.reason,
                "first_seen": s.first_seen or None,
                "last_seen": s.last_seen or None,
            }
        )
    table = pl.DataFrame(rows, schema=_DOMAIN_SCHEMA, orient="row") if rows else None
    if table is None:
        return pl.DataFrame(schema=_DOMAIN_SCHEMA)
    return table.sort(["proposed_links", "spam", "links"], descending=True)


_DOMAIN_SCHEMA = {
    "referring_domain": pl.String,
    "links": pl.Int64,
    "followed_links": pl.Int64,
    "live_links": pl.Int64,
    "good": pl.Int64,
    "review": pl.Int64,
    "spam": pl.Int64,
    "verdict": pl.String,
    "action": pl.String,
    "proposed_links": pl.Int64,
    "max_spam_probability": pl.Float64,
    "main_reason": pl.String,
    "first_seen": pl.String,
    "last_seen": pl.String,
}


Decisions = dict[tuple[str, str], tuple[str, str]]
"""The deny and allow lists: ``(domain | url, value)`` → ``(deny | allow, note)``."""


def parse_file(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The entries of a disavow file in Google's format (``domain:`` lines and URLs; comments
    and blank lines skipped), and the lines that are neither, by line number."""
    entries, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("domain:"):
            domain = line[7:].strip().lower().rstrip(".")
            if domain and " " not in domain and "/" not in domain:
                entries.append(("domain", domain))
                continue
        elif line.lower().startswith(("http://", "https://")) and " " not in line:
            entries.append(("url", line))
            continue
        problems.append(f"line {n}: {line[:80]!r} is neither a URL nor domain:example.com")
    return entries, problems


def build(
    sites: dict[str, _Site],
    *,
    header: str = "",
    policy: str = "cleanup",
    synthetic: bool = False,
    decisions: Decisions | None = None,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
) -> Disavow:
    """The disavow proposal, riskiest entries first, within the limits. ``decisions`` (the
    store's deny and allow lists) come first: denied domains and URLs are always listed,
    allowed ones never."""
    decisions = decisions or {}
    keep = {v for (k, v), (d, _) in decisions.items() if d == "allow" and k == "domain"}
    keep_urls = {v for (k, v), (d, _) in decisions.items() if d == "allow" and k == "url"}
    denied = {(k, v): note for (k, v), (d, note) in decisions.items() if d == "deny"}
    entries: list[tuple[float, list[str], int, int]] = []  # (risk, lines, domains, urls)
    for (kind, value), note in sorted(denied.items()):
        why = f"# {value}: on the deny list" + (f" ({note})" if note else "")
        line = f"domain:{value}" if kind == "domain" else value
        entries.append((2.0, [why, line], int(kind == "domain"), int(kind == "url")))
    allowed = domain_allowed([site for site, s in sites.items() if s.proposed and site])
    for site, s in sites.items():
        if not s.proposed or site in keep or ("domain", site) in denied:
            continue
        why = f"# {site}: {s.proposed} of {s.followed} followed live links proposed"
        if s.unfollowed or s.lost:
            why += f" ({s.unfollowed} nofollow or not editorial and {s.lost} lost left out)"
        why += f"; most common reason: {s.reason}"
        if _whole_site(s) and site in allowed:
            entries.append((s.max_p, [why, f"domain:{site}"], 1, 0))
            continue
        lines, listed = [why], 0
        for url, _p in sorted(s.urls.items(), key=lambda kv: -kv[1]):
            if url in keep_urls or ("url", url) in denied:
                continue
            if len(url) > MAX_URL:
                lines.append(f"# skipped a URL longer than {MAX_URL} characters")
                continue
            lines.append(url)
            listed += 1
        if listed:
            entries.append((s.max_p, lines, 0, listed))
    entries.sort(key=lambda e: -e[0])
    left_out = sum(s.unfollowed + s.lost for s in sites.values())
    lists = ""
    if decisions:
        lists = (
            f"# the label store's lists: {len(denied):,} denied entries always listed, "
            f"{len(keep) + len(keep_urls):,} allowed never"
        )
    head = [
        f"# linksift disavow PROPOSAL, policy {policy!r} ({' and '.join(POLICIES[policy])} "
        "verdicts on followed, live links)",
        f"# generated {date.today().isoformat()}" + (f"; {header}" if header else ""),
        f"# {GUIDANCE}",
        f"# left out: {left_out:,} links of those verdicts that are nofollow/ugc/sponsored, lost, "
        "or not editorial (search results, proxies, caches)",
        "# upload at https://search.google.com/search-console/disavow-links (it replaces "
        "the previous file)",
    ]
    if lists:
        head.append(lists)
    if synthetic:
        head.insert(
            3,
            "# WARNING: scored by the shipped default model, trained on generated data, not on "
            "real labels: treat every line as a lead to check",
        )
    out = list(head)
    size = sum(len(line.encode()) + 1 for line in out)
    domains = urls = cut = 0
    reserve = 2  # room for the truncation comment
    for _risk, lines, d, u in entries:
        extra = sum(len(line.encode()) + 1 for line in lines)
        if len(out) + len(lines) + reserve > max_lines or size + extra + 200 > max_bytes:
            cut += d + u
            continue
        out.extend(lines)
        size += extra
        domains += d
        urls += u
    if cut:
        out.append(
            f"# truncated: {cut:,} lower-risk entries left out to stay within "
            f"{max_lines:,} lines and {max_bytes:,} bytes"
        )
    return Disavow("\n".join(out) + "\n", domains, urls, cut, left_out)


def validate(text: str) -> list[str]:
    """Problems with a disavow file (empty list = valid). Used by tests and ``--disavow``."""
    problems = []
    data = text.encode("utf-8")
    lines = text.splitlines()
    domains = [ln.removeprefix("domain:") for ln in lines if ln.startswith("domain:")]
    allowed = domain_allowed(domains)
    if len(lines) > MAX_LINES:
        problems.append(f"{len(lines):,} lines; Google allows {MAX_LINES:,}")
    if len(data) > MAX_BYTES:
        problems.append(f"{len(data):,} bytes; Google allows {MAX_BYTES:,}")
    for n, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("domain:"):
            if line.removeprefix("domain:") not in allowed:
                problems.append(f"line {n}: {line!r} is a shared platform, suffix or IP")
        elif not line.startswith(("http://", "https://")):
            problems.append(f"line {n}: {line!r} is neither a URL nor domain:")
        elif len(line) > MAX_URL:
            problems.append(f"line {n}: URL longer than {MAX_URL} characters")
    return problems


def compare(previous: pl.DataFrame, current: pl.DataFrame, policy: str = "cleanup") -> pl.DataFrame:
    """What changed between two audits of the same target (two ``linksift score`` outputs):
    one row per referring domain in either, with its links and action before and after, the
    links that are new and gone (by ``link_id``), and the change in words (``new domain``,
    ``gone``, ``now disavow``, ``no longer disavow``, ``more links``, ``fewer links``, or
    ``""``)."""

    def side(table: pl.DataFrame, suffix: str) -> pl.DataFrame:
        domains = domains_table(collect([table], policy=policy)).select(
            "referring_domain", "links", "action"
        )
        return domains.rename({"links": f"links_{suffix}", "action": f"action_{suffix}"})

    def ids(table: pl.DataFrame) -> pl.DataFrame:
        return table.select(
            "link_id", referring_domain=sites_of(table["source_url"]).fill_null("")
        ).unique("link_id")

    before_ids, after_ids = ids(previous), ids(current)
    new = (
        after_ids.join(before_ids, on="link_id", how="anti")
        .group_by("referring_domain")
        .len("new_links")
    )
    gone = (
        before_ids.join(after_ids, on="link_id", how="anti")
        .group_by("referring_domain")
        .len("gone_links")
    )
    both = (
        side(previous, "before")
        .join(side(current, "after"), on="referring_domain", how="full", coalesce=True)
        .join(new, on="referring_domain", how="left")
        .join(gone, on="referring_domain", how="left")
        .with_columns(pl.col("links_before", "links_after", "new_links", "gone_links").fill_null(0))
    )
    was = pl.col("action_before").fill_null("").str.starts_with("disavow")
    now = pl.col("action_after").fill_null("").str.starts_with("disavow")
    change = (
        pl.when(pl.col("action_before").is_null())
        .then(pl.lit("new domain"))
        .when(pl.col("action_after").is_null())
        .then(pl.lit("gone"))
        .when(now & ~was)
        .then(pl.lit("now disavow"))
        .when(was & ~now)
        .then(pl.lit("no longer disavow"))
        .when(pl.col("links_after") > pl.col("links_before"))
        .then(pl.lit("more links"))
        .when(pl.col("links_after") < pl.col("links_before"))
        .then(pl.lit("fewer links"))
        .otherwise(pl.lit(""))
    )
    return both.with_columns(change=change).sort([pl.col("change") == "", "referring_domain"])
