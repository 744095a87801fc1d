"""`HttpBackend`: the SDK against a `steward server`, over its REST API.

Errors come back as the same `steward.errors` classes the in-process backend raises. Models
are saved by the client, uploaded as one content-addressed blob, then registered; loading
downloads the blob and checks its sha256 against the registry record before unpickling.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from steward import flavors
from steward.config import ACTOR_HEADER
from steward.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    StewardError,
    Unavailable,
    error_from_dict,
)
from steward.predictions import Label, LabelIngestResult, LabelRecord
from steward.registry import ModelVersion, parse_model_uri
from steward.sdk.wire import decode
from steward.store.artifacts import CHUNK_BYTES
from steward.tracking import Dataset, DatasetInfo, Experiment, Metric, Run, RunPage
from steward.tracking import wire as tracking_wire

__all__ = ["HttpBackend"]

_JSON = {"content-type": "application/json"}


class HttpBackend:
    """Talks to the control plane at `url` (e.g. http://127.0.0.1:8000)."""

    def __init__(self, url: str, *, actor: str, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1", timeout=timeout_s, headers={ACTOR_HEADER: actor}
        )

    # tracking

    def get_or_create_experiment(self, name: str) -> Experiment:
        try:
            return tracking_wire.experiment_from_json(self._call("GET", f"/experiments/{name}"))
        except NotFound:
            pass
        try:
            return tracking_wire.experiment_from_json(
                self._call("POST", "/experiments", json={"name": name})
            )
        except Conflict:  # another client created it in between
            return tracking_wire.experiment_from_json(self._call("GET", f"/experiments/{name}"))

    def start_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        params: Mapping[str, object] | None,
        tags: Mapping[str, str] | None,
        user: str,
        code_version: dict[str, Any],
        environment: dict[str, Any],
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "params": {k: str(v) for k, v in (params or {}).items()},
            "tags": dict(tags or {}),
            "user": user,
            "code_version": code_version,
            "environment": environment,
        }
        return tracking_wire.run_from_json(self._call("POST", "/runs", json=body))

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        body = {
            "metrics": [tracking_wire.metric_to_json(m) for m in metrics],
            "params": {k: str(v) for k, v in (params or {}).items()},
            "tags": dict(tags or {}),
        }
        # orjson: a 10,000-metric batch encodes in a millisecond instead of tens.
        self._call("POST", f"/runs/{run_id}/log-batch", content=orjson.dumps(body), headers=_JSON)

    def end_run(self, run_id: str, status: str, metrics: Sequence[Metric] = ()) -> None:
        body = {"status": status, "metrics": [tracking_wire.metric_to_json(m) for m in metrics]}
        self._call("POST", f"/runs/{run_id}/end", json=body)

    def get_run(self, run_id: str) -> Run:
        return tracking_wire.run_from_json(self._call("GET", f"/runs/{run_id}"))

    def search_runs(
        self,
        experiment_names: Sequence[str],
        *,
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> RunPage:
        body = {
            "experiment_names": list(experiment_names),
            "filter": filter,
            "order_by": list(order_by),
            "max_results": max_results,
            "page_token": page_token,
        }
        return tracking_wire.page_from_json(self._call("POST", "/runs/search", json=body))

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        files = (
            sorted(p for p in local_path.rglob("*") if p.is_file())
            if local_path.is_dir()
            else [local_path]
        )
        if not files:
            raise InvalidInput(f"no file to log at {str(local_path)!r}", field="local_path")
        for file in files:
            relative = file.name if file == local_path else file.relative_to(local_path).as_posix()
            target = f"{artifact_path.rstrip('/')}/{relative}" if artifact_path else relative
            self._call("PUT", f"/runs/{run_id}/artifacts/{target}", content=_read_chunks(file))

    def log_dataset(
        self,
        run_id: str,
        info: DatasetInfo,
        *,
        name: str,
        context: str,
        contract: dict[str, Any] | None,
        profile: dict[str, Any] | None,
    ) -> Dataset:
        body = {
            **tracking_wire.dataset_info_to_json(info),
            "name": name,
            "context": context,
            "contract": contract,
            "profile": profile,
        }
        return tracking_wire.dataset_from_json(
            self._call("POST", f"/runs/{run_id}/datasets", json=body)
        )

    # registry

    def register_model(
        self, name: str, model: Any, *, sample_input: Any, lineage: dict[str, Any]
    ) -> ModelVersion:
        saved = flavors.save_model(model, lineage.pop("flavor", None))
        uploaded = self._call("PUT", "/artifacts", content=saved.payload)
        has_sample = sample_input is not None
        body = {
            "artifact_digest": uploaded["digest"],
            "flavor": saved.flavor,
            "flavor_metadata": saved.metadata,
            "input_schema": flavors.infer_schema(sample_input) if has_sample else [],
            "output_schema": flavors.infer_output_schema(model, sample_input) if has_sample else [],
            **{k: list(v) if k == "dataset_digests" else v for k, v in lineage.items()},
        }
        return decode(ModelVersion, self._call("POST", f"/models/{name}/versions", json=body))

    def resolve(self, uri: str) -> ModelVersion:
        ref = parse_model_uri(uri)
        if ref.alias is not None:
            return decode(
                ModelVersion, self._call("GET", f"/models/{ref.name}/aliases/{ref.alias}")
            )
        version = ref.version or self._call("GET", f"/models/{ref.name}")["latest_version"]
        if version is None:
            raise InvalidInput(f"model '{ref.name}' has no versions yet", field="uri")
        return decode(ModelVersion, self._call("GET", f"/models/{ref.name}/versions/{version}"))

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        found = self._call("PUT", f"/models/{name}/aliases/{alias}", json={"version": version})
        return decode(ModelVersion, found)

    def load_model(self, uri: str) -> flavors.LoadedModel:
        record = self.resolve(uri)
        payload = self._download(f"/artifacts/{record.artifact_digest}")
        return flavors.load_model(
            record.flavor, payload, record.flavor_metadata, expected_sha256=record.artifact_digest
        )

    # labels

    def log_labels(self, endpoint: str, labels: Sequence[Label]) -> LabelIngestResult:
        body = {"labels": [_label_json(label) for label in labels]}
        found = self._call(
            "POST",
            f"/endpoints/{quote(endpoint, safe='')}/labels",
            content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
            headers=_JSON,
        )
        return LabelIngestResult(
            accepted=found["accepted"],
            updated=found["updated"],
            unknown=found["unknown"],
            unknown_ids=tuple(found["unknown_ids"]),
        )

    def label_history(self, endpoint: str, prediction_id: str) -> list[LabelRecord]:
        path = f"/endpoints/{quote(endpoint, safe='')}/labels/{quote(prediction_id, safe='')}"
        return [decode(LabelRecord, record) for record in self._call("GET", path)["labels"]]

    def close(self) -> None:
        self._http.close()

    # plumbing

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the Steward server at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_of(response)
        return response.json() if response.content else None

    def _download(self, path: str) -> bytes:
        try:
            with self._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_of(response)
                return b"".join(response.iter_bytes(CHUNK_BYTES))
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the Steward server at {self.url}: {exc}") from exc


def _error_of(response: httpx.Response) -> StewardError:
    try:
        return error_from_dict(response.json())
    except ValueError:
        return StewardError(f"server answered {response.status_code}: {response.text[:200]}")


def _label_json(label: Label) -> dict[str, Any]:  # Any: JSON values
    return {
        "prediction_id": label.prediction_id,
        "label": label.label,
        "outcomes": label.outcomes,
        "at_ms": label.at_ms,
    }


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
