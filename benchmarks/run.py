"""Run every benchmark and write benchmarks/RESULTS.md (machine, date, figures, baselines).

    python benchmarks/run.py [--only features,api] [--quick]

Each ``bench_*.py`` module has ``run(quick) -> list[Result]``; every figure carries the
baseline it was compared with, measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402

ORDER = [
    *("equality", "features", "startup", "training", "small_data", "batch", "api", "load"),
    *("review", "adversarial", "enrich"),
]
NOTES = Path(__file__).parent / "NOTES.md"
RESULTS = Path(__file__).parent / "RESULTS.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    names = [n for n in ORDER if (ROOT / "benchmarks" / f"bench_{n}.py").exists()]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    results = []
    started = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        for r in module.run(quick=args.quick):
            results.append(r)
            print("  " + r.row(), flush=True)
        print(f"   ({time.perf_counter() - t:.0f} s)", flush=True)
    total = time.perf_counter() - started
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {machine()}.",
        f"`make bench` ran {', '.join(names)} in {total / 60:.1f} minutes"
        + (" (--quick sizes)." if args.quick else "."),
        "",
        "Every ratio is value / baseline, both measured in this run.",
        "",
        "| group | figure | value | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|---|",
        *(r.row() for r in results),
        "",
    ]
    if NOTES.exists():
        lines += [NOTES.read_text()]
    out = RESULTS.with_name("RESULTS.partial.md") if args.only or args.quick else RESULTS
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
