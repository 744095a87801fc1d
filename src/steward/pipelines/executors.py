"""Where work runs: a small `Executor` seam with a local process pool, Dask, and inline.

Work sent to an executor is a picklable top-level function and its arguments; results come
back through handles with a blocking `result()`. Steward has no cluster code of its own:
the local pool is `concurrent.futures`, the distributed one is any Dask cluster.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from steward.errors import InvalidInput, Unavailable

__all__ = [
    "EXECUTOR_KINDS",
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "ResultHandle",
    "make_executor",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
EXECUTOR_KINDS = ("local", "dask", "inline")


class ResultHandle(Protocol[T_co]):
    """A submitted piece of work (a `concurrent.futures.Future` or a Dask future)."""

    def result(self, timeout: float | None = None) -> T_co: ...


class Executor(Protocol):
    """Runs picklable top-level functions somewhere and hands back their results."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> ResultHandle[T]: ...

    def close(self) -> None: ...


class _Closing:
    def close(self) -> None:
        """Release the executor's workers or connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InlineExecutor(_Closing):
    """Runs work at once in the calling process (inside a fleet worker, and for debugging)."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> ResultHandle[T]:
        future: cf.Future[T] = cf.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


class LocalExecutor(_Closing):
    """A `concurrent.futures.ProcessPoolExecutor` on this machine (the default).

    Args:
        max_workers: processes; default the number of CPUs.
        start_method: "fork", "spawn" or "forkserver"; default "forkserver" where it exists.
            Not "fork": a worker forked from a process with threads and open database
            connections (a server, a notebook) inherits their locks and handles mid-use.
    """

    def __init__(self, max_workers: int | None = None, *, start_method: str | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise InvalidInput(f"max_workers must be at least 1, got {max_workers}")
        if start_method is None:
            methods = multiprocessing.get_all_start_methods()
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        context = multiprocessing.get_context(start_method)
        self._pool = cf.ProcessPoolExecutor(max_workers=max_workers, mp_context=context)

    def submit(self, fn: Callable[..., T], /, *args: Any) -> ResultHandle[T]:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Closing):
    """Work on a Dask cluster through `dask.distributed.Client` (extra `stewardml[dask]`).

    Args:
        address: the scheduler, e.g. "tcp://10.0.0.5:8786", or a `Client` to use as is
            (it is then not closed by `close`).
        timeout_s: how long to wait for the scheduler.

    Raises:
        InvalidInput: dask.distributed is not installed.
        Unavailable: no scheduler answers at `address`.
    """

    def __init__(self, address: Any, *, timeout_s: float = 10.0) -> None:  # Any: str or Client
        try:
            from distributed import Client
        except ImportError as exc:
            raise InvalidInput(
                "the dask executor needs dask.distributed: pip install 'stewardml[dask]'"
            ) from exc
        self._owns_client = not isinstance(address, Client)
        try:
            self._client = (
                Client(address, timeout=timeout_s)  # type: ignore[no-untyped-call]
                if self._owns_client
                else address
            )
        except (OSError, TimeoutError) as exc:
            raise Unavailable(f"no Dask scheduler answers at {address!r}: {exc}") from exc

    def submit(self, fn: Callable[..., T], /, *args: Any) -> ResultHandle[T]:
        # pure=False: two submissions of the same call are two executions (retries, fleets).
        future: ResultHandle[T] = self._client.submit(fn, *args, pure=False)
        return future

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def make_executor(
    kind: str, *, address: str | None = None, max_workers: int | None = None
) -> LocalExecutor | DaskExecutor | InlineExecutor:
    """An executor by name, as the CLI chooses it.

    Raises:
        InvalidInput: an unknown kind, or dask without an address.
        Unavailable: no Dask scheduler at `address`.
    """
    if kind == "local":
        return LocalExecutor(max_workers)
    if kind == "inline":
        return InlineExecutor()
    if kind == "dask":
        if not address:
            raise InvalidInput("--executor dask needs --address tcp://HOST:PORT", field="address")
        return DaskExecutor(address)
    raise InvalidInput(
        f"executor {kind!r} is not known; use one of {', '.join(EXECUTOR_KINDS)}", field="executor"
    )
