"""The one SHA-256 of files and bytes used everywhere (model cards, checkpoints, batch shards, uploads)."""
from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_bytes", "sha256_file"]


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (64 characters)."""
    return hashlib.sha256(bytes(data)).hexdigest()


def sha256_file(path) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks (64 characters)."""
    digest = hashlib.sha256()
    with open(Path(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
