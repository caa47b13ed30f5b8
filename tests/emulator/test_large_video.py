"""A 200 MB video is streamed: the emulator's memory stays small while it serves it."""

from __future__ import annotations

import threading
import time

import httpx
import psutil

from airflow_provider_seedance.emulator.testing import EmulatorHandle, EmulatorServer
from tests.emulator.conftest import FAL_STANDARD

SIZE = 200 * 1024 * 1024


def test_200mb_video_is_streamed_with_small_rss(
    emu: EmulatorHandle, fal: httpx.Client, seedance_emulator_server: EmulatorServer
) -> None:
    assert seedance_emulator_server.process is not None
    server = psutil.Process(seedance_emulator_server.process.pid)
    emu.configure(video_size_bytes=SIZE)
    sub = fal.post(FAL_STANDARD, json={"prompt": "big"}).json()
    emu.advance(60)
    video = fal.get(sub["response_url"]).json()["video"]
    assert video["file_size"] == SIZE

    baseline = server.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    received = 0
    start = time.monotonic()
    try:
        with httpx.stream("GET", video["url"], timeout=60) as response:
            assert int(response.headers["content-length"]) == SIZE
            for chunk in response.iter_raw(1024 * 1024):
                received += len(chunk)
    finally:
        done.set()
        sampler.join()
    elapsed = time.monotonic() - start
    assert received == SIZE
    growth = peak - baseline
    assert growth < 40 * 1024 * 1024, f"server RSS grew by {growth / 2**20:.1f} MiB while serving"
    assert elapsed < 30
