"""The content-addressed artifact store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from steward.errors import IntegrityError, InvalidInput, NotFound
from steward.store import LocalArtifactStore


@pytest.fixture
def artifacts(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


def test_put_and_read_back_by_sha256(artifacts: LocalArtifactStore) -> None:
    digest = artifacts.put_bytes(b"model bytes")
    assert digest == hashlib.sha256(b"model bytes").hexdigest()
    assert artifacts.read_bytes(digest) == b"model bytes"
    assert artifacts.size(digest) == len(b"model bytes")


def test_same_content_is_stored_once(artifacts: LocalArtifactStore) -> None:
    assert artifacts.put_bytes(b"a") == artifacts.put_bytes(b"a")
    assert len(list((artifacts.root / "sha256").rglob("*"))) == 2  # one folder, one blob


def test_large_file_streams_in_chunks(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096
    with source.open("wb") as handle:
        for _ in range(5):
            handle.write(block)
    digest = artifacts.put_file(source)
    chunks = list(artifacts.iter_chunks(digest))
    assert len(chunks) > 1
    assert b"".join(chunks) == source.read_bytes()


def test_tampered_blob_is_refused(artifacts: LocalArtifactStore) -> None:
    digest = artifacts.put_bytes(b"trusted")
    artifacts.path_of(digest).write_bytes(b"evil")
    with pytest.raises(IntegrityError, match=digest):
        artifacts.read_bytes(digest)


def test_no_temporary_files_left_after_a_failed_write(artifacts: LocalArtifactStore) -> None:
    def chunks():
        yield b"part"
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        artifacts.put_stream(chunks())
    assert list((artifacts.root / "tmp").iterdir()) == []


def test_bad_and_unknown_digests(artifacts: LocalArtifactStore) -> None:
    with pytest.raises(InvalidInput, match="sha256"):
        artifacts.read_bytes("../../etc/passwd")
    with pytest.raises(NotFound, match="0" * 64):
        artifacts.read_bytes("0" * 64)
