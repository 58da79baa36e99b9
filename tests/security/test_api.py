"""The findings of the adversarial pass over the HTTP API, each replayed against a real
service on a loopback port: no server file reads, no hangs, no forged writes, no 500s, no
leaked temporary files, no formulas in what it hands out."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tests.serving.conftest import Server, start_server, stop
from tests.serving.test_review import BROWSER_ARGS, chromium

KEY = "sec-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SECRET = "root:x:0:0:secret-first-line"


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[tuple[Server, Path, Path, int]]:
    """A keyed service with a data folder (holding an export and a non-export with a secret
    first line), its own temporary folder, a 2-second body timeout, and one loaded batch."""
    tmp = tmp_path_factory.mktemp("secured")
    data, scratch = tmp / "data", tmp / "scratch"
    data.mkdir()
    scratch.mkdir()
    (data / "export.csv").write_bytes((FIXTURES / "canonical.csv").read_bytes())
    (data / "notes.csv").write_text(SECRET + "\nsecond line\n")
    os.mkfifo(data / "pipe.csv")
    (data / "outside.csv").symlink_to("/etc/passwd")
    server = start_server(
        tmp,
        LINKSIFT_API_KEY=KEY,
        LINKSIFT_LABELS_URL=f"sqlite:///{tmp / 'labels.db'}",
        LINKSIFT_REVIEW_DATA=str(data),
        LINKSIFT_BODY_TIMEOUT_SECONDS="2",
        TMPDIR=str(scratch),
    )
    r = httpx.post(
        server.url + "/review/api/batches", json={"path": "export.csv"}, headers=AUTH, timeout=120
    )
    assert r.status_code == 200, r.text
    yield server, data, scratch, r.json()["id"]
    stop(server)


def test_server_files_load_only_from_the_data_folder_and_are_never_echoed(secured):
    server, _data, _, _ = secured
    with server.client(headers=AUTH) as c:
        for path, status in (
            ("/etc/passwd", 403),
            ("../../../../etc/passwd", 403),
            ("outside.csv", 403),  # a symbolic link out of the folder
            ("/proc/self/fd/0", 403),
            ("pipe.csv", 400),  # a FIFO: refused before it is opened
            ("", 400),
            (".", 400),  # the folder itself
            ("missing.csv", 404),
        ):
            r = c.post("/review/api/batches", json={"path": path})
            assert r.status_code == status, (path, r.text)
            assert "root:" not in r.text
        r = c.post("/review/api/batches", json={"path": "notes.csv"})
        assert r.status_code == 400 and "not a backlink export" in r.text
        assert SECRET not in r.text and "secret" not in r.text


def test_without_a_data_folder_no_server_file_loads(server):
    r = httpx.post(server.url + "/review/api/batches", json={"path": "/etc/passwd"}, timeout=30)
    assert r.status_code == 403 and "LINKSIFT_REVIEW_DATA" in r.json()["error"]
    assert "root:" not in r.text


def test_special_files_never_block_the_service(secured):
    server, *_ = secured
    with server.client(headers=AUTH) as c:
        for _ in range(12):  # more than the worker threads the hang used to take
            assert c.post("/review/api/batches", json={"path": "pipe.csv"}).status_code == 400
        link = {"source_url": "https://a.example.com/p", "target_url": "https://t.example.com/"}
        started = time.perf_counter()
        assert c.post("/score", json={"links": [link]}).status_code == 200
        assert c.post("/model/reload").status_code in (200, 409)
        assert time.perf_counter() - started < 30


def test_an_oversized_request_is_refused_and_health_answers_while_a_large_one_scores(secured):
    server, *_ = secured
    wide = [
        {"source_url": f"https://s{i}.example.com/", "target_url": "https://t.example.com/"}
        | {f"k{i}_{j}": "v" for j in range(448)}
        for i in range(300)
    ]
    with server.client(headers=AUTH) as c:
        r = c.post("/score", json={"links": wide})
        assert r.status_code == 413 and "distinct fields" in r.json()["error"]
    large = [
        {
            "source_url": f"https://s{i}.example.com/p{i}",
            "target_url": "https://t.example.com/",
            "anchor_text": f"anchor {i}",
        }
        | {f"x{j}": f"v{i}" for j in range(60)}
        for i in range(1000)
    ]

    async def race() -> tuple[float, int]:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=120) as c:
            scoring = asyncio.create_task(c.post("/score", json={"links": large}))
            await asyncio.sleep(0.3)  # the large request is being scored now
            slowest = 0.0
            while not scoring.done():
                started = time.perf_counter()
                assert (await c.get("/livez")).status_code == 200
                slowest = max(slowest, time.perf_counter() - started)
                await asyncio.sleep(0.05)
            return slowest, (await scoring).status_code

    slowest, status = asyncio.run(race())
    assert status == 200
    assert slowest < 2.0, f"/livez took {slowest:.1f} s while a request was scored"


def test_a_stalled_body_times_out(secured):
    server, *_ = secured
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(
            b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\n".encode()
            + b'Content-Length: 1000\r\n\r\n{"links": ['
        )
        answer = s.recv(4096)
    assert b" 408 " in answer.split(b"\r\n")[0]


def test_uploads_leave_no_temporary_files(secured):
    server, _, scratch, _ = secured
    with server.client(headers=AUTH) as c:
        good = c.post(
            "/review/api/batches",
            files={"file": ("mine.csv", (FIXTURES / "semrush.csv").read_bytes())},
        )
        assert good.status_code == 200, good.text
        bad = c.post("/review/api/batches", files={"file": ("junk.csv", b"a,b\n1,2\n")})
        assert bad.status_code == 400 and "junk.csv" in bad.json()["error"]
    # BentoML keeps its own folders here; no uploaded byte may stay behind anywhere
    first_line = (FIXTURES / "semrush.csv").read_bytes().splitlines()[0]
    left = [p for p in scratch.rglob("*") if p.is_file()]
    assert not [p for p in left if first_line in p.read_bytes() or b"a,b\n1,2" in p.read_bytes()]
    assert not [p for p in scratch.rglob("linksift-upload*")]


def _raw(server: Server, head: bytes, body: bytes = b"") -> bytes:
    """Send a request by hand (headers may promise more than is sent) and read the answer."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head + f"Authorization: Bearer {KEY}\r\n\r\n".encode() + body)
        answer = s.recv(65536)
        while b"\r\n\r\n" in answer:  # then read the whole body the headers announce
            top, rest = answer.split(b"\r\n\r\n", 1)
            length = next(
                int(h.split(b":")[1])
                for h in top.split(b"\r\n")
                if h.lower().startswith(b"content-length")
            )
            if len(rest) >= length:
                break
            answer += s.recv(65536)
        return answer


