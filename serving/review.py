"""The review page: a person checks scores and explanations and corrects labels.

Served by the same BentoML service under ``/review`` (plain HTML, CSS and JavaScript from
``serving/review/static``: no build step, no CDN). Batches (``linksift score`` output, or an
uploaded export that is scored on upload) are loaded into the label store's database, so a
100,000-link batch is filtered, sorted and paged by indexed SQL.

JSON API under ``/review/api``; it needs the API key when one is set (the page's login stores
it in an HTTP-only cookie; writes then also need the page's CSRF token, see
``service.Guard``). ``/review`` itself and its static files are open, so the page can show
the login form. Files on the server load only from the folder ``LINKSIFT_REVIEW_DATA`` names
(none by default): the page cannot be used to read anything else the server can.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import secrets
import stat
import tempfile
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from features import schema, spec
from features.extract import Profile, build_profile, extract
from features.importers import OUTPUT_COLUMNS, ImportOptions, InputError, read_links
from features.urls import sites_of
from serving.disavow import link_actions, lost_flags
from serving.model import VERDICTS
from training.labels import (
    REMOVED,
    LabelError,
    LabelStore,
    batch_links,
    batches,
    labels,
    site_labels,
)
from training.reviewed import Reviewed, reviewed_reason

STATIC = Path(__file__).with_name("review") / "static"
BASE_DATA = Path(__file__).resolve().parent.parent / "data" / "sample" / "labeled.parquet"
"""What the page's retrain adds reviewed labels to (``LINKSIFT_BASE_DATA`` overrides)."""
SORTS = {
    "risk": (batch_links.c.spam_probability.desc(), batch_links.c.position),
    "safe": (batch_links.c.spam_probability.asc(), batch_links.c.position),
    "row": (batch_links.c.position,),
    "site": (batch_links.c.site, batch_links.c.position),
}
PER_PAGE_MAX = 200
MAX_ID = 2**62
"""Batch ids and page numbers above this are not numbers anyone means (and overflow SQLite)."""
CSRF_COOKIE = "linksift_csrf"
log = logging.getLogger("linksift.review")


class BadRequest(Exception):
    """A request the page API refuses, with the field and what was expected."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _answers(
    handler: Callable[[Any, Request], Awaitable[Response]],
) -> Callable[[Any, Request], Awaitable[Response]]:
    """Route handler wrapper: ``BadRequest`` becomes its 4xx; anything unexpected is logged
    with its traceback and answered as a plain 500 without one."""

    @functools.wraps(handler)
    async def run(self: Any, request: Request) -> Response:
        try:
            return await handler(self, request)
        except BadRequest as exc:
            return _bad(str(exc), exc.status)
        except Exception:
            log.exception("review API: %s %s failed", request.method, request.url.path)
            return _bad("internal error (the server log has the details)", 500)

    return run


def _int(params: Any, key: str, default: int | None = None, high: int = MAX_ID) -> int:
    """A whole-number parameter in 1..high."""
    raw = params.get(key)
    if raw in (None, "") and default is not None:
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest(f"{key}: expected a whole number, got {str(raw)[:40]!r}") from None
    if not 1 <= value <= high:
        raise BadRequest(f"{key}: expected a number from 1 to {high:,}, got {value}")
    return value


def _probability(params: Any, key: str) -> float | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{key}: expected a probability from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise BadRequest(f"{key}: expected a probability from 0 to 1, got {raw!r}")
    return value


async def _json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body; only ``application/json``: a form on another site
    cannot send that without the browser asking this server first."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BadRequest("body: expected Content-Type: application/json", 415)
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body: expected JSON ({exc.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise BadRequest("body: expected a JSON object")
    return body


def data_folder() -> Path | None:
    """The folder the page may load server files from (``LINKSIFT_REVIEW_DATA``), or None."""
    folder = os.environ.get("LINKSIFT_REVIEW_DATA", "").strip()
    return Path(folder).resolve() if folder else None


def max_file_bytes() -> int:
    """The largest file the page loads, uploaded or from the data folder."""
    return int(os.environ.get("LINKSIFT_REVIEW_MAX_BYTES", 500_000_000))


TOO_BIG = (
    "load a bigger file on the server with `linksift labels load FILE` (same label store: "
    "set LINKSIFT_LABELS_URL as the service has it), then reload the page"
)


class UploadRefused(Exception):
    """An upload stopped while it streamed in (too big, or stalled)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def server_file(name: str) -> Path:
    """The regular file ``name`` inside the data folder. Anything else is refused before it
    is opened: paths outside the folder (symbolic links are followed first), devices, FIFOs
    and ``/proc`` entries (which could block a worker for ever), and oversized files."""
    folder = data_folder()
    if folder is None:
        raise BadRequest(
            "path: loading files from the server is off; upload the file, or start the "
            "server with LINKSIFT_REVIEW_DATA set to a folder to allow the files inside it",
            403,
        )
    if not name.strip() or "\x00" in name:
        raise BadRequest("path: expected the name of a file in the data folder")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        raise BadRequest("path: expected a file inside the data folder", 403)
    try:
        info = path.stat()
    except OSError:
        raise BadRequest("path: no such file in the data folder", 404) from None
    if not stat.S_ISREG(info.st_mode):
        raise BadRequest("path: expected a regular file")
    if info.st_size > max_file_bytes():
        raise BadRequest(
            f"path: the file is {info.st_size:,} bytes; the limit is {max_file_bytes():,}", 413
        )
    return path


