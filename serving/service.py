"""linksift's HTTP API, a BentoML 1.4 service.

    linksift serve --port 3000            # or: bentoml serve serving.service:Linksift

- ``POST /score``    ``{"links": [{...}, ...], "target_description": "..."}`` → a verdict,
  probability, quality score and top reasons per link; bad links are reported by index and
  the rest are scored. Concurrent requests are batched adaptively (BentoML's CORK dispatcher).
- ``POST /explain``  ``{"link": {...}, "plot": false}`` → every feature's contribution, the base
  value and raw score (they add up), or with ``"plot": true`` a SHAP waterfall PNG.
- ``GET /model``, ``POST /model/reload``; ``/livez``, ``/readyz`` (health, never need a key);
  ``/docs`` (OpenAPI, from BentoML); ``/review`` (the review page).

Each link is scored on its own (no profile context), so its answer never depends on what else
is in the request or the batch. Configuration comes from the environment: ``LINKSIFT_MODEL``
(folder or ``models:/`` URI; default the shipped model), ``MLFLOW_TRACKING_URI``,
``LINKSIFT_API_KEY`` (when set, every endpoint but health needs ``Authorization: Bearer``),
``LINKSIFT_MAX_LINKS`` (1000), ``LINKSIFT_MAX_BODY_BYTES`` (2,000,000),
``LINKSIFT_RELOAD_SECONDS`` (30; how often a ``models:/...@alias`` source is re-checked).
"""

from __future__ import annotations

import os

# Requests carry one link or a few: Polars' thread pool costs more than it gives at that size
# (one link scores in about two thirds of the time on one thread). Read when Polars is first
# imported, so it is set before anything imports it; a deployment may still choose otherwise.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import asyncio
import gc
import hmac
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import bentoml
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from features import schema, spec
from features.artifact import ModelLoadError
from features.extract import Profile
from features.importers import ImportOptions, InputError, from_records, records_format
from serving import review
from serving.model import GC_THRESHOLDS, LinkModel, _registry_parts
from serving.plots import waterfall
from training.reviewed import Reviewed, StandingLabels

log = logging.getLogger("linksift.service")
HEALTH_PATHS = ("/livez", "/readyz", "/healthz")
OPEN_PATHS = (*HEALTH_PATHS, "/review", "/review/login")
"""Paths that never need the API key: health, and the review page's shell and login form
(the page holds no data; its API calls need the key)."""


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


MAX_LINKS = _env_int("LINKSIFT_MAX_LINKS", 1000)
MAX_CELLS = _env_int("LINKSIFT_MAX_CELLS", 100_000)
"""Links x distinct fields one request may hold: what scoring a request costs grows with
both, and a request must not hold a worker for long."""
MAX_BODY_BYTES = _env_int("LINKSIFT_MAX_BODY_BYTES", 2_000_000)
BODY_TIMEOUT_SECONDS = _env_int("LINKSIFT_BODY_TIMEOUT_SECONDS", 30)
RELOAD_SECONDS = _env_int("LINKSIFT_RELOAD_SECONDS", 30)


_KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "url": {"type": "string", "format": "uri"},
    "text": {"type": "string"},
    "category": {"type": "string", "enum": list(schema.PLACEMENTS)},
    "label": {"type": "string", "enum": ["good", "spam"]},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}


def _link_model() -> type[BaseModel]:
    """One link as the API documents it: every canonical field named, typed and described
    (``features/schema.py``); vendor field names are accepted as extra fields. Values are not
    checked here but by the importer, so a bad value rejects its link (by index, naming the
    field), not the whole request."""
    fields: dict[str, Any] = {
        c.name: (Any, Field(None, description=c.doc, json_schema_extra=_KIND_SCHEMAS[c.kind]))
        for c in schema.COLUMNS
    }
    return create_model(
        "Link",
        __config__=ConfigDict(extra="allow", json_schema_extra={"required": ["source_url"]}),
        **fields,
    )


Link = _link_model()


