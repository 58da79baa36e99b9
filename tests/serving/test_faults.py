"""Faults and hostile input: the API never answers 5xx, a damaged model never replaces a good
one, load does not produce errors, a killed batch resumes with every row once, and a full disk
is a clear error that leaves no partial output."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.loadgen import load
from tests.conftest import AS_OF
from tests.serving.conftest import ROOT, start_server, stop
from training.synth import generate

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | st.sampled_from(["javascript:x", "https://a.example.com/", "=1+1"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
link_like = st.dictionaries(
    st.sampled_from(
        [
            "source_url",
            "target_url",
            "anchor_text",
            "source_authority",
            "nofollow",
            "first_seen",
            "Source url",
            "Target url",
            "placement",
            "x",
        ]
    ),
    json_values,
    max_size=8,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"links": st.lists(link_like, max_size=6)}),
    st.fixed_dictionaries({"links": json_values}),
    st.fixed_dictionaries({"link": link_like}),
    st.fixed_dictionaries({"link": link_like, "plot": json_values}),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(["/score", "/explain"]), body=bodies)
def test_the_api_never_answers_5xx_to_hostile_json(server, path, body):
    with server.client() as c:
        r = c.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code < 500, (body, r.text)
    assert "Traceback" not in r.text


def test_hostile_bytes_are_refused_with_4xx(server):
    with server.client() as c:
        for raw in (
            b"\xff\xfe\x00",
            b"{" * 10_000,
            b'{"links": [' + b"[" * 5000 + b"]}",
            json.dumps(
                {
                    "links": [
                        {
                            "source_url": "https://a.example.com/" + "a" * 50_000,
                            "target_url": "https://t.example.com/",
                        }
                    ]
                }
            ).encode(),
        ):
            r = c.post("/score", content=raw, headers={"content-type": "application/json"})
            assert 200 <= r.status_code < 500, r.text
        r = c.post("/score", content=b"x" * 3_000_000, headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_a_damaged_model_never_replaces_the_one_being_served(tmp_path: Path):
    folder = tmp_path / "model"
    shutil.copytree(ROOT / "models" / "default", folder)
    server = start_server(tmp_path, LINKSIFT_MODEL=str(folder))
    link = {"source_url": "https://a.example.com/post", "target_url": "https://t.example.com/"}
    try:
        with server.client() as c:
            before = c.get("/model").json()["model_version"]
            for damage in ("truncate", "tamper", "spec"):
                shutil.rmtree(folder)
                shutil.copytree(ROOT / "models" / "default", folder)
                if damage == "truncate":
                    text = (folder / "model.txt").read_text()
                    (folder / "model.txt").write_text(text[: len(text) // 3])
                elif damage == "tamper":
                    card = json.loads((folder / "card.json").read_text())
                    card["metrics"]["roc_auc"] = 0.999
                    (folder / "card.json").write_text(json.dumps(card))
                else:
                    spec = json.loads((folder / "spec.json").read_text())
                    spec["features"] = spec["features"][:-1]
                    (folder / "spec.json").write_text(json.dumps(spec))
                r = c.post("/model/reload")
                assert r.status_code == 409, r.text
                assert "checksum" in r.json()["error"]
                assert c.get("/model").json()["model_version"] == before
                assert c.post("/score", json={"links": [link]}).json()["scored"] == 1
    finally:
        stop(server)


def test_sustained_concurrent_load_has_no_errors(server):
    body = json.dumps(
        {
            "links": [
                {
                    "source_url": "https://bread-notes.example.org/blog/rye",
                    "target_url": "https://bakewise.example.com/",
                    "anchor_text": "rye bread",
                    "source_authority": 30,
                }
            ]
        }
    ).encode()
    run = load(server.url, "/score", body, concurrency=24, seconds=8)
    assert run.requests > 200
    assert run.errors == 0 and set(run.statuses) == {200}


def _score_cmd(src: Path, out: Path, chunk_rows: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "linksift.cli",
        "score",
        str(src),
        "-o",
        str(out),
        "--chunk-rows",
        str(chunk_rows),
        "--as-of",
        "2026-11-25",
    ]


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("kill") / "links.csv"
    generate(30_000, seed=61, as_of=AS_OF).write_csv(src)
    return src


@pytest.fixture(scope="module")
def uninterrupted(big_input: Path) -> Path:
    out = big_input.with_name("fresh.parquet")
    subprocess.run(
        _score_cmd(big_input, out, 200), cwd=ROOT, check=True, capture_output=True, timeout=900
    )
    return out


@pytest.mark.parametrize(
    ("moment", "ready"),
    [
        ("importing", lambda w: len(list(w.glob("canonical-*.arrow"))) >= 20),
        ("early scoring", lambda w: len(list(w.glob("part-*.arrow"))) >= 3),
        ("late scoring", lambda w: len(list(w.glob("part-*.arrow"))) >= 120),
    ],
)
def test_kill_at_any_moment_then_resume_gives_every_row_once(
    big_input, uninterrupted, tmp_path, moment, ready
):
    out = tmp_path / "scored.parquet"
    work = out.with_name(f".{out.name}.linksift-work")
    proc = subprocess.Popen(
        _score_cmd(big_input, out, 200), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.time() + 600
    while not (work.exists() and ready(work)):
        assert proc.poll() is None, f"finished before the kill ({moment})"
        assert time.time() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    resumed = subprocess.run(
        [*_score_cmd(big_input, out, 200), "--resume"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    table = pq.read_table(out)
    assert sorted(table["row"].to_pylist()) == list(range(1, 30_001))
    assert table.equals(pq.read_table(uninterrupted))


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_output(tmp_path: Path):
    src = tmp_path / "links.csv"
    generate(20_000, seed=62, as_of=AS_OF).write_csv(src)
    out = tmp_path / "scored.csv"
    limit = 2 * 1024 * 1024  # every file this process writes is capped at 2 MB: the disk "fills"

    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        _score_cmd(src, out, 2000),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot write the output" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".scored.csv.partial"))
