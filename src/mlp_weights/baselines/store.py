"""Where the baseline files are, the project they belong to, and its pins.

Per scenario, ``baseline_images/`` holds ``<scenario>.npz`` (the numeric
snapshot) in a training generation's folder, ``<scenario>.png`` (the weight
grid) in a rendering generation's folder, and an entry per generation in
``manifest.json`` (:mod:`mlp_weights.baselines.manifest`). The baseline folder's
parent is the project root: its ``requirements/`` holds the pins files, one
per stack, and every pins path the manifest records is relative to it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from packaging.utils import canonicalize_name

from mlp_weights.baselines.generations import chosen_path
from mlp_weights.baselines.manifest import Generation
from mlp_weights.baselines.ranges import same_version
from mlp_weights.core.errors import MLPWeightsError, UsageError
from mlp_weights.core.layers import LAYERS
from mlp_weights.pipeline.scenarios import Scenario, get_scenario

#: Used when neither ``--baseline-dir`` nor ``MLP_WEIGHTS_BASELINE_DIR`` is given.
DEFAULT_BASELINE_DIR = "baseline_images"
BASELINE_DIR_ENV = "MLP_WEIGHTS_BASELINE_DIR"
#: The folder of the pins files, relative to the project root.
PINS_FOLDER = Path("requirements")
#: The pins the baselines are made with, relative to the project root.
DEFAULT_PINNED_FILE = PINS_FOLDER / "pinned.txt"
#: Pins files, relative to the project root (one per stack: pinned, oldest).
PINS_GLOB = f"{PINS_FOLDER.as_posix()}/*.txt"
#: Used, when set, instead of DEFAULT_PINNED_FILE (``--pinned`` wins over both).
PINNED_FILE_ENV = "MLP_WEIGHTS_PINNED"
#: The layers whose stored files ``regen`` writes: the snapshot is what the
#: training layer compares, the image what the rendering layer compares.
REGEN_LAYERS = ("training", "rendering")
#: Libraries whose installed version must equal its pin: every library the
#: regenerated layers depend on, except Python itself (not a pin).
PINNED_LIBRARIES = tuple(
    dict.fromkeys(lib for name in REGEN_LAYERS for lib in LAYERS[name].libraries if lib != "python")
)


def project_root(baseline_dir: str | os.PathLike) -> Path:
    """The project a baseline folder belongs to: its parent, which holds the pins files.

    The only way the baselines find the project: from the baseline folder,
    never from where this package is installed.

    Raises
    ------
    UsageError
        One line when the parent has no ``requirements/`` folder (the
        baseline folder is outside a checkout).
    """
    root = Path(baseline_dir).resolve().parent
    if not (root / PINS_FOLDER).is_dir():
        raise UsageError(
            f"the baseline folder {str(baseline_dir)!r} is not in a project: {root} has no "
            f"{PINS_FOLDER.as_posix()}/ folder; run from the project's checkout or give "
            "--baseline-dir inside one"
        )
    return root


def resolve_baseline_dir(
    baseline_dir: str | os.PathLike | None = None,
    default: str | os.PathLike = DEFAULT_BASELINE_DIR,
) -> Path:
    """``baseline_dir``, else ``$MLP_WEIGHTS_BASELINE_DIR``, else ``default``."""
    chosen = baseline_dir or os.environ.get(BASELINE_DIR_ENV) or default
    return Path(chosen)


def image_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    """The image the rendering layer compares, in the generation the installed stack selects.

    A folder without a readable manifest, or without a generation for this
    stack, gives ``<baseline_dir>/<scenario>.png``.
    """
    return chosen_path(baseline_dir, "rendering", scenario)


def snapshot_path(baseline_dir: str | os.PathLike, scenario: str) -> Path:
    """The snapshot the training layer compares (as :func:`image_path` chooses)."""
    return chosen_path(baseline_dir, "training", scenario)


def generation_pins(generation: Generation, baseline_dir, explicit=None) -> Path:
    """The pins the stack must match to write ``generation``.

    ``--pinned`` (``explicit``) wins; else the generation's own pins file,
    in the project of the baseline folder; a generation that records none
    yet (the first of its layer) takes ``$MLP_WEIGHTS_PINNED``, else
    :data:`DEFAULT_PINNED_FILE`. The generation's own file wins over the
    variable, so that no environment can rewrite another stack's generation.

    Raises
    ------
    UsageError
        When the pins are to be found in a project and the baseline folder
        is in none (:func:`project_root`).
    """
    if explicit:
        return Path(explicit)
    if not generation.pins and os.environ.get(PINNED_FILE_ENV):
        return Path(os.environ[PINNED_FILE_ENV])
    try:
        root = project_root(baseline_dir)
    except UsageError as exc:
        raise UsageError(f"{exc}, or name the pins with --pinned FILE") from None
    return root / (generation.pins or DEFAULT_PINNED_FILE)


def relative_pins(pins: Path, baseline_dir) -> str:
    """A pins path as the manifest records it: relative to the project root when inside it."""
    try:
        return pins.resolve().relative_to(project_root(baseline_dir)).as_posix()
    except (ValueError, UsageError):
        return str(pins)


def read_pins(path: str | os.PathLike) -> dict[str, str]:
    """Exact pins (``name==version``) of a requirements file, by normalized name.

    Raises
    ------
    MLPWeightsError
        One line when the file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MLPWeightsError(
            f"cannot read the pins {path} ({exc.strerror or exc}); point --pinned at "
            "the requirements file the baselines are made with, or pass --allow-unpinned"
        ) from None
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s,]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def unpinned_libraries(pinned_file: str | os.PathLike, installed: dict[str, str]) -> list[str]:
    """One phrase per library of :data:`PINNED_LIBRARIES` that differs from its pin."""
    pins = read_pins(pinned_file)
    mismatches = []
    for library in PINNED_LIBRARIES:
        pin = pins.get(canonicalize_name(library))
        now = installed[library]
        if pin is None:
            mismatches.append(f"{library} {now} is installed but {pinned_file} does not pin it")
        elif not same_version(now, pin):
            mismatches.append(f"{library} {now} is installed, {pinned_file} pins {pin}")
    return mismatches


def scenarios_from_names(names: list[str] | None, default: list[str]) -> list[Scenario]:
    return [get_scenario(name) for name in (names or default)]


def pins_installing(root: Path, library: str, version: str) -> Path | None:
    """A pins file of the project at ``root`` that installs ``library`` ``version``, if any."""
    for path in sorted(root.glob(PINS_GLOB)):
        pinned = read_pins(path).get(canonicalize_name(library))
        if pinned is not None and same_version(pinned, version):
            return path
    return None
