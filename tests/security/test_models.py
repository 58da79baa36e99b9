"""Models are checked for meaning, not only integrity: with the manifest recomputed (as
someone who edits a model would), a model that cannot mean anything is refused with the
reason, by every command and by the service, at start-up and at reload."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from features import artifact
from features.artifact import ModelLoadError
from tests.conftest import run_cli
from tests.serving.conftest import ROOT, free_port, start_server, stop

DEFAULT = ROOT / "models" / "default"
LOOPBACK = ("--host", "127.0.0.1", "--port")


def tampered(tmp: Path, edit: Callable[[Path], None], name: str = "model") -> Path:
    """A copy of the shipped model with ``edit`` applied and the manifest recomputed."""
    folder = tmp / name
    shutil.copytree(DEFAULT, folder)
    edit(folder)
    manifest = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in artifact.FILES}
    (folder / artifact.MANIFEST).write_text(json.dumps(manifest))
    return folder


def _json(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        change(data)
        (folder / name).write_text(json.dumps(data))

    return edit


def _model_text(change: Callable[[str], str]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / "model.txt").write_text(change((folder / "model.txt").read_text()))

    return edit


def _no_trees(text: str) -> str:
    head = text.split("\nTree=", 1)[0]
    return head + "\nend of trees\n" + text.split("end of trees", 1)[1]


def _first_line(key: str, change: Callable[[list[str]], list[str]]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        match = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
        assert match is not None
        values = change(match.group(1).split(" "))
        return text[: match.start(1)] + " ".join(values) + text[match.end(1) :]

    return edit


def _set_thresholds(review: float, spam: float) -> Callable[[dict], None]:
    def change(card: dict) -> None:
        card["thresholds"] = {"review": review, "spam": spam}

    return change


def _unfingerprinted(spec: dict) -> None:
    spec["features"][0]["monotone"] = 1 - spec["features"][0]["monotone"]


BROKEN = {
    "no trees": (_model_text(_no_trees), "no trees"),
    "calibration slope 1e308": (_json("calibration.json", lambda c: c.update(a=1e308)), "a <="),
    "calibration slope NaN": (_json("calibration.json", lambda c: c.update(a="nan")), "a <="),
    "threshold -1": (_json("card.json", _set_thresholds(-1, 0.7)), "0 <= review"),
    "thresholds out of order": (_json("card.json", _set_thresholds(0.9, 0.2)), "review <= spam"),
    "NaN leaf": (_model_text(_first_line("leaf_value", lambda v: ["nan", *v[1:]])), "leaf value"),
    "split on a feature the model lacks": (
        _model_text(_first_line("split_feature", lambda v: ["99", *v[1:]])),
        "feature outside",
    ),
    "child out of range": (
        _model_text(_first_line("left_child", lambda v: ["4000", *v[1:]])),
        "does not have",
    ),
    "spec fingerprint that no longer matches its features": (
        _json("spec.json", _unfingerprinted),
        "fingerprint does not match",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_model_without_meaning_is_refused_with_the_reason(tmp_path: Path, case: str):
    edit, words = BROKEN[case]
    folder = tampered(tmp_path, edit)
    with pytest.raises(ModelLoadError, match=re.escape(words)):
        artifact.read(folder)


def test_the_shipped_model_is_sound():
    loaded = artifact.read(DEFAULT)
    n, trees = artifact.parse_model(loaded.booster_text)
    assert n == len(loaded.spec["features"]) and len(trees) > 20


def test_the_cli_refuses_a_broken_model_without_a_traceback(tmp_path: Path):
    folder = tampered(tmp_path, _model_text(_first_line("split_feature", lambda v: ["99", *v[1:]])))
    scored = str(tmp_path / "scored.csv")
    fixture = "tests/fixtures/canonical.csv"
    out = run_cli("score", fixture, "-o", scored, "--model", str(folder), timeout=120)
    assert out.returncode == 2
    assert "feature outside" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_serve_refuses_to_start_on_a_broken_model(tmp_path: Path):
    folder = tampered(tmp_path, _json("card.json", _set_thresholds(-1, 0.7)))
    out = run_cli("serve", "--model", str(folder), "--port", str(free_port()), timeout=120)
    assert out.returncode == 2
    assert "card.json: thresholds: expected 0 <= review" in " ".join(out.stderr.split())


def test_the_service_itself_stops_instead_of_restarting_on_a_broken_model(tmp_path: Path):
    """``bentoml serve`` run directly: the worker refuses the model and stops the server
    (BentoML would otherwise restart the worker forever)."""
    folder = tampered(tmp_path, _model_text(_no_trees))
    port = str(free_port())
    out = subprocess.run(
        [sys.executable, "-m", "bentoml", "serve", "serving.service:Linksift", *LOOPBACK, port],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, "LINKSIFT_MODEL": str(folder)},
    )
    log = out.stdout + out.stderr
    assert "cannot start: the model was refused" in log and "no trees" in log
    assert log.count("cannot start") <= 2  # once in the log, once on stderr: not restarted


def test_a_refused_reload_keeps_the_model_and_reports_the_fresh_error(tmp_path: Path):
    folder = tmp_path / "served"
    shutil.copytree(DEFAULT, folder)
    server = start_server(tmp_path, LINKSIFT_MODEL=str(folder))
    try:
        with server.client() as c:
            before = c.get("/model").json()["model_version"]
            for case in ("NaN leaf", "child out of range"):
                edit, words = BROKEN[case]
                shutil.rmtree(folder)
                shutil.copytree(tampered(tmp_path, edit, name=case.replace(" ", "-")), folder)
                r = c.post("/model/reload")
                assert r.status_code == 409 and words in r.json()["error"], r.text
                info = c.get("/model").json()
                assert info["model_version"] == before
                assert words in info["last_reload_error"]
            link = {"source_url": "https://a.example.com/p", "target_url": "https://t.example.com/"}
            assert c.post("/score", json={"links": [link]}).status_code == 200
    finally:
        stop(server)
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url + "/livez", timeout=2)
