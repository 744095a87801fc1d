"""HTTP edge of progressive rollouts (start, list, show, evaluate, abort) and of retraining
loops (enable, disable, list, history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from steward.config import Settings
from steward.errors import InvalidInput
from steward.retraining.loop import disable_loop, enable_loop, list_loops
from steward.retraining.rollout import (
    abort_rollout,
    evaluate_rollout,
    get_rollout,
    list_rollout_events,
    list_rollouts,
    start_rollout,
)
from steward.retraining.triggers import trigger_history
from steward.store import Store
from steward.web import ActorDep, StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["rollouts"])


class StartRolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str
    version: int
    stages: list[int] = Field(default_factory=lambda: [10, 50, 100])
    min_samples: int = 100
    min_duration_s: float = 600.0
    gates: dict[str, float] | None = None


@router.post("/rollouts", status_code=201)
def start(body: StartRolloutRequest, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """Start a rollout: `{"endpoint": ..., "version": 3, "stages": [10, 50, 100], ...}`."""
    rollout = start_rollout(
        store,
        body.endpoint,
        body.version,
        stages=body.stages,
        min_samples=body.min_samples,
        min_duration_s=body.min_duration_s,
        gates=body.gates,
        actor=actor,
    )
    return JSONResponse(rollout.to_dict(), status_code=201)


@router.get("/rollouts")
def list_(store: StoreDep, endpoint: str | None = None, status: str | None = None) -> JSONResponse:
    found = list_rollouts(store, endpoint=endpoint, status=status)
    return JSONResponse({"rollouts": [r.to_dict() for r in found]})


@router.get("/rollouts/{rollout_id}")
def show(rollout_id: int, store: StoreDep) -> JSONResponse:
    """The rollout with its events, oldest first."""
    return JSONResponse(_with_events(store, rollout_id))


@router.post("/rollouts/{rollout_id}/evaluate")
def evaluate(rollout_id: int, request: Request, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """Evaluate the current stage now: advance, promote, roll back or hold."""
    settings: Settings = request.app.state.settings
    evaluate_rollout(store, settings, rollout_id, actor=actor)
    return JSONResponse(_with_events(store, rollout_id))


class AbortRolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = ""


@router.post("/rollouts/{rollout_id}/abort")
def abort(
    rollout_id: int, store: StoreDep, actor: ActorDep, body: AbortRolloutRequest | None = None
) -> JSONResponse:
    """Stop a running rollout: all traffic back to `@champion` (409 once it has finished)."""
    abort_rollout(store, rollout_id, actor=actor, reason="" if body is None else body.reason)
    return JSONResponse(_with_events(store, rollout_id))


def _with_events(store: Store, rollout_id: int) -> dict[str, Any]:  # Any: JSON values
    document = get_rollout(store, rollout_id).to_dict()
    document["events"] = [e.to_dict() for e in list_rollout_events(store, rollout_id)]
    return document


@router.get("/retraining/loops", tags=["retraining"])
def loops(store: StoreDep) -> JSONResponse:
    """The stored retraining loops, by model."""
    return JSONResponse({"loops": [loop.to_dict() for loop in list_loops(store)]})


@router.put("/retraining/loops/{model}", tags=["retraining"])
def enable(
    model: str, body: dict[str, Any], store: StoreDep, actor: ActorDep
) -> JSONResponse:  # Any: a trigger config document, checked by enable_loop
    """Store the trigger config in the body as `model`'s loop and turn it on."""
    if body.get("model", model) != model:
        raise InvalidInput(
            f"the config's model {body.get('model')!r} is not {model!r}, the model in the path",
            field="model",
        )
    loop = enable_loop(store, body | {"model": model}, actor=actor)
    return JSONResponse(loop.to_dict())


@router.post("/retraining/loops/{model}/disable", tags=["retraining"])
def disable(model: str, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """Turn `model`'s loop off; its config stays stored."""
    return JSONResponse(disable_loop(store, model, actor=actor).to_dict())


@router.get("/retraining/{model}/history", tags=["retraining"])
def history(model: str, store: StoreDep) -> JSONResponse:
    """`model`'s retraining decisions and challengers, oldest first (from the audit log)."""
    events = [
        {
            "seq": e.seq,
            "at_ms": e.at_ms,
            "actor": e.actor,
            "action": e.action,
            "details": e.after,
        }
        for e in trigger_history(store, model)
    ]
    return JSONResponse({"model": model, "events": events})
