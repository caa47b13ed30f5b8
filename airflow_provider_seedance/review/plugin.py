"""The review view in the Airflow UI: an Airflow plugin with a FastAPI app on the api-server.

Registered through the ``airflow.plugins`` entry point (``SeedanceReviewPlugin``): Airflow 3.3
loads entry-point plugins at start, while a provider's ``plugins`` key in ``get_provider_info``
is skipped under the default ``[core] lazy_discover_providers = True``.

* **FastAPI app** mounted at ``/seedance-review`` (:data:`.links.PLUGIN_PREFIX`):

  - ``GET /runs/{dag_id}/{run_id}`` -- the run's takes: contact sheet pages, every take in a
    ``<video>`` player (poster frame, seed, aspect ratio, tier, prompt, cost estimate, GCS path)
    and which take was published (and by whom);
  - ``GET /runs/{dag_id}/{run_id}/object?uri=gs://...`` -- streams an object (``Range``
    supported: players seek) -- only objects that belong to the run: its review's takes,
    posters and sheets, the published take, or a ``gs://`` result of one of its tasks;
  - ``GET /runs/{dag_id}/{run_id}/watch?uri=gs://...`` -- a player page for one object (the
    transfer's "Archived video" extra link);
  - ``GET /runs/{dag_id}/{run_id}/review.json`` -- the same data as JSON.

  Every route requires an Airflow user allowed to read the DAG's runs (the UI's session cookie
  or a ``Bearer`` token, checked by Airflow's own ``requires_access_dag``). GCS is read with
  :func:`~airflow_provider_seedance.hooks.gcs.make_storage_client` (the transfer's
  credentials); the Seedance platform's API key is never read here.

* **External view** "Takes" on the DAG run page (``destination="dag_run"``), shown in Airflow's
  frame around the page above.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.plugins_manager import AirflowPlugin
from starlette.requests import Request  # noqa: TC002 - FastAPI resolves the handlers' annotations

from airflow_provider_seedance.byte_ranges import plan_range
from airflow_provider_seedance.review.links import PLUGIN_PREFIX as PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI
    from google.cloud import storage

log = logging.getLogger(__name__)


STREAM_CHUNK = 1024 * 1024


def _xcoms(dag_id: str, run_id: str, key: str | None = None) -> list[tuple[str, int, Any]]:
    """``(task_id, map_index, value)`` of the run's XComs (all keys, or ``key``)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
    if key is not None:
        query = query.where(XComModel.key == key)
    with create_session() as session:
        rows = session.scalars(query.order_by(XComModel.timestamp)).all()
        return [(r.task_id, r.map_index, XComModel.deserialize_value(r)) for r in rows]


@lru_cache(maxsize=1)
def _client() -> storage.Client:
    from airflow_provider_seedance.hooks.gcs import make_storage_client

    return make_storage_client()


def run_review(dag_id: str, run_id: str, client: storage.Client | None = None) -> dict[str, Any]:
    """Everything the page shows: ``review.json`` of the run's contact sheet, the published take
    (if any) and the ``gs://`` objects of the run that may be served."""
    from airflow_provider_seedance.review.contact_sheet import read_json

    client = client or _client()
    sheet: Mapping[str, Any] | None = None
    published: Mapping[str, Any] | None = None
    for _, _, value in _xcoms(dag_id, run_id, key="seedance_review"):
        if isinstance(value, Mapping):
            if value.get("stage") == "sheet":
                sheet = value
            elif value.get("stage") == "published":
                published = value
    index: dict[str, Any] = {"takes": [], "sheet_uris": []}
    if sheet is not None:
        try:
            index = read_json(client, str(sheet["index_uri"]))
        except (FileNotFoundError, ValueError) as exc:
            log.warning("review index of %s/%s: %s", dag_id, run_id, exc)
    allowed: set[str] = set(index.get("sheet_uris") or [])
    for take in index.get("takes") or []:
        allowed.update(u for u in (take.get("uri"), take.get("poster_uri")) if u)
    if published:
        allowed.add(str(published.get("uri")))
    for _, _, value in _xcoms(dag_id, run_id, key="return_value"):
        uri = value.get("uri") if isinstance(value, Mapping) else value
        if isinstance(uri, str) and uri.startswith("gs://"):
            allowed.add(uri)
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "index": index,
        "sheet": dict(sheet) if sheet else None,
        "published": dict(published) if published else None,
        "allowed": allowed,
    }


