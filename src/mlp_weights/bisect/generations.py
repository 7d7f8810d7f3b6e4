"""Which baseline generation a bisect compares with, and what it says about ranges.

Every probe of one bisect compares with the generations the ``--good`` end
selects: that release with every other library at its pin. They are forced
in the probe through :data:`mlp_weights.baselines.generations.GENERATION_ENV`, so a
probe whose own version would select another generation still answers the
bisect's question. ``--walk`` adds, per release, whether it holds against
the generation its own version selects; and when the moving side of a
change point lies outside every declared range, the report ends with the
command that declares a generation there.
"""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from mlp_weights.baselines.generations import (
    COMPARES_FILES_OF,
    Generation,
    choose,
    read_generations,
)
from mlp_weights.baselines.ranges import range_holds
from mlp_weights.baselines.store import PINS_GLOB, read_pins
from mlp_weights.core.environment import LIBRARIES
from mlp_weights.core.errors import BaselineError, MLPWeightsError

#: Shown in the walk's column for a release no declared range holds.
NO_GENERATION = "no generation"


def stack_at(pins_file: Path, library: str, version: str) -> dict[str, str]:
    """The versions a probe of ``library`` ``version`` installs: the rest at their pins."""
    import platform

    pins = read_pins(pins_file)
    stack = {lib: pins[lib] for lib in LIBRARIES if lib in pins}
    stack["python"] = platform.python_version()
    stack[library] = str(version)
    return stack


def file_layers(layers: list[str]) -> list[str]:
    """The generation layers whose files the bisected layers compare."""
    return list(dict.fromkeys(COMPARES_FILES_OF[n] for n in layers if n in COMPARES_FILES_OF))


def selected(generations: list[Generation], layers: list[str], stack: dict) -> list[Generation]:
    """The generations ``stack`` selects for the bisected layers; NoGenerationError if none."""
    return [choose(generations, layer, stack) for layer in file_layers(layers)]


def good_end_generations(baseline_dir: Path, pins_file: Path, library, good, layers):
    """``(generations, selected by the good end)``; a one-line error when none holds it."""
    generations = read_generations(baseline_dir)
    try:
        return generations, selected(generations, layers, stack_at(pins_file, library, good))
    except BaselineError as exc:
        raise MLPWeightsError(f"--good {library} {good}: {exc}") from None


def forced_value(chosen: list[Generation]) -> str:
    """The value of ``MLP_WEIGHTS_GENERATION`` that forces ``chosen``."""
    return ",".join(g.name for g in chosen)


def own_generations(generations, layers, pins_file, library, version) -> list[Generation] | None:
    """The generations a release's own version selects; ``None`` when no range holds it."""
    try:
        return selected(generations, layers, stack_at(pins_file, library, version))
    except BaselineError:
        return None


def declare_command(generations, layers, pins_file: Path, library: str, point) -> str | None:
    """The ``regen`` command that declares a generation on the moving side of a change point.

    ``None`` when a declared range already holds the moving release. The
    range starts at the boundary found: ``<holds`` toward older releases,
    ``>=moves`` toward newer ones.
    """
    stack = stack_at(pins_file, library, point.moves)
    outside = []
    for layer in file_layers(layers):
        try:
            choose(generations, layer, stack)
        except BaselineError:
            outside.append(layer)
    if not outside:
        return None
    older = Version(point.moves) < Version(point.holds)
    spec = f"<{point.holds}" if older else f">={point.moves}"
    label = f"{library}-{point.moves}"
    candidates = sorted(pins_file.parent.parent.glob(PINS_GLOB))
    holding = [p for p in candidates if range_holds({library: spec}, read_pins(p))]
    pins = holding[0].relative_to(pins_file.parent.parent).as_posix() if holding else None
    return (
        f"mlp-weights regen --new-generation {outside[0]}/{label} --range '{library}{spec}' "
        f"--pins {pins or 'requirements/NEW-PINS.txt'} "
        f'--reason "{library} {point.holds} holds, {point.moves} moves"'
    )