def _as_dict(link: Any) -> dict[str, Any]:
    """A validated ``Link`` as the plain dict the importer reads (only the fields sent)."""
    return link.model_dump(exclude_unset=True) if isinstance(link, BaseModel) else link


@dataclass(frozen=True)
class Job:
    """One /score request waiting in the batching queue."""

    links: list[dict[str, Any]]
    fmt: str
    target_description: str | None


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


# ------------------------------------------------------------------------------------------------
# access and size guard (ASGI middleware, runs before any body is parsed)
# ------------------------------------------------------------------------------------------------


class Guard:
    """Refuses oversized bodies (413) before they are parsed, and checks the API key (401).

    The key is compared in constant time; it may come as ``Authorization: Bearer KEY`` or, for
    the review page in a browser, as the ``linksift_key`` cookie the page's login sets.
    """

    def __init__(self, app: Any, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key = os.environ.get("LINKSIFT_API_KEY", "")
        path = scope.get("path", "")
        open_path = path in OPEN_PATHS or path.startswith("/review/static/")
        if key and not open_path and not _authorized(headers, key.encode()):
            await error(401, "missing or wrong API key: send 'Authorization: Bearer <key>'")(
                scope, receive, send
            )
            return
        refused = _cross_site(scope, headers, key)
        if refused:
            await error(403, refused)(scope, receive, send)
            return
        upload = _is_upload(scope, headers)
        limit = review.max_file_bytes() if upload else self.max_body
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = limit + 1
            if size > limit:
                message = f"body is {size:,} bytes; the limit is {limit:,}"
                if upload:
                    message += f"; {review.TOO_BIG}"
                await error(413, message)(scope, receive, send)
                return
        if upload:  # streamed to disk by the form parser, never held here
            await self.app(scope, _bounded(receive, limit), send)
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            body = bytearray()
            more = True
            while more:
                try:
                    message = await asyncio.wait_for(receive(), BODY_TIMEOUT_SECONDS)
                except TimeoutError:
                    await error(
                        408, f"the body stalled for {BODY_TIMEOUT_SECONDS} s; send it again"
                    )(scope, receive, send)
                    return
                if message["type"] == "http.disconnect":
                    return
                body.extend(message.get("body", b""))
                more = message.get("more_body", False)
                if len(body) > self.max_body:
                    await error(413, f"body is over the limit of {self.max_body:,} bytes")(
                        scope, receive, send
                    )
                    return
            sent = False

            async def replay() -> dict:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            if _is_json_api(scope, headers) and body:
                try:
                    json.loads(body)
                except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                    await error(400, f"body: expected JSON ({exc.__class__.__name__}: {exc})")(
                        scope, receive, send
                    )
                    return
            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


def _is_upload(scope: dict, headers: dict[bytes, bytes]) -> bool:
    """A file uploaded to the review page (multipart ``POST /review/api/batches``)."""
    return (
        scope.get("method") == "POST"
        and scope.get("path") == "/review/api/batches"
        and headers.get(b"content-type", b"").startswith(b"multipart/form-data")
    )


def _bounded(receive: Any, limit: int) -> Any:
    """``receive`` that stops an upload over ``limit`` bytes or stalled for
    ``BODY_TIMEOUT_SECONDS`` (the review handler turns these into 413 and 408)."""
    received = 0

    async def bounded() -> dict:
        nonlocal received
        try:
            message = await asyncio.wait_for(receive(), BODY_TIMEOUT_SECONDS)
        except TimeoutError:
            raise review.UploadRefused(
                f"the upload stalled for {BODY_TIMEOUT_SECONDS} s; send it again", 408
            ) from None
        received += len(message.get("body", b""))
        if received > limit:
            raise review.UploadRefused(
                f"the upload is over the limit of {limit:,} bytes; {review.TOO_BIG}", 413
            )
        return message

    return bounded


def _authorized(headers: dict[bytes, bytes], key: bytes) -> bool:
    auth = headers.get(b"authorization", b"")
    if hmac.compare_digest(auth, b"Bearer " + key):
        return True
    cookie = _cookie(headers, b"linksift_key")
    return bool(cookie) and hmac.compare_digest(cookie, key)


def _is_json_api(scope: dict, headers: dict[bytes, bytes]) -> bool:
    content_type = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
    path = scope.get("path", "")
    json_path = path in ("/score", "/explain") or path.startswith("/review/api/")
    return json_path and content_type == b"application/json"


WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _cross_site(scope: dict, headers: dict[bytes, bytes], key: str) -> str:
    """Why a browser write must be refused ("" when it may go on).

    Requests with a valid ``Authorization`` header are API clients: a browser never adds one
    on its own, so they pass; so do requests with neither cookies nor the ``Origin`` and
    ``Sec-Fetch-Site`` headers every current browser sends with a write (scripts, curl:
    they hold no one else's credentials). For the rest, a write to the review page's API or to
    ``/model/reload`` must come from this origin (``Origin`` / ``Sec-Fetch-Site``) and, on
    the page's API, carry the page's CSRF token in ``X-Linksift-CSRF`` equal to its cookie:
    another site's form or script can send the cookie but cannot read or set it."""
    path = scope.get("path", "")
    guarded = path.startswith("/review") or path == "/model/reload"
    if scope.get("method") not in WRITES or not guarded:
        return ""
    if key and hmac.compare_digest(headers.get(b"authorization", b""), b"Bearer " + key.encode()):
        return ""
    if not any(h in headers for h in (b"cookie", b"origin", b"sec-fetch-site")):
        return ""
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if origin and origin != "null" and origin.split("://", 1)[-1] != host:
        return f"cross-site request refused: origin {origin} is not this server ({host})"
    if origin == "null" or headers.get(b"sec-fetch-site", b"same-origin") not in (
        b"same-origin",
        b"none",
    ):
        return "cross-site request refused: writes must come from the review page itself"
    if not path.startswith("/review/api/"):
        return ""
    token = headers.get(b"x-linksift-csrf", b"")
    cookie = _cookie(headers, b"linksift_csrf")
    if not token or not cookie or not hmac.compare_digest(token, cookie):
        return (
            "missing or wrong CSRF token: writes from a browser need the review page's token "
            "(reload the page); API clients send 'Authorization: Bearer <key>' instead"
        )
    return ""


def _cookie(headers: dict[bytes, bytes], name: bytes) -> bytes:
    for part in headers.get(b"cookie", b"").split(b";"):
        found, _, value = part.strip().partition(b"=")
        if found == name:
            return value
    return b""


# ------------------------------------------------------------------------------------------------
# the model, reloadable without a restart
# ------------------------------------------------------------------------------------------------


class ModelHolder:
    """The current model; ``reload`` swaps in a new one only if it loads cleanly."""

    def __init__(self, source: str | None, tracking_uri: str | None) -> None:
        self.source = source
        self.tracking_uri = tracking_uri
        self.explainer = os.environ.get("LINKSIFT_EXPLAINER", "auto")
        self.model = LinkModel.load(source, tracking_uri=tracking_uri, explainer=self.explainer)
        self.model.warm_up()
        self.lock = threading.Lock()
        self.last_error = ""

    def reload(self) -> dict[str, Any]:
        """Load the source again and serve it if it is sound. For an alias
        (``models:/name@champion``) the registry is asked first which version it points to:
        nothing is downloaded or loaded while it has not moved, and once it has, the cached
        folders of other versions are removed."""
        with self.lock:
            before = self.model.model_version
            alias = _alias(self.source)
            try:
                if alias:
                    from training import tracking

                    uri = self.tracking_uri or tracking.default_tracking_uri()
                    now = tracking.alias_version(uri, *alias)
                    if now is not None and now == self.model.info.registry_version:
                        self.last_error = ""
                        return {"reloaded": False, "model_version": before, "previous": before}
                fresh = LinkModel.load(
                    self.source, tracking_uri=self.tracking_uri, explainer=self.explainer
                )
                fresh.warm_up()
            except Exception as exc:  # whatever a broken model raises, the served one stays
                self.last_error = str(exc) or exc.__class__.__name__
                log.error("model reload refused, still serving %s: %s", before, exc)
                return {"reloaded": False, "model_version": before, "error": self.last_error}
            changed = fresh.model_version != before
            if changed:
                self.model = fresh
            if alias and fresh.info.registry_version:
                tracking.prune_cache(uri, alias[0], keep=fresh.info.registry_version)
            self.last_error = ""
            return {
                "reloaded": changed,
                "model_version": self.model.model_version,
                "previous": before,
            }

    def follow(self, interval: float) -> None:
        """Re-check an alias source (``models:/name@champion``) every ``interval`` seconds."""
        if not _alias(self.source):
            return

        def loop() -> None:
            while True:
                time.sleep(interval)
                self.reload()

        threading.Thread(target=loop, name="linksift-model-follow", daemon=True).start()


# ------------------------------------------------------------------------------------------------
# responses
# ------------------------------------------------------------------------------------------------


def link_results(
    model: LinkModel,
    links: pl.DataFrame,
    target_description: str | None,
    reviewed: Reviewed | None = None,
) -> list[dict]:
    """Per-link results for canonical ``links`` (each scored on its own); a link a person
    reviewed (or whose site they did) carries their verdict, with that as its first reason."""
    scores = model.score(
        links,
        Profile(),
        as_of=date.today(),
        explain="all",
        target_description=target_description,
        reviewed=reviewed,
    )
    reasons = scores.reasons
    out = []
    ids = links["link_id"].to_list()
    index = links["row"].to_list()
    for i in range(len(scores)):
        person = scores.reviewed[i] if scores.reviewed else None
        listed = (
            [
                {
                    "feature": spec.NAMES[int(reasons.feature[i, k])],
                    "text": str(reasons.text[i, k]),
                    "contribution": round(float(reasons.contribution[i, k]), 4),
                }
                for k in range(reasons.feature.shape[1])
                if reasons.feature[i, k] >= 0
            ]
            if reasons is not None
            else []
        )
        if person:  # the person's verdict first, then the model's strongest reasons
            note = {"feature": "reviewed", "text": person.reason, "contribution": None}
            listed = [note, *listed][: max(len(listed), 1)]
        out.append(
            {
                "index": index[i],
                "link_id": ids[i],
                "spam_probability": round(float(scores.probability[i]), 6),
                "quality_score": int(scores.quality_score[i]),
                "verdict": str(scores.verdict[i]),
                "evidence": str(scores.evidence[i]) if scores.evidence is not None else None,
                "reasons": listed,
                "reviewed": person.as_dict() if person else None,
                "model_version": model.model_version,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# the service
# ------------------------------------------------------------------------------------------------


def _routes() -> Any:
    """Plain HTTP routes next to the BentoML APIs: model info and reload, the API docs, the
    review page. A FastAPI app, so BentoML's OpenAPI spec lists them with the APIs."""
    from fastapi import FastAPI

    async def model_info(_: Request) -> JSONResponse:
        """The served model: name, version, registry version and alias, metrics, thresholds,
        and the last reload error."""
        holder = current().holder
        info = holder.model.describe()
        info["last_reload_error"] = holder.last_error or None
        return JSONResponse(info)

    async def reload(_: Request) -> JSONResponse:
        """Load the configured model again (a refused one keeps the old model serving: 409)."""
        result = await asyncio.to_thread(current().holder.reload)
        return JSONResponse(result, status_code=200 if "error" not in result else 409)

    async def docs(_: Request) -> Response:
        """The API docs (BentoML's Swagger UI at "/", the spec at /docs.json)."""
        return RedirectResponse("/", status_code=307)

    from serving.review import review_routes

    routes = [
        Route("/model", model_info, methods=["GET"]),
        Route("/model/reload", reload, methods=["POST"]),
        Route("/docs", docs, methods=["GET"]),
        *review_routes(current),
    ]
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for route in routes:
        doc = (route.endpoint.__doc__ or route.path).strip().split("\n\n")[0]
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods - {"HEAD"}),
            summary=" ".join(doc.split()),
            tags=["review page" if route.path.startswith("/review") else "model"],
            include_in_schema=not route.path.startswith("/review/static"),
        )
    return app


@bentoml.service(
    name="linksift",
    traffic={"timeout": 60},
    workers=1,
)
class Linksift:
    """Scores backlinks, explains them, and serves the review page."""

    def __init__(self) -> None:
        from bentoml._internal.marshal.dispatcher import CorkDispatcher, NonBlockSema

        try:
            self.holder = ModelHolder(
                os.environ.get("LINKSIFT_MODEL") or None,
                os.environ.get("MLFLOW_TRACKING_URI") or None,
            )
        except ModelLoadError as exc:
            _refuse_to_start(exc)
        self.holder.follow(RELOAD_SECONDS)
        from serving.review import labels_url

        # people's standing labels override verdicts from the next request on
        self.labels = StandingLabels(labels_url())
        # Adaptive batching: concurrent /score requests are corked together by BentoML's
        # dispatcher and scored as one table. It lives behind the public endpoint so the
        # endpoint can validate first and answer 4xx with field names. A batch costs about
        # what one link costs (Polars' per-query overhead), and BentoML keeps one batch in
        # flight unless told otherwise, leaving a core idle while a straggler's batch of one
        # waits its turn: one batch per core (benchmarks/RESULTS.md has the figures).
        self._batched = CorkDispatcher(
            max_latency_in_ms=_env_int("LINKSIFT_MAX_LATENCY_MS", 10_000),
            max_batch_size=_env_int("LINKSIFT_MAX_BATCH_REQUESTS", 64),
            fallback=lambda: error(503, "the service is overloaded; retry shortly"),
            # batch size counts requests, so the dispatcher never has to split one
            get_batch_size=lambda job: 1,
            shared_sema=NonBlockSema(
                max(_env_int("LINKSIFT_BATCHES_IN_FLIGHT", min(os.cpu_count() or 1, 4)), 1)
            ),
        )(self._score_jobs)
        self._in_flight = 0
        _INSTANCE[:] = [self]
        # everything loaded so far lives for the whole process: keep the garbage collector
        # from walking it during requests (shorter latency tails)
        gc.collect()
        gc.freeze()
        # collect the young generation less often (see GC_THRESHOLDS; for the API, over five
        # interleaved rounds against Python's default thresholds: p50 3.8 vs 4.1 ms, 621 vs
        # 566 req/s at concurrency 16; single runs are too noisy to tell)
        gc.set_threshold(*GC_THRESHOLDS)

    async def _score_jobs(self, jobs: tuple[Job, ...]) -> list[dict[str, Any]]:
        """A batch from the dispatcher, scored in a worker thread so the event loop keeps
        accepting (and corking) requests meanwhile."""
        return await asyncio.to_thread(self._score_now, jobs)

    def _score_now(self, jobs: tuple[Job, ...]) -> list[dict[str, Any]]:
        """Score many requests together: one table per (field convention, description)."""
        model = self.holder.model
        reviewed = self.labels.get()
        out: list[dict[str, Any]] = [{} for _ in jobs]
        groups: dict[tuple[str, str | None], list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault((job.fmt, job.target_description), []).append(i)
        for (fmt, description), members in groups.items():
            records = [link for i in members for link in jobs[i].links]
            table, rejects = from_records(records, ImportOptions(format=fmt, as_of=date.today()))
            results = link_results(model, table.select(_SCORING_COLUMNS), description, reviewed)
            rejected = rejects.to_dicts()
            start = 0
            for i in members:
                stop = start + len(jobs[i].links)
                mine = [
                    dict(r, index=r["index"] - start) for r in results if start <= r["index"] < stop
                ]
                errors = [
                    {"index": r["row"] - start, "field": r["field"], "error": r["reason"]}
                    for r in rejected
                    if start <= r["row"] < stop
                ]
                out[i] = {"results": mine, "rejected": errors}
                start = stop
        return out

    @bentoml.api(route="/score")
    async def score(
        self, links: list[Link], target_description: str | None = None
    ) -> dict[str, Any]:
        """Score one or many links (canonical or vendor field names)."""
        links = [_as_dict(link) for link in links]
        if not links:
            return error(400, "links: expected at least one link, got an empty list", field="links")
        if len(links) > MAX_LINKS:
            return error(
                413,
                f"links: at most {MAX_LINKS} links per request, got {len(links)}",
                field="links",
            )
        too_big = _over_budget(links)
        if too_big:
            return error(413, too_big, field="links")
        try:
            fmt = records_format(links)
        except InputError as exc:
            return error(400, str(exc), field="links")
        job = Job(links, fmt, target_description)
        self._in_flight += 1
        try:
            await asyncio.sleep(0)  # let requests that arrived together show themselves
            if self._in_flight == 1:
                # alone: nobody to batch with, so score now instead of waiting for company
                # (in a worker thread: health checks answer while a request is scored)
                answer = (await asyncio.to_thread(self._score_now, (job,)))[0]
            else:
                answer = await self._batched(job)
        finally:
            self._in_flight -= 1
        if isinstance(answer, Response):  # the dispatcher's overload fallback
            return answer
        # answered as a ready JSON response: BentoML would otherwise validate and re-serialise
        # the dict, which costs a measurable share of a one-link request
        return JSONResponse(
            {
                "model_version": self.holder.model.model_version,
                "scored": len(answer["results"]),
                "rejected_count": len(answer["rejected"]),
                **answer,
            }
        )

    @bentoml.api(route="/explain")
    async def explain(
        self, link: Link, target_description: str | None = None, plot: bool = False
    ) -> dict[str, Any]:
        """Every feature's contribution for one link; ``plot: true`` returns a waterfall PNG."""
        link = _as_dict(link)
        too_big = _over_budget([link])
        if too_big:
            return error(413, too_big, field="link")
        try:
            table, rejects = await asyncio.to_thread(
                from_records, [link], ImportOptions(as_of=date.today())
            )
        except InputError as exc:
            return error(400, str(exc), field="link")
        if rejects.height:
            r = rejects.to_dicts()[0]
            return error(400, r["reason"], field=f"link.{r['field']}")
        result = await asyncio.to_thread(
            self.holder.model.explain_one,
            table,
            Profile(),
            target_description=target_description,
            reviewed=self.labels.get(),
        )
        if plot:
            png = await asyncio.to_thread(waterfall, result)
            return Response(png, media_type="image/png")
        return result


def _alias(source: str | None) -> tuple[str, str] | None:
    """(name, alias) of a ``models:/name@alias`` source, else None."""
    if not (source or "").startswith("models:/"):
        return None
    name, _version, alias = _registry_parts(str(source))
    return (name, alias) if alias else None


def _over_budget(links: list[dict[str, Any]]) -> str:
    """Why a request holds too much to score at once ("" when it does not)."""
    fields = len({k for link in links for k in link})
    if len(links) * fields <= MAX_CELLS:
        return ""
    return (
        f"links: {len(links):,} links x {fields:,} distinct fields = {len(links) * fields:,} "
        f"values; the limit is {MAX_CELLS:,} per request: send fewer links or fewer fields"
    )


def _refuse_to_start(exc: Exception) -> None:
    """A model refused at start-up stops the whole server with the reason: BentoML would
    otherwise start the worker again and again. The worker's parent is the server's
    process supervisor; asking it to stop ends ``bentoml serve``."""
    log.critical("linksift cannot start: the model was refused: %s", exc)
    print(f"linksift cannot start: the model was refused: {exc}", file=sys.stderr, flush=True)
    os.kill(os.getppid(), signal.SIGTERM)
    raise SystemExit(3)


_SCORING_COLUMNS = [*schema.EXTRA, *schema.CANONICAL]
_INSTANCE: list[Linksift] = []


def current() -> Linksift:
    """The running service instance (the mounted routes are built before it exists)."""
    return _INSTANCE[0]


Linksift.mount_asgi_app(_routes(), path="/")
Linksift.add_asgi_middleware(Guard)
