"""`bentoml build` makes a bento that carries the model and everything the service imports:
it serves, and the review page's retrain runs, without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.serving.conftest import ROOT, start_server, stop


def test_bento_builds_and_serves_from_its_own_copy(tmp_path: Path):
    home = tmp_path / "bentoml"
    env = dict(os.environ, BENTOML_HOME=str(home), BENTOML_DO_NOT_TRACK="True")
    built = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    bento_src = next((home / "bentos" / "linksift").glob("*/src"))
    assert (bento_src / "models" / "default" / "model.txt").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = start_server(tmp_path, cwd=elsewhere, target="linksift:latest", BENTOML_HOME=str(home))
    try:
        with server.client() as c:
            info = c.get("/model").json()
            scored = c.post(
                "/score",
                json={
                    "links": [
                        {
                            "source_url": "https://a.example.com/x",
                            "target_url": "https://t.example.com/",
                        }
                    ]
                },
            ).json()
            retrained = _label_and_retrain(c)
    finally:
        stop(server)
    assert Path(info["source"]).is_relative_to(bento_src)
    assert Path(info["code"]).is_relative_to(bento_src)
    assert scored["scored"] == 1
    assert retrained["state"] == "done", retrained
    assert "reviewed labels" in retrained["message"]
    assert (bento_src / "linksift" / "settings.py").is_file()
    assert (bento_src / "data" / "sample" / "labeled.parquet").is_file()


def _label_and_retrain(c) -> dict:
    """Load a small export on the review page, label one link, retrain; the final state."""
    fixture = ROOT / "tests" / "fixtures" / "canonical.csv"
    batch = c.post("/review/api/batches", files={"file": ("links.csv", fixture.read_bytes())})
    assert batch.status_code == 200, batch.text
    row = c.get("/review/api/links", params={"batch": batch.json()["id"]}).json()["rows"][0]
    saved = c.post(
        "/review/api/labels",
        json={"batch": batch.json()["id"], "link_id": row["link_id"], "label": "spam"},
    )
    assert saved.status_code == 200, saved.text
    assert c.post("/review/api/retrain").status_code == 202
    deadline = time.time() + 600
    while time.time() < deadline:
        state = c.get("/review/api/retrain").json()
        if state["state"] != "running":
            return state
        time.sleep(2)
    raise AssertionError("the retrain never finished")