def test_uploads_stream_past_the_api_body_limit_and_bigger_files_are_pointed_elsewhere(secured):
    """The API's 2 MB body limit is for JSON; an upload to the review page streams to disk up
    to the file limit, and one over it (or stalled) is told what to do instead."""
    server, *_ = secured
    header, *rows = (FIXTURES / "semrush.csv").read_text().splitlines()
    lines = [header]
    while sum(map(len, lines)) < 2_300_000:
        n = len(lines)
        lines += [r.replace("https://", f"https://s{n + i}-", 1) for i, r in enumerate(rows)]
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > 2_000_000
    with server.client(headers=AUTH, timeout=300) as c:
        r = c.post("/review/api/batches", files={"file": ("big-semrush.csv", body)})
    assert r.status_code == 200, r.text
    multipart = b"POST /review/api/batches HTTP/1.1\r\nHost: x\r\n"
    multipart += b"Content-Type: multipart/form-data; boundary=xx\r\n"
    too_big = _raw(server, multipart + b"Content-Length: 900000000000\r\n")
    assert b" 413 " in too_big.split(b"\r\n")[0] and b"linksift labels load" in too_big
    stalled = _raw(
        server,
        multipart + b"Content-Length: 5000\r\n",
        b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nurl\n',
    )
    assert b" 408 " in stalled.split(b"\r\n")[0] and b"stalled" in stalled


HOSTILE = [
    (
        "POST",
        "/score",
        b'{"links": [{"source_url": "https://a.example.com/", "target_url": '
        b'"https://t.example.com/", "source_authority": 92233720368547758080}]}',
    ),
    (
        "POST",
        "/explain",
        b'{"link": {"source_url": "https://a.example.com/", "target_url": '
        b'"https://t.example.com/", "first_seen": 92233720368547758080}}',
    ),
    ("GET", "/review/api/links?batch=1&page=92233720368547758080", b""),
    ("GET", "/review/api/links?batch=92233720368547758080", b""),
    ("GET", "/review/api/links?batch=1&per_page=-1", b""),
    ("GET", "/review/api/links?batch=1&min=nan", b""),
    ("GET", "/review/api/links/92233720368547758080/abc", b""),
    ("GET", "/review/api/links/1/abc/waterfall.png", b""),
    ("POST", "/review/api/labels", b"[" * 100_000),
    ("POST", "/review/api/batches", b"[" * 100_000),
    ("POST", "/review/api/labels", b'{"batch": 92233720368547758080, "link_id": "x"}'),
    ("POST", "/review/api/labels", b'{"batch": [1], "link_id": "x"}'),
    ("GET", "/review/static/a%00b", b""),
    ("GET", "/review/static/..%2F..%2Fservice.py", b""),
    ("POST", "/review/api/batches", b'{"path": ""}'),
    ("POST", "/review/api/batches", b'{"path": "."}'),
    ("POST", "/review/api/batches", b'{"path": "a\\u0000b"}'),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE)
