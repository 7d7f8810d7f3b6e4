"""Version ranges of baseline generations: parsed, printed, held, compared.

A range maps libraries to version specifiers (``{"matplotlib": "<3.11"}``),
read by :mod:`packaging` as pip reads them. Only libraries a layer depends
on may appear (:data:`mlp_weights.core.layers.LAYERS`), never Python: the same
baseline files hold across Python 3.10 to 3.13.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from mlp_weights.core.errors import UsageError
from mlp_weights.core.layers import LAYERS

#: Facts that never enter a range (see the module docstring).
NOT_IN_RANGES = ("python",)


def range_libraries(layer: str) -> tuple[str, ...]:
    """The libraries a range of ``layer`` may name: those the layer depends on, less Python."""
    return tuple(lib for lib in LAYERS[layer].libraries if lib not in NOT_IN_RANGES)


def specifier_set(text: str):
    """A SpecifierSet, or None when a clause is not a PEP 440 specifier.

    packaging before 22 reads anything else as a "legacy" specifier instead
    of refusing it (the oldest stack pins packaging 20.9).
    """
    try:
        specifiers = SpecifierSet(text)
        for clause in specifiers:
            Specifier(str(clause))
    except InvalidSpecifier:
        return None
    return specifiers


def parse_version(text: str):
    """A packaging Version, or None for text that is not one."""
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def same_version(a: str, b: str) -> bool:
    """Whether two versions are equal as packaging compares them (text that is none, as text)."""
    return (parse_version(a) or a) == (parse_version(b) or b)


def parse_range(items, layer: str) -> dict[str, str]:
    """``["matplotlib<3.11"]`` -> ``{"matplotlib": "<3.11"}``, checked against ``layer``.

    Raises
    ------
    UsageError
        One line for an unparsable item, a library the layer does not depend
        on, or a library named twice.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    allowed = range_libraries(layer)
    ranges: dict[str, str] = {}
    for item in items:
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            requirement = None
        if requirement is None or specifier_set(str(requirement.specifier)) is None:
            raise UsageError(
                f"cannot read the range {item!r}; write it as a requirement, "
                "e.g. --range 'matplotlib<3.11'"
            )
        name = requirement.name.lower()
        if name not in allowed or requirement.extras or requirement.marker or requirement.url:
            raise UsageError(
                f"--range {item!r}: the {layer} layer depends on {', '.join(allowed)} only "
                f"(Python and the platform are kept out of ranges)"
            )
        if name in ranges:
            raise UsageError(f"--range names {name} twice; give one specifier, e.g. '>=3.7,<3.11'")
        ranges[name] = str(requirement.specifier)
    return ranges


def range_holds(ranges: dict[str, str], versions: dict[str, str]) -> bool:
    """Whether every library a range names is installed at a version it holds.

    Pre-releases count: ``matplotlib 3.12.0rc1`` falls in ``>=3.11``.
    """
    for library, spec in ranges.items():
        version = parse_version(versions.get(library, ""))
        if version is None or not specifier_set(spec).contains(version, prereleases=True):
            return False
    return True


def _probe_versions(*specs: str) -> list:
    """Versions at and just around every bound the specifiers name, plus extremes."""
    texts = {"0", "99999"}
    for spec in specs:
        for clause in SpecifierSet(spec):
            base = clause.version.rstrip(".*")
            texts |= {base, f"{base}.dev0", f"{base}.post0", f"{base}.0.1", f"{base}.99999"}
            parts = base.split(".")
            if parts[-1].isdigit() and int(parts[-1]) > 0:
                texts.add(".".join(parts[:-1] + [str(int(parts[-1]) - 1), "99999"]))
    return [v for v in (parse_version(t) for t in sorted(texts)) if v is not None]


def ranges_overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether some stack lies in both ranges (a library one range omits is unbounded there).

    It does when, for every library, some version at or around the bounds
    both name satisfies both specifiers.
    """
    for lib in set(a) | set(b):
        spec_a, spec_b = a.get(lib, ""), b.get(lib, "")
        both = specifier_set(spec_a) & specifier_set(spec_b)
        if not any(both.contains(v, prereleases=True) for v in _probe_versions(spec_a, spec_b)):
            return False
    return True


def complement(clause) -> str | None:
    """The one-sided bound that holds what ``clause`` leaves out (``<3.11`` -> ``>=3.11``)."""
    flipped = {"<": ">=", ">=": "<", "<=": ">", ">": "<="}.get(clause.operator)
    return f"{flipped}{clause.version}" if flipped else None


def gap_around(specs, version: str, bounds=()) -> str:
    """The specifier of the gap between ``specs`` that holds ``version``.

    Bounded on each side by the nearest of ``specs`` (ranges of one library
    that do not hold ``version``) and by the extra one-sided ``bounds``:
    with ``<3.10`` and ``>=3.11`` declared, 3.10.9 gives ``>=3.10,<3.11``.
    Empty when nothing bounds it.
    """
    inside = Version(version)
    clauses = [Specifier(b) for b in bounds]
    for spec in specs:
        for clause in SpecifierSet(spec):
            flipped = complement(clause)
            if flipped and Specifier(flipped).contains(inside, prereleases=True):
                clauses.append(Specifier(flipped))
    lower = [c for c in clauses if c.operator in (">=", ">")]
    upper = [c for c in clauses if c.operator in ("<", "<=")]
    # The tightest bound on each side; of equal versions, the one given first.
    chosen = []
    if lower:
        chosen.append(max(lower, key=lambda c: (Version(c.version), c.operator == ">")))
    if upper:
        chosen.append(min(upper, key=lambda c: (Version(c.version), c.operator == "<=")))
    return ",".join(str(c) for c in chosen)
