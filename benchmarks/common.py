"""Benchmark plumbing: results with a baseline measured in the same run, and the machine."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 25)
WORK = Path(__file__).parent / "work"


@dataclass
class Result:
    """One figure, its same-run baseline, and what the ratio means."""

    group: str
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def row(self) -> str:
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else ""
        fmt = ",.4f" if self.unit == "" else ",.1f"
        base = f"{self.baseline:{fmt}} {self.unit} ({self.baseline_name})" if self.baseline else ""
        return (
            f"| {self.group} | {self.name} | {self.value:{fmt}} {self.unit} | {base} "
            f"| {ratio} | {self.target} |"
        )


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Fastest wall time of ``repeat`` runs (seconds)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def machine_probe() -> float:
    """Milliseconds for a fixed pure-Python loop: how fast this VM runs at the moment. A loop
    like it took from 0.48 s to 0.85 s on the same 2-core VM within an hour, and every figure
    here moves with it; printed beside the figures so runs can be compared."""
    t = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return 1000 * (time.perf_counter() - t)
