"""How a demo runs, shared by ``scripts/demo.py`` and ``scripts/demo_grid.py``: its messages,
the stack's lifecycle around the demo's steps (SIGTERM as Ctrl-C, errors reported, everything
stopped), holding the UI up, and copying an object out of the GCS emulator.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from scripts.stack import Stack, StackError


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def clear(home: Path, *stale: str) -> None:
    """Remove what an earlier run left in ``home`` (its Airflow home, logs, outputs)."""
    for name in stale:
        shutil.rmtree(home / name, ignore_errors=True)


def download(stack: Stack, uri: str, dest: Path) -> int:
    """Copy ``gs://bucket/object`` from the GCS emulator to ``dest``; return the byte count."""
    import os

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    assert stack.gcs_url is not None
    os.environ["STORAGE_EMULATOR_HOST"] = stack.gcs_url
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    client = storage.Client(project="seedance-local", credentials=AnonymousCredentials())
    dest.parent.mkdir(parents=True, exist_ok=True)
    client.bucket(bucket).blob(name).download_to_filename(str(dest))
    return dest.stat().st_size


def hold() -> None:
    """Keep the stack up until Ctrl-C (or SIGTERM)."""
    say("Press Ctrl-C to stop everything.")
    while True:
        time.sleep(3600)


def run_demo(stack: Stack, steps: Callable[[], int], t0: float) -> int:
    """Run the demo's ``steps`` and stop the stack whatever happens; the exit status: the steps',
    130 when interrupted, 1 when the stack failed."""
    # SIGTERM (e.g. from a CI runner) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return steps()
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except StackError as exc:
        say(f"failed: {exc}")
        return 1
    finally:
        say("stopping everything ...")
        say(f"{_stop(stack)} Total {time.monotonic() - t0:.0f} s.")


def _stop(stack: Stack) -> str:
    try:
        stack.stop()
    except StackError as exc:
        return f"stop failed: {exc}."
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return "Stopped; nothing left running."
