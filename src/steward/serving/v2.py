"""The Open Inference Protocol (v2, KServe/Triton): JSON tensors to rows and back.

Inputs are read either as one tensor per column (name = column, shape `[n]` or `[n, 1]`)
or as one `[n, features]` tensor in the model's feature order. Outputs are `predict`
and, when asked for, `predict_proba`. The binary tensor extension is refused with a 415
naming it, rather than misread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson

from steward.errors import InvalidInput, StewardError
from steward.serving.inputs import Row
from steward.serving.protocols import UnsupportedMediaType, load_json
from steward.serving.runtime import RoutingTable
from steward.serving.service import Answer

__all__ = [
    "BINARY_HEADER",
    "OUTPUTS",
    "V2Request",
    "check_not_binary",
    "infer_body",
    "model_metadata",
    "parse_infer",
    "v2_error",
]

BINARY_HEADER = "inference-header-content-length"
OUTPUTS = ("predict", "predict_proba")
DATATYPES = frozenset(
    {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
    | {"FP16", "FP32", "FP64", "BYTES"}
)
_LOGICAL_TO_DATATYPE = {"integer": "INT64", "float": "FP64", "boolean": "BOOL"}
_BINARY_WORDS = (
    "the binary tensor data extension is not supported by this server; send every tensor "
    "as JSON in 'data' (no Inference-Header-Content-Length header, no binary_data parameters)"
)


class V2Request:
    """A parsed inference request: its rows, its id, and the outputs asked for."""

    __slots__ = ("outputs", "request_id", "rows")

    def __init__(self, rows: list[Row], request_id: str | None, outputs: tuple[str, ...]) -> None:
        self.rows = rows
        self.request_id = request_id
        self.outputs = outputs


def check_not_binary(header_value: str | None) -> None:
    """Raises: UnsupportedMediaType when the binary extension's header is present."""
    if header_value is not None:
        raise UnsupportedMediaType(_BINARY_WORDS, field=BINARY_HEADER)


def parse_infer(body: bytes, features: Sequence[str] | None) -> V2Request:
    """Raises: InvalidInput (a malformed request, naming the tensor), UnsupportedMediaType."""
    data = load_json(body)
    if type(data) is not dict:
        raise InvalidInput('an inference request must be a JSON object with "inputs"')
    inputs = data.get("inputs")
    if type(inputs) is not list or not inputs:
        raise InvalidInput("'inputs' must be a non-empty list of tensors", field="inputs")
    tensors = [_tensor(tensor, index) for index, tensor in enumerate(inputs)]
    request_id = data.get("id")
    if request_id is not None and type(request_id) is not str:
        raise InvalidInput(f"'id' must be a string, got {request_id!r}", field="id")
    outputs = _requested_outputs(data.get("outputs"))
    return V2Request(_rows(tensors, features), request_id, outputs)


def infer_body(answer: Answer, request: V2Request, name: str) -> bytes:
    predictions = answer.predictions
    outputs = [_output("predict", predictions)]
    if answer.probabilities is not None and "predict_proba" in request.outputs:
        outputs.append(_output("predict_proba", answer.probabilities))
    if "predict" not in request.outputs:
        outputs = outputs[1:]
    body: dict[str, Any] = {
        "model_name": name,
        "model_version": None if answer.model_version is None else str(answer.model_version),
        "outputs": outputs,
        "parameters": {"prediction_ids": answer.prediction_ids, "route": answer.route},
    }
    if request.request_id is not None:
        body["id"] = request.request_id
    return orjson.dumps(body)