def test_malformed_values_get_4xx_naming_the_field(secured, method, path, body):
    server, *_ = secured
    with server.client(headers=AUTH) as c:
        r = c.request(method, path, content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500 and "Traceback" not in r.text, (path, r.status_code, r.text)
    if path == "/score":  # bad links are reported by index, and the rest scored
        assert r.json()["rejected"][0]["field"] == "source_authority"
    else:
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


def test_a_broken_multipart_body_gets_400(secured):
    server, *_ = secured
    with server.client(headers=AUTH) as c:
        for content_type, body in (
            (
                "multipart/form-data; boundary=xx",
                b'--xx\r\nContent-Disposition: form-data; name="file"',
            ),
            ("multipart/form-data", b"no boundary"),
            ("multipart/form-data; boundary=xx", b"--xx--\r\n"),
        ):
            r = c.post("/review/api/batches", content=body, headers={"content-type": content_type})
            assert r.status_code == 400, r.text


# -- fuzz: every endpoint, values drawn from JSON's whole range ---------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "..", "/etc/passwd", "\x00", "=1+1", "1e999", "-1", "0"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
text_values = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "nan", "inf", "1e99", "x", "%00", "92233720368547758080"]),
    st.text(max_size=20),
)
REQUESTS = st.one_of(
    st.tuples(
        st.just("POST"),
        st.just("/score"),
        st.fixed_dictionaries(
            {
                "links": st.lists(
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "source_url",
                                "target_url",
                                "anchor_text",
                                "nofollow",
                                "source_authority",
                                "first_seen",
                                "placement",
                            ]
                        ),
                        values,
                        max_size=7,
                    ),
                    max_size=4,
                )
            }
        )
        | values,
    ),
    st.tuples(st.just("POST"), st.just("/explain"), st.fixed_dictionaries({"link": values})),
    st.tuples(
        st.just("POST"),
        st.just("/review/api/labels"),
        st.fixed_dictionaries(
            {},
            optional={
                "batch": values,
                "link_id": values,
                "site": values,
                "label": values,
                "note": values,
                "reviewer": values,
            },
        ),
    ),
    st.tuples(
        st.just("POST"),
        st.just("/review/api/batches"),
        st.fixed_dictionaries({}, optional={"path": values}),
    ),
    st.tuples(
        st.just("GET"),
        st.just("/review/api/links"),
        st.fixed_dictionaries(
            {},
            optional={
                k: text_values
                for k in (
                    "batch",
                    "page",
                    "per_page",
                    "min",
                    "max",
                    "sort",
                    "verdict",
                    "site",
                    "anchor",
                )
            },
        ),
    ),
    st.tuples(
        st.just("GET"),
        st.builds(
            "/review/api/links/{}/{}".format,
            text_values.map(lambda v: quote(v, safe="") or "x"),
            text_values.map(lambda v: quote(v, safe="") or "x"),
        ),
        st.none(),
    ),
    st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(
            [
                "/model",
                "/model/reload",
                "/review/api/retrain",
                "/review/api/labels/export",
                "/review/api/batches",
            ]
        ),
        st.none(),
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=REQUESTS)
def test_fuzz_no_endpoint_answers_5xx(secured, request):
    server, *_ = secured
    method, path, payload = request
    with server.client(headers=AUTH) as c:
        if method == "GET" and isinstance(payload, dict):
            r = c.get(path, params={k: str(v) for k, v in payload.items()})
        elif method == "GET":
            r = c.get(path)
        else:
            r = c.post(
                path, content=json.dumps(payload), headers={"content-type": "application/json"}
            )
    assert r.status_code < 500, (method, path, payload, r.text)
    assert "Traceback" not in r.text


# -- CSRF: another origin on the same host, in a real browser ------------------------------------


