"""Sustained load on the running service: 32 connections for 30 s, a mix of one-link and
ten-link requests, against the trivial BentoML service under the same load in the same run."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bench_api import LINK, measure_service
from benchmarks.common import Result
from benchmarks.loadgen import load

ROOT = Path(__file__).resolve().parent.parent


def measure(url: str, seconds: float) -> dict[str, float]:
    one = json.dumps({"links": [LINK]}).encode()
    ten = json.dumps({"links": [LINK] * 10}).encode()
    load(url, "/score", one, 4, 2.0)
    a = load(url, "/score", one, 32, seconds / 2)
    b = load(url, "/score", ten, 32, seconds / 2)
    lat = a.latencies + b.latencies
    return {
        "rps": (a.requests + b.requests) / (a.seconds + b.seconds),
        "p50": float(sorted(lat)[len(lat) // 2] * 1000),
        "p99": float(sorted(lat)[int(len(lat) * 0.99)] * 1000),
        "errors": a.errors + b.errors,
        "requests": a.requests + b.requests,
    }


def run(quick: bool = False) -> list[Result]:
    seconds = 8.0 if quick else 30.0
    base = measure_service(measure, seconds, trivial=True)
    ours = measure_service(measure, seconds)
    return [
        Result(
            "load",
            f"sustained load, 32 connections, {seconds:.0f} s: requests/s",
            ours["rps"],
            "req/s",
            "trivial BentoML service",
            base["rps"],
        ),
        Result(
            "load",
            "sustained load: p50 latency",
            ours["p50"],
            "ms",
            "trivial BentoML service",
            base["p50"],
        ),
        Result(
            "load",
            "sustained load: p99 latency",
            ours["p99"],
            "ms",
            "trivial BentoML service",
            base["p99"],
        ),
        Result(
            "load",
            f"sustained load: errors in {ours['requests']:,.0f} requests",
            ours["errors"],
            "requests",
            "",
            None,
            "0",
        ),
    ]