def _iter_object(
    client: storage.Client, uri: str, generation: int | None, start: int, end: int
) -> Iterator[bytes]:
    from airflow_provider_seedance.client.gcs import GCSObject

    obj = GCSObject.from_uri(uri)
    blob = client.bucket(obj.bucket).blob(obj.name, generation=generation)
    pos = start
    while pos <= end:
        stop = min(end, pos + STREAM_CHUNK - 1)
        yield blob.download_as_bytes(start=pos, end=stop, checksum=None)
        pos = stop + 1


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


PAGE_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;padding:16px;background:#f6f7f9;color:#1d2330}
h1{font-size:20px;margin:0 0 4px} .muted{color:#667}
.sheets img{max-width:100%;border:1px solid #ccd;margin:8px 0;background:#181a1f}
.takes{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px;margin-top:12px}
.take{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px}
.take.published{border:3px solid #1a7f37}
.take video{width:100%;max-height:300px;background:#000;border-radius:4px}
.badge{background:#1a7f37;color:#fff;border-radius:4px;padding:2px 6px;font-size:12px}
code{font-size:12px;word-break:break-all}
dl{margin:6px 0;display:grid;grid-template-columns:auto 1fr;gap:2px 8px}
dt{color:#667} dd{margin:0}
"""


def render_page(review: Mapping[str, Any]) -> str:
    """The run's review page (plain HTML, no scripts)."""
    dag_id, run_id = review["dag_id"], review["run_id"]
    base = f"{PREFIX}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"

    def obj(uri: str) -> str:
        return f"{base}/object?{urlencode({'uri': uri})}"

    index = review["index"]
    published = review.get("published") or {}
    takes = index.get("takes") or []
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Takes of {_e(dag_id)} / {_e(run_id)}</title><style>{PAGE_STYLE}</style></head><body>",
        f"<h1>Takes of <code>{_e(dag_id)}</code> / <code>{_e(run_id)}</code></h1>",
    ]
    if not takes:
        parts.append("<p class='muted' id='no-review'>No contact sheet for this run yet.</p>")
    else:
        total = sum(float(t.get("estimated_cost_usd") or 0) for t in takes)
        parts.append(
            f"<p class='muted'>{len(takes)} takes, estimated at most ${total:.2f} in total. "
            + (
                f"Published: <b id='published-choice'>{_e(published.get('choice'))}</b> by "
                f"{_e(published.get('reviewer'))} as <code>{_e(published.get('uri'))}</code>."
                if published
                else "<span id='not-published'>No take published yet.</span>"
            )
            + "</p>"
        )
    sheets = index.get("sheet_uris") or []
    if sheets:
        parts.append("<details class='sheets' open><summary>Contact sheets</summary>")
        for number, uri in enumerate(sheets, 1):
            parts.append(f"<img class='sheet' alt='contact sheet page {number}' src='{_e(obj(uri))}'>")
        parts.append("</details>")
    parts.append("<div class='takes'>")
    for take in takes:
        is_published = published.get("choice") == take.get("label")
        poster = take.get("poster_uri")
        cost = take.get("estimated_cost_usd")
        parts.append(
            f"<div class='take{' published' if is_published else ''}' data-label='{_e(take.get('label'))}'>"
            f"<b>{_e(take.get('label'))}</b> "
            + ("<span class='badge'>published</span>" if is_published else "")
            + f"<video controls preload='metadata' src='{_e(obj(take['uri']))}'"
            + (f" poster='{_e(obj(poster))}'" if poster else "")
            + "></video><dl>"
            f"<dt>seed</dt><dd>{_e(take.get('seed'))}</dd>"
            f"<dt>aspect</dt><dd>{_e(take.get('aspect_ratio'))}</dd>"
            f"<dt>tier</dt><dd>{_e(take.get('tier'))}</dd>"
            f"<dt>cost</dt><dd>{'' if cost is None else f'${float(cost):.2f} (estimate)'}</dd>"
            f"<dt>prompt</dt><dd>{_e(take.get('prompt'))}</dd>"
            f"<dt>GCS</dt><dd><code>{_e(take.get('uri'))}</code></dd></dl></div>"
        )
    parts.append("</div></body></html>")
    return "".join(parts)


def render_watch(uri: str, src: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(uri)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1><code>{_e(uri)}</code></h1>"
        f"<video controls autoplay muted style='max-width:100%;max-height:80vh' src='{_e(src)}'></video>"
        "</body></html>"
    )


def create_app() -> FastAPI:
    """The plugin's FastAPI app (mounted by the api-server at :data:`PREFIX`)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag
    from fastapi import Depends, FastAPI, HTTPException, Query
    from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

    from airflow_provider_seedance.client.gcs import GCSObject, stat_object

    app = FastAPI(title="Seedance take review", docs_url=None, redoc_url=None, openapi_url=None)
    can_read_runs = [Depends(requires_access_dag("GET", DagAccessEntity.RUN))]

    def allowed_object(dag_id: str, run_id: str, uri: str) -> tuple[GCSObject, Any]:
        try:
            obj = GCSObject.from_uri(uri)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        review = run_review(dag_id, run_id)
        if uri not in review["allowed"]:
            raise HTTPException(404, f"{uri} is not an object of {dag_id}/{run_id}")
        info = stat_object(_client(), obj)
        if info is None:
            raise HTTPException(404, f"{uri} does not exist")
        return obj, info

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=can_read_runs)
    def page(dag_id: str, run_id: str) -> HTMLResponse:
        return HTMLResponse(render_page(run_review(dag_id, run_id)))

    @app.get("/runs/{dag_id}/{run_id}/review.json", dependencies=can_read_runs)
    def review_json(dag_id: str, run_id: str) -> JSONResponse:
        review = run_review(dag_id, run_id)
        review["allowed"] = sorted(review["allowed"])
        return JSONResponse(json.loads(json.dumps(review, default=str)))

    @app.get("/runs/{dag_id}/{run_id}/watch", response_class=HTMLResponse, dependencies=can_read_runs)
    def watch(dag_id: str, run_id: str, uri: str = Query(...)) -> HTMLResponse:
        allowed_object(dag_id, run_id, uri)
        run = f"{quote(dag_id, safe='')}/{quote(run_id, safe='')}"
        src = f"{PREFIX}/runs/{run}/object?{urlencode({'uri': uri})}"
        return HTMLResponse(render_watch(uri, src))

    @app.api_route("/runs/{dag_id}/{run_id}/object", methods=["GET", "HEAD"], dependencies=can_read_runs)
    def get_object(request: Request, dag_id: str, run_id: str, uri: str = Query(...)) -> Response:
        _, info = allowed_object(dag_id, run_id, uri)
        plan = plan_range(request.headers.get("range"), info.size)
        if not plan.satisfiable:
            return Response(status_code=416, headers=plan.headers)
        headers = {
            "Content-Type": info.content_type or "application/octet-stream",
            "Cache-Control": "private, max-age=300",
            "ETag": f'"{info.generation}"',
            **plan.headers,
        }
        if request.method == "HEAD" or info.size == 0:
            return Response(status_code=plan.status, headers=headers)
        body = _iter_object(_client(), uri, info.generation, plan.start, plan.end)
        return StreamingResponse(body, status_code=plan.status, headers=headers)

    return app


class _LazyApp:
    """Builds the FastAPI app on first use, so importing the plugin (every Airflow process
    loads plugins) stays cheap; the api-server mounts it as an ASGI app."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = create_app()
        await self._app(scope, receive, send)


class SeedanceReviewPlugin(AirflowPlugin):
    """Take review: the FastAPI app and the "Takes" tab on DAG runs."""

    name = "seedance_review"
    fastapi_apps = [{"app": _LazyApp(), "url_prefix": PREFIX, "name": "Seedance take review"}]
    external_views = [
        {
            "name": "Takes",
            "href": f"{PREFIX.lstrip('/')}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "seedance-takes",
            "category": "Seedance",
        }
    ]
