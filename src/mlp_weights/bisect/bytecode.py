"""The bytecode the probes of one bisect share (``PYTHONPYCACHEPREFIX``).

Importing the stack from source would take most of a probe, so every probe
writes its bytecode under one prefix: one folder per set of versions of the
other packages (so that the NumPy 1 stack of old releases does not evict
the pinned stack's), inside which Python mirrors each source file's absolute
path. Each worker probes in a folder of its own that it reuses, so its
bytecode stays valid from one of its probes to the next, and two probes at
once never write the same file (Python itself writes each ``.pyc`` to a
temporary name and renames it).

Python checks bytecode against its source's modification time and size
only. Two versions of a file extracted by the installer within the same
second and of equal size would pass that check, so the bytecode of a
distribution is kept only while its version is the one it was compiled
from. That record is kept per environment folder: a worker's bytecode is
its own, and another worker having compiled a version says nothing about it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
from pathlib import Path

from packaging.utils import canonicalize_name

#: Suffixes of the bytecode files Python writes for one source file.
BYTECODE_SUFFIXES = ("", ".opt-1", ".opt-2")


def site_packages(env: Path) -> Path | None:
    """The ``site-packages`` folder of a virtual environment, if it has one."""
    sites = sorted(env.glob("lib/python*/site-packages")) + sorted(env.glob("Lib/site-packages"))
    return sites[0] if sites else None


class SharedBytecode:
    """Bytecode folders of one bisect, and what each worker's folder holds.

    Parameters
    ----------
    root : Path
        The folder every bytecode folder goes into.
    library : str
        The library bisected: its version does not choose the folder.
    """

    def __init__(self, root: Path, library: str):
        self.root = Path(root)
        self.library = canonicalize_name(library)
        self._lock = threading.Lock()
        #: ``(bytecode folder, site-packages) -> {name: version}`` compiled there.
        self.compiled: dict[tuple[Path, Path], dict[str, str]] = {}

    def folder(self, installed: dict[str, str]) -> Path:
        """Where this stack's bytecode goes: one folder per set of versions of the others."""
        others = sorted((k, v) for k, v in installed.items() if k != self.library)
        digest = hashlib.sha256(json.dumps(others).encode()).hexdigest()[:16]
        return self.root / digest

    def forget_stale(self, env: Path, folder: Path) -> None:
        """Delete the bytecode under ``folder`` of this environment's changed distributions."""
        site = site_packages(env)
        if site is None:
            self._forget_env(env, folder)
            return
        with self._lock:
            compiled = self.compiled.setdefault((folder, site), {})
        tag = sys.implementation.cache_tag
        for dist_info in site.glob("*.dist-info"):
            name, _, version = dist_info.name[: -len(".dist-info")].partition("-")
            name = canonicalize_name(name)
            if compiled.get(name) == version:
                continue
            try:
                record = (dist_info / "RECORD").read_text(encoding="utf-8")
            except OSError:
                self._forget_env(env, folder)
                return
            for line in record.splitlines():
                path = line.split(",", 1)[0]
                if not path.endswith(".py"):
                    continue
                source = Path(os.path.normpath(site / path))
                cached = folder / source.parent.relative_to(source.anchor)
                for suffix in BYTECODE_SUFFIXES:
                    (cached / f"{source.stem}.{tag}{suffix}.pyc").unlink(missing_ok=True)
            compiled[name] = version

    def _forget_env(self, env: Path, folder: Path) -> None:
        """Drop all bytecode of this environment's files under ``folder``, and its record."""
        env = Path(os.path.abspath(env))
        shutil.rmtree(folder / env.relative_to(env.anchor), ignore_errors=True)
        with self._lock:
            for key in [k for k in self.compiled if k[0] == folder and k[1].is_relative_to(env)]:
                del self.compiled[key]
