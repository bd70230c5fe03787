"""Running a test server in a background thread: the part the fakes share."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class BackgroundServer:
    """Starts `make_server()` on a daemon thread; a context manager.

    Subclasses give the server (`make_server`) and a thread name; `start()`
    returns only once the serving loop really runs, so a test never races
    its first request.
    """

    thread_name = "TestServer"

    def __init__(self) -> None:
        self._httpd: Any = None
        self._thread: threading.Thread | None = None

    def make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = self.make_server()
        ready = threading.Event()

        def serve() -> None:
            ready.set()
            httpd.serve_forever(poll_interval=0.05)

        thread = threading.Thread(target=serve, name=self.thread_name, daemon=True)
        thread.start()
        if not ready.wait(timeout=5):
            httpd.server_close()
            raise RuntimeError(f"{self.thread_name} thread did not start")
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd, self._thread = None, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
