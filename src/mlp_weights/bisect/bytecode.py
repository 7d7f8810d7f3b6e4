"""Compiled bytecode shared by every probe, kept by the content of its source.

Importing the stack from source costs a probe about 5 s of compiling
(measured: 2,038 calls of ``compile``, 9.0 s under a profiler, against
2.9 s for the whole warm run). Each probe is a fresh environment, so its
bytecode goes to a folder of its own (``PYTHONPYCACHEPREFIX``), and a store
keeps what was compiled, one file per source file, named by the SHA-256
that the wheel's ``RECORD`` gives for that source:

- before a probe runs, every source whose bytecode is in the store gets it,
  as a hard link, in the probe's folder (:meth:`BytecodeStore.seed`);
- after the run, what Python compiled is published into the store
  (:meth:`BytecodeStore.harvest`).

Bytecode is thus reused only for the very same source, whatever the
environment, the worker or the stack around it, and never for another
version of a file. Python writes bytecode stamped with its source's
modification time, which differs between two wheels holding the same file
(240 of about 2,000 files were compiled again in one bisect for that
alone); the store keeps it stamped with the source's hash instead
(PEP 552, checked: Python hashes the source at import and compiles again
should it differ), so it is valid in every environment.

Probes running side by side, and two bisects at once, share the store
without locks: Python writes each ``.pyc`` to a temporary name and renames
it, so a linked file is never changed in place, and the store is written
only by linking a finished file under a temporary name and renaming it
(:func:`publish`). A reader finds the old file or the new one, never a part.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

#: How RECORD names a file's hash.
RECORD_HASH = "sha256="
#: PEP 552 header: magic, flags, then a timestamp and size or the source hash.
HEADER_SIZE = 16
TIMESTAMP_FLAGS = (0).to_bytes(4, "little")
#: Hash-based, and checked against the source at every import.
CHECKED_HASH_FLAGS = (0b11).to_bytes(4, "little")


def site_packages(env: Path) -> Path | None:
    """The ``site-packages`` folder of a virtual environment, if it has one."""
    sites = sorted(env.glob("lib/python*/site-packages")) + sorted(env.glob("Lib/site-packages"))
    return sites[0] if sites else None


def sources(site: Path) -> list[tuple[str, str]]:
    """``(source file, SHA-256 from RECORD)`` of every Python file installed in ``site``.

    Paths are strings: a probe's environment holds some 5,000 Python files,
    and this runs twice a probe.
    """
    found = []
    for record in site.glob("*.dist-info/RECORD"):
        try:
            lines = record.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            path, _, rest = line.partition(",")
            digest = rest.split(",", 1)[0]
            if path.endswith(".py") and digest.startswith(RECORD_HASH):
                source = os.path.normpath(os.path.join(site, path))
                found.append((source, digest[len(RECORD_HASH) :]))
    return found


def bytecode_file(prefix: str, source: str) -> str:
    """Where Python looks for ``source``'s bytecode under ``PYTHONPYCACHEPREFIX=prefix``.

    As importlib computes it: the source's folder, less its drive and root,
    under the prefix (strings, for speed; see :func:`sources`).
    """
    folder, name = os.path.split(os.path.splitdrive(os.path.abspath(source))[1])
    stem = name.rsplit(".", 1)[0]
    return os.path.join(prefix, folder.lstrip(os.sep), f"{stem}.{sys.implementation.cache_tag}.pyc")


def bytecode_path(prefix: Path, source: str | os.PathLike) -> Path:
    """:func:`bytecode_file` as a path."""
    return Path(bytecode_file(os.fspath(prefix), os.fspath(source)))


def publish(path: Path, target: Path) -> None:
    """Make ``target`` the file ``path`` is, atomically: a reader sees a whole file or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    os.link(path, temporary)
    try:
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def hash_stamped(bytecode: bytes, source: bytes) -> bytes | None:
    """``bytecode`` (stamped with a time, as Python writes it) stamped with ``source``'s hash.

    ``None`` when it is not this Python's timestamp bytecode.
    """
    magic = importlib.util.MAGIC_NUMBER
    if len(bytecode) < HEADER_SIZE or bytecode[:8] != magic + TIMESTAMP_FLAGS:
        return None
    return magic + CHECKED_HASH_FLAGS + importlib.util.source_hash(source) + bytecode[16:]


class BytecodeStore:
    """Bytecode by source content, under ``root`` (one folder per Python's cache tag).

    Parameters
    ----------
    root : Path
        The store's folder; created on first use. When it cannot be
        written, probes simply compile as they would without it.
    """

    def __init__(self, root: Path):
        self.root = Path(root) / sys.implementation.cache_tag

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.pyc"

    def seed(self, env: Path, prefix: Path) -> int:
        """Link the stored bytecode of ``env``'s sources under ``prefix``; how many."""
        site = site_packages(env)
        seeded = 0
        made: set[str] = set()
        root, prefix = str(self.root), os.fspath(prefix)
        for source, digest in sources(site) if site else []:
            stored = os.path.join(root, digest[:2], f"{digest}.pyc")
            target = bytecode_file(prefix, source)
            folder = os.path.dirname(target)
            try:
                if folder not in made:
                    if not os.path.exists(stored):
                        continue
                    os.makedirs(folder, exist_ok=True)
                    made.add(folder)
                os.link(stored, target)
            except OSError:
                continue
            seeded += 1
        return seeded

    def harvest(self, env: Path, prefix: Path) -> int:
        """Publish the bytecode Python wrote under ``prefix`` for ``env``'s sources; how many.

        Python replaces a file it compiles anew, so only files with a single
        link are new: the others are the store's own.
        """
        site = site_packages(env)
        if site is None:
            return 0
        written = {}
        for folder, _, names in os.walk(prefix):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if name.endswith(".pyc") and os.stat(path).st_nlink == 1:
                        written[path] = None
                except OSError:
                    continue
        published = 0
        if not written:
            return published
        for source, digest in sources(site):
            compiled = bytecode_file(os.fspath(prefix), source)
            if compiled not in written:
                continue
            try:
                stamped = hash_stamped(Path(compiled).read_bytes(), Path(source).read_bytes())
                if stamped is None:
                    continue
                # Written beside the probe's own file, then published: never a part in the store.
                os.unlink(compiled)
                Path(compiled).write_bytes(stamped)
                publish(Path(compiled), self.path(digest))
            except OSError:
                continue
            published += 1
        return published
