"""Adversarial validation of the generator: how well a classifier tells generated links from
the real exports in ``../shared/data/exports``, on what both have (ROC-AUC 0.5: it cannot;
1.0: every row gives itself away).

For each vendor with a real export (Ahrefs, Semrush): as many rows of ``linksift synth``
output for that vendor as the export has, both measured with this code's feature matrix
(each against its own profile), the features the export fills compared; LightGBM,
five-fold cross-validated out-of-fold ROC-AUC. The generator of ``BASELINE`` (the commit
before the generator was reshaped) is run from its own source in the same run, on the same
features."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from benchmarks.common import AS_OF, WORK, Result
from features import spec
from features.extract import extract
from features.importers import ImportOptions, read_links
from training.synth import generate

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "b4e5170"
EXPORTS = {
    "ahrefs": ROOT.parent / "shared" / "data" / "exports" / "ahrefs-backlinks-lamicrobyflo.fr.csv",
    "semrush": ROOT.parent / "shared" / "data" / "exports" / "semrush-backlinks-coinlineup.com.csv",
}
GENERATE = """
import sys
from datetime import date
from training.synth import generate
generate(int(sys.argv[1]), seed=7, as_of=date.fromisoformat(sys.argv[2]), vendor=sys.argv[3]).drop(
    "label", "archetype", "vendor").write_parquet(sys.argv[4])
"""


def baseline_generated(n: int, vendor: str) -> pl.DataFrame:
    """``n`` links from the baseline commit's generator (its source from git, this venv)."""
    src = WORK / f"generator-{BASELINE}"
    if not src.exists():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", BASELINE], cwd=ROOT, check=True, capture_output=True
        ).stdout
        (WORK / "generator.tar").write_bytes(archive)
        with tarfile.open(WORK / "generator.tar") as tar:
            tar.extractall(src, filter="data")
    out = WORK / f"generated-{BASELINE}-{vendor}.parquet"
    subprocess.run(
        [sys.executable, "-c", GENERATE, str(n), AS_OF.isoformat(), vendor, str(out)],
        cwd=src,
        env={"PYTHONPATH": str(src), "PATH": ""},
        check=True,
    )
    return pl.read_parquet(out)


def adversarial_auc(real: pl.DataFrame, fake: pl.DataFrame) -> float:
    """Out-of-fold ROC-AUC of telling ``fake`` rows from ``real`` ones, on the features the
    real rows fill."""
    a, b = extract(real, as_of=AS_OF), extract(fake, as_of=AS_OF)
    filled = ~np.isnan(a).all(axis=0)
    X = np.vstack([a[:, filled], b[:, filled]])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    oof = np.zeros(len(y))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for fit, held in folds.split(X, y):
        model = lgb.LGBMClassifier(n_estimators=200, num_leaves=15, verbosity=-1, random_state=0)
        model.fit(X[fit], y[fit])
        oof[held] = model.predict_proba(X[held])[:, 1]
    return float(roc_auc_score(y, oof))


def run(quick: bool = False) -> list[Result]:
    WORK.mkdir(parents=True, exist_ok=True)
    results = []
    for vendor, path in EXPORTS.items():
        real, _ = read_links(path, ImportOptions(as_of=AS_OF))
        n = real.height
        now = generate(n, seed=7, as_of=AS_OF, vendor=vendor).drop("label", "archetype", "vendor")
        before = baseline_generated(n, vendor)
        results.append(
            Result(
                "adversarial",
                f"ROC-AUC telling generated {vendor} links from the real export "
                f"({n:,} each, the features it fills, of {len(spec.NAMES)})",
                adversarial_auc(real, now),
                "",
                f"generator of {BASELINE}",
                adversarial_auc(real, before),
                target="lower is closer (0.5: indistinguishable)",
            )
        )
    return results


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(r.row())