def model_metadata(table: RoutingTable, name: str) -> dict[str, Any]:
    """`GET /v2/models/{name}`: versions, platform, input and output tensors."""
    first = table.router.choose()
    features = table.features or ()
    types = {str(e.get("name")): str(e.get("type")) for e in first.version.input_schema}
    if first.validator is not None:
        types.update({c.name: c.logical_type for c in first.validator.contract.columns})
    return {
        "name": name,
        "versions": sorted({str(model.version.version) for model in table.models.values()}),
        "platform": f"steward_{first.version.flavor}",
        "inputs": [
            {
                "name": f,
                "datatype": _LOGICAL_TO_DATATYPE.get(types.get(f, ""), "BYTES"),
                "shape": [-1],
            }
            for f in features
        ],
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            *(
                [{"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]}]
                if first.has_probabilities
                else []
            ),
        ],
    }


def v2_error(exc: StewardError) -> bytes:
    """The protocol's error shape, `{"error": "message"}`, plus Steward's type and details."""
    body: dict[str, Any] = {"error": exc.message, "type": exc.error_type}
    if exc.details:
        body["details"] = exc.details
    return orjson.dumps(body, default=str)


def _tensor(tensor: Any, index: int) -> tuple[str, list[int], list[Any]]:
    field = f"inputs[{index}]"
    if type(tensor) is not dict:
        raise InvalidInput(f"{field} must be a tensor object", field=field)
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    if type(name) is not str or not name:
        raise InvalidInput(f"{field}.name must be a non-empty string", field=f"{field}.name")
    if type(shape) is not list or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidInput(
            f"{field}.shape must be a list of sizes such as [1] or [1, 20]; got {shape!r}",
            field=f"{field}.shape",
        )
    if datatype not in DATATYPES:
        raise InvalidInput(
            f"{field}.datatype {datatype!r} is not one of {', '.join(sorted(DATATYPES))}",
            field=f"{field}.datatype",
        )
    parameters = tensor.get("parameters")
    if type(parameters) is dict and "binary_data_size" in parameters:
        raise UnsupportedMediaType(_BINARY_WORDS, field=f"{field}.parameters")
    values = _flatten(tensor.get("data"), field)
    if len(values) != math.prod(shape):
        raise InvalidInput(
            f"{field} ({name!r}) has {len(values)} values but shape {shape} needs "
            f"{math.prod(shape)}",
            field=f"{field}.data",
        )
    return name, shape, values


def _flatten(data: Any, field: str) -> list[Any]:
    if type(data) is not list:
        raise InvalidInput(f"{field}.data must be a list of values", field=f"{field}.data")
    if not data or type(data[0]) is not list:
        return data
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item, field) if type(item) is list else [item])
    return flat


def _rows(
    tensors: list[tuple[str, list[int], list[Any]]], features: Sequence[str] | None
) -> list[Row]:
    if len(tensors) == 1 and features:
        name, shape, values = tensors[0]
        if name not in features or (len(shape) == 2 and shape[1] > 1):
            return _matrix_rows(name, shape, values, features)
    count = tensors[0][1][0]
    for name, shape, _ in tensors:
        if shape[0] != count or (len(shape) > 1 and math.prod(shape[1:]) != 1):
            raise InvalidInput(
                f"input {name!r} has shape {shape}; one tensor per column needs shape [{count}] "
                f"or [{count}, 1] (or send one [n, {len(features or ())}] tensor in feature order)",
                field="inputs",
            )
    if count == 0:
        raise InvalidInput("the inputs hold no rows (shape [0])", field="inputs")
    return [{name: values[i] for name, _, values in tensors} for i in range(count)]


def _matrix_rows(
    name: str, shape: list[int], values: list[Any], features: Sequence[str]
) -> list[Row]:
    width = len(features)
    if len(shape) != 2 or shape[1] != width or shape[0] == 0:
        raise InvalidInput(
            f"input {name!r} has shape {shape}; a single tensor must be [n, {width}] with the "
            f"columns in the order {', '.join(features)}, or send one tensor per column",
            field="inputs",
        )
    return [
        dict(zip(features, values[i * width : (i + 1) * width], strict=True))
        for i in range(shape[0])
    ]


def _requested_outputs(outputs: Any) -> tuple[str, ...]:
    if outputs is None:
        return ("predict",)
    if type(outputs) is not list or not outputs:
        raise InvalidInput("'outputs' must be a non-empty list of {\"name\": ...}", field="outputs")
    names = []
    for index, output in enumerate(outputs):
        name = output.get("name") if type(output) is dict else None
        if name not in OUTPUTS:
            raise InvalidInput(
                f"outputs[{index}] names {name!r}; outputs: {', '.join(OUTPUTS)}",
                field=f"outputs[{index}]",
            )
        parameters = output.get("parameters")
        if type(parameters) is dict and parameters.get("binary_data"):
            raise UnsupportedMediaType(_BINARY_WORDS, field=f"outputs[{index}].parameters")
        names.append(name)
    return tuple(names)


def _output(name: str, values: list[Any]) -> dict[str, Any]:
    first = values[0] if values else None
    if type(first) is list:
        flat = [item for row in values for item in row]
        shape = [len(values), len(first)]
    else:
        flat, shape = values, [len(values)]
    return {"name": name, "datatype": _datatype(flat), "shape": shape, "data": flat}


def _datatype(values: list[Any]) -> str:
    kinds = {type(value) for value in values if value is not None}
    if kinds == {bool}:
        return "BOOL"
    if kinds == {int}:
        return "INT64"
    if kinds and kinds <= {int, float}:
        return "FP64"
    return "BYTES"
