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

The same goes for the sources a probe imports from outside its
environment: ``PYTHONPYCACHEPREFIX`` also moves the bytecode of the
interpreter's standard library away from its ``__pycache__``, so without
the store a probe compiled some 170 modules of it again (0.45 s of a
2.0 s run). They have no ``RECORD``: the store keeps the list of them
(:data:`OTHERS_NAME`, one path a line), and their bytecode by the SHA-256
of their content, which the seeding computes (:func:`file_digest`).

Probes running side by side, and two bisects at once, share the store
without locks: Python writes each ``.pyc`` to a temporary name and renames
it, so a linked file is never changed in place, and the store is written
only by linking a finished file under a temporary name and renaming it
(:func:`publish`). A reader finds the old file or the new one, never a part.
The list of other sources is replaced whole, in the same way; of two
harvests at once, one's additions may be lost, and are compiled and listed
again by a later probe.
"""

from __future__ import annotations

import base64
import hashlib
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
#: The store's list of the sources outside every ``RECORD`` whose bytecode it has.
OTHERS_NAME = "others.txt"


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


def file_digest(path: str) -> str:
    """The SHA-256 of a file's content, written as ``RECORD`` writes it (URL-safe base64)."""
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def bytecode_file(prefix: str, source: str) -> str:
    """Where Python looks for ``source``'s bytecode under ``PYTHONPYCACHEPREFIX=prefix``.

    As importlib computes it: the source's folder, less its drive and root,
    under the prefix (strings, for speed; see :func:`sources`).
    """
    folder, name = os.path.split(os.path.splitdrive(os.path.abspath(source))[1])
    stem = name.rsplit(".", 1)[0]
    return os.path.join(prefix, folder.lstrip(os.sep), f"{stem}.{sys.implementation.cache_tag}.pyc")


def source_file(prefix: str, compiled: str) -> str | None:
    """The source whose bytecode Python writes at ``compiled`` (the reverse of
    :func:`bytecode_file`); ``None`` for another file, such as pytest's rewritten tests."""
    folder, name = os.path.split(compiled)
    suffix = f".{sys.implementation.cache_tag}.pyc"
    if not name.endswith(suffix) or len(name) == len(suffix):
        return None
    relative = os.path.relpath(folder, prefix)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    drive = os.path.splitdrive(os.path.abspath(prefix))[0]
    source = os.path.join(drive + os.sep, relative, name[: -len(suffix)] + ".py")
    return os.path.normpath(source)


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

    def others(self) -> list[str]:
        """The listed sources outside every ``RECORD`` (:data:`OTHERS_NAME`)."""
        try:
            text = (self.root / OTHERS_NAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
        return [line for line in text.splitlines() if line]

    def other_sources(self) -> list[tuple[str, str]]:
        """``(source file, SHA-256)`` of the listed other sources that are here now."""
        found = []
        for source in self.others():
            try:
                found.append((source, file_digest(source)))
            except OSError:
                continue
        return found

    def seed(self, env: Path, prefix: Path) -> int:
        """Link the stored bytecode of ``env``'s sources, and of the other sources
        listed, under ``prefix``; how many are the store's now.

        ``prefix`` may hold the bytecode of an earlier probe in the same
        environment (a worker's slot keeps it): a file that is already the
        stored one stays, one of another content is replaced by the stored
        one, and one with none stored stays for Python to check (its source's
        hash) and compile again if it must.
        """
        site = site_packages(env)
        seeded = 0
        made: set[str] = set()
        root, prefix = str(self.root), os.fspath(prefix)
        for source, digest in [*(sources(site) if site else []), *self.other_sources()]:
            stored = os.path.join(root, digest[:2], f"{digest}.pyc")
            target = bytecode_file(prefix, source)
            try:
                stored_stat = os.stat(stored)
            except OSError:
                continue
            try:
                if os.path.samestat(os.stat(target), stored_stat):
                    seeded += 1
                    continue
                os.unlink(target)
            except FileNotFoundError:
                folder = os.path.dirname(target)
                if folder not in made:
                    try:
                        os.makedirs(folder, exist_ok=True)
                    except OSError:
                        continue
                    made.add(folder)
            except OSError:
                continue
            try:
                os.link(stored, target)
            except OSError:
                continue
            seeded += 1
        return seeded

    def harvest(self, env: Path, prefix: Path) -> int:
        """Publish the bytecode Python wrote under ``prefix``; how many files.

        Python replaces a file it compiles anew, so only files with a single
        link are new: the others are the store's own. Those of ``env``'s
        sources are kept by their ``RECORD`` hash; those of sources outside
        ``env`` by the hash of their content, and the sources are listed.
        """
        site = site_packages(env)
        if site is None:
            return 0
        prefix = os.fspath(prefix)
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
            compiled = bytecode_file(prefix, source)
            if compiled not in written:
                continue
            del written[compiled]
            if self._publish(compiled, source, digest):
                published += 1
        inside = os.path.join(os.path.abspath(env), "")
        listed = []
        for compiled in written:
            source = source_file(prefix, compiled)
            if source is None or source.startswith(inside) or not os.path.isfile(source):
                continue
            try:
                digest = file_digest(source)
            except OSError:
                continue
            if self._publish(compiled, source, digest):
                published += 1
                listed.append(source)
        if listed:
            self._list_others(listed)
        return published

    def _publish(self, compiled: str, source: str, digest: str) -> bool:
        """Publish ``compiled``, stamped with its source's hash, as ``digest``'s bytecode."""
        try:
            stamped = hash_stamped(Path(compiled).read_bytes(), Path(source).read_bytes())
            if stamped is None:
                return False
            # Written beside the probe's own file, then published: never a part in the store.
            os.unlink(compiled)
            Path(compiled).write_bytes(stamped)
            publish(Path(compiled), self.path(digest))
        except OSError:
            return False
        return True

    def _list_others(self, sources: list[str]) -> None:
        """Add ``sources`` to the list of other sources (dropping those gone), replaced whole."""
        kept = [source for source in self.others() if os.path.isfile(source)]
        listed = sorted(set(kept) | set(sources))
        target = self.root / OTHERS_NAME
        temporary = target.with_name(f".{OTHERS_NAME}.{uuid.uuid4().hex}.tmp")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temporary.write_text("".join(f"{source}\n" for source in listed), encoding="utf-8")
            os.replace(temporary, target)
        except OSError:
            temporary.unlink(missing_ok=True)
