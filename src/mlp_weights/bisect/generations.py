"""Which baseline generation a bisect compares with, and what it says about ranges.

Every probe of one bisect compares with the generations the ``--good`` end
selects: that release with every other library at its pin. They are forced
in the probe through :data:`mlp_weights.baselines.generations.GENERATION_ENV`, so a
probe whose own version would select another generation still answers the
bisect's question. ``--walk`` adds, per release, whether it holds against
the generation its own version selects; and when the moving side of a
change point lies outside every declared range, the report ends with the
commands that declare a generation in the gap that holds it.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from mlp_weights.baselines.generations import (
    COMPARES_FILES_OF,
    Generation,
    choose,
)
from mlp_weights.baselines.ranges import gap_around
from mlp_weights.baselines.store import pins_installing, read_pins
from mlp_weights.core.environment import LIBRARIES
from mlp_weights.core.errors import BaselineError

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


def selected(generations: list[Generation], layers: list[str], pins_file: Path, library, version):
    """The generations a probe of ``library`` ``version`` selects for the bisected layers.

    Raises
    ------
    BaselineError
        When no declared range of a layer holds that stack.
    """
    stack = stack_at(pins_file, library, version)
    return [choose(generations, layer, stack) for layer in file_layers(layers)]


def forced_value(chosen: list[Generation]) -> str:
    """The value of ``MLP_WEIGHTS_GENERATION`` that forces ``chosen``."""
    return ",".join(g.name for g in chosen)


def gap_range(generations: list[Generation], layer: str, library: str, point) -> str:
    """The specifier of the gap between ``layer``'s ranges that holds the moving release.

    Bounded on one side by the boundary found (``<holds`` toward older
    releases, ``>=moves`` toward newer ones) and on each side by the nearest
    range of another generation: with ``matplotlib<3.10`` and ``>=3.11``
    declared, 3.10.9 moving and 3.11.0 holding give ``>=3.10,<3.11.0``.
    """
    older = Version(point.moves) < Version(point.holds)
    boundary = f"<{point.holds}" if older else f">={point.moves}"
    specs = [g.ranges[library] for g in generations if g.layer == layer and library in g.ranges]
    return gap_around(specs, point.moves, [boundary])


def make_pins_command(pins_file: Path, pins: dict[str, str], target: str) -> str:
    """A ``sed`` command that copies ``pins_file`` to ``target`` with ``pins`` (name -> version).

    Each pin replaces the line of that package, spelled as the file spells it.
    """
    spelled = {}
    for line in pins_file.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
        if match:
            spelled[canonicalize_name(match.group(1))] = match.group(1)
    edits = []
    for name, version in pins.items():
        written = spelled.get(canonicalize_name(name), name)
        # Only the dot is special among a name's characters in a sed pattern.
        pattern = written.replace(".", "\\.")
        edits.append(f"-e 's/^{pattern}==.*$/{written}=={version}/'")
    source = pins_file.relative_to(pins_file.parent.parent).as_posix()
    return f"sed {' '.join(edits)} {source} > {target}"


def declare_commands(generations, layers, pins_file: Path, change_points, probes) -> list[str]:
    """The shell lines that declare a generation where a moving release lies outside every range.

    One ``mlp-weights regen --new-generation`` per such change point, its
    range the gap that holds the moving release (:func:`gap_range`), its
    pins a file that installs that release; when no pins file does, a
    ``sed`` command first makes one from ``pins_file`` (with every package
    the probe's resolver moved off its pin), under a ``#`` comment saying so.
    """
    lines = []
    for point in change_points:
        result = probes[point.moves]
        library = result.library
        stack = stack_at(pins_file, library, point.moves)
        outside = []
        for layer in file_layers(layers):
            try:
                choose(generations, layer, stack)
            except BaselineError:
                outside.append(layer)
        if not outside:
            continue
        root = pins_file.parent.parent
        label = f"{library}-{point.moves}"
        pins = pins_installing(root, library, point.moves)
        if pins is None:
            target = f"requirements/{label}.txt"
            moved = {name: now for name, (now, _) in result.relaxed.items()}
            lines.append(
                f"# no pins file installs {library} {point.moves}: make one from "
                f"{pins_file.relative_to(root).as_posix()}"
            )
            lines.append(make_pins_command(pins_file, {library: point.moves, **moved}, target))
        else:
            target = pins.relative_to(root).as_posix()
        spec = gap_range(generations, outside[0], library, point)
        lines.append(
            f"mlp-weights regen --new-generation {outside[0]}/{label} --range '{library}{spec}' "
            f'--pins {target} --reason "{library} {point.holds} holds, {point.moves} moves"'
        )
    return lines
