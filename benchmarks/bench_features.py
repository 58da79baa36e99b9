"""Feature extraction throughput on 200k generated canonical rows.

Baseline: importing (parsing and validating) the same rows from canonical Parquet, measured
in the same run, so the ratio says how much feature extraction costs next to reading.
"""

from __future__ import annotations

import pyarrow.parquet as pq

from benchmarks.common import AS_OF, WORK, Result, best_of
from features.extract import build_profile, extract
from features.importers import ImportOptions, read_links
from training.synth import generate

ROWS = 200_000


def run(quick: bool = False) -> list[Result]:
    n = 20_000 if quick else ROWS
    table = generate(n, seed=7, as_of=AS_OF)
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "features-input.parquet"
    pq.write_table(table, path)
    read_s = best_of(lambda: read_links(path, ImportOptions(as_of=AS_OF)))
    profile = build_profile([table])
    extract(table.slice(0, 1000), profile, as_of=AS_OF)  # warm caches (public suffix list)
    feat_s = best_of(lambda: extract(table, profile, as_of=AS_OF))
    prof_s = best_of(lambda: build_profile([table]), repeat=1)
    return [
        Result(
            "features",
            f"feature extraction, {n:,} links",
            n / feat_s,
            "links/s",
            "import from Parquet",
            n / read_s,
            ">= 50,000 links/s",
        ),
        Result(
            "features",
            f"profile pass, {n:,} links",
            n / prof_s,
            "links/s",
            "import from Parquet",
            n / read_s,
        ),
    ]
