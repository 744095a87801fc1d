"""The Python SDK: fluent calls over a client that writes in-process or to a server."""

from steward.sdk.client import ActiveRun, Client
from steward.sdk.fluent import *  # noqa: F403 - the fluent API is the SDK's surface
from steward.sdk.fluent import __all__ as _fluent_all

__all__ = ["ActiveRun", "Client", *_fluent_all]
