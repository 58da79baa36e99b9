"""Feature extraction on 200k generated canonical rows: facts, profile and the matrix.

Baseline: importing (parsing and validating) the same rows from canonical Parquet, measured
in the same run, so the ratio says how much feature extraction costs next to reading.
"""

from __future__ import annotations

from benchmarks.common import AS_OF, WORK, Result, best_of
from features.extract import build_profile, extract
from features.importers import ImportOptions, read_links
from training.synth import generate

ROWS = 200_000


def run(quick: bool = False) -> list[Result]:
    n = 20_000 if quick else ROWS
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "features-input.parquet"
    generate(n, seed=7, as_of=AS_OF).write_parquet(path)
    read_s = best_of(lambda: read_links(path, ImportOptions(as_of=AS_OF)))
    table, _ = read_links(path, ImportOptions(as_of=AS_OF))
    profile = build_profile([table], as_of=AS_OF)
    extract(table.slice(0, 1000), profile, as_of=AS_OF)  # warm up: the public suffix table
    feat_s = best_of(lambda: extract(table, profile, as_of=AS_OF))
    prof_s = best_of(lambda: build_profile([table], as_of=AS_OF), repeat=1)
    return [
        Result(
            "features",
            f"feature extraction (facts + matrix against a profile), {n:,} links",
            n / feat_s,
            "links/s",
            "import from Parquet",
            n / read_s,
        ),
        Result(
            "features",
            f"profile pass (facts + group-bys), {n:,} links",
            n / prof_s,
            "links/s",
            "import from Parquet",
            n / read_s,
        ),
    ]
