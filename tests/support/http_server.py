"""The one base of the test HTTP servers: a threaded server on 127.0.0.1, started and stopped
around a subclass's ``_serve``, with its session- and test-scoped pytest fixtures.

:mod:`tests.support.media_server` (signed URLs, faults) and :mod:`tests.support.reference_server`
(ranges, redirects, delays) only say how they answer a request and what a test clears.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar

import pytest

HOST = "127.0.0.1"

S = TypeVar("S", bound="LocalHTTPServer")


class LocalHTTPServer:
    """Serves GET (and HEAD where ``answers_head``) from a daemon thread on an ephemeral port."""

    answers_head: ClassVar[bool] = False
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self: S) -> S:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server._serve(self, head=False)

            if self.answers_head:

                def do_HEAD(self) -> None:
                    server._serve(self, head=True)

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def reset(self) -> None:
        """Forget what one test set up and saw (the fixture calls it before every test)."""
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        raise NotImplementedError


def server_fixtures(
    factory: Callable[[], S], name: str, doc: str
) -> tuple[Callable[..., Iterator[S]], Callable[..., S]]:
    """A session fixture ``<name>_session`` that runs one server, and a fixture ``<name>`` that
    hands it to a test reset. Conftests expose both by importing them."""

    @pytest.fixture(scope="session", name=f"{name}_session")
    def session() -> Iterator[S]:
        server = factory().start()
        yield server
        server.stop()

    def per_test(request: pytest.FixtureRequest) -> S:
        server: S = request.getfixturevalue(f"{name}_session")
        server.reset()
        return server

    per_test.__doc__ = doc
    return session, pytest.fixture(name=name)(per_test)
