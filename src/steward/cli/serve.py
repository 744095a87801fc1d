"""`steward serve`: the data plane for one model URI or one endpoint of the registry."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import typer

from steward.config import Settings
from steward.errors import InvalidInput

__all__ = ["serve"]

SWITCH_INTERVAL_S = 0.001


def serve(
    model_uri: Annotated[
        str | None,
        typer.Argument(help="A model to serve: models:/NAME@ALIAS or models:/NAME/VERSION."),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="An endpoint of the registry to serve instead.")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default STEWARD_SERVE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default STEWARD_SERVE_PORT, 8080)."),
    ] = None,
    poll_interval: Annotated[
        float | None,
        typer.Option(min=0.05, help="Seconds between polls of the registry (default 5)."),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Local cache of the last known configuration (default HOME/serving-cache)."
        ),
    ] = None,
    log_predictions: Annotated[
        bool, typer.Option(help="Append every prediction to the prediction log.")
    ] = True,
    predictions_dir: Annotated[
        Path | None, typer.Option(help="Prediction log folder (default HOME/predictions).")
    ] = None,
    flush_interval: Annotated[
        float | None,
        typer.Option(min=0.01, help="Seconds between prediction-log syncs (default 1)."),
    ] = None,
    durable: Annotated[
        bool | None,
        typer.Option(
            "--durable/--no-durable",
            help="Answer only once the prediction is synced to disk (default off).",
        ),
    ] = None,
) -> None:
    """Serve a model or an endpoint: POST /predict, /invocations and /v2/models/NAME/infer.

    The server follows the registry (alias moves, traffic changes) and swaps versions without
    failing a request; with the metadata store down it keeps serving, and at start-up it
    falls back to the last configuration it cached.
    """
    import uvicorn

    from steward.predictions import PredictionLog
    from steward.serving.app import create_serving_app
    from steward.serving.cache import ServingCache
    from steward.serving.sources import EndpointSource, ModelSource, SpecSource
    from steward.store import open_store

    if (model_uri is None) == (endpoint is None):
        raise InvalidInput(
            "give exactly one of a model URI (steward serve models:/churn@champion) "
            "or --endpoint NAME"
        )
    settings = Settings()
    source: SpecSource = (
        EndpointSource(lambda: open_store(settings), endpoint)
        if endpoint is not None
        else ModelSource(lambda: open_store(settings), str(model_uri))
    )
    cache = ServingCache(cache_dir or settings.resolved_serving_cache_dir)
    prediction_log = None
    if log_predictions:
        prediction_log = PredictionLog.from_settings(
            settings, directory=predictions_dir, flush_interval_s=flush_interval, durable=durable
        )
    app = create_serving_app(
        source,
        cache=cache,
        poll_interval_s=poll_interval or settings.serve_poll_interval_s,
        prediction_log=prediction_log,
        max_body_bytes=settings.serve_max_body_bytes,
        model_workers=settings.serve_model_workers,
        shadow_queue_size=settings.serve_shadow_queue_size,
    )
    try:
        if app.follower is not None:
            app.follower.load_initial()  # fail here, readably, rather than inside uvicorn
    except BaseException:
        if prediction_log is not None:
            prediction_log.close()
        raise
    table = app.runtime.table
    served = (
        ", ".join(f"{t.version.key} ({t.weight:g}%)" for t in table.spec.traffic) if table else ""
    )
    _tune_process()
    host = host or settings.serve_host
    port = settings.serve_port if port is None else port
    typer.echo(f"Serving {source.key} [{served}] on http://{host}:{port}")
    typer.echo("  POST /predict  POST /invocations  POST /v2/models/{name}/infer  GET /metrics")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")


def _tune_process() -> None:
    """Process-wide settings for a long-running server, applied once the models are loaded."""
    # Everything loaded so far (libraries, models) lives as long as the process: frozen, a
    # full garbage collection scans only what requests allocate (~1 ms instead of ~100 ms).
    # No collection first: it would cost as much, for the little start-up garbage there is.
    gc.freeze()
    # The prediction-log writer and the follower are threads: a shorter GIL switch interval
    # bounds how long a request waits behind one of them (CPython's default is 5 ms).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
