"""The public surface of steward.tracking, and docs that keep up with the routes."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute

from steward import tracking
from steward.tracking.routes import router

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tracking.md"


def test_exported_names_are_the_public_api() -> None:
    assert sorted(tracking.__all__) == sorted(set(tracking.__all__))
    assert all(hasattr(tracking, name) for name in tracking.__all__)
    for name in ("start_run", "log_metrics", "search_runs", "fingerprint_frame", "Run"):
        assert name in tracking.__all__


def test_every_route_is_documented() -> None:
    text = DOCS.read_text()
    routes = [
        f"{method} {re.sub(r':path}', '}', route.path)}"
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    assert len(routes) == 16
    assert [route for route in routes if f"`{route}`" not in text] == []
