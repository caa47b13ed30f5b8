"""Fidelity: the official ``fal-client`` package, unchanged, against the emulator over HTTPS.

fal-client only speaks ``https://{FAL_QUEUE_RUN_HOST}/``, reads that variable at import time and
builds its SSL context from ``SSL_CERT_FILE``, so it runs in a subprocess pointed at a TLS
emulator with a throwaway CA.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorServer

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import fal_client

    out = {}
    for app in ("bytedance/seedance-2.0/reference-to-video",
                "bytedance/seedance-2.0/fast/reference-to-video"):
        updates = []
        result = fal_client.subscribe(
            app, arguments={"prompt": "A surfer @Image1", "image_urls": ["https://x/a.png"], "seed": 7},
            with_logs=True, on_queue_update=lambda u: updates.append(type(u).__name__),
        )
        handle = fal_client.submit(app, arguments={"prompt": "second", "duration": "5"})
        seen = set()
        while True:
            status = fal_client.status(app, handle.request_id, with_logs=True)
            seen.add(type(status).__name__)
            if isinstance(status, fal_client.Completed):
                break
            time.sleep(0.05)
        second = fal_client.result(app, handle.request_id)

        to_cancel = fal_client.submit(app, arguments={"prompt": "cancel me"})
        fal_client.cancel(app, to_cancel.request_id)
        cancelled = fal_client.status(app, to_cancel.request_id)
        try:
            fal_client.cancel(app, to_cancel.request_id)
            again = None
        except fal_client.client.FalClientHTTPError as exc:
            again = exc.status_code
        out[app] = {
            "subscribe": result, "updates": sorted(set(updates)), "statuses": sorted(seen),
            "second": second, "cancelled_error_type": cancelled.error_type, "cancel_again": again,
        }

    failing = fal_client.submit("bytedance/seedance-2.0/reference-to-video", arguments={"prompt": "fail"})
    try:
        failing.get()
        out["failure"] = None
    except fal_client.client.FalClientHTTPError as exc:
        out["failure"] = {"status": exc.status_code, "error_type": exc.error_type, "message": str(exc)}
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(tls=True, queue_seconds=0.2, run_seconds=0.3, api_key="fal-test-key") as server:
        yield server


def test_official_fal_client_works_unchanged(tls_server: EmulatorServer) -> None:
    emu = tls_server.handle
    emu.reset()
    env = _fal_env(tls_server)
    # six jobs (2 tiers x subscribe / submit+status+result / cancel), then one that fails
    proc = _run_with_failing_last_job(tls_server, SCRIPT, env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    for app, _tier in (
        ("bytedance/seedance-2.0/reference-to-video", "standard"),
        ("bytedance/seedance-2.0/fast/reference-to-video", "fast"),
    ):
        data = out[app]
        assert data["subscribe"]["seed"] == 7
        assert data["subscribe"]["video"]["content_type"] == "video/mp4"
        assert data["subscribe"]["video"]["url"].startswith(tls_server.base_url + "/_media/")
        assert "Completed" in data["statuses"]
        assert data["second"]["video"]["file_size"] > 0
        assert data["cancelled_error_type"] == "client_cancelled"
        assert data["cancel_again"] == 400
    assert out["failure"]["status"] == 503
    assert out["failure"]["error_type"] == "runner_disconnected"

    jobs = emu.jobs()
    assert sorted({j["tier"] for j in jobs}) == ["fast", "standard"]
    assert len(emu.requests("fal.submit")) == 7
    assert all(r["auth_scheme"] == "Key" for r in emu.requests("fal.submit"))
    assert all(r["headers"]["user-agent"].startswith("fal-client/") for r in emu.requests("fal.submit"))
    assert len(emu.requests("fal.cancel")) == 4


def _fal_env(server: EmulatorServer) -> dict[str, str]:
    """fal-client's environment: the emulator as its queue host, the key, the throwaway CA."""
    env = {
        **os.environ,
        "FAL_QUEUE_RUN_HOST": urlsplit(server.base_url).netloc,
        "FAL_KEY": "fal-test-key",
        "SSL_CERT_FILE": str(server.ca_path),
    }
    env.pop("FAL_KEY_ID", None)
    env.pop("FAL_KEY_SECRET", None)
    return env


def _run_with_failing_last_job(
    server: EmulatorServer, script: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # arm a fail_job fault through the control API right before the script's last submit
    control = f"""
import httpx, ssl
def _arm():
    httpx.post({server.base_url!r} + "/_emulator/faults", json={{"route": "fal.submit", "kind": "fail_job"}},
               verify=ssl.create_default_context(cafile={str(server.ca_path)!r})).raise_for_status()
"""
    script = control + script.replace("failing = fal_client.submit(", "_arm()\nfailing = fal_client.submit(")
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=90, check=False
    )


MODES_SCRIPT = textwrap.dedent(
    """
    import json
    import fal_client

    inputs = {
        "text-to-video": {"prompt": "A lighthouse at dawn", "seed": 3, "duration": "4"},
        "image-to-video": {"prompt": "The bottle turns", "seed": 3,
                           "image_url": "https://x/first.png", "end_image_url": "https://x/last.png"},
    }
    out = {}
    for mode, arguments in inputs.items():
        for tier in ("", "fast/"):
            app = f"bytedance/seedance-2.0/{tier}{mode}"
            result = fal_client.subscribe(app, arguments=arguments, with_logs=True)
            to_cancel = fal_client.submit(app, arguments=arguments)
            fal_client.cancel(app, to_cancel.request_id)
            cancelled = fal_client.status(app, to_cancel.request_id)
            out[app] = {"subscribe": result, "cancelled_error_type": cancelled.error_type}
    try:
        fal_client.submit("bytedance/seedance-2.0/image-to-video", arguments={"prompt": "no frame"}).get()
        out["invalid"] = None
    except fal_client.client.FalClientHTTPError as exc:
        out["invalid"] = {"status": exc.status_code, "message": str(exc)}
    print(json.dumps(out))
    """
)


def test_official_fal_client_runs_text_and_image_to_video_on_both_tiers(tls_server: EmulatorServer) -> None:
    emu = tls_server.handle
    emu.reset()
    env = _fal_env(tls_server)
    proc = subprocess.run(
        [sys.executable, "-c", MODES_SCRIPT], env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    apps = [
        f"bytedance/seedance-2.0/{t}{m}" for m in ("text-to-video", "image-to-video") for t in ("", "fast/")
    ]
    for app in apps:
        assert out[app]["subscribe"]["seed"] == 3
        assert out[app]["subscribe"]["video"]["url"].startswith(tls_server.base_url + "/_media/")
        assert out[app]["cancelled_error_type"] == "client_cancelled"
    assert out["invalid"]["status"] == 422
    assert "image_url" in out["invalid"]["message"]
    jobs = emu.jobs()
    assert sorted({(j["mode"], j["tier"]) for j in jobs}) == [
        ("image-to-video", "fast"),
        ("image-to-video", "standard"),
        ("text-to-video", "fast"),
        ("text-to-video", "standard"),
    ]
    assert len(jobs) == 8
    assert all(r["headers"]["user-agent"].startswith("fal-client/") for r in emu.requests("fal.submit"))
