"""`linksift serve` as a process manager runs it: the API docs are where the README says, and
SIGTERM stops the server it started (nothing keeps holding the port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.serving.conftest import ROOT, free_port


def test_serve_answers_docs_and_stops_its_server_on_sigterm(tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "linksift.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "the server did not start"
            time.sleep(0.5)
        docs = httpx.get(url + "/docs", follow_redirects=True, timeout=30)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "/score" in httpx.get(url + "/docs.json", timeout=30).json()["paths"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) is not None
        deadline = time.time() + 30
        while True:  # the server's own processes are gone too: the port is free
            try:
                httpx.get(url + "/livez", timeout=1)
            except httpx.HTTPError:
                break
            assert time.time() < deadline, "the server outlived `linksift serve`"
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
