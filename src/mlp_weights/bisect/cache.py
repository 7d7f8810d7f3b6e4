"""Finished probes, kept under the data home so that a repeated bisect is instant.

A probe's result depends on the release probed, on every other package in
its environment, on Python and the platform, on the baselines it is
compared with, and on the suite's own code. The key is a SHA-256 over all
of these. The other packages enter as the pins the probe asks for
(``requirements/pinned.txt`` less the library bisected): a probe whose
release needed other versions records, in its result, exactly what the
resolver installed. One JSON file per probe, written atomically, under
``<data home>/mlp_weights/bisect/<library>/``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sysconfig
from dataclasses import asdict
from pathlib import Path

from mlp_weights.baselines.manifest import manifest_path
from mlp_weights.bisect.results import Cell, ProbeResult
from mlp_weights.core.io import atomic_write_bytes

#: Bumped whenever a probe is made differently (what it installs, how it runs,
#: what it stores), so that results of the old way are not reused. 3: network
#: failures are no longer stored as releases that do not install.
PROBE_RECIPE = 3
CACHE_SUBDIR = Path("mlp_weights") / "bisect"
#: Files of the working tree whose change changes what a probe measures.
SUITE_FILES = ("pyproject.toml", "tests/conftest.py", "tests/test_layers.py", "tests/test_seed.py")
#: The suite's code is the package less this command's own modules.
PACKAGE_DIR = Path("src") / "mlp_weights"
OWN_PACKAGE = "bisect"


def _digest(root: Path, paths: list[Path], extra: str = "") -> str:
    """SHA-256 over each file's path under ``root`` and content, then ``extra``."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update((path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    digest.update(extra.encode())
    return digest.hexdigest()


def baselines_digest(baseline_dir: Path, scenarios: list[str], forced: str = "") -> str:
    """SHA-256 over the manifest, every generation's files of the chosen scenarios, and
    the generations the probes are forced to compare with."""
    from mlp_weights.baselines.generations import read_generations

    files = [manifest_path(baseline_dir)]
    for generation in read_generations(baseline_dir):
        for scenario in sorted(scenarios):
            if scenario in generation.scenarios:
                files.append(generation.file_path(baseline_dir, scenario))
    return _digest(baseline_dir, files, forced)


def suite_digest(repo: Path) -> str:
    """SHA-256 over the suite's code: the package (less bisect), the tests, pyproject."""
    package = repo / PACKAGE_DIR
    sources = sorted(
        p for p in package.rglob("*.py") if OWN_PACKAGE not in p.relative_to(package).parts[:1]
    )
    return _digest(repo, sources + [repo / name for name in SUITE_FILES])


def key_material(
    library: str,
    version: str,
    other_pins: dict[str, str],
    layers: list[str],
    scenarios: list[str],
    baselines: str,
    suite: str,
) -> dict:
    """Everything a probe's result depends on, as one JSON-able mapping."""
    return {
        "recipe": PROBE_RECIPE,
        "library": library,
        "version": version,
        "others": dict(sorted(other_pins.items())),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": sysconfig.get_platform(),
        "layers": sorted(layers),
        "scenarios": sorted(scenarios),
        "baselines": baselines,
        "suite": suite,
    }


def cache_key(material: dict) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ProbeCache:
    """Probe results on disk, one file per key.

    Parameters
    ----------
    folder : Path
        ``<data home>/mlp_weights/bisect``.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, material: dict) -> Path:
        key = cache_key(material)
        name = f"{material['version']}-{key[:24]}.json"
        return self.folder / material["library"] / name

    def get(self, material: dict) -> ProbeResult | None:
        """The stored result for this key; ``None`` when absent or unreadable."""
        path = self.path(material)
        try:
            # The file's name holds 96 bits of the key: another key's file it is not.
            data = json.loads(path.read_text(encoding="utf-8"))["result"]
            cells = [Cell(**cell) for cell in data.get("cells", [])]
            return ProbeResult(**{**data, "cells": cells, "cached": True})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, material: dict, result: ProbeResult) -> Path:
        path = self.path(material)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "key": cache_key(material),
            "material": material,
            "result": asdict(result),
        }
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        return atomic_write_bytes(path, text.encode("utf-8"))