class _Attacker(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(self.pages.get(self.path, b""))

    def log_message(self, *_: object) -> None:
        pass


def test_another_origin_cannot_write_with_the_reviewers_cookie(secured):
    from playwright.sync_api import sync_playwright

    server, _, _, batch = secured
    with server.client(headers=AUTH) as c:
        rows = c.get("/review/api/links", params={"batch": batch}).json()["rows"]
        target = rows[0]["link_id"]
        before = c.get("/review/api/labels/export").text
    label = json.dumps({"batch": batch, "link_id": target, "label": "good", "reviewer": "attacker"})
    _Attacker.pages["/load"] = f"""<html><body>
<form id="g" method="post" action="{server.url}/review/api/batches" enctype="text/plain">
<input name='{{"path": "export.csv", "x": "' value='"}}'></form>
<script>document.getElementById("g").submit();</script></body></html>""".encode()
    _Attacker.pages["/"] = f"""<html><body>
<form id="f" method="post" action="{server.url}/review/api/labels" enctype="text/plain">
<input name='{label[:-1]}, "x": "' value='"}}'></form>
<script>
fetch("{server.url}/review/api/labels", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"content-type": "text/plain"}}, body: {json.dumps(label)}}});
fetch("{server.url}/review/api/labels", {{method: "POST", mode: "no-cors", credentials: "include",
  body: new Blob([{json.dumps(label)}], {{type: "application/json"}})}});
const upload = new FormData();
upload.append("file", new Blob(["source_url,target_url\\nhttps://a.example.com/,https://t.example.com/\\n"]), "forged.csv");
fetch("{server.url}/review/api/batches", {{method: "POST", mode: "no-cors", credentials: "include",
  body: upload}});
document.getElementById("f").submit();
</script></body></html>""".encode()
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
            context = browser.new_context()  # one browser profile: the reviewer's cookies
            page = context.new_page()
            page.goto(server.url + "/review")
            page.wait_for_selector("#login:not([hidden])")
            page.fill("input[name=key]", KEY)
            page.click("#login button[type=submit]")
            page.wait_for_selector("#links tbody tr")
            other = context.new_page()
            for path in ("/", "/load"):
                other.goto(f"http://127.0.0.1:{attacker.server_address[1]}{path}")
                other.wait_for_timeout(1500)
            browser.close()
    finally:
        attacker.shutdown()
    with server.client(headers=AUTH) as c:
        assert c.get("/review/api/labels/export").text == before
        assert len(c.get("/review/api/batches").json()["batches"]) == 1 + _uploads(c)


def _uploads(c: httpx.Client) -> int:
    """Batches the upload tests added (they may run before this one)."""
    names = [b["name"] for b in c.get("/review/api/batches").json()["batches"]]
    return sum(n in ("mine.csv", "big-semrush.csv") for n in names)


def test_the_review_page_itself_still_writes_with_its_token(secured):
    from playwright.sync_api import sync_playwright

    server, _, _, batch = secured
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        page = browser.new_page()
        page.goto(server.url + "/review")
        page.wait_for_selector("#login:not([hidden])")
        page.fill("input[name=key]", KEY)
        page.click("#login button[type=submit]")
        page.wait_for_selector("#links tbody tr")
        status = page.evaluate(
            """async (batch) => {
                const row = (await (await fetch(`/review/api/links?batch=${batch}`)).json()).rows[0];
                const post = (headers) => fetch("/review/api/labels", {method: "POST",
                  headers: {"content-type": "application/json", ...headers},
                  body: JSON.stringify({batch, link_id: row.link_id, label: "spam", reviewer: "me"})});
                const token = document.cookie.split("; ").find(c => c.startsWith("linksift_csrf="))
                  .slice("linksift_csrf=".length);
                return [(await post({})).status, (await post({"x-linksift-csrf": token})).status];
            }""",
            batch,
        )
        browser.close()
    assert status == [403, 200]


# -- formulas in what the service hands out ---------------------------------------------------


def test_the_labels_export_is_safe_to_open_in_a_spreadsheet(secured):
    server, _, _, batch = secured
    with server.client(headers=AUTH) as c:
        row = c.get("/review/api/links", params={"batch": batch}).json()["rows"][0]
        saved = c.post(
            "/review/api/labels",
            json={
                "batch": batch,
                "link_id": row["link_id"],
                "label": "spam",
                "note": '=HYPERLINK("http://evil.example","x")',
                "reviewer": "+cmd|' /C calc'!A0",
            },
        )
        assert saved.status_code == 200, saved.text
        export = c.get("/review/api/labels/export").text
    assert "=HYPERLINK" in export and "'=HYPERLINK" in export
    assert "\n=" not in export and ",=" not in export and ",+" not in export
