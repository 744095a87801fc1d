"""Registered models and their immutable versions: creating, reading, loading, bad input."""

from __future__ import annotations

import hashlib
import pickle
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from steward import audit, flavors, registry, tracking
from steward.errors import Conflict, IntegrityError, InvalidInput, NotFound
from steward.store import LocalArtifactStore, Store


def _actions(store: Store) -> list[tuple[str, str]]:
    return [(e.action, e.target_id) for e in audit.list_events(store, limit=1000)]


def test_create_get_and_list_models(store: Store) -> None:
    model = registry.create_model(
        store, "churn", description="who leaves", tags={"team": "growth"}, actor="alice"
    )
    assert (model.name, model.description, model.tags) == (
        "churn",
        "who leaves",
        {"team": "growth"},
    )
    assert (model.latest_version, model.aliases) == (None, {})
    assert model.created_at.tzinfo is not None
    registry.create_model(store, "fraud", actor="bob")
    assert registry.get_model(store, "churn") == model
    assert [m.name for m in registry.list_models(store)] == ["churn", "fraud"]
    event = audit.list_events(store)[0]
    assert (event.actor, event.action, event.target_type, event.target_id) == (
        "alice",
        "model.create",
        "model",
        "churn",
    )
    assert event.after == {"description": "who leaves", "tags": {"team": "growth"}}


def test_creating_a_model_twice_is_a_conflict(store: Store, state: Any) -> None:
    registry.create_model(store, "churn", actor="alice")
    before = state()
    with pytest.raises(Conflict, match="'churn' already exists"):
        registry.create_model(store, "churn", actor="bob")
    assert state() == before


def test_an_unknown_model_suggests_close_names(store: Store) -> None:
    registry.create_model(store, "churn", actor="alice")
    with pytest.raises(NotFound) as caught:
        registry.get_model(store, "chrun")
    assert caught.value.message == (
        "no registered model 'chrun'; did you mean 'churn'? (list them: steward models list)"
    )
    with pytest.raises(NotFound, match=r"^no registered model 'zzz' \(list them"):
        registry.list_versions(store, "zzz")


def test_register_a_trained_model_and_load_it_back(
    store: Store, pipeline: Any, features: pd.DataFrame
) -> None:
    version = registry.register_model(
        store,
        "churn",
        pipeline,
        sample_input=features.head(20),
        dataset_digests=["d" * 64],
        description="first try",
        tags={"algo": "logreg"},
        actor="alice",
    )
    assert (version.model_name, version.version, version.flavor) == ("churn", 1, "sklearn")
    assert [column["name"] for column in version.input_schema] == ["age", "income", "plan"]
    assert version.output_schema
    blob = store.artifacts.read_bytes(version.artifact_digest)
    assert version.artifact_size_bytes == len(blob)
    assert version.artifact_digest == hashlib.sha256(blob).hexdigest()
    assert registry.get_version(store, "churn", 1) == version
    loaded = registry.load_version(store, "churn", 1)
    assert (loaded.predict(features) == pipeline.predict(features)).all()
    assert registry.get_model(store, "churn").latest_version == 1
    assert _actions(store) == [("model.create", "churn"), ("model_version.create", "churn/1")]


def test_versions_are_dense_and_listed_in_order(
    store: Store, version_fields: dict[str, Any]
) -> None:
    for _ in range(3):
        registry.create_version(store, "churn", **version_fields, actor="alice")
    assert [v.version for v in registry.list_versions(store, "churn")] == [1, 2, 3]
    assert registry.resolve(store, "models:/churn/latest").version == 3
    with pytest.raises(NotFound, match="has no version 4; its versions are 1 to 3"):
        registry.get_version(store, "churn", 4)


def test_concurrent_registrations_get_distinct_numbers(
    store: Store, version_fields: dict[str, Any]
) -> None:
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def register(worker: int) -> None:
        start.wait(timeout=30)
        try:
            for _ in range(5):
                registry.create_version(store, "churn", **version_fields, actor=f"w{worker}")
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    versions = registry.list_versions(store, "churn")
    assert [v.version for v in versions] == list(range(1, 16))
    assert sorted({v.created_by for v in versions}) == ["w0", "w1", "w2"]
    assert audit.verify(store).checked == 16  # one model.create, fifteen versions


def test_versions_record_lineage_to_the_run(store: Store, version_fields: dict[str, Any]) -> None:
    experiment = tracking.create_experiment(store, "churn")
    run = tracking.start_run(store, experiment.id)
    version = registry.create_version(
        store, "churn", **version_fields, run_id=run.id, dataset_digests=("a1", "b2"), actor="ci"
    )
    assert (version.run_id, version.dataset_digests) == (run.id, ("a1", "b2"))
    assert registry.get_version(store, "churn", 1).run_id == run.id


