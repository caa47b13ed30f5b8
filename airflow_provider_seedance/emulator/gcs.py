"""A strict local Google Cloud Storage emulator (server, handle, start/stop), for demos and tests.

It is `gcp-storage-emulator <https://pypi.org/project/gcp-storage-emulator/>`_ (pure Python,
in memory) with a thin layer that closes the gaps measured in
``reference/airflow-on-this-machine.md`` section 3:

* ``ifGenerationMatch`` / ``ifGenerationNotMatch`` (and ``ifSourceGenerationMatch`` on server-side
  copies: ``copyTo``, ``rewriteTo``, whose body ``metadata`` is applied) are enforced (HTTP 412)
  on media, multipart
  and resumable uploads -- for resumable uploads both when the session is opened **and again at
  finalize**, so a session opened with ``ifGenerationMatch=0`` cannot overwrite an object that
  somebody else created meanwhile.
* Custom metadata values that are not Latin-1 (a prompt in Chinese) no longer crash downloads.
* Test controls under ``/_strict/``: ``POST /_strict/faults`` ``{"kind": "corrupt_upload",
  "times": 1}`` flips one byte of the next finalized upload (the server then reports a checksum
  of the corrupted bytes, as a faulty network path would); kinds ``upload_429`` /
  ``upload_503`` answer that status to the next resumable chunk (not stored), ``upload_delay``
  holds the next chunk 1 s before storing it; ``GET /_strict/stats`` counts upload
  sessions and written objects; ``DELETE /_strict/faults`` clears faults.

**Needs** the ``test`` extra: the server needs ``gcp-storage-emulator``, :meth:`GCSEmulator.client`
needs ``google-cloud-storage``. Both are imported inside the functions that use them, so this
module imports without them (standard library and httpx only).

Run it (loopback only)::

    python -m airflow_provider_seedance.emulator.gcs --port 9023
    STORAGE_EMULATOR_HOST=http://127.0.0.1:9023 python my_script.py

The server runs in its own process (:func:`start_emulator` starts it with ``--port 0`` and reads
the ``READY <url>`` line), so what it stores never counts against the caller's memory. The pytest
fixtures ``gcs_emulator`` and ``gcs_bucket`` are in :mod:`.gcs_pytest_plugin`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

if TYPE_CHECKING:
    from google.cloud import storage

DEFAULT_PROJECT = "seedance-local"
_READY_PREFIX = "READY "
_START_TIMEOUT = 30.0


# --------------------------------------------------------------------------------------------
# The server side (runs in the emulator process; imports gcp_storage_emulator lazily)
# --------------------------------------------------------------------------------------------


@dataclass
class _StrictState:
    """Mutable state of the strict layer, shared by the patched handlers."""

    #: upload_id -> (bucket, object, {"ifGenerationMatch": "0", ...}) remembered at session start.
    sessions: dict[str, tuple[str, str, dict[str, str]]] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "resumable_sessions": 0,
            "objects_written": 0,
            "precondition_failures": 0,
            "corrupted_uploads": 0,
        }
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, kind: str) -> bool:
        with self.lock:
            left = self.faults.get(kind, 0)
            if left <= 0:
                return False
            self.faults[kind] = left - 1
            return True


_PRECONDITION_KEYS = ("ifGenerationMatch", "ifGenerationNotMatch")


def _preconditions(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: query[k][0] for k in _PRECONDITION_KEYS if query.get(k)}


def _precondition_problem(storage: Any, bucket: str, name: str, conds: dict[str, str]) -> str | None:
    """Return why ``conds`` fail against the live object ``bucket/name``, or None if they hold.

    An existing object whose generation is missing still counts as existing.
    """
    if not conds:
        return None
    from gcp_storage_emulator.exceptions import NotFound

    try:
        current = storage.get_file_obj(bucket, name)
    except NotFound:
        current = None
    generation = "0" if current is None else str(current.get("generation") or "-1")
    exists = current is not None
    match = conds.get("ifGenerationMatch")
    if match is not None:
        if match == "0" and exists:
            return f"ifGenerationMatch=0 but {bucket}/{name} exists (generation {generation})"
        if match != "0" and generation != match:
            return f"ifGenerationMatch={match} but the live generation is {generation}"
    not_match = conds.get("ifGenerationNotMatch")
    if not_match is not None:
        if not_match == "0" and not exists:
            return f"ifGenerationNotMatch=0 but {bucket}/{name} does not exist"
        if not_match != "0" and generation == not_match:
            return f"ifGenerationNotMatch={not_match} and the live generation is {generation}"
    return None


def _fail_412(request: Any, response: Any, message: str) -> None:
    """Answer 412 -- after reading the request body.

    Closing a socket with unread request bytes makes the kernel send a TCP reset, which can
    destroy the 412 before the client reads it; the client then sees a connection error and
    retries for up to two minutes.
    """
    from http import HTTPStatus

    if request is not None:
        with contextlib.suppress(Exception):
            _ = request.data

    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json(
        {
            "error": {
                "code": 412,
                "message": message,
                "errors": [{"domain": "global", "reason": "conditionNotMet", "message": message}],
            }
        }
    )


#: GCS refuses V4 signed URLs valid for longer than seven days.
MAX_SIGNED_SECONDS = 7 * 24 * 3600
_HASH_HEADER = "X-Goog-Hash"


def _write_error(
    response: Any, status: int, code: str, message: str, *, xml: bool, details: str = ""
) -> None:
    """An error in the XML API's shape (``<Error><Code>…``) or the JSON API's (``{"error": …}``)."""
    from http import HTTPStatus
    from xml.sax.saxutils import escape

    response.status = HTTPStatus(status)
    if xml:
        extra = f"<Details>{escape(details)}</Details>" if details else ""
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}</Error>"
        )
        response.write_file(body.encode(), content_type="application/xml; charset=UTF-8")
    else:
        text = f"{message} {details}".strip()
        response.json(
            {
                "error": {
                    "code": status,
                    "message": text,
                    "errors": [{"domain": "global", "reason": code, "message": text}],
                }
            }
        )


def signed_url_problem(query: dict[str, list[str]], now: float | None = None) -> tuple[str, str, str] | None:
    """``(code, message, details)`` why a V4 signed URL's query may not be used now, or None.

    Only the validity window is checked (``X-Goog-Date`` + ``X-Goog-Expires``, at most seven
    days); **the signature is not verified** (the emulator has no key to verify it with). A query
    without ``X-Goog-Date`` / ``X-Goog-Expires`` is not a signed URL and passes.
    """
    import calendar

    date = next(iter(query.get("X-Goog-Date") or ()), None)
    expires = next(iter(query.get("X-Goog-Expires") or ()), None)
    if date is None and expires is None:
        return None
    try:
        signed_at = calendar.timegm(time.strptime(str(date), "%Y%m%dT%H%M%SZ"))
        lifetime = int(str(expires))
    except (TypeError, ValueError):
        return ("InvalidArgument", "Invalid argument.", "X-Goog-Date and X-Goog-Expires must both be valid.")
    if not 1 <= lifetime <= MAX_SIGNED_SECONDS:
        return (
            "InvalidArgument",
            "Invalid argument.",
            f"Max allowed expiration interval is seven days {MAX_SIGNED_SECONDS}",
        )
    now = time.time() if now is None else now
    if now > signed_at + lifetime:
        expired_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(signed_at + lifetime))
        return (
            "ExpiredToken",
            "Invalid argument.",
            f"The provided token has expired. Request signature expired at: {expired_at}",
        )
    return None


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` a ``Range`` header asks of ``size`` bytes, or None to
    serve everything (no header, a malformed or a multi-range header, like GCS);
    ``ValueError`` when the range cannot be satisfied (answer 416)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if (
        not dash
        or not (first.isdigit() or last.isdigit())
        or (first and not first.isdigit())
        or (last and not last.isdigit())
    ):
        return None
    if not first:  # bytes=-N: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise ValueError("unsatisfiable suffix range")
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise ValueError("range starts past the end")
    return start, end


def serve_object(request: Any, response: Any, storage: Any, *, xml: bool) -> None:
    """An object's media (GET/HEAD) like GCS: signed-URL expiry (XML API), ``Range`` with 206 /
    416, hashes of the whole object, custom metadata as ``x-goog-meta-*``."""
    from http import HTTPStatus

    from gcp_storage_emulator.exceptions import NotFound

    if xml and (problem := signed_url_problem(request.query)) is not None:
        code, message, details = problem
        return _write_error(response, 400, code, message, xml=True, details=details)
    bucket, name = request.params["bucket_name"], request.params["object_id"]
    try:
        data = storage.get_file(bucket, name)
        obj = storage.get_file_obj(bucket, name)
    except NotFound:
        if xml:
            return _write_error(
                response,
                404,
                "NoSuchKey",
                "The specified key does not exist.",
                xml=True,
                details=f"No such object: {bucket}/{name}",
            )
        return _write_error(response, 404, "notFound", f"No such object: {bucket}/{name}", xml=False)
    size = len(data)
    response["Accept-Ranges"] = "bytes"
    response[_HASH_HEADER] = "crc32c={},md5={}".format(obj["crc32c"], obj["md5Hash"])
    response["X-Goog-Stored-Content-Length"] = str(size)
    if obj.get("generation") is not None:
        response["X-Goog-Generation"] = str(obj["generation"])
    try:
        wanted = parse_range(request.get_header("range"), size)
    except ValueError:
        response["Content-Range"] = f"bytes */{size}"
        return _write_error(
            response, 416, "InvalidRange", "The requested range cannot be satisfied.", xml=xml,
            details=str(request.get_header("range")),
        )  # fmt: skip
    if wanted is not None:
        start, end = wanted
        data = data[start : end + 1]
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.status = HTTPStatus.PARTIAL_CONTENT
    if "response-content-disposition" in request.query:
        response["Content-Disposition"] = request.query["response-content-disposition"][0]
    custom_metadata = obj.get("metadata") or {}
    if isinstance(custom_metadata, dict):
        for key, value in custom_metadata.items():
            if value is not None:
                response[f"x-goog-meta-{key}"] = str(value)
    response.write_file(data, content_type=obj.get("contentType"))
    return None


def install_head(server: Any) -> None:
    """``HEAD`` on every GET route: the GET's status and headers, no body."""
    handler_cls = server.RequestHandler
    if getattr(handler_cls, "_seedance_head", None) is not None:
        return
    handler_cls._seedance_head = False

    def do_head(self: Any) -> None:
        self._seedance_head = True
        try:
            server.Router(self).handle(server.GET)
        finally:
            self._seedance_head = False

    def close(self: Any) -> None:
        content = self._content.encode("utf-8") if isinstance(self._content, str) else self._content
        self._handler.send_response(self.status.value, self.status.phrase)
        for k, v in self._headers.items():
            self._handler.send_header(k, v)
        self._handler.send_header("Content-Length", str(len(content)))
        self._handler.end_headers()
        if not getattr(self._handler, "_seedance_head", False):
            self._handler.wfile.write(content)

    handler_cls.do_HEAD = do_head
    server.Response.close = close


