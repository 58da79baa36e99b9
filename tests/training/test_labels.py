"""The label store on a real SQLite database: history, current labels, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from tests.conftest import AS_OF
from training.data import load_labeled
from training.labels import LabelError, LabelStore, export_csv
from training.reviewed import StandingLabels, reviewed_reason

LINK = {
    "link_id": "abc123",
    "source_url": "https://a.example.com/x",
    "target_url": "https://t.example.com/",
    "anchor_text": "hello",
    "nofollow": True,
    "first_seen": "2025-01-02",
}


def test_labels_keep_history_and_the_latest_wins(tmp_path: Path):
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    store.add(
        LINK, "spam", reviewer="ann", note="looks paid", model_version="v1", spam_probability=0.9
    )
    store.add(LINK, "good", reviewer="bob", note="checked: a real review")
    history = store.history("abc123")
    assert [(h.label, h.reviewer) for h in history] == [("good", "bob"), ("spam", "ann")]
    assert history[1].model_version == "v1" and history[1].spam_probability == 0.9
    assert history[0].created_at >= history[1].created_at
    assert store.current()["abc123"].label == "good"
    with pytest.raises(LabelError, match="expected good or spam"):
        store.add(LINK, "maybe")
    assert store.add({**LINK, "link_id": "z"}, "1").label == "spam"


def test_export_is_a_trainable_canonical_file(tmp_path: Path):
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    store.add(LINK, "spam")
    store.add({**LINK, "link_id": "def", "source_url": "https://b.example.com/y"}, "good")
    out = tmp_path / "labels.csv"
    assert export_csv(store, out) == 2
    data = load_labeled(out, AS_OF)
    assert sorted(data.y.tolist()) == [0, 1]
    assert data.links["nofollow"].to_list() == [True, True]


def _writer(url: str, worker: int, n: int) -> None:
    store = LabelStore(url)
    for i in range(n):
        store.add(
            {**LINK, "link_id": f"w{worker}-{i}"},
            "spam" if i % 2 else "good",
            reviewer=f"worker-{worker}",
        )


def test_concurrent_writers_from_several_processes_lose_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    LabelStore(url)  # create the tables before the writers race
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, w, 60)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = LabelStore(url)
    assert store.count() == 360
    assert len(store.current()) == 360


def test_a_store_written_with_the_earlier_link_ids_is_migrated_once(tmp_path: Path):
    """Link ids were pandas' SipHash of source, target and anchor; they are xxHash64 now. A
    store from before keeps every label, under the id the importer now gives the link."""
    import sqlalchemy as sa

    from tests.conftest import links
    from training.labels import labels, meta

    url = f"sqlite:///{tmp_path / 'labels.db'}"
    store = LabelStore(url)
    store.add(LINK, "spam", reviewer="ann")  # "abc123": an id no importer makes
    store.add(LINK, "good", reviewer="bob")
    with store.engine.begin() as conn:  # as an earlier linksift left it: no marker
        conn.execute(meta.delete())
    migrated = LabelStore(url)
    (link_id,) = links(LINK)["link_id"].to_list()
    assert [h.reviewer for h in migrated.history(link_id)] == ["bob", "ann"]
    assert migrated.history("abc123") == []
    with migrated.engine.connect() as conn:
        ids = conn.execute(sa.select(labels.c.link_id)).scalars().all()
    assert ids == [link_id, link_id]
    again = LabelStore(url)  # already migrated: nothing changes
    assert [h.reviewer for h in again.history(link_id)] == ["bob", "ann"]


def test_site_labels_and_removal_stand_until_withdrawn(tmp_path: Path):
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    assert not store.reviewed()
    store.add(LINK, "good", reviewer="ann")
    store.label_site("Spam-Farm.example", "spam", reviewer="bob", note="PBN")
    reviewed = store.reviewed()
    hits = reviewed.match(["abc123", "other", "other"], ["a.example.com", "spam-farm.example", "x"])
    assert [(h[0].label, h[1]) if h else None for h in hits] == [
        ("good", "link"),
        ("spam", "site"),
        None,
    ]
    assert reviewed_reason(hits[1][0], "site", "spam-farm.example").startswith(
        "reviewed as spam by bob on 20"
    )
    assert "(the whole site spam-farm.example)" in reviewed_reason(
        hits[1][0], "site", "spam-farm.example"
    )
    before = store.version()
    assert store.remove(link_ids=["abc123"], site="spam-farm.example", reviewer="cy") == 2
    assert store.version() != before
    assert not store.reviewed()
    assert store.export_rows() == []  # a withdrawn label is not trained on
    assert [h.label for h in store.history("abc123")] == ["removed", "good"]
    assert store.remove(link_ids=["abc123"]) == 0  # nothing left to withdraw


def test_standing_labels_never_create_a_store(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    standing = StandingLabels(url)
    assert standing.get() is None and not (tmp_path / "none.db").exists()
    LabelStore(url).add(LINK, "spam", reviewer="ann")
    assert standing.get().links["abc123"].label == "spam"
