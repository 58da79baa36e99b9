"""`bentoml build` makes a bento that carries the model and serves without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
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
    finally:
        stop(server)
    assert Path(info["source"]).is_relative_to(bento_src)
    assert Path(info["code"]).is_relative_to(bento_src)
    assert scored["scored"] == 1
