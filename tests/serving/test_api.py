"""The BentoML service over real HTTP on loopback: scores, reasons, batching, validation,
auth, agreement with the adapter."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest

from features.extract import Profile
from features.importers import from_records
from serving.model import LinkModel
from tests.conftest import AS_OF
from training.synth import generate

LINK = {
    "source_url": "https://bread-notes.example.org/blog/rye-sourdough-guide",
    "target_url": "https://bakewise.example.com/rye-flour/",
    "anchor_text": "rye flour",
    "source_title": "A rye sourdough guide",
    "source_authority": 41,
    "nofollow": False,
}


def sample_links(n: int) -> list[dict]:
    rows = generate(n, seed=31, as_of=AS_OF).to_dicts()
    keep = (
        "source_url",
        "target_url",
        "anchor_text",
        "source_title",
        "placement",
        "nofollow",
        "source_authority",
        "source_traffic",
        "source_external_links",
        "first_seen",
    )
    return [{k: (str(r[k]) if k == "first_seen" and r[k] else r[k]) for k in keep} for r in rows]


def test_score_returns_probability_verdict_reasons_and_version(server):
    with server.client() as c:
        r = c.post("/score", json={"links": [LINK]})
    assert r.status_code == 200
    body = r.json()
    assert body["scored"] == 1 and body["rejected"] == []
    res = body["results"][0]
    assert 0 <= res["spam_probability"] <= 1
    assert res["verdict"] in ("good", "review", "spam")
    assert res["quality_score"] == round(100 * (1 - res["spam_probability"]))
    assert len(res["reasons"]) == 3 and all(r["text"] for r in res["reasons"])
    assert res["model_version"] == body["model_version"]


def test_scores_agree_with_the_adapter_called_directly(server):
    links = sample_links(60)
    with server.client() as c:
        body = c.post("/score", json={"links": links}).json()
    table, rejects = from_records(links)
    assert rejects.height == 0
    direct = LinkModel.load().score(table, Profile())
    got = np.array([r["spam_probability"] for r in body["results"]])
    assert np.allclose(got, np.round(direct.probability, 6), atol=1e-6)
    assert [r["verdict"] for r in body["results"]] == direct.verdict.tolist()
    texts = [[x["text"] for x in r["reasons"]] for r in body["results"]]
    assert texts == direct.reasons.text.tolist()


def test_concurrent_single_link_requests_match_one_list(server):
    links = sample_links(48)
    with server.client() as c:
        together = c.post("/score", json={"links": links}).json()["results"]

    def one(link):
        with server.client() as c:
            return c.post("/score", json={"links": [link]}).json()["results"][0]

    with cf.ThreadPoolExecutor(16) as pool:
        singles = list(pool.map(one, links))
    for a, b in zip(together, singles, strict=True):
        assert a["spam_probability"] == b["spam_probability"]
        assert a["reasons"] == b["reasons"]


def test_some_bad_links_are_reported_by_index_and_the_rest_scored(server):
    links = [
        LINK,
        {"source_url": "javascript:alert(1)", "target_url": LINK["target_url"]},
        {**LINK, "source_authority": 300},
        {**LINK, "nofollow": {"x": 1}},
        LINK,
    ]
    with server.client() as c:
        body = c.post("/score", json={"links": links}).json()
    assert [r["index"] for r in body["results"]] == [0, 4]
    errors = {e["index"]: e for e in body["rejected"]}
    assert errors[1]["field"] == "source_url" and "javascript" in errors[1]["error"]
    assert errors[2]["field"] == "source_authority" and "0..100" in errors[2]["error"]
    assert errors[3]["field"] == "nofollow" and "got dict" in errors[3]["error"]


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"links": []}, 400, "links"),
        ({"links": "abc"}, 400, "links"),
        ({"links": [1, 2]}, 400, "links"),
        ({"link": [LINK]}, 400, "links"),
        ({"links": [{"target_url": "https://t.example.com/"}]}, 400, "source_url"),
        ({"links": [LINK] * 1001}, 413, "links"),
    ],
)
def test_bad_requests_get_4xx_naming_the_field(server, body, status, names):
    with server.client() as c:
        r = c.post("/score", json=body)
    assert r.status_code == status, r.text
    assert names in r.text
    assert "Traceback" not in r.text


def test_malformed_and_oversized_bodies_are_refused(server):
    with server.client() as c:
        r = c.post("/score", content=b"not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "expected JSON" in r.json()["error"]
        big = b'{"links": [' + b"1," * 1_100_000 + b"1]}"
        r = c.post("/score", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_explain_contributions_add_up_and_name_real_values(server):
    with server.client() as c:
        body = c.post("/explain", json={"link": LINK}).json()
        png = c.post("/explain", json={"link": LINK, "plot": True})
    total = body["base_value"] + sum(x["contribution"] for x in body["contributions"])
    assert abs(total - body["raw_score"]) < 1e-6
    by_feature = {x["feature"]: x for x in body["contributions"]}
    assert by_feature["source_authority"]["value"] == 41
    assert by_feature["source_authority"]["text"] == "source authority is 41/100"
    assert by_feature["anchor_type"]["shown"] == "exact"
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_model_endpoint_and_health(server):
    with server.client() as c:
        info = c.get("/model").json()
        assert c.get("/livez").status_code == 200 and c.get("/readyz").status_code == 200
        docs = c.get("/docs.json")
    assert info["feature_spec_version"] and info["metrics"]["roc_auc"] > 0.8
    assert set(info["thresholds"]) == {"review", "spam"}
    assert docs.status_code == 200 and "/score" in json.dumps(docs.json())


def test_api_key_is_required_everywhere_but_health(keyed_server):
    with keyed_server.client() as c:
        assert c.get("/livez").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.post("/score", json={"links": [LINK]}).status_code == 401
        assert c.get("/model").status_code == 401
        assert c.get("/docs.json").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.post("/score", json={"links": [LINK]}, headers=wrong).status_code == 401
        good = {"Authorization": "Bearer s3cret-key"}
        r = c.post("/score", json={"links": [LINK]}, headers=good)
        assert r.status_code == 200 and r.json()["scored"] == 1
        assert c.get("/model", headers=good).status_code == 200
