"""HTTP edge of labels: post ground truth and outcomes for an endpoint's predictions, read
a prediction's label history."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from steward.config import Settings
from steward.errors import InvalidInput
from steward.predictions.label_entities import Label, LabelIngestResult, LabelRecord
from steward.predictions.labels import LabelStore
from steward.registry import endpoints
from steward.store import Store
from steward.web import StoreDep, fast_json_body, json_body_openapi

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["labels"])


class PayloadTooLarge(InvalidInput):
    """More labels in one request than `label_batch_max`; the caller sends them in chunks."""

    status_code = 413


def get_settings(request: Request) -> Settings:
    settings: Settings = getattr(request.app.state, "settings", None) or Settings()
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


class LabelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str
    label: StrictBool | StrictInt | StrictFloat | StrictStr | None = Field(
        default=None, description="The true answer: a number, a boolean or a class name."
    )
    outcomes: dict[str, StrictInt | StrictFloat] = Field(
        default_factory=dict, description='Business outcomes by name, e.g. {"revenue": 12.5}.'
    )
    at_ms: StrictInt | None = Field(
        default=None, description="When the label became true, epoch ms; default: on receipt."
    )


class LabelsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[LabelBody]


class LabelIngestResponse(BaseModel):
    accepted: int
    updated: int
    unknown: int
    unknown_ids: list[str]


class LabelRecordResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    prediction_id: str
    label: float | str | None
    label_text: str | None
    outcomes: dict[str, float]
    labelled_at_ms: int
    received_at_ms: int
    batch_id: str
    sequence: int


class LabelHistoryResponse(BaseModel):
    endpoint: str
    prediction_id: str
    labels: list[LabelRecordResponse]  # oldest first; the last one wins in reads


LabelsBody = Annotated[LabelsRequest, fast_json_body(LabelsRequest)]


@router.post(
    "/endpoints/{name}/labels", openapi_extra=json_body_openapi(LabelsRequest), status_code=200
)
async def post_labels(
    name: str, body: LabelsBody, store: StoreDep, settings: SettingsDep
) -> LabelIngestResponse:
    """Store labels and outcomes of the endpoint's predictions, at most `label_batch_max`."""
    if len(body.labels) > settings.label_batch_max:
        raise PayloadTooLarge(
            f"labels: {len(body.labels)} labels in one request, the limit is "
            f"{settings.label_batch_max} (STEWARD_LABEL_BATCH_MAX); send them in chunks",
            field="labels",
        )
    labels = [Label(b.prediction_id, b.label, dict(b.outcomes), b.at_ms) for b in body.labels]
    ingest = partial(_ingest, store, settings, name, labels)
    result = await anyio.to_thread.run_sync(ingest)
    return LabelIngestResponse(
        accepted=result.accepted,
        updated=result.updated,
        unknown=result.unknown,
        unknown_ids=list(result.unknown_ids),
    )


@router.get("/endpoints/{name}/labels/{prediction_id:path}")
def get_label_history(
    name: str, prediction_id: str, store: StoreDep, settings: SettingsDep
) -> LabelHistoryResponse:
    """Every label of one prediction, oldest first (empty when it has none)."""
    endpoints.get_endpoint(store, name)
    history = LabelStore(settings.resolved_predictions_dir).history(name, prediction_id)
    return LabelHistoryResponse(
        endpoint=name,
        prediction_id=prediction_id,
        labels=[_record(record) for record in history],
    )


def _ingest(store: Store, settings: Settings, name: str, labels: list[Label]) -> LabelIngestResult:
    endpoints.get_endpoint(store, name)  # NotFound: labels only for endpoints that exist
    return LabelStore(settings.resolved_predictions_dir).ingest(name, labels)


def _record(record: LabelRecord) -> LabelRecordResponse:
    return LabelRecordResponse.model_validate(record)
