"""API latency and throughput against a trivial BentoML service measured in the same run.

p50/p99 latency for one link with reasons at concurrency 1, and requests/s at concurrency 16.
Targets: p99 within 3x of the trivial service; throughput at least half of it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import Result
from benchmarks.loadgen import load
from tests.serving.conftest import start_server, stop

ROOT = Path(__file__).resolve().parent.parent
LINK = {
    "source_url": "https://bread-notes.example.org/blog/rye-sourdough-guide",
    "target_url": "https://bakewise.example.com/rye-flour/",
    "anchor_text": "rye flour",
    "source_title": "A rye sourdough guide",
    "source_authority": 41,
    "source_traffic": 1200,
    "nofollow": False,
    "first_seen": "2025-06-01",
}


def measure(url: str, seconds: float) -> dict[str, float]:
    body = json.dumps({"links": [LINK]}).encode()
    load(url, "/score", body, 4, 3.0)  # warm up (and train BentoML's batching optimiser)
    single = load(url, "/score", body, 1, seconds)
    many = load(url, "/score", body, 16, seconds)
    return {
        "p50": single.percentile(50),
        "p99": single.percentile(99),
        "rps": many.rps,
        "errors": single.errors + many.errors,
        "p99_16": many.percentile(99),
    }


def measure_service(measure_fn, seconds: float, trivial: bool = False, **env: str) -> dict:
    """Start linksift (or the trivial baseline service), measure it, stop it."""
    tmp = Path(tempfile.mkdtemp(prefix="linksift-bench-"))
    server = (
        start_server(tmp, cwd=ROOT / "benchmarks", target="trivial_service:Trivial")
        if trivial
        else start_server(tmp, **env)
    )
    try:
        return measure_fn(server.url, seconds)
    finally:
        stop(server)


def run(quick: bool = False) -> list[Result]:
    seconds = 4.0 if quick else 15.0
    base = measure_service(measure, seconds, trivial=True)
    ours = measure_service(measure, seconds)
    with_pred_contrib = measure_service(measure, seconds, LINKSIFT_EXPLAINER="lightgbm")
    return [
        Result(
            "api",
            "p50 latency, 1 link with reasons, fast explainer",
            ours["p50"],
            "ms",
            "same service with LightGBM pred_contrib",
            with_pred_contrib["p50"],
        ),
        Result(
            "api",
            "p50 latency, 1 link with reasons, concurrency 1",
            ours["p50"],
            "ms",
            "trivial BentoML service",
            base["p50"],
        ),
        Result(
            "api",
            "p99 latency, 1 link with reasons, concurrency 1",
            ours["p99"],
            "ms",
            "trivial BentoML service",
            base["p99"],
            "<= 3x baseline",
        ),
        Result(
            "api",
            "throughput, 1 link per request, concurrency 16",
            ours["rps"],
            "req/s",
            "trivial BentoML service",
            base["rps"],
            ">= 0.5x baseline",
        ),
        Result(
            "api",
            "p99 latency at concurrency 16",
            ours["p99_16"],
            "ms",
            "trivial BentoML service",
            base["p99_16"],
        ),
        Result(
            "api",
            "errors during the API benchmark",
            ours["errors"],
            "requests",
            "trivial BentoML service",
            base["errors"] or None,
            "0",
        ),
    ]
