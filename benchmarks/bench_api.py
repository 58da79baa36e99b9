"""API latency and throughput against a trivial BentoML service measured in the same run.

p50/p99 latency for one link with reasons at concurrency 1, and requests/s at concurrency 16.
Targets: p99 within 3x of the trivial service; throughput at least half of it.

The services run side by side and are measured in alternation, a few seconds each over several
rounds, with each service's latencies pooled across rounds: on this shared VM the speed drifts
by 10-30% over a minute, and measuring one service after the other folded that drift into
the ratios.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import Result
from benchmarks.loadgen import Run, load
from tests.serving.conftest import Server, start_server, stop

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
ROUNDS = 5


def _pooled(runs: list[Run]) -> Run:
    pooled = Run()
    for r in runs:
        pooled.latencies += r.latencies
        pooled.errors += r.errors
        pooled.seconds += r.seconds
    return pooled


def measure_interleaved(services: dict[str, dict[str, str]], seconds: float) -> dict[str, dict]:
    """Start every service (name -> environment; ``trivial`` is the baseline service), then
    measure them in turn for ``seconds`` in all, split over ``ROUNDS`` rounds."""
    tmp = Path(tempfile.mkdtemp(prefix="linksift-bench-"))
    body = json.dumps({"links": [LINK]}).encode()
    servers: dict[str, Server] = {}
    single: dict[str, list[Run]] = {name: [] for name in services}
    many: dict[str, list[Run]] = {name: [] for name in services}
    try:
        for name, env in services.items():
            servers[name] = start_service(tmp, trivial=name == "trivial", **env)
        for server in servers.values():  # warm up (and train BentoML's batching optimiser)
            load(server.url, "/score", body, 4, 3.0)
        for _ in range(ROUNDS):
            for name, server in servers.items():
                single[name].append(load(server.url, "/score", body, 1, seconds / ROUNDS))
                many[name].append(load(server.url, "/score", body, 16, seconds / ROUNDS))
    finally:
        for server in servers.values():
            stop(server)
    out = {}
    for name in servers:
        one, sixteen = _pooled(single[name]), _pooled(many[name])
        out[name] = {
            "p50": one.percentile(50),
            "p99": one.percentile(99),
            "rps": sixteen.rps,
            "errors": one.errors + sixteen.errors,
            "p99_16": sixteen.percentile(99),
        }
    return out


def start_service(tmp: Path, trivial: bool = False, **env: str) -> Server:
    """linksift (with ``env``), or the trivial baseline service."""
    if trivial:
        return start_server(tmp, cwd=ROOT / "benchmarks", target="trivial_service:Trivial")
    return start_server(tmp, **env)


def measure_service(measure_fn, seconds: float, trivial: bool = False, **env: str) -> dict:
    """Start linksift (or the trivial baseline service), measure it, stop it."""
    server = start_service(Path(tempfile.mkdtemp(prefix="linksift-bench-")), trivial, **env)
    try:
        return measure_fn(server.url, seconds)
    finally:
        stop(server)


def run(quick: bool = False) -> list[Result]:
    seconds = 4.0 if quick else 15.0
    measured = measure_interleaved(
        {"trivial": {}, "ours": {}, "compiled": {"LINKSIFT_EXPLAINER": "fast"}}, seconds
    )
    base, ours, compiled = (measured[k] for k in ("trivial", "ours", "compiled"))
    return [
        Result(
            "api",
            "p50 latency, 1 link with reasons (LightGBM pred_contrib, the default for one link)",
            ours["p50"],
            "ms",
            "same service with the compiled explainer pinned",
            compiled["p50"],
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
