"""Run artifacts: files and folders into the content-addressed store, verified on the way out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from steward import tracking
from steward.errors import Conflict, IntegrityError, InvalidInput, NotFound
from steward.store import LocalArtifactStore, Store


def test_a_file_is_logged_by_name_under_its_folder(
    store: Store, run: tracking.Run, tmp_path: Path
) -> None:
    source = tmp_path / "model.pkl"
    source.write_bytes(b"weights")
    logged = tracking.log_artifact(store, run.id, source, "models")
    assert logged == tracking.RunArtifact(
        "models/model.pkl", hashlib.sha256(b"weights").hexdigest(), 7
    )
    assert tracking.read_artifact(store, run.id, "models/model.pkl") == b"weights"
    assert tracking.log_artifact(store, run.id, source).path == "model.pkl"
    assert tracking.get_run(store, run.id).artifacts == tracking.list_artifacts(store, run.id)


def test_a_folder_keeps_its_layout(store: Store, run: tracking.Run, tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    (folder / "roc").mkdir(parents=True)
    (folder / "roc" / "curve.png").write_bytes(b"png")
    (folder / "summary.txt").write_bytes(b"ok")
    logged = tracking.log_artifact(store, run.id, folder)
    assert (logged.path, logged.size_bytes) == ("plots", 5)
    listed = tracking.list_artifacts(store, run.id)
    assert [a.path for a in listed] == ["plots/roc/curve.png", "plots/summary.txt"]
    manifest = "".join(f"{a.path} {a.digest} {a.size_bytes}\n" for a in listed)
    assert logged.digest == hashlib.sha256(manifest.encode()).hexdigest()
    assert tracking.read_artifact(store, run.id, "plots/roc/curve.png") == b"png"
    renamed = tracking.log_artifact(store, run.id, folder, "figures/v1")
    assert renamed.path == "figures/v1"
    assert tracking.read_artifact(store, run.id, "figures/v1/summary.txt") == b"ok"


def test_bytes_and_streams_can_be_logged_and_replaced(store: Store, run: tracking.Run) -> None:
    tracking.log_artifact_bytes(store, run.id, "report.json", b'{"a": 1}')
    tracking.log_artifact_stream(store, run.id, "report.json", iter([b'{"a": ', b"2}"]))
    artifact, chunks = tracking.open_artifact(store, run.id, "report.json")
    assert b"".join(chunks) == b'{"a": 2}'
    assert artifact.size_bytes == 8
    assert len(tracking.list_artifacts(store, run.id)) == 1


def test_a_tampered_blob_is_refused(store: Store, run: tracking.Run) -> None:
    logged = tracking.log_artifact_bytes(store, run.id, "model.bin", b"original")
    assert isinstance(store.artifacts, LocalArtifactStore)
    store.artifacts.path_of(logged.digest).write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="corrupt"):
        tracking.read_artifact(store, run.id, "model.bin")


def test_bad_artifact_calls_are_refused_and_nothing_is_recorded(
    store: Store, run: tracking.Run, tmp_path: Path, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    for path in ["", "/abs", "a/../b", "a//b", "./a", "back\\slash", "x" * 1001]:
        with pytest.raises(InvalidInput, match="artifact path") as caught:
            tracking.log_artifact_bytes(store, run.id, path, b"x")
        assert caught.value.field == "path"
    with pytest.raises(InvalidInput, match="no file or folder"):
        tracking.log_artifact(store, run.id, tmp_path / "missing.txt")
    with pytest.raises(InvalidInput, match="must be bytes"):
        tracking.log_artifact_bytes(store, run.id, "a.txt", "text")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match=r"no artifact 'nope\.txt'"):
        tracking.read_artifact(store, run.id, "nope.txt")
    with pytest.raises(NotFound, match="no run 'ghost'"):
        tracking.log_artifact_bytes(store, "ghost", "a.txt", b"x")
    assert snapshot() == before


def test_an_ended_run_takes_no_artifacts(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    tracking.end_run(store, run.id)
    before = snapshot()
    with pytest.raises(Conflict, match="is FINISHED"):
        tracking.log_artifact_bytes(store, run.id, "late.txt", b"late")
    assert snapshot() == before
