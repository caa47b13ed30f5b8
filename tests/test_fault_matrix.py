"""The fault matrix of issue 10: fault x phase x platform -> recovered / clean failure, 0 duplicates,
0 lost jobs, 0 partial objects.

Every cell runs the provider's real code paths over HTTP: the generation operator in sync mode
(submit, poll, result through the hook and the client) against the Seedance emulator, then the
transfer (download, verified upload) against the strict GCS emulator. One fault is injected when
its phase starts. Each "try" is a fresh operator instance sharing the task instance's state store,
and a task is retried (up to ``TRIES`` tries) as Airflow would: on any exception except
``AirflowFailException``.

Per cell:

* outcome: ``recovered`` (the video is archived) or ``clean failure`` (the last try raised one of
  the package's errors or an Airflow exception with a message); anything else fails the cell;
* duplicates: jobs the emulator created for the task beyond the first;
* lost: jobs the emulator created that the task neither records in its state store nor reports
  as unknown (state ``submitting`` / ``ambiguous``);
* partial: GCS objects whose bytes are not exactly the job's video.

The matrix is written as Markdown to ``<pytest basetemp>/fault-matrix.md`` and printed at the end
(see it with ``-s``). ``docs/fault-matrix.md`` is a committed copy; regenerate it with::

    SEEDANCE_FAULT_MATRIX_OUT=docs/fault-matrix.md ./scripts/run_pytest.sh tests/test_fault_matrix.py -q -s
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_seedance.client.errors import SeedanceError
from airflow_provider_seedance.emulator.gcs import GCSEmulator
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.operators.seedance import STATE_KEY, SeedanceReferenceToVideoOperator
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator
from tests.operators.conftest import FakeTaskStateStore, FakeTI
from tests.operators.test_seedance_operator import INPUTS
from tests.support.retry import NO_WAIT

PLATFORMS = ("fal", "oxen", "aihubmax", "byteplus")
ROUTES = {"fal": "fal", "oxen": "oxen", "aihubmax": "aihubmax", "byteplus": "ark"}
PHASES = ("submit", "poll", "result", "download", "upload")
FAULTS = ("429", "5xx", "timeout", "drop", "truncated", "expired link", "garbage body")
#: Seconds for one HTTP request (the connection's ``timeout`` extra, the transfer's GCS timeout).
TIMEOUT = 0.4
#: Tries of each task, as with ``retries=2``.
TRIES = 3

#: The emulator's fault for each fault name (Seedance routes: submit, poll, result, download).
SEEDANCE_FAULTS: dict[str, dict[str, Any]] = {
    "429": {"kind": "status", "status": 429, "retry_after": 0},
    "5xx": {"kind": "status", "status": 503},
    "timeout": {"kind": "delay", "delay": 3 * TIMEOUT},
    "drop": {"kind": "drop"},
    "truncated": {"kind": "truncate"},
    "garbage body": {"kind": "garbage"},
}
#: The strict GCS emulator's fault for each fault name (upload phase); others do not apply.
GCS_FAULTS = {
    "429": "upload_429",
    "5xx": "upload_503",
    "timeout": "upload_delay",
    "garbage body": "corrupt_upload",
}

#: Cells that show a defect of another section: they must fail until it is fixed (strict xfail).
KNOWN_DEFECTS: dict[tuple[str, str], str] = {
    # A 2xx submit answer the client cannot parse: the client says a job may exist, but the
    # operator clears its state, so the retry submits a second job (the first one is lost).
    ("garbage body", "submit"): "defect 2, fixed in the money section",
}


def applies(fault: str, phase: str) -> bool:
    if fault == "expired link":
        return phase == "download"
    if phase == "upload":
        return fault in GCS_FAULTS
    return True


@dataclasses.dataclass
class Cell:
    outcome: str
    detail: str
    duplicates: int
    lost: int
    partial: int

    def render(self) -> str:
        counts = f"{self.duplicates}/{self.lost}/{self.partial}"
        return f"{self.outcome} ({self.detail}) {counts}" if self.detail else f"{self.outcome} {counts}"


RESULTS: dict[tuple[str, str, str], Cell] = {}


@pytest.fixture(scope="module", autouse=True)
def matrix_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the module: write the matrix as Markdown (basetemp, and $SEEDANCE_FAULT_MATRIX_OUT)."""
    yield
    if not RESULTS:
        return
    text = render_matrix(RESULTS)
    path = tmp_path_factory.getbasetemp() / "fault-matrix.md"
    path.write_text(text)
    out = os.environ.get("SEEDANCE_FAULT_MATRIX_OUT")
    if out:
        Path(out).write_text(text)
    print(f"\n{text}\nFault matrix written to {path}")


