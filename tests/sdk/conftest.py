"""The SDK suite runs twice: in-process against the store, and over HTTP against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from steward.config import Settings
from steward.sdk import Client
from tests.server.live import live_server


@pytest.fixture(params=["in-process", "http"])
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Client]:
    if request.param == "in-process":
        sdk = Client(settings)
        yield sdk
        sdk.close()
        return
    server_settings = settings.model_copy(update={"actor": "server"})
    with live_server(server_settings) as url:
        sdk = Client(settings.model_copy(update={"tracking_url": url}))
        yield sdk
        sdk.close()
