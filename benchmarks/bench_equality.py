"""The feature matrix against the code before features moved to Polars expressions
(``BASELINE``, the last commit with the hand-written kernels), cell for cell, on 1M generated
links and on the real exports in ``../shared/data/exports``: every feature both have, except
those feature spec v3 changed on purpose (``CHANGED_IN_V3``, with why).

The baseline's source comes from git (``git archive``) into ``benchmarks/work`` and runs in a
venv of its own (its dependencies: numba, google-re2, pandas), built once and kept there. Both
sides read the same files and measure each file against its own whole-file profile; cells
count as equal within 1e-9 (NaN equals NaN)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.common import AS_OF, WORK, Result
from features import spec
from features.extract import extract
from features.importers import ImportOptions, read_links
from training.synth import generate

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "4c580ddbcc7131dd5b1722dfb95c9aafbe124b10"
EXPORTS = ROOT.parent / "shared" / "data" / "exports"
OLD = """
import sys, numpy as np
from datetime import date
from features.extract import build_profile, extract
from features.importers import ImportOptions, read_links
from features import spec
for src in sys.argv[2:]:
    links, _ = read_links(src, ImportOptions(as_of=date.fromisoformat(sys.argv[1])))
    np.save(src + ".baseline.npy", extract(links, build_profile([links]), as_of=date.fromisoformat(sys.argv[1])))
    open(src + ".baseline.names", "w").write("\\n".join(spec.NAMES))
"""
CHANGED_IN_V3 = {
    "page_type": "marked by whole path segments in seven languages, not words inside slugs",
    "anchor_type": "a new class (sentence or title), so the codes after it moved",
    "anchor_money_terms": "vocabulary in seven languages, everyday words taken out",
    "anchor_spam_terms": "vocabulary in seven languages, everyday words taken out",
    "source_spam_terms": "vocabulary in seven languages, everyday words taken out",
}
"""Features whose meaning spec v3 changed (the v3 features themselves and the dropped URL
length and digits are not in both matrices, so are not compared)."""


def baseline_python() -> Path:
    """A venv with the baseline commit installed (built on first use, then reused)."""
    src, venv = WORK / "baseline-src", WORK / "baseline-venv"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    src.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BASELINE], cwd=ROOT, check=True, capture_output=True
    ).stdout
    archive_path = WORK / "baseline.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(src, filter="data")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(src)], check=True)
    return python


def differing(src: Path) -> tuple[int, int]:
    """(rows, cells that differ) between the baseline's matrix and this code's."""
    links, _ = read_links(src, ImportOptions(as_of=AS_OF))
    names = Path(f"{src}.baseline.names").read_text().split("\n")
    shared = [n for n in names if n in spec.INDEX and n not in CHANGED_IN_V3]
    new = extract(links, as_of=AS_OF)[:, [spec.INDEX[n] for n in shared]]
    old = np.load(f"{src}.baseline.npy")[:, [names.index(n) for n in shared]]
    if old.shape != new.shape:
        return len(links), new.size
    same = (np.isnan(old) & np.isnan(new)) | (np.abs(old - new) <= 1e-9)
    for j in np.flatnonzero(~same.all(axis=0)):
        print(f"   {src.name}: {shared[j]} differs on {int((~same[:, j]).sum())} rows")
    return len(links), int((~same).sum())


def run(quick: bool = False) -> list[Result]:
    WORK.mkdir(parents=True, exist_ok=True)
    n = 100_000 if quick else 1_000_000
    generated = WORK / f"equality-{n}.parquet"
    generate(n, seed=11, as_of=AS_OF).write_parquet(generated)
    inputs = [generated, *sorted(EXPORTS.glob("*.csv"))]
    script = WORK / "baseline_features.py"
    script.write_text(OLD)
    python = baseline_python()
    subprocess.run(
        [str(python), str(script), AS_OF.isoformat(), *map(str, inputs)],
        cwd=WORK,
        check=True,
    )
    results = []
    for src in inputs:
        rows, cells = differing(src)
        name = "generated links" if src == generated else f"real export {src.name}"
        results.append(
            Result(
                "equality",
                f"feature cells differing from commit {BASELINE[:7]}, {name} ({rows:,} rows x "
                f"the features both have that v3 did not change)",
                cells,
                "cells",
                target="0 (1e-9)",
            )
        )
    generated.unlink()
    return results


if __name__ == "__main__":  # pragma: no cover
    print(date.today())
    for r in run(quick="--quick" in sys.argv):
        print(r.row())
