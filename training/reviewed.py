"""People's standing verdicts and how they read as a reason: plain data, and a reader that
touches the label store's database libraries only when a store exists, so the scoring path
applies them without paying for those imports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REVIEWED_PREFIX = "reviewed as "  # every reviewed reason begins so


@dataclass(frozen=True)
class Label:
    link_id: str
    label: str
    note: str
    reviewer: str
    created_at: str
    model_version: str
    spam_probability: float | None


@dataclass(frozen=True)
class Reviewed:
    """People's standing verdicts: by link id and by whole referring site (registrable
    domain). A link's own label wins over its site's."""

    links: dict[str, Label]
    sites: dict[str, Label]

    def __bool__(self) -> bool:
        return bool(self.links or self.sites)

    def fingerprint(self) -> str:
        """Changes when any standing label does (a resumed batch run must not mix two)."""
        items = sorted(
            (key, lab.label, lab.created_at)
            for table in (self.links, self.sites)
            for key, lab in table.items()
        )
        return hashlib.sha256(repr(items).encode()).hexdigest()[:16]

    def match(self, link_ids: list[str], sites: list[str]) -> list[tuple[Label, str] | None]:
        """For each link, its reviewed label and scope (``link`` or ``site``), or None."""
        out: list[tuple[Label, str] | None] = []
        for link_id, site in zip(link_ids, sites, strict=True):
            if link_id in self.links:
                out.append((self.links[link_id], "link"))
            elif site in self.sites:
                out.append((self.sites[site], "site"))
            else:
                out.append(None)
        return out


def reviewed_reason(label: Label, scope: str, site: str = "") -> str:
    """The reason a reviewed verdict shows: who decided, when, and for what."""
    who = label.reviewer or "a reviewer"
    day = label.created_at[:10]
    whole = f" (the whole site {site})" if scope == "site" and site else ""
    return f"{REVIEWED_PREFIX}{label.label} by {who} on {day}{whole}"


class StandingLabels:
    """The standing labels of the store at ``url``, re-read only when they change (one small
    query per call), so a label saved on the review page counts at the next request. None
    while the store does not exist (scoring never creates one) or holds no labels."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store: Any = None
        self.seen: tuple[int, int] | None = None
        self.value: Reviewed | None = None

    def get(self) -> Reviewed | None:
        if self.store is None:
            path = self.url.removeprefix("sqlite:///")
            if self.url.startswith("sqlite:///") and not Path(path).is_file():
                return None
            from training.labels import LabelStore  # the database libraries, only when needed

            self.store = LabelStore(self.url)
        version = self.store.version()
        if version != self.seen:
            self.value, self.seen = self.store.reviewed() or None, version
        return self.value


def standing_decisions(url: str) -> dict | None:
    """The deny and allow lists of the store at ``url`` (None while there is no store or
    they are empty; scoring never creates a store)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    from training.labels import LabelStore

    return LabelStore(url).decisions() or None


def standing_labels(url: str) -> Reviewed | None:
    """The standing labels of the store at ``url`` now (see ``StandingLabels``)."""
    return StandingLabels(url).get()
