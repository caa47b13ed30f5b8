"""Shared constants, fal.ai payloads and a sync/async client facade for the client tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import respx

from airflow_provider_seedance import __version__
from airflow_provider_seedance.client.models import JobRef, JobStatus, ReferenceToVideoRequest
from airflow_provider_seedance.client.retry import RetryPolicy
from airflow_provider_seedance.client.transport import AsyncSeedanceClient, SeedanceClient
from tests.support.retry import NO_WAIT

API_KEY = "sk-fal-test-9f8e7d6c5b4a"
FAL = "https://queue.fal.run"
REQUEST_ID = "80e732af-660e-45cd-bd63-580e4f2a94cc"
STANDARD_URL = f"{FAL}/bytedance/seedance-2.0/reference-to-video"
FAST_URL = f"{FAL}/bytedance/seedance-2.0/fast/reference-to-video"
REQUESTS_URL = f"{FAL}/bytedance/seedance-2.0/requests/{REQUEST_ID}"
STATUS_URL = f"{REQUESTS_URL}/status"
CANCEL_URL = f"{REQUESTS_URL}/cancel"
VIDEO_URL = "https://v3.fal.media/files/output.mp4"
USER_AGENT = f"airflow-provider-seedance/{__version__}"


def router_fixture(name: str) -> Any:
    """A fixture ``name``: a respx router for a platform's hosts that lets a test leave routes uncalled."""

    @pytest.fixture(name=name)
    def router() -> Iterator[respx.MockRouter]:
        with respx.mock(assert_all_called=False) as mock:
            yield mock

    return router


def client_fixture(platform: str) -> Any:
    """A module's ``client`` fixture: a client for ``platform`` (sync or async, see conftest)."""

    @pytest.fixture(name="client")
    def client(make_client: Callable[..., ClientFacade]) -> ClientFacade:
        return make_client(platform=platform)

    return client


def fixtures_for(platform: str, router: str) -> tuple[Any, Any]:
    """A wire-test module's two fixtures: the respx router ``router`` and ``client`` for ``platform``."""
    return router_fixture(router), client_fixture(platform)


def assert_sent_by_us(calls: Iterable[respx.models.Call], scheme: str = "Bearer") -> None:
    """Every call carried the API key (``<scheme> <key>``) and the provider's user agent."""
    for call in calls:
        assert call.request.headers["authorization"] == f"{scheme} {API_KEY}"
        assert call.request.headers["user-agent"] == USER_AGENT


def sent_json(route: respx.Route, url: str | None = None) -> Any:
    """The JSON body of the route's last request, checking where it went when ``url`` is given."""
    sent = route.calls.last.request
    if url is not None:
        assert str(sent.url) == url
    return json.loads(sent.content)


def mp4(url: str, file_name: str, file_size: int | None = None) -> dict[str, Any]:
    """A result's video as ``VideoFile.model_dump()`` gives it."""
    return {"url": url, "content_type": "video/mp4", "file_name": file_name, "file_size": file_size}


def submit_body(request_id: str = REQUEST_ID, base: str = REQUESTS_URL) -> dict[str, Any]:
    """fal.ai's submit answer: the id and the three URLs to use from then on."""
    return {
        "request_id": request_id,
        "status": "IN_QUEUE",
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
    }


def result_body(seed: int = 42) -> dict[str, Any]:
    return {
        "video": {
            "url": VIDEO_URL,
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "file_size": 4823041,
        },
        "seed": seed,
    }


def simple_request(**overrides: Any) -> ReferenceToVideoRequest:
    inputs: dict[str, Any] = {
        "prompt": "A surfer at golden hour, @Image1 sets the scene.",
        "image_urls": ["https://x.test/a.jpg"],
    }
    inputs.update(overrides)
    return ReferenceToVideoRequest(**inputs)


class ClientFacade:
    """Drives :class:`SeedanceClient` or :class:`AsyncSeedanceClient` through one sync interface.

    The async flavour runs each call in a fresh event loop with a fresh client, so every test
    written against the facade proves the behaviour on both transports.
    """

    def __init__(self, mode: str, **kwargs: Any) -> None:
        self.mode = mode
        self.kwargs: dict[str, Any] = {"api_key": API_KEY, "retry": NO_WAIT, **kwargs}

    def make(self) -> SeedanceClient | AsyncSeedanceClient:
        return SeedanceClient(**self.kwargs) if self.mode == "sync" else AsyncSeedanceClient(**self.kwargs)

    def _call(self, name: str, *args: Any) -> Any:
        if self.mode == "sync":
            with SeedanceClient(**self.kwargs) as client:
                return getattr(client, name)(*args)

        async def run() -> Any:
            async with AsyncSeedanceClient(**self.kwargs) as client:
                return await getattr(client, name)(*args)

        return asyncio.run(run())

    def submit(self, request: ReferenceToVideoRequest) -> Any:
        return self._call("submit", request)

    def status(self, ref: Any) -> Any:
        return self._call("status", ref)

    def result(self, ref: Any) -> Any:
        return self._call("result", ref)

    def cancel(self, ref: Any) -> Any:
        return self._call("cancel", ref)

    def probe(self) -> Any:
        return self._call("probe")

    def job_ref(self, request_id: str, tier: str = "standard") -> JobRef:
        """A reference to a job known only by its id, on this facade's platform."""
        platform = self.kwargs.get("platform", "fal")
        return JobRef.from_dict({"platform": platform, "request_id": request_id, "tier": tier})


def policy(**kwargs: Any) -> RetryPolicy:
    """A policy that does not wait between attempts unless a server says Retry-After."""
    return RetryPolicy(**{"base_delay": 0.0, "max_delay": 0.0, **kwargs})


def wait_terminal(client: ClientFacade, job: JobRef, polls: int = 50) -> JobStatus:
    """Poll ``job`` until it is terminal (at most ``polls`` status calls)."""
    for _ in range(polls):
        status = client.status(job)
        if status.is_terminal:
            return status
    raise AssertionError(f"job {job.request_id} did not finish after {polls} polls")


def client_for(make_client: Any, emu: Any, platform: str, **kwargs: Any) -> ClientFacade:
    """A facade (``make_client`` fixture) talking to emulator ``emu`` as ``platform``."""
    return make_client(**{"api_key": emu.api_key, "base_url": emu.base_url, "platform": platform, **kwargs})
