"""Atomic file writes, shared by every module that writes a file."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike):
    """Open a temporary file beside ``path`` for writing; rename it on success.

    Readers see either the old file or the complete new one, never a part.
    On any error the temporary file is removed and ``path`` is untouched.
    The temporary file is created new under a unique name, so it gets the
    permissions of any new file (``tempfile.mkstemp`` would make it private).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as fh:
        fh.write(data)
    return Path(path)