def render_matrix(results: dict[tuple[str, str, str], Cell]) -> str:
    lines = [
        "# Fault matrix",
        "",
        "Generated by `tests/test_fault_matrix.py` (issue 10). Each cell: outcome, then",
        "duplicates / lost jobs / partial GCS objects. `n/a`: the fault does not exist in that phase.",
        "Regenerate: `SEEDANCE_FAULT_MATRIX_OUT=docs/fault-matrix.md ./scripts/run_pytest.sh "
        "tests/test_fault_matrix.py -q -s`.",
        "",
        "Faults are injected once, when their phase starts: on the Seedance emulator (status 429 /",
        f"503, a {3 * TIMEOUT:.1f} s delay past a {TIMEOUT} s timeout, a dropped connection, a",
        "truncated body, a 2xx body that is neither JSON nor a video, media URLs past their 24 h",
        "lifetime) and, for the upload, on the strict GCS emulator (429 / 503 on a resumable chunk, a",
        "1 s delay, a corrupted finalize as the 'garbage body'); a dropped or truncated GCS connection",
        "cannot be injected there (n/a). A task is retried as with `retries=2`. 'clean failure' names",
        "the last error (AirflowFailException: the task says the submit's outcome is unknown and",
        "refuses to pay twice). Cells marked xfail show a defect fixed in another section.",
        "",
        "| fault | phase | " + " | ".join(PLATFORMS) + " |",
        "|---|---|" + "---|" * len(PLATFORMS),
    ]
    for fault in FAULTS:
        for phase in PHASES:
            row = []
            for platform in PLATFORMS:
                cell = results.get((fault, phase, platform))
                if cell is None:
                    row.append("n/a" if not applies(fault, phase) else "not run")
                else:
                    mark = (
                        f" **xfail: {KNOWN_DEFECTS[(fault, phase)]}**"
                        if (fault, phase) in KNOWN_DEFECTS
                        else ""
                    )
                    row.append(cell.render() + mark)
            lines.append(f"| {fault} | {phase} | " + " | ".join(row) + " |")
    totals = [sum(getattr(c, k) for c in results.values()) for k in ("duplicates", "lost", "partial")]
    lines += [
        "",
        f"Cells run: {len(results)}. Totals: {totals[0]} duplicates, {totals[1]} lost jobs, "
        f"{totals[2]} partial objects.",
        "",
    ]
    return "\n".join(lines)


def cells() -> Iterator[Any]:
    for fault in FAULTS:
        for phase in PHASES:
            if not applies(fault, phase):
                continue
            for platform in PLATFORMS:
                marks = []
                if (fault, phase) in KNOWN_DEFECTS:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[(fault, phase)]))
                yield pytest.param(fault, phase, platform, id=f"{fault}-{phase}-{platform}", marks=marks)


# -- running one cell ----------------------------------------------------------------------------


def run_task(make: Callable[[], Any], context: dict[str, Any]) -> tuple[Any, BaseException | None]:
    """Run a task up to TRIES times as Airflow would; ``(result, None)`` or ``(None, last error)``."""
    error: BaseException | None = None
    for _ in range(TRIES):
        try:
            return make().execute(context), None
        except AirflowFailException as exc:
            return None, exc
        except Exception as exc:  # Airflow retries everything else
            error = exc
    return None, error


class Injector:
    """Arms one fault when its phase starts (the first call of that phase)."""

    def __init__(
        self, emulator: EmulatorHandle, gcs: GCSEmulator, fault: str, phase: str, platform: str
    ) -> None:
        self.emulator, self.gcs = emulator, gcs
        self.fault, self.phase, self.route = fault, phase, ROUTES[platform]
        self.armed = False

    def arm(self, phase: str) -> None:
        if self.armed or phase != self.phase:
            return
        self.armed = True
        if phase == "upload":
            self.gcs.add_fault(GCS_FAULTS[self.fault])
            return
        if self.fault == "expired link":
            self.emulator.advance(25 * 3600)  # the media URLs expire after 24 h
            return
        route = {
            "submit": f"{self.route}.submit",
            "poll": f"{self.route}.status",
            "result": "fal.result" if self.route == "fal" else f"{self.route}.status",
            "download": "media",
        }[phase]
        spec = dict(SEEDANCE_FAULTS[self.fault])
        self.emulator.add_fault(route, spec.pop("kind"), **spec)


