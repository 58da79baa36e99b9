"""Loading a scored batch into the review page's database (SQLite): 100,000 generated links,
as `linksift labels load` and the page's "load" do it (validation, the batch's profile, anchor
types, bulk insert). Baseline: reading the same scored file, in the same run."""

from __future__ import annotations

import time

from benchmarks.common import AS_OF, WORK, Result
from features.importers import ImportOptions, read_links
from serving.batch import BatchOptions, score_file
from serving.model import LinkModel
from serving.review import load_batch
from training.labels import LabelStore
from training.synth import generate

ROWS = 100_000


def run(quick: bool = False) -> list[Result]:
    n = 10_000 if quick else ROWS
    WORK.mkdir(parents=True, exist_ok=True)
    raw, scored = WORK / "review-input.parquet", WORK / "review-scored.parquet"
    generate(n, seed=11, as_of=AS_OF).drop("label").write_parquet(raw)
    model = LinkModel.load()
    score_file(raw, scored, model, BatchOptions(as_of=AS_OF))
    started = time.perf_counter()
    read_links(scored, ImportOptions(as_of=AS_OF))
    read_s = time.perf_counter() - started
    db = WORK / "review.db"
    db.unlink(missing_ok=True)
    store = LabelStore(f"sqlite:///{db}")
    started = time.perf_counter()
    load_batch(store, scored, scored.name, model, as_of=AS_OF)
    load_s = time.perf_counter() - started
    return [
        Result(
            "review",
            f"load {n:,} scored links into the review page's database",
            load_s,
            "s",
            "reading the scored file",
            read_s,
            "< 30 s for 100,000",
        )
    ]