def labels_url() -> str:
    url = os.environ.get("LINKSIFT_LABELS_URL")
    return url or f"sqlite:///{(Path.cwd() / 'labels.db').resolve()}"


def load_batch(
    store: LabelStore,
    path: Path,
    name: str,
    model: Any,
    as_of: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Load a scored file (or score an unscored export) into the review database, in bulk
    inserts of 5,000 rows (``progress(done, total)`` after each) in one transaction."""
    as_of = as_of or date.today()
    links, _rejects = read_links(path, ImportOptions(as_of=as_of))
    if links.height == 0:
        raise InputError(f"{name}: no rows to review")
    profile = build_profile([links], as_of=as_of)
    scored = _as_scored(links, name)
    if scored is None:
        from serving.batch import scored_table

        scores = model.score(links, profile, as_of=as_of, explain="all")
        scored, X = scored_table(links, scores, model.model_version), scores.X
    else:
        X = extract(scored, profile, as_of=as_of)  # for the anchor types only
    links = scored
    anchor = X[:, spec.INDEX["anchor_type"]]
    anchor_names = np.asarray([*spec.ANCHOR_TYPES, "not given"], dtype=object)
    anchor_type = anchor_names[
        np.where(np.isnan(anchor), len(spec.ANCHOR_TYPES), np.nan_to_num(anchor)).astype(int)
    ]
    canonical = [c for c in links.columns if c in schema.CANONICAL]
    fields = links.select(pl.struct(canonical).struct.json_encode()).to_series()
    rows = links.select(
        pl.col("row"),
        pl.col("link_id"),
        site=sites_of(links["source_url"]).fill_null(""),
        verdict=pl.col("verdict").cast(pl.String),
        spam_probability=pl.col("spam_probability").cast(pl.Float64),
        quality_score=pl.col("quality_score").cast(pl.Float64).cast(pl.Int64),
        anchor_type=pl.Series(anchor_type, dtype=pl.String),
        placement=pl.col("placement").fill_null("not given"),
        source_url=pl.col("source_url"),
        target_url=pl.col("target_url"),
        anchor_text=pl.col("anchor_text"),
        reason_1=pl.col("reason_1"),
        reason_2=pl.col("reason_2"),
        reason_3=pl.col("reason_3"),
        model_version=pl.col("model_version").cast(pl.String).fill_null(model.model_version),
        link=fields,
        action=pl.col("action").cast(pl.String).fill_null("")
        if "action" in links.columns
        else link_actions(links, links["verdict"].cast(pl.String)),
        lost=lost_flags(links),
    ).with_row_index("position")
    with store.engine.begin() as conn:
        batch_id = conn.execute(
            batches.insert().values(
                name=name,
                created_at=datetime.now(UTC),
                rows=links.height,
                model_version=str(rows["model_version"][0]),
                as_of=as_of.isoformat(),
                profile=profile.to_json(),
            )
        ).inserted_primary_key[0]
        rows = rows.with_columns(batch_id=pl.lit(batch_id))
        for start in range(0, rows.height, 5000):
            conn.execute(batch_links.insert(), rows.slice(start, 5000).to_dicts())
            if progress:
                progress(min(start + 5000, rows.height), rows.height)
    return int(batch_id)


_SCORED = ("spam_probability", "quality_score", "verdict", "reason_1", "reason_2", "reason_3")


def _as_scored(links: pl.DataFrame, name: str) -> pl.DataFrame | None:
    """A ``linksift score`` output as it was scored, or None for an export still to score.

    The importer keeps an input's score columns aside as ``input_<name>`` (they are not
    link data), so a scored file's columns are named back here: the page then shows the
    verdicts and reasons the file holds (the ones handed to the client), not a new scoring
    with today's date or another model. A score column that is not a score is an error
    naming the row, not a reason to score again."""
    if not all(f"input_{c}" in links.columns for c in _SCORED):
        return None
    kept = {f"input_{c}": c for c in OUTPUT_COLUMNS if f"input_{c}" in links.columns}
    scored = links.rename(kept).with_columns(
        spam_probability=pl.col("spam_probability").cast(pl.Float64, strict=False),
        quality_score=pl.col("quality_score").cast(pl.Float64, strict=False),
    )
    checks = {
        "spam_probability": (pl.col("spam_probability").is_between(0, 1), "a number in 0..1"),
        "quality_score": (pl.col("quality_score").is_between(0, 100), "a number in 0..100"),
        "verdict": (pl.col("verdict").is_in(VERDICTS), "one of " + ", ".join(VERDICTS)),
    }
    for column, (ok, expected) in checks.items():
        bad = scored.filter(~ok.fill_null(False))
        if bad.height:
            value = links.filter(pl.col("row") == bad["row"][0])[f"input_{column}"][0]
            shown = "nothing" if value is None else repr(str(value)[:80])
            others = bad.height - 1
            more = f" ({others:,} more like it)" if others else ""
            raise InputError(
                f"{name}: row {bad['row'][0]}: {column}: expected {expected}, got {shown}{more}"
            )
    return scored


def _standing(table: sa.Table, key: str, value: Any) -> Any:
    """The standing label in ``table`` for ``key == value`` (NULL when none or withdrawn),
    as a subquery correlated with ``batch_links``."""
    newest = table.alias()
    latest = (
        sa.select(sa.func.max(newest.c.id))
        .where(newest.c[key] == value)
        .correlate(batch_links)
        .scalar_subquery()
    )
    return (
        sa.select(table.c.label)
        .where(table.c.id == latest, table.c.label != REMOVED)
        .correlate(batch_links)
        .scalar_subquery()
    )


def effective_verdict() -> Any:
    """A batch link's verdict as people see it: its own standing label, else its site's,
    else the model's. The verdict filter uses it, so reviewed links list where they now
    belong."""
    c = batch_links.c
    return sa.func.coalesce(
        _standing(labels, "link_id", c.link_id),
        _standing(site_labels, "site", c.site),
        c.verdict,
    )


def with_reviewed(rows: list[dict[str, Any]], reviewed: Reviewed) -> None:
    """Show people's verdicts on listed batch rows: the verdict, and the reviewed reason
    first (the model's verdict stays in ``model_verdict``)."""
    for r, hit in zip(
        rows, reviewed.match([r["link_id"] for r in rows], [r["site"] for r in rows]), strict=True
    ):
        r["model_verdict"] = r["verdict"]
        r["reviewed"] = None
        if hit is None:
            continue
        label, scope = hit
        r["verdict"] = label.label
        r["reviewed"] = {"label": label.label, "reviewer": label.reviewer, "scope": scope}
        r["reason_1"], r["reason_2"], r["reason_3"] = (
            reviewed_reason(label, scope, r["site"]),
            r["reason_1"],
            r["reason_2"],
        )


def _unlabelled() -> Any:
    """Neither the link nor its referring domain has a standing label."""
    c = batch_links.c
    return sa.and_(
        _standing(labels, "link_id", c.link_id).is_(None),
        _standing(site_labels, "site", c.site).is_(None),
    )


def _filters(q: Any, params: dict[str, str]) -> Any:
    c = batch_links.c
    if params.get("unlabelled") in ("1", "true"):
        q = q.where(_unlabelled())
    if params.get("verdict"):
        q = q.where(effective_verdict().in_(params["verdict"].split(",")))
    if params.get("min"):
        q = q.where(c.spam_probability >= float(params["min"]))
    if params.get("max"):
        q = q.where(c.spam_probability <= float(params["max"]))
    if params.get("site"):
        q = q.where(c.site.contains(params["site"].strip().lower(), autoescape=True))
    if params.get("anchor"):
        q = q.where(c.anchor_type == params["anchor"])
    if params.get("placement"):
        q = q.where(c.placement == params["placement"])
    return q


_FLAGS = pl.Struct(
    {
        "nofollow": pl.Boolean,
        "ugc": pl.Boolean,
        "sponsored": pl.Boolean,
        "sitewide": pl.Boolean,
        "first_seen": pl.String,
        "last_seen": pl.String,
    }
)


def reviewed_links(conn: sa.Connection, batch_id: int) -> pl.DataFrame:
    """A batch's links with the columns ``disavow.collect`` reads, people's labels applied:
    a standing label (the link's, else its domain's) is the verdict, and the first reason
    says a reviewer decided."""
    c = batch_links.c
    own = _standing(labels, "link_id", c.link_id)
    domain = _standing(site_labels, "site", c.site)
    q = sa.select(
        c.source_url,
        c.spam_probability,
        c.lost,
        c.link,
        sa.func.coalesce(own, domain, c.verdict).label("verdict"),
        sa.case(
            (own.is_not(None), "labelled " + own + " by a reviewer"),
            (domain.is_not(None), "domain labelled " + domain + " by a reviewer"),
            else_=c.reason_1,
        ).label("reason_1"),
    ).where(c.batch_id == batch_id)
    rows = conn.execute(q).all()
    table = pl.DataFrame(
        rows,
        schema={
            "source_url": pl.String,
            "spam_probability": pl.Float64,
            "lost": pl.Boolean,
            "link": pl.String,
            "verdict": pl.String,
            "reason_1": pl.String,
        },
        orient="row",
    )
    return table.with_columns(pl.col("link").str.json_decode(_FLAGS)).unnest("link")


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class ReviewApp:
    """Route handlers, bound to the running service's model and a label store."""

    def __init__(self, current: Callable[[], Any]) -> None:
        self.current = current
        self._store: LabelStore | None = None
        self._lock = threading.Lock()
        self.retrain_state: dict[str, Any] = {"state": "idle"}

    @property
    def store(self) -> LabelStore:
        with self._lock:
            if self._store is None:
                self._store = LabelStore(labels_url())
            return self._store

    @property
    def model(self) -> Any:
        return self.current().holder.model

    async def page(self, request: Request) -> Response:
        """The review page (HTML; it sets the CSRF token cookie its script sends back)."""
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        if not request.cookies.get(CSRF_COOKIE):
            # the page's script sends it back in a header on every write (double submit)
            token = secrets.token_urlsafe(32)
            response.set_cookie(CSRF_COOKIE, token, samesite="strict", path="/")
        return response

    @_answers
    async def static(self, request: Request) -> Response:
        """The page's CSS and JavaScript."""
        name = request.path_params["name"]
        if "\x00" in name:
            return _bad("not found", 404)
        path = (STATIC / name).resolve()
        if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
            return _bad("not found", 404)
        return FileResponse(path)

    @_answers
    async def login(self, request: Request) -> Response:
        """The page's login form: keeps the API key in an HTTP-only cookie."""
        try:
            form = await request.form()
        except Exception as exc:  # Starlette raises several kinds for a broken form body
            raise BadRequest(f"body: expected a login form ({exc.__class__.__name__})") from None
        key = str(form.get("key", ""))
        response = RedirectResponse("/review", status_code=303)
        response.set_cookie("linksift_key", key, httponly=True, samesite="strict")
        return response

    @_answers
    async def list_batches(self, request: Request) -> JSONResponse:
        """Loaded batches, newest first."""

        def run() -> list[dict[str, Any]]:
            q = sa.select(
                batches.c.id,
                batches.c.name,
                batches.c.rows,
                batches.c.created_at,
                batches.c.model_version,
            ).order_by(batches.c.id.desc())
            with self.store.engine.connect() as conn:
                return [
                    {**dict(r), "created_at": r["created_at"].isoformat()}
                    for r in conn.execute(q).mappings()
                ]

        return JSONResponse(
            {
                "batches": await asyncio.to_thread(run),
                "upload_limit": max_file_bytes(),
                "too_big": TOO_BIG,
            }
        )

    @_answers
    async def add_batch(self, request: Request) -> JSONResponse:
        """Upload a file (multipart ``file``) or name one in the data folder (JSON ``path``).

        An upload's problems are quoted back (it is the sender's own file); a server file's
        are not (the log has them), so the page never shows what a server file holds."""
        if request.headers.get("content-type", "").startswith("multipart/"):
            return await self._upload(request)
        body = await _json_object(request)
        if not isinstance(body.get("path"), str):
            raise BadRequest("path: expected the name of a file in the data folder")
        path = server_file(body["path"])
        try:
            batch_id = await asyncio.to_thread(load_batch, self.store, path, path.name, self.model)
        except InputError as exc:
            log.warning("review: %s was not loaded: %s", path, exc)
            raise BadRequest(
                f"path: {path.name} is not a backlink export linksift can read "
                "(the server log says why; `linksift import` shows it too)"
            ) from None
        return JSONResponse({"id": batch_id, "name": path.name})

    async def _upload(self, request: Request) -> JSONResponse:
        try:
            form = await request.form()  # file parts are spooled to disk as they arrive
        except UploadRefused as exc:
            raise BadRequest(str(exc), exc.status) from None
        except Exception as exc:  # Starlette raises several kinds for a broken multipart body
            raise BadRequest(f"body: expected a multipart upload ({exc})") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("file: expected an uploaded export")
        name = Path(upload.filename or "upload.csv").name or "upload.csv"
        with tempfile.TemporaryDirectory(prefix="linksift-upload-") as folder:
            path = Path(folder) / ("upload" + (Path(name).suffix or ".csv"))
            with path.open("wb") as out:
                while chunk := await upload.read(1 << 20):
                    out.write(chunk)
            await upload.close()
            try:
                batch_id = await asyncio.to_thread(load_batch, self.store, path, name, self.model)
            except InputError as exc:
                message = str(exc).replace(f"{path}: ", "").replace(str(path), name)
                raise BadRequest(f"{name}: {message}") from None
        return JSONResponse({"id": batch_id, "name": name})

    @_answers
    async def links(self, request: Request) -> JSONResponse:
        """A page of a batch's links: ``batch``, ``page``, ``per_page`` (<= 200), ``sort``
        (risk, safe, row, site), filters ``verdict``, ``min``, ``max``, ``site``, ``anchor``,
        ``placement``."""
        params = dict(request.query_params)
        batch_id = _int(params, "batch")
        page = _int(params, "page", 1, high=10_000_000)
        per_page = _int(params, "per_page", 50, high=PER_PAGE_MAX)
        for key in ("min", "max"):
            _probability(params, key)
        sort = SORTS.get(params.get("sort", "risk"))
        if sort is None:
            return _bad(f"sort: expected one of {', '.join(SORTS)}")

        def run() -> dict[str, Any]:
            c = batch_links.c
            base = _filters(sa.select(c).where(c.batch_id == batch_id), params)
            count = _filters(
                sa.select(sa.func.count()).select_from(batch_links).where(c.batch_id == batch_id),
                params,
            )
            with self.store.engine.connect() as conn:
                total = conn.execute(count).scalar_one()
                rows = [
                    dict(r)
                    for r in conn.execute(
                        base.order_by(*sort).limit(per_page).offset((page - 1) * per_page)
                    ).mappings()
                ]
            reviewed = self.store.reviewed()
            for r in rows:
                r.pop("link", None)
                lab = reviewed.links.get(r["link_id"])
                r["label"] = lab.label if lab else None
                r["labelled_by"] = lab.reviewer if lab else None
            with_reviewed(rows, reviewed)
            return {"total": total, "page": page, "per_page": per_page, "rows": rows}

        return JSONResponse(await asyncio.to_thread(run))

    def _row(self, batch_id: int, link_id: str) -> dict[str, Any] | None:
        c = batch_links.c
        q = sa.select(c).where(c.batch_id == batch_id, c.link_id == link_id).limit(1)
        with self.store.engine.connect() as conn:
            r = conn.execute(q).mappings().first()
            meta = (
                conn.execute(sa.select(batches).where(batches.c.id == batch_id)).mappings().first()
            )
        if r is None or meta is None:
            return None
        return {**dict(r), "batch_as_of": meta["as_of"], "batch_profile": meta["profile"]}

    def _explain(self, row: dict[str, Any]) -> dict[str, Any]:
        """The link's explanation against its batch's profile, as when it was scored."""
        from features.importers import from_records

        as_of = date.fromisoformat(row["batch_as_of"])
        links, rejects = from_records([json.loads(row["link"])], ImportOptions(as_of=as_of))
        if rejects.height:
            raise InputError(rejects.to_dicts()[0]["reason"])
        return self.model.explain_one(links, Profile.from_json(row["batch_profile"]), as_of=as_of)

    @_answers
    async def link(self, request: Request) -> JSONResponse:
        """One link: its fields, explanation and label history."""
        batch_id = _int(request.path_params, "batch")
        link_id = request.path_params["link_id"]
        row = await asyncio.to_thread(self._row, batch_id, link_id)
        if row is None:
            return _bad("no such link in this batch", 404)
        explained = await asyncio.to_thread(self._explain, row)
        history = await asyncio.to_thread(self.store.history, link_id)
        with_reviewed([row], await asyncio.to_thread(self.store.reviewed))
        fields = json.loads(row.pop("link"))
        row.pop("batch_profile")
        return JSONResponse(
            {
                **row,
                "fields": fields,
                "explanation": explained,
                "labels": [lab.__dict__ for lab in history],
            }
        )

    @_answers
    async def waterfall(self, request: Request) -> Response:
        """One link's SHAP waterfall (PNG)."""
        from serving.plots import waterfall

        batch_id = _int(request.path_params, "batch")
        row = await asyncio.to_thread(self._row, batch_id, request.path_params["link_id"])
        if row is None:
            return _bad("no such link in this batch", 404)
        explained = await asyncio.to_thread(self._explain, row)
        png = await asyncio.to_thread(waterfall, explained)
        return Response(png, media_type="image/png")

    @_answers
    async def label(self, request: Request) -> JSONResponse:
        """``{"batch", "link_id" | "link_ids" | "site", "label", "note", "reviewer"}``; label
        ``remove`` withdraws the standing labels."""
        body = await _json_object(request)
        batch_id = _int(body, "batch")  # true, 1.0, [1] are not whole numbers either
        note, reviewer = str(body.get("note") or ""), str(body.get("reviewer") or "")

        def run() -> list[Any] | int:
            c = batch_links.c
            q = sa.select(c.link_id, c.link, c.model_version, c.spam_probability, c.site).where(
                c.batch_id == batch_id
            )
            if body.get("site"):
                q = q.where(c.site == str(body["site"]))
            elif body.get("link_id"):
                q = q.where(c.link_id == str(body["link_id"]))
            elif isinstance(body.get("link_ids"), list) and body["link_ids"]:
                if len(body["link_ids"]) > PER_PAGE_MAX:
                    raise LabelError(f"link_ids: at most {PER_PAGE_MAX} at once")
                q = q.where(c.link_id.in_([str(x) for x in body["link_ids"]]))
            else:
                raise LabelError("link_id, link_ids or site: one is required")
            with self.store.engine.connect() as conn:
                found = list(conn.execute(q).mappings())
            if not found:
                raise LabelError("no matching links in this batch")
            seen: dict[str, Any] = {}
            for r in found:
                seen.setdefault(r["link_id"], r)
            rows = list(seen.values())
            if str(body.get("label") or "").strip().lower() == "remove":
                return self.store.remove(
                    link_ids=list(seen),
                    site=str(body.get("site") or "") or None,
                    reviewer=reviewer,
                )
            if body.get("site"):  # the site's own label: its later links count too
                self.store.label_site(
                    str(body["site"]), str(body.get("label") or ""), note=note, reviewer=reviewer
                )
            links = [{**json.loads(r["link"]), "link_id": r["link_id"]} for r in rows]
            return self.store.add_many(
                links,
                str(body.get("label") or ""),
                note=note,
                reviewer=reviewer,
                model_version=rows[0]["model_version"],
                probabilities=[r["spam_probability"] for r in rows],
                sites=[r["site"] for r in rows],
            )

        try:
            saved = await asyncio.to_thread(run)
        except LabelError as exc:
            return _bad(str(exc))
        if isinstance(saved, int):
            return JSONResponse({"removed": saved})
        return JSONResponse({"saved": len(saved), "labels": [s.__dict__ for s in saved]})

    @_answers
    async def domains(self, request: Request) -> JSONResponse:
        """A page of a batch's referring domains: ``batch``, ``page``, ``per_page``, ``sort``
        (risk, links, site), filters ``site`` and ``unlabelled`` (no domain label). Verdict
        counts follow people's labels; ``proposed`` counts the model's disavow proposals."""
        params = dict(request.query_params)
        batch_id = _int(params, "batch")
        page = _int(params, "page", 1, high=10_000_000)
        per_page = _int(params, "per_page", 50, high=PER_PAGE_MAX)
        c = batch_links.c
        verdict = effective_verdict()
        site_label = sa.func.max(_standing(site_labels, "site", c.site))
        counts = [
            sa.func.sum(sa.case((verdict == v, 1), else_=0)).label(v)
            for v in ("spam", "review", "good")
        ]
        q = (
            sa.select(
                c.site,
                sa.func.count().label("links"),
                *counts,
                sa.func.sum(sa.case((c.action == "disavow", 1), else_=0)).label("proposed"),
                sa.func.max(c.spam_probability).label("max_p"),
                site_label.label("label"),
            )
            .where(c.batch_id == batch_id)
            .group_by(c.site)
        )
        if params.get("site"):
            q = q.where(c.site.contains(params["site"].strip().lower(), autoescape=True))
        if params.get("unlabelled") in ("1", "true"):
            q = q.having(site_label.is_(None))
        orders = {
            "risk": (sa.desc("proposed"), sa.desc("spam"), sa.desc("links"), c.site),
            "links": (sa.desc("links"), c.site),
            "site": (c.site,),
        }
        if params.get("sort", "risk") not in orders:
            raise BadRequest(f"sort: expected one of {', '.join(orders)}")

        def run() -> dict[str, Any]:
            with self.store.engine.connect() as conn:
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(q.subquery())
                ).scalar_one()
                rows = conn.execute(
                    q.order_by(*orders[params.get("sort", "risk")])
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                ).mappings()
                return {"total": total, "page": page, "rows": [dict(r) for r in rows]}

        return JSONResponse(await asyncio.to_thread(run))

    @_answers
    async def disavow_file(self, request: Request) -> Response:
        """The disavow file for a batch as it stands now: the model's proposals with people's
        labels applied (a domain labelled spam is proposed, one labelled good is not), plus
        the store's deny and allow lists; ``policy`` as ``linksift score``."""
        from serving import disavow

        params = dict(request.query_params)
        batch_id = _int(params, "batch")
        policy = params.get("policy", "cleanup")
        if policy not in disavow.POLICIES:
            raise BadRequest(f"policy: expected one of {', '.join(disavow.POLICIES)}")

        def run() -> str:
            with self.store.engine.connect() as conn:
                name = conn.execute(
                    sa.select(batches.c.name).where(batches.c.id == batch_id)
                ).scalar_one_or_none()
                if name is None:
                    raise BadRequest("batch: no such batch", 404)
                table = reviewed_links(conn, batch_id)
            made = disavow.build(
                disavow.collect([table], policy=policy),
                header=f"review batch {name}, with reviewers' labels",
                policy=policy,
                synthetic=bool(self.model.scorer.artifact.card.get("synthetic")),
                decisions=self.store.decisions(),
            )
            return made.text

        text = await asyncio.to_thread(run)
        return Response(
            text,
            media_type="text/plain; charset=utf-8",
            headers={"content-disposition": "attachment; filename=disavow.txt"},
        )

    @_answers
    async def export(self, request: Request) -> Response:
        """Every standing label as a canonical CSV with ``label`` (spreadsheet-safe)."""
        from training.labels import export_csv

        def run() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "labels.csv"
                export_csv(self.store, path)
                return path.read_bytes()

        blob = await asyncio.to_thread(run)
        return Response(
            blob,
            media_type="text/csv",
            headers={"content-disposition": "attachment; filename=linksift-labels.csv"},
        )

    @_answers
    async def retrain(self, request: Request) -> JSONResponse:
        """POST: train a challenger on the base data plus reviewed labels (202); GET: its state."""
        if request.method == "GET":
            return JSONResponse(self.retrain_state)
        if self.retrain_state.get("state") == "running":
            return JSONResponse(self.retrain_state, status_code=409)
        self.retrain_state = {"state": "running", "started": datetime.now(UTC).isoformat()}
        threading.Thread(target=self._retrain, name="linksift-retrain", daemon=True).start()
        return JSONResponse(self.retrain_state, status_code=202)

    def _retrain(self) -> None:
        """Runs in its own thread: every failure, an import included, ends in the "failed"
        state with its message, so the page never waits for ever (and the next retrain is
        not refused as "running")."""
        try:
            from linksift.settings import Settings
            from training.retrain import retrain

            settings = Settings()
            summary = retrain(
                os.environ.get("LINKSIFT_BASE_DATA") or str(BASE_DATA),
                self.store,
                settings.train,
                settings.thresholds,
                tracking_uri=settings.resolved_tracking_uri(),
                name=settings.model_name,
                experiment=settings.experiment,
            )
            reload = self.current().holder.reload()
            self.retrain_state = {
                "state": "done",
                "message": summary.text(),
                "promoted": summary.logged.promoted,
                "reload": reload,
            }
        except BaseException as exc:  # report any failure on the page instead of losing it
            log.exception("review: retraining failed")
            self.retrain_state = {"state": "failed", "message": f"{exc.__class__.__name__}: {exc}"}


def review_routes(current: Callable[[], Any]) -> list[Route]:
    app = ReviewApp(current)
    return [
        Route("/review", app.page, methods=["GET"]),
        Route("/review/static/{name:path}", app.static, methods=["GET"]),
        Route("/review/login", app.login, methods=["POST"]),
        Route("/review/api/batches", app.list_batches, methods=["GET"]),
        Route("/review/api/batches", app.add_batch, methods=["POST"]),
        Route("/review/api/links", app.links, methods=["GET"]),
        Route("/review/api/links/{batch}/{link_id}", app.link, methods=["GET"]),
        Route("/review/api/links/{batch}/{link_id}/waterfall.png", app.waterfall, methods=["GET"]),
        Route("/review/api/domains", app.domains, methods=["GET"]),
        Route("/review/api/disavow", app.disavow_file, methods=["GET"]),
        Route("/review/api/labels", app.label, methods=["POST"]),
        Route("/review/api/labels/export", app.export, methods=["GET"]),
        Route("/review/api/retrain", app.retrain, methods=["GET", "POST"]),
    ]
