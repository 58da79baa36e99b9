"""Wall time and peak memory of ``linksift score`` as a user meets them: a whole process, from
the shell prompt to the prompt again, for a 10-row file and for the real Semrush export (with
a disavow file and a report). Baseline: a process that only imports NumPy and pyarrow,
measured in the same run. Each figure is the fastest of ``RUNS``; memory is that run's peak
resident set (``wait4``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import WORK, Result

ROOT = Path(__file__).resolve().parent.parent
SEMRUSH = ROOT.parent / "shared" / "data" / "exports" / "semrush-backlinks-coinlineup.com.csv"
RUNS = 3
LINKSIFT = [sys.executable, "-m", "linksift.cli"]


LAUNCH = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - t
if done.returncode:
    sys.exit(done.stderr.decode())
print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))
"""
"""Runs a command and reports its wall time and peak memory. A child's peak memory counts the
pages it shared with its parent before ``exec``: a small launcher keeps that share small."""


def _process(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one process."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *cmd], cwd=ROOT, capture_output=True, text=True, check=True
    )
    seconds, mb = json.loads(done.stdout)
    return seconds, mb


def fastest(cmd: list[str]) -> tuple[float, float]:
    runs = [_process(cmd) for _ in range(RUNS)]
    print(
        "   "
        + " ".join(Path(c).name for c in cmd[:4])
        + ": "
        + ", ".join(f"{s:.2f} s" for s, _ in runs)
    )
    return min(runs)


def run(quick: bool = False) -> list[Result]:
    WORK.mkdir(parents=True, exist_ok=True)
    ten = WORK / "ten-links.csv"
    lines = (ROOT / "data" / "sample" / "export.csv").read_text().splitlines()[:11]
    ten.write_text("\n".join(lines) + "\n")
    out = WORK / "startup"
    base_s, base_mb = fastest([sys.executable, "-c", "import numpy, pyarrow"])
    ten_s, ten_mb = fastest([*LINKSIFT, "score", str(ten), "-o", str(out / "ten.csv")])
    results = [
        Result("start-up", "whole process: score a 10-row file", ten_s, "s",
               "python -c 'import numpy, pyarrow'", base_s, "<= 1.5 s"),
        Result("start-up", "peak memory: score a 10-row file", ten_mb, "MB",
               "python -c 'import numpy, pyarrow'", base_mb, "<= 300 MB"),
    ]  # fmt: skip
    if SEMRUSH.exists():
        sem_s, sem_mb = fastest(
            [*LINKSIFT, "score", str(SEMRUSH), "-o", str(out / "semrush.csv"),
             "--disavow", str(out / "semrush-disavow.txt"), "--report", str(out / "semrush.html")]
        )  # fmt: skip
        results += [
            Result("start-up", "whole process: the real Semrush export (7,235 links) with disavow "
                   "and report", sem_s, "s", "python -c 'import numpy, pyarrow'", base_s, "<= 2.5 s"),
            Result("start-up", "peak memory: the Semrush export with disavow and report", sem_mb,
                   "MB", "python -c 'import numpy, pyarrow'", base_mb),
        ]  # fmt: skip
    return results
