"""Persistence: the metadata database, its migrations, and the content-addressed artifact store."""

from __future__ import annotations

from steward.store.artifacts import ArtifactStore, LocalArtifactStore, sha256_file
from steward.store.context import Store, new_id, now_ms, open_store
from steward.store.database import Database

__all__ = [
    "ArtifactStore",
    "Database",
    "LocalArtifactStore",
    "Store",
    "new_id",
    "now_ms",
    "open_store",
    "sha256_file",
]
