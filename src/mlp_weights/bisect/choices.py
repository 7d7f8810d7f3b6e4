"""What a bisect works on: the library, its scenarios and layers, the baselines' version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from mlp_weights.baselines.generations import read_generations, scenarios_with_baselines
from mlp_weights.baselines.store import DEFAULT_PINNED_FILE, read_pins
from mlp_weights.bisect import generations as lineage
from mlp_weights.bisect import index as index_module
from mlp_weights.bisect.cache import ProbeCache, baselines_digest, key_material
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.search import UNTESTABLE
from mlp_weights.core.errors import BaselineError, MLPWeightsError, UsageError
from mlp_weights.core.layers import layers_for_library
from mlp_weights.pipeline.scenarios import SCENARIOS

#: The libraries a bisect can move, each isolated by some layer.
LIBRARIES = ("matplotlib", "scikit-learn", "numpy")
#: Only with its data cached does the full-MNIST seed comparison run.
SEED_LAYER = "seed"
SEED_SCENARIO = "mnist"


def check_library(name: str) -> str:
    if name not in LIBRARIES:
        raise UsageError(f"unknown library {name!r}; choose one of {', '.join(LIBRARIES)}")
    return name


def choose_scenarios(names, baseline_dir: Path, data_home) -> list[str]:
    """The scenarios to probe: those asked for, else every one with baselines and data here."""
    from mlp_weights.pipeline.data import is_cached

    with_baselines = scenarios_with_baselines(read_generations(baseline_dir))
    if names:
        for name in names:
            if name not in SCENARIOS:
                raise UsageError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
            if name not in with_baselines:
                raise BaselineError(
                    f"no baselines of scenario {name!r} in {baseline_dir}; create them with: "
                    f'mlp-weights regen --scenario {name} --reason "..."'
                )
            if not is_cached(SCENARIOS[name], data_home):
                raise MLPWeightsError(
                    f"scenario {name}: data not cached; run "
                    f"'mlp-weights run --dataset {name}' once online, or leave it out"
                )
        return list(dict.fromkeys(names))
    chosen = [
        name
        for name, scenario in SCENARIOS.items()
        if name in with_baselines and is_cached(scenario, data_home)
    ]
    if not chosen:
        raise BaselineError(f"no scenario has both baselines in {baseline_dir} and data here")
    return chosen


def choose_layers(library: str, scenarios: list[str]) -> list[str]:
    """The layers that isolate ``library``; the seed comparison only with MNIST at hand."""
    return [
        layer
        for layer in layers_for_library(library)
        if layer != SEED_LAYER or SEED_SCENARIO in scenarios
    ]


def recorded_version(
    library: str, baseline_dir: Path, scenarios: list[str], layers: list[str], pins_file: Path
) -> str:
    """The version of ``library`` the chosen scenarios' baselines were made with.

    The baselines are those of the generation the pinned stack (the pins
    every probe keeps) selects for the first of ``layers`` that compares a
    stored file.
    """
    from mlp_weights.baselines.generations import choose

    generation_layer = (lineage.file_layers(list(layers)) or ["training"])[0]
    pinned = read_pins(pins_file).get(canonicalize_name(library), "")
    stack = lineage.stack_at(pins_file, library, pinned)
    generation = choose(read_generations(baseline_dir), generation_layer, stack)
    found = {}
    for name in scenarios:
        version = (generation.facts(name) or {}).get(library)
        if version is None:
            raise BaselineError(
                f"the manifest records no {library} version for {name}; give both ends "
                "with --good and --bad"
            )
        found[name] = version
    if len(set(found.values())) > 1:
        listing = ", ".join(f"{k} {v}" for k, v in found.items())
        raise UsageError(
            f"the baselines were made with different {library} versions ({listing}); "
            "choose one with --scenario or give --good"
        )
    return next(iter(found.values()))


def find_ends(releases, library: str, good: str, bad: str | None, pre: bool = False):
    """The ``--good`` and ``--bad`` releases, checked: different, and both installable.

    ``bad`` defaults to the newest release that installs here (final releases
    only unless ``pre``).
    """
    good_end = index_module.find_release(releases, good, library)
    if bad:
        bad_end = index_module.find_release(releases, bad, library)
    else:
        installable = [v for v, why in releases.items() if not why and (pre or not v.is_prerelease)]
        if not installable:
            raise MLPWeightsError(f"no release of {library} installs on this Python")
        bad_end = installable[-1]
    if good_end == bad_end:
        raise UsageError(
            f"both ends are {library} {good_end} (--good defaults to the baselines' version, "
            "--bad to the newest release); give a different --good or --bad"
        )
    for end in (good_end, bad_end):
        if releases[end]:
            raise MLPWeightsError(f"{library} {end} cannot be tried here: {releases[end]}")
    return good_end, bad_end


@dataclass
class Setup:
    """What every step of one bisect works with, resolved before the first probe."""

    library: str
    repo: Path
    scenarios: list[str]
    layers: list[str]
    index_url: str
    good: str
    bad: str
    candidates: list[str]
    #: ``version -> why it cannot be installed here``, for candidates that cannot.
    not_installable: dict[str, str]
    generations: list
    #: The generations the good end selects, which every probe compares with.
    chosen: list
    cache: ProbeCache
    other_pins: dict[str, str]
    suite: str

    @property
    def baseline_dir(self) -> Path:
        return self.repo / "baseline_images"

    @property
    def pins_file(self) -> Path:
        return self.repo / DEFAULT_PINNED_FILE

    @property
    def forced(self) -> str:
        return lineage.forced_value(self.chosen)

    def key(self, version: str, forced: str) -> dict:
        """The cache key of a probe of ``version`` compared with the generations ``forced``."""
        return key_material(
            self.library,
            version,
            self.other_pins,
            self.layers,
            self.scenarios,
            baselines_digest(self.baseline_dir, self.scenarios, forced),
            self.suite,
        )

    def known(self, version: str, forced: str, no_cache: bool) -> ProbeResult | None:
        """A result without probing: the release does not install here, or it is cached."""
        if version in self.not_installable:
            reason = self.not_installable[version]
            return ProbeResult(self.library, version, UNTESTABLE, reason=reason)
        if no_cache:
            return None
        return self.cache.get(self.key(version, forced))
