"""The few pieces of HTTP the data plane needs, on bare ASGI.

The serving hot path avoids a web framework's per-request machinery (dependency
injection, response models, middleware stacks): a request is its method, path, headers
and body; a response is a status, bytes and a content type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from steward.errors import InvalidInput

__all__ = [
    "JSON",
    "HttpRequest",
    "HttpResponse",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "send_response",
]

JSON = b"application/json"

# The ASGI interface (as starlette/types.py spells it; `Any`: ASGI messages are open dicts).
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class PayloadTooLarge(InvalidInput):
    """The body is larger than the server accepts (HTTP 413)."""

    status_code = 413


class MethodNotAllowed(InvalidInput):
    """The path exists but not with this method (HTTP 405)."""

    status_code = 405


@dataclass(slots=True)
class HttpRequest:
    """One request: header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class HttpResponse:
    """One response, plus the labels its metrics are recorded under.

    Attributes:
        version: the model version that answered (`churn/3`), empty when none did.
        route: "primary" or "fallback" for predictions, empty otherwise.
    """

    status: int
    body: bytes
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    version: str = ""
    route: str = ""


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """The whole request body.

    Raises:
        PayloadTooLarge: the declared or received size exceeds `limit` bytes.
    """
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def send_response(send: Send, response: HttpResponse) -> None:
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body of {size} bytes exceeds the limit of {limit} bytes; "
        "send fewer rows per request",
        field="body",
    )
