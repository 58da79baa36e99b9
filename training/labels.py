"""The label store: people's verdicts on links, in a real database behind a URL.

SQLite by default (``sqlite:///labels.db``), PostgreSQL with ``postgresql://...``. Labels are
append-only: changing a label adds a row, so the history (who, when, what the model said) is
kept and two reviewers writing at the same moment cannot overwrite each other. The current
label of a link is its latest row. ``export`` writes the current labels as canonical rows with
a ``label`` column, ready for ``linksift train``.

The same database holds the review page's loaded batches (``batches``, ``batch_links``), so a
100,000-link batch is filtered and paged by indexed SQL rather than in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from features import schema
from training.reviewed import Label, Reviewed

LABEL_VALUES = ("good", "spam")
REMOVED = "removed"  # a row that withdraws the label before it (history keeps both)
metadata = sa.MetaData()

labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("link_id", sa.String(32), nullable=False, index=True),
    sa.Column("label", sa.String(8), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_version", sa.String(200), nullable=False, default=""),
    sa.Column("spam_probability", sa.Float, nullable=True),
    sa.Column("site", sa.String(300), nullable=False, default="", index=True),
    sa.Column("link", sa.Text, nullable=False),  # canonical fields as JSON
)

site_labels = sa.Table(
    "site_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(300), nullable=False, index=True),
    sa.Column("label", sa.String(8), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

disavow_decisions = sa.Table(
    "disavow_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(6), nullable=False),  # domain | url
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),  # deny | allow | remove
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""The deny and allow lists for the disavow file (append-only; the latest decision on a
domain or URL stands, ``remove`` withdraws it)."""

DECISIONS = ("deny", "allow", "remove")

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("model_version", sa.String(200), nullable=False, default=""),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
)