def test_an_unknown_run_is_refused_and_nothing_is_written(
    store: Store, version_fields: dict[str, Any], state: Any
) -> None:
    before = state()
    with pytest.raises(NotFound, match="no run 'nope'") as caught:
        registry.create_version(store, "churn", **version_fields, run_id="nope", actor="a")
    assert caught.value.field == "run_id"
    assert state() == before


def test_a_missing_artifact_is_refused_and_nothing_is_written(
    store: Store, version_fields: dict[str, Any], state: Any
) -> None:
    before = state()
    missing = hashlib.sha256(b"never uploaded").hexdigest()
    with pytest.raises(NotFound, match=f"no artifact with digest {missing}") as caught:
        registry.create_version(
            store, "churn", **(version_fields | {"artifact_digest": missing}), actor="a"
        )
    assert caught.value.field == "artifact_digest"
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "a/b"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"artifact_digest": "abc"}, "artifact_digest"),
        ({"artifact_digest": "A" * 64}, "artifact_digest"),
        ({"flavor": "tensorflow"}, "flavor"),
        ({"input_schema": {"age": "float"}}, "input_schema"),
        ({"profile": {"mean": float("nan")}}, "profile"),
        ({"tags": {"k": 1}}, "tags.k"),
        ({"tags": {"": "v"}}, "tags key"),
        ({"description": "x" * 10_001}, "description"),
        ({"dataset_digests": "abc"}, "dataset_digests"),
        ({"actor": ""}, "actor"),
        ({"run_id": 7}, "run_id"),
    ],
)
def test_bad_version_fields_are_refused_and_nothing_is_written(
    store: Store, version_fields: dict[str, Any], state: Any, change: dict[str, Any], field: str
) -> None:
    arguments = {"name": "churn", "actor": "alice", **version_fields, **change}
    name = arguments.pop("name")
    before = state()
    with pytest.raises(InvalidInput) as caught:
        registry.create_version(store, name, **arguments)
    assert caught.value.field == field
    assert state() == before


def test_the_flavor_is_named_in_its_error(store: Store, version_fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="flavor 'tensorflow' is unknown; registered flavors: "):
        registry.create_version(
            store, "m", **(version_fields | {"flavor": "tensorflow"}), actor="a"
        )


def test_an_unsavable_model_is_refused_before_anything_is_stored(store: Store, state: Any) -> None:
    before = state()
    with pytest.raises(InvalidInput, match="no flavor can save"):
        registry.register_model(store, "churn", object(), actor="alice")
    assert state() == before


def test_loading_refuses_a_blob_altered_on_disk(
    store: Store, version_fields: dict[str, Any], tree: Any
) -> None:
    registry.create_version(store, "churn", **version_fields, actor="alice")
    record = registry.get_version(store, "churn", 1)
    assert isinstance(store.artifacts, LocalArtifactStore)
    swapped = flavors.save_model(tree).payload  # a real, loadable model: not the registered one
    store.artifacts.path_of(record.artifact_digest).write_bytes(swapped)
    with pytest.raises(IntegrityError) as caught:
        registry.load_version(store, "churn", 1)
    message = caught.value.message
    assert "model 'churn' version 1" in message
    assert record.artifact_digest in message
    assert hashlib.sha256(swapped).hexdigest() in message


class _Planted:
    """Unpickling this writes a file: what a malicious blob would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.path, "pwned"))


def test_a_swapped_malicious_pickle_is_never_unpickled(
    store: Store, version_fields: dict[str, Any], tmp_path: Path
) -> None:
    registry.create_version(store, "churn", **version_fields, actor="alice")
    marker = tmp_path / "ran"
    path = store.artifacts.path_of(version_fields["artifact_digest"])  # type: ignore[attr-defined]
    path.write_bytes(pickle.dumps(_Planted(marker)))
    with pytest.raises(IntegrityError):
        registry.load_version(store, "churn", 1)
    assert not marker.exists()


def test_loading_a_version_whose_blob_is_gone_is_not_found(
    store: Store, version_fields: dict[str, Any]
) -> None:
    registry.create_version(store, "churn", **version_fields, actor="alice")
    store.artifacts.path_of(version_fields["artifact_digest"]).unlink()  # type: ignore[attr-defined]
    with pytest.raises(NotFound, match=r"model 'churn' version 1: its artifact \w+ is missing"):
        registry.load_version(store, "churn", 1)


@pytest.mark.parametrize("version", [0, -1, True])
def test_a_version_below_one_is_invalid(store: Store, version: int) -> None:
    with pytest.raises(InvalidInput, match="versions are whole numbers from 1"):
        registry.get_version(store, "churn", version)


def test_versions_have_no_update_operation() -> None:
    # Immutability by construction: the public surface offers no way to change a version.
    assert not [name for name in registry.__all__ if name.startswith(("update", "edit"))]
