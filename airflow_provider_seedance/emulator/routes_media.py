"""The ``media`` route handler: ``GET/HEAD /_media/{request_id}.mp4?expires=…&sig=…`` streams a
finished job's MP4 (Range supported) and answers storage-style XML errors for bad links."""

from __future__ import annotations

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import Response, StreamingResponse

from airflow_provider_seedance.byte_ranges import plan_range
from airflow_provider_seedance.emulator import media
from airflow_provider_seedance.emulator.routes import MEDIA, Handlers
from airflow_provider_seedance.emulator.state import Phase, get_state


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


async def get_media(request: Request, request_id: str) -> Response:
    state = get_state(request)
    try:
        expires = int(request.query_params.get("expires", ""))
    except ValueError:
        return _xml_error(403, "AccessDenied", "Missing or malformed expires parameter.")
    if not media.check_signature(request_id, expires, request.query_params.get("sig", "")):
        return _xml_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if state.clock.wall() > expires:
        return _xml_error(403, "ExpiredToken", f"Request signature expired at: {expires}")
    job = state.jobs.get(request_id)
    if job is None or job.phase(state.now()) != Phase.SUCCEEDED:
        return _xml_error(404, "NoSuchKey", "The specified key does not exist.")
    layout = media.video_layout(job.request_id, job.seed, job.video_size)
    size = layout.size
    plan = plan_range(request.headers.get("range"), size)
    if not plan.satisfiable:
        return Response(status_code=416, headers=plan.headers)
    headers = {
        "Content-Type": media.CONTENT_TYPE,
        "Content-Disposition": f'inline; filename="{request_id}.mp4"',
        "ETag": f'"{request_id}-{job.seed}-{size}"',
        "Cache-Control": "private, max-age=0",
        **plan.headers,
    }
    if request.method == "HEAD":
        return Response(status_code=plan.status, headers=headers)
    return StreamingResponse(
        layout.aiter_bytes(plan.start, plan.end), status_code=plan.status, headers=headers
    )


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {MEDIA: get_media}