@pytest.fixture
def matrix_env(
    seedance_emulator: EmulatorHandle, gcs_emulator: GCSEmulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[EmulatorHandle, GCSEmulator, pytest.MonkeyPatch]:
    seedance_emulator.configure(queue_seconds=0, run_seconds=0)
    gcs_emulator.clear_faults()
    return seedance_emulator, gcs_emulator, monkeypatch


def count_partial(emulator: EmulatorHandle, gcs: GCSEmulator, bucket: str) -> int:
    client = gcs.client()
    partial = 0
    for blob in client.list_blobs(bucket):
        request_id = (blob.metadata or {}).get("seedance-request-id")
        try:
            expected = emulator.video_bytes(request_id) if request_id else None
        except Exception:
            expected = None
        if expected is None or blob.download_as_bytes() != expected:
            partial += 1
    return partial


def observe(
    fault: str, phase: str, platform: str, env: tuple[EmulatorHandle, GCSEmulator, pytest.MonkeyPatch]
) -> Cell:
    emulator, gcs, monkeypatch = env
    conn = emulator.connection_dict(platform)
    conn["extra"]["timeout"] = TIMEOUT
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))
    bucket = gcs.create_bucket()
    injector = Injector(emulator, gcs, fault, phase, platform)

    real_submit, real_status, real_result = (
        SeedanceHook.submit,
        SeedanceHook.get_status,
        SeedanceHook.get_result,
    )

    def submit(self: SeedanceHook, request: Any) -> Any:
        injector.arm("submit")
        return real_submit(self, request)

    def get_status(self: SeedanceHook, ref: Any) -> Any:
        injector.arm("poll")
        return real_status(self, ref)

    def get_result(self: SeedanceHook, ref: Any) -> Any:
        injector.arm("result")
        return real_result(self, ref)

    monkeypatch.setattr(SeedanceHook, "submit", submit)
    monkeypatch.setattr(SeedanceHook, "get_status", get_status)
    monkeypatch.setattr(SeedanceHook, "get_result", get_result)

    store = FakeTaskStateStore()
    context: dict[str, Any] = {"ti": FakeTI(), "task_state_store": store}

    def make_clip() -> SeedanceReferenceToVideoOperator:
        op = SeedanceReferenceToVideoOperator(
            task_id="clip", deferrable=False, poll_interval=0.01, timeout=20, **INPUTS
        )
        op.hook.retry_policy = NO_WAIT
        return op

    output, error = run_task(make_clip, context)
    archived = None
    if error is None:
        archive_context = {
            "ti": types.SimpleNamespace(dag_id="matrix", task_id="archive", run_id="r", map_index=-1),
            "task_state_store": FakeTaskStateStore(),
        }
        injector.arm("download") if phase == "download" else None

        def make_archive() -> SeedanceToGCSOperator:
            op = SeedanceToGCSOperator(
                task_id="archive",
                video=output,
                bucket_name=bucket,
                object_name=f"matrix/{platform}.mp4",
                chunk_size=256 * 1024,
                download_retry_delay=0.0,
                gcs_timeout=TIMEOUT,
            )
            op.hook.retry_policy = NO_WAIT
            op.hook.timeout = TIMEOUT  # the download's timeout (defect 11 makes the extra apply too)
            injector.arm("upload") if phase == "upload" else None
            return op

        archived, error = run_task(make_archive, archive_context)

    jobs = emulator.jobs()
    state = store.data.get(STATE_KEY) or {}
    recorded = (state.get("job") or {}).get("request_id")
    unknown = state.get("phase") in ("submitting", "ambiguous") and recorded is None
    lost = 0 if unknown else sum(1 for job in jobs if job["request_id"] != recorded)
    duplicates = max(0, len(jobs) - 1)
    partial = count_partial(emulator, gcs, bucket)
    if error is None and archived == f"gs://{bucket}/matrix/{platform}.mp4":
        return Cell("recovered", "", duplicates, lost, partial)
    if isinstance(error, SeedanceError | AirflowException) and str(error).strip():
        return Cell("clean failure", type(error).__name__, duplicates, lost, partial)
    return Cell("crash", f"{type(error).__name__}: {error}", duplicates, lost, partial)


@pytest.mark.parametrize(("fault", "phase", "platform"), list(cells()))
def test_fault_matrix_cell(
    fault: str, phase: str, platform: str, matrix_env: tuple[EmulatorHandle, GCSEmulator, pytest.MonkeyPatch]
) -> None:
    started = time.monotonic()
    cell = observe(fault, phase, platform, matrix_env)
    RESULTS[(fault, phase, platform)] = cell
    assert cell.outcome in ("recovered", "clean failure"), cell
    assert (cell.duplicates, cell.lost, cell.partial) == (0, 0, 0), cell
    assert time.monotonic() - started < 15, "a cell must take seconds, not minutes"