batch_links = sa.Table(
    "batch_links",
    metadata,
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("row", sa.Integer, nullable=True),
    sa.Column("link_id", sa.String(32), nullable=False),
    sa.Column("site", sa.String(300), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("spam_probability", sa.Float, nullable=False),
    sa.Column("quality_score", sa.Integer, nullable=False),
    sa.Column("anchor_type", sa.String(16), nullable=False),
    sa.Column("placement", sa.String(16), nullable=False),
    sa.Column("source_url", sa.Text, nullable=False),
    sa.Column("target_url", sa.Text, nullable=False),
    sa.Column("anchor_text", sa.Text, nullable=True),
    sa.Column("reason_1", sa.Text, nullable=True),
    sa.Column("reason_2", sa.Text, nullable=True),
    sa.Column("reason_3", sa.Text, nullable=True),
    sa.Column("model_version", sa.String(200), nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("action", sa.String(40), nullable=False, server_default=""),
    sa.Column("lost", sa.Boolean, nullable=False, server_default=sa.false()),
)
sa.Index(
    "ix_batch_links_filter",
    batch_links.c.batch_id,
    batch_links.c.verdict,
    batch_links.c.spam_probability,
)
sa.Index("ix_batch_links_site", batch_links.c.batch_id, batch_links.c.site)
sa.Index("ix_batch_links_link", batch_links.c.batch_id, batch_links.c.link_id)

ADDED_COLUMNS = {
    "action": "VARCHAR(40) NOT NULL DEFAULT ''",
    "lost": "BOOLEAN NOT NULL DEFAULT false",
}
"""``batch_links`` columns newer than the table: added to older stores when they open."""

meta = sa.Table(
    "linksift_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)
LINK_IDS = "xxh64"
"""How the stored ``link_id`` values were made (``features.importers.link_hash``). Stores
written before it (pandas' SipHash of the same fields) are migrated when opened."""


class LabelError(ValueError):
    """A label that cannot be stored, said plainly."""


def _clean_label(label: str) -> str:
    label = (label or "").strip().lower()
    label = {"0": "good", "1": "spam"}.get(label, label)
    if label not in LABEL_VALUES:
        raise LabelError(f"label: expected good or spam, got {label!r}")
    return label


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA busy_timeout=30000")  # writers wait their turn, never fail
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class LabelStore:
    """Labels and review batches in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        metadata.create_all(self.engine)
        self._add_columns()
        self._migrate_link_ids()

    def _add_columns(self) -> None:
        """Add the ``batch_links`` columns a store made by an earlier linksift lacks."""
        have = {c["name"] for c in sa.inspect(self.engine).get_columns("batch_links")}
        with self._tx() as conn:
            for name, definition in ADDED_COLUMNS.items():
                if name not in have:
                    conn.execute(sa.text(f"ALTER TABLE batch_links ADD COLUMN {name} {definition}"))

    def _migrate_link_ids(self) -> None:
        """Give every stored label and review row the current ``link_id`` of the link it
        holds (its canonical fields are stored with it), once, in one transaction."""
        with self._tx() as conn:
            found = conn.execute(sa.select(meta.c.value).where(meta.c.key == "link_ids"))
            if found.scalar_one_or_none() == LINK_IDS:
                return
            for table in (labels, batch_links):
                rows = conn.execute(sa.select(table.c.link_id, table.c.link)).all()
                if rows:
                    new = _link_ids([json.loads(r.link) for r in rows])
                    conn.execute(
                        table.update()
                        .where(table.c.link_id == sa.bindparam("old"))
                        .values(link_id=sa.bindparam("new")),
                        [{"old": r.link_id, "new": n} for r, n in zip(rows, new, strict=True)],
                    )
            conn.execute(meta.delete().where(meta.c.key == "link_ids"))
            conn.execute(meta.insert().values(key="link_ids", value=LINK_IDS))

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- labels -----------------------------------------------------------------------------------

    def add(
        self,
        link: dict[str, Any],
        label: str,
        *,
        note: str = "",
        reviewer: str = "",
        model_version: str = "",
        spam_probability: float | None = None,
        site: str = "",
    ) -> Label:
        """Record a person's label for a link (a new row; earlier labels stay as history)."""
        return self.add_many(
            [link],
            label,
            note=note,
            reviewer=reviewer,
            model_version=model_version,
            probabilities=[spam_probability],
            sites=[site],
        )[0]

    def add_many(
        self,
        links: list[dict[str, Any]],
        label: str,
        *,
        note: str = "",
        reviewer: str = "",
        model_version: str = "",
        probabilities: list[float | None] | None = None,
        sites: list[str] | None = None,
    ) -> list[Label]:
        """Label many links at once (bulk labelling a referring site), in one transaction."""
        label = _clean_label(label)
        if len(note) > 2000 or len(reviewer) > 200:
            raise LabelError("note: at most 2000 characters; reviewer: at most 200")
        now = datetime.now(UTC)
        rows = []
        for i, link in enumerate(links):
            link_id = str(link.get("link_id") or "")
            if not link_id:
                raise LabelError("link_id: required")
            fields = {k: link.get(k) for k in schema.CANONICAL if k != "label"}
            rows.append(
                {
                    "link_id": link_id,
                    "label": label,
                    "note": note,
                    "reviewer": reviewer,
                    "created_at": now,
                    "model_version": model_version,
                    "spam_probability": (probabilities or [None] * len(links))[i],
                    "site": (sites or [""] * len(links))[i] or "",
                    "link": json.dumps(fields, default=str),
                }
            )
        with self._tx() as conn:
            conn.execute(labels.insert(), rows)
        return [
            Label(
                r["link_id"],
                label,
                note,
                reviewer,
                now.isoformat(),
                model_version,
                r["spam_probability"],
            )
            for r in rows
        ]

    def decide(
        self, entries: list[tuple[str, str]], decision: str, *, note: str = "", reviewer: str = ""
    ) -> int:
        """Put ``(kind, value)`` entries (kind ``domain`` or ``url``) on the deny or allow list,
        or take them off (``remove``); returns how many were recorded."""
        if decision not in DECISIONS:
            raise LabelError(f"decision: expected one of {', '.join(DECISIONS)}, got {decision!r}")
        now = datetime.now(UTC)
        rows = [
            {
                "kind": kind,
                "value": value.strip() if kind == "url" else value.strip().lower(),
                "decision": decision,
                "note": note,
                "reviewer": reviewer,
                "created_at": now,
            }
            for kind, value in entries
            if kind in ("domain", "url") and value.strip()
        ]
        if rows:
            with self._tx() as conn:
                conn.execute(disavow_decisions.insert(), rows)
        return len(rows)

    def decisions(self) -> dict[tuple[str, str], tuple[str, str]]:
        """The standing decisions: ``(kind, value)`` → ``(deny | allow, note)``."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(
                    disavow_decisions.c.kind,
                    disavow_decisions.c.value,
                    disavow_decisions.c.decision,
                    disavow_decisions.c.note,
                ).order_by(disavow_decisions.c.id)
            ).all()
        standing: dict[tuple[str, str], tuple[str, str]] = {}
        for kind, value, decision, note in found:
            if decision == "remove":
                standing.pop((kind, value), None)
            else:
                standing[(kind, value)] = (decision, note)
        return standing

    def label_site(self, site: str, label: str, *, note: str = "", reviewer: str = "") -> Label:
        """Label a whole referring site: every link from it, now and in later exports, takes
        this verdict until the label is removed."""
        site = (site or "").strip().lower()
        if not site:
            raise LabelError("site: required")
        label = _clean_label(label)
        now = datetime.now(UTC)
        with self._tx() as conn:
            conn.execute(
                site_labels.insert().values(
                    site=site, label=label, note=note, reviewer=reviewer, created_at=now
                )
            )
        return Label(f"site:{site}", label, note, reviewer, now.isoformat(), "", None)

    def remove(
        self, *, link_ids: Iterable[str] = (), site: str | None = None, reviewer: str = ""
    ) -> int:
        """Withdraw the current labels of ``link_ids`` and/or of ``site`` (the model's verdict
        counts again); returns how many labels were withdrawn. History keeps them."""
        now = datetime.now(UTC)
        standing = self.current(list(link_ids)) if link_ids else {}
        rows = [
            {
                "link_id": lab.link_id,
                "label": REMOVED,
                "note": "",
                "reviewer": reviewer,
                "created_at": now,
                "model_version": "",
                "spam_probability": None,
                "site": "",
                "link": "{}",
            }
            for lab in standing.values()
        ]
        site = (site or "").strip().lower()
        site_standing = site and site in self.reviewed().sites
        with self._tx() as conn:
            if rows:
                conn.execute(labels.insert(), rows)
            if site_standing:
                conn.execute(
                    site_labels.insert().values(
                        site=site, label=REMOVED, note="", reviewer=reviewer, created_at=now
                    )
                )
        return len(rows) + int(bool(site_standing))

    def reviewed(self) -> Reviewed:
        """Every standing label, by link and by site (what overrides the model's verdicts)."""
        latest = sa.select(sa.func.max(site_labels.c.id)).group_by(site_labels.c.site)
        q = sa.select(site_labels).where(site_labels.c.id.in_(latest))
        with self.engine.connect() as conn:
            sites = {
                r["site"]: Label(
                    f"site:{r['site']}",
                    r["label"],
                    r["note"],
                    r["reviewer"],
                    r["created_at"].isoformat() if r["created_at"] else "",
                    "",
                    None,
                )
                for r in conn.execute(q).mappings()
                if r["label"] != REMOVED
            }
        return Reviewed(self.current(), sites)

    def version(self) -> tuple[int, int]:
        """Changes whenever a label is added or removed (the newest row of each table)."""
        with self.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(sa.select(sa.func.max(t.c.id))).scalar_one() or 0)
                for t in (labels, site_labels)
            )

    def history(self, link_id: str) -> list[Label]:
        """Every label a link has had, newest first."""
        q = sa.select(labels).where(labels.c.link_id == link_id).order_by(labels.c.id.desc())
        with self.engine.connect() as conn:
            return [_label(r) for r in conn.execute(q).mappings()]

    def current(self, link_ids: Iterable[str] | None = None) -> dict[str, Label]:
        """The standing label of each link (optionally only of ``link_ids``): its latest,
        unless that withdrew it."""
        latest = sa.select(sa.func.max(labels.c.id)).group_by(labels.c.link_id)
        q = sa.select(labels).where(labels.c.id.in_(latest), labels.c.label != REMOVED)
        if link_ids is not None:
            ids = list(link_ids)
            if not ids:
                return {}
            q = q.where(labels.c.link_id.in_(ids))
        with self.engine.connect() as conn:
            return {r["link_id"]: _label(r) for r in conn.execute(q).mappings()}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(labels)).scalar_one())

    def export_rows(self) -> list[dict[str, Any]]:
        """Current labels as canonical link dicts with ``label`` (and who/when, for people)."""
        latest = sa.select(sa.func.max(labels.c.id)).group_by(labels.c.link_id)
        q = (
            sa.select(labels)
            .where(labels.c.id.in_(latest), labels.c.label != REMOVED)
            .order_by(labels.c.id)
        )
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(q).mappings():
                row = json.loads(r["link"])
                row.update(
                    label=r["label"],
                    label_note=r["note"],
                    label_reviewer=r["reviewer"],
                    label_time=r["created_at"].isoformat() if r["created_at"] else "",
                )
                out.append(row)
        return out


def _link_ids(links: list[dict[str, Any]]) -> list[str]:
    """``link_id`` of stored canonical fields."""
    import polars as pl

    from features.importers import link_ids

    fields = ("source_url", "target_url", "anchor_text")
    frame = pl.DataFrame(
        {f: [link.get(f) for link in links] for f in fields},
        schema=dict.fromkeys(fields, pl.String),
    )
    return link_ids(frame).to_list()


def _label(r: Any) -> Label:
    created = r["created_at"]
    return Label(
        r["link_id"],
        r["label"],
        r["note"],
        r["reviewer"],
        created.isoformat() if created else "",
        r["model_version"],
        r["spam_probability"],
    )


def export_csv(store: LabelStore, path: Any) -> int:
    """Write the current labels as a canonical CSV with a ``label`` column; returns rows."""
    import polars as pl

    rows = store.export_rows()
    names = [c for c in schema.CANONICAL if c != "label"] + [
        "label",
        "label_note",
        "label_reviewer",
        "label_time",
    ]
    table = pl.DataFrame(
        {n: [None if r.get(n) is None else str(r.get(n)) for r in rows] for n in names},
        schema=dict.fromkeys(names, pl.String),
    )
    schema.write_csv(table, path)
    return len(rows)