def install_strict_layer(state: _StrictState) -> None:
    """Patch gcp-storage-emulator's handlers in this process to behave like strict GCS."""
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    orig_create_resumable = objects._create_resumable_upload
    orig_finalize = objects._finalize_resumable_object

    def checked(upload: Any, name_of: Any) -> Any:
        """``upload`` (a one-request upload handler) behind the preconditions of its query."""

        def handler(request: Any, response: Any, storage: Any) -> Any:
            conds = _preconditions(request.query)
            problem = _precondition_problem(storage, request.params["bucket_name"], name_of(request), conds)
            if problem:
                state.stats["precondition_failures"] += 1
                return _fail_412(request, response, problem)
            state.stats["objects_written"] += 1
            return upload(request, response, storage)

        return handler

    def query_name(request: Any) -> Any:
        return request.query["name"][0]

    def multipart_name(request: Any) -> Any:
        return request.query["name"][0] if "name" in request.query else request.data["meta"].get("name")

    def create_resumable_upload(request: Any, response: Any, storage: Any) -> Any:
        if "upload_id" in request.query:
            return orig_create_resumable(request, response, storage)
        name: Any = request.query["name"][0] if "name" in request.query else (request.data or {}).get("name")
        bucket = request.params["bucket_name"]
        conds = _preconditions(request.query)
        problem = _precondition_problem(storage, bucket, name, conds)
        if problem:
            state.stats["precondition_failures"] += 1
            return _fail_412(request, response, problem)
        result = orig_create_resumable(request, response, storage)
        location = response._headers.get("Location")
        if location:
            upload_id = parse_qs(urlsplit(location).query).get("upload_id", [""])[0]
            state.sessions[upload_id] = (bucket, name, conds)
            state.stats["resumable_sessions"] += 1
        return result

    def finalize_resumable_object(response: Any, storage: Any, obj: Any, data: bytes, upload_id: str) -> Any:
        bucket, name, conds = state.sessions.get(upload_id, (obj["bucket"], obj["name"], {}))
        problem = _precondition_problem(storage, bucket, name, conds)
        if problem:
            state.stats["precondition_failures"] += 1
            state.sessions.pop(upload_id, None)
            storage.delete_resumable_file_obj(upload_id)
            return _fail_412(None, response, problem)  # the chunk's body was read already
        if data and state.take_fault("corrupt_upload"):
            state.stats["corrupted_uploads"] += 1
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        state.sessions.pop(upload_id, None)
        state.stats["objects_written"] += 1
        return orig_finalize(response, storage, obj, data, upload_id)

    orig_chunk = objects._handle_resumable_chunk

    def handle_resumable_chunk(response: Any, storage: Any, upload_id: str, chunk: bytes, parsed: Any) -> Any:
        for code in (429, 503):
            if state.take_fault(f"upload_{code}"):
                from http import HTTPStatus

                state.stats["failed_chunks"] = state.stats.get("failed_chunks", 0) + 1
                response.status = HTTPStatus(code)
                response.json({"error": {"code": code, "message": f"injected upload_{code}"}})
                return None  # the chunk is not stored; the client must re-send it
        if state.take_fault("upload_delay"):
            time.sleep(1.0)  # longer than the client's timeout in the fault matrix
        return orig_chunk(response, storage, upload_id, chunk, parsed)

    objects._handle_resumable_chunk = handle_resumable_chunk

    def server_side_copy(original: Any, *, body_metadata: bool) -> Any:
        """``copyTo`` / ``rewriteTo`` behind the destination's preconditions and
        ``ifSourceGenerationMatch``; rewrite also applies the request body's ``metadata``."""

        def handler(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
            from gcp_storage_emulator.exceptions import NotFound

            dest_bucket, dest_name = request.params["dest_bucket_name"], request.params["dest_object_id"]
            problem = _precondition_problem(storage, dest_bucket, dest_name, _preconditions(request.query))
            source_match = (request.query.get("ifSourceGenerationMatch") or [None])[0]
            if problem is None and source_match is not None:
                try:
                    source = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
                except NotFound:
                    source = None
                live = "0" if source is None else str(source.get("generation"))
                if live != source_match:
                    problem = f"ifSourceGenerationMatch={source_match} but the source generation is {live}"
            if problem:
                state.stats["precondition_failures"] += 1
                return _fail_412(request, response, problem)
            body = request.data if body_metadata and isinstance(request.data, dict) else {}
            result = original(request, response, storage, *args, **kwargs)
            if body.get("metadata"):
                with contextlib.suppress(NotFound):
                    objects._patch(storage, dest_bucket, dest_name, {"metadata": body["metadata"]})
            state.stats["objects_written"] += 1
            return result

        return handler

    for _, handlers in server.HANDLERS:
        post = handlers.get("POST") if isinstance(handlers, dict) else None
        if post is objects.copy:
            handlers["POST"] = server_side_copy(objects.copy, body_metadata=False)
        elif post is objects.rewrite:
            handlers["POST"] = server_side_copy(objects.rewrite, body_metadata=True)

    objects._media_upload = checked(objects._media_upload, query_name)
    objects._multipart_upload = checked(objects._multipart_upload, multipart_name)
    objects._create_resumable_upload = create_resumable_upload
    objects._finalize_resumable_object = finalize_resumable_object

    # Custom metadata comes back as x-goog-meta-* headers; http.server only sends Latin-1.
    orig_setitem = server.Response.__setitem__

    def setitem(self: Any, key: str, value: Any) -> None:
        text = str(value)
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            text = quote(text, safe="")
        orig_setitem(self, key, text)

    server.Response.__setitem__ = setitem

    def faults_handler(request: Any, response: Any, storage: Any) -> None:
        if request.method == "DELETE":
            with state.lock:
                state.faults.clear()
        else:
            body = request.data or {}
            with state.lock:
                state.faults[str(body["kind"])] = state.faults.get(str(body["kind"]), 0) + int(
                    body.get("times", 1)
                )
        response.json(dict(state.faults))

    def stats_handler(request: Any, response: Any, storage: Any) -> None:
        response.json(dict(state.stats))

    orig_download = objects.download

    def json_download(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
        serve_object(request, response, storage, xml=False)

    def xml_download(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
        serve_object(request, response, storage, xml=True)

    objects.download = json_download  # objects.get(alt=media) calls it by name

    def rebound(handlers: dict[str, Any], regex: str) -> dict[str, Any]:
        xml = regex.startswith(r"^/(?P<bucket_name>")  # the XML API's /{bucket}/{object}
        return {
            m: ((xml_download if xml else json_download) if h is orig_download else h)
            for m, h in handlers.items()
        }

    server.HANDLERS = (
        (r"^/_strict/faults$", {"POST": faults_handler, "DELETE": faults_handler}),
        (r"^/_strict/stats$", {"GET": stats_handler}),
        *((regex, rebound(handlers, regex)) for regex, handlers in server.HANDLERS),
    )
    install_head(server)


def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    """Run the strict emulator in this process until SIGTERM/SIGINT; print ``READY <url>``."""
    import logging

    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    logging.getLogger("api.object").setLevel(logging.ERROR)
    logging.getLogger("api.bucket").setLevel(logging.ERROR)
    logging.basicConfig(level=logging.ERROR)

    install_strict_layer(_StrictState())
    srv = create_server(host, port, in_memory=True)
    srv.start()
    bound_port = srv._api._httpd.server_address[1]
    print(f"{_READY_PREFIX}http://{host}:{bound_port}", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        stop.wait()
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Strict local GCS emulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9023, help="port; 0 picks a free one (default 9023)")
    args = parser.parse_args(argv)
    serve(args.host, args.port)


# --------------------------------------------------------------------------------------------
# The client side: a handle, start and stop (runs in the caller's process)
# --------------------------------------------------------------------------------------------


@dataclass
class GCSEmulator:
    """A running strict emulator, seen from the test process."""

    url: str
    project: str = DEFAULT_PROJECT
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def client(self) -> storage.Client:
        """A google-cloud-storage client bound to this emulator with anonymous credentials."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket with a plain HTTP call (fast, no client retries); return its name."""
        name = name or f"test-{uuid.uuid4().hex[:12]}"
        resp = httpx.post(
            f"{self.url}/storage/v1/b", params={"project": self.project}, json={"name": name}, timeout=10
        )
        resp.raise_for_status()
        return name

    def add_fault(self, kind: str, *, times: int = 1) -> None:
        """Arm a fault: ``corrupt_upload`` flips a byte of the next finalized upload(s);
        ``upload_429`` / ``upload_503`` fail the next resumable chunk(s); ``upload_delay`` holds one 1 s."""
        httpx.post(
            f"{self.url}/_strict/faults", json={"kind": kind, "times": times}, timeout=10
        ).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/_strict/faults", timeout=10).raise_for_status()

    def stats(self) -> dict[str, int]:
        """Counters: ``resumable_sessions``, ``objects_written``, ``precondition_failures``, ..."""
        resp = httpx.get(f"{self.url}/_strict/stats", timeout=10)
        resp.raise_for_status()
        data: dict[str, int] = resp.json()
        return data


def _wait_healthy(url: str, proc: subprocess.Popen[str] | None, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"GCS emulator exited with code {proc.returncode}")
        try:
            if httpx.get(f"{url}/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError as exc:  # pragma: no cover - timing dependent
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"GCS emulator at {url} not healthy in time: {last!r}")


def start_emulator(*, timeout: float = _START_TIMEOUT) -> GCSEmulator:
    """Start the strict emulator in a subprocess on a free loopback port; fail fast if it can't."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_seedance.emulator.gcs", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    url: list[str] = []

    def _read_ready() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_READY_PREFIX):
                url.append(line[len(_READY_PREFIX) :].strip())
                return

    reader = threading.Thread(target=_read_ready, daemon=True)
    reader.start()
    reader.join(timeout)
    if not url:
        stop_emulator(proc)
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"GCS emulator did not start within {timeout:.0f}s: {err[-2000:]}")
    _wait_healthy(url[0], proc, deadline)
    return GCSEmulator(url=url[0], process=proc)


def stop_emulator(proc: subprocess.Popen[str]) -> None:
    """Stop the emulator process we started (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


__all__ = ["GCSEmulator", "main", "serve", "start_emulator", "stop_emulator"]

if __name__ == "__main__":
    main()
