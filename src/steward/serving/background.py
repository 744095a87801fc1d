"""A server in a background thread of this process: for the demo, notebooks and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from steward.errors import Unavailable

__all__ = ["serve_in_background"]


@contextmanager
def serve_in_background(
    app: Any,  # any ASGI application
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout_s: float = 30.0,
) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread (lifespan on); yields its base URL.

    Args:
        port: 0 lets the operating system choose a free port.

    Raises:
        Unavailable: the server did not start within `start_timeout_s` (port taken, say).
    """
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="steward-background-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise Unavailable(f"could not start a server on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
