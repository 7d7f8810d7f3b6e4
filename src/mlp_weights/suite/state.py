"""The state of one pytest run of the suite, apart from pytest's hooks.

:mod:`mlp_weights.pytest_plugin` makes one :class:`RunState` when a run is
configured and drops it with the run. It holds what the run decided once
and what it gathered:

- the baseline folder, the forced generations, the facts in use now;
- the generations of the folder, read once, and the one each layer
  compares with, chosen once (on first use) for the installed versions;
- the facts the manifest records for each scenario's baseline;
- the injections this run applied (a :class:`~mlp_weights.suite.inject.Frame`);
- the layer records sent by the tests, and the verdict built from them.

Nothing here is cached beyond the object itself, so a run's state (and the
``Config`` that refers to it) is freed when the run ends, whatever number
of in-process runs (``pytester``) a process makes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from mlp_weights.baselines.generations import COMPARES_FILES_OF, Generation
from mlp_weights.baselines.manifest import GENERATION_LAYERS
from mlp_weights.core.errors import BaselineError, UsageError
from mlp_weights.pipeline.scenarios import SCENARIOS
from mlp_weights.suite import inject
from mlp_weights.suite.results import LayerFailure, LayerResult


class RunState:
    """What one run of the suite decided and gathered.

    Parameters
    ----------
    baseline_dir : Path
        The baseline folder this run compares with.
    forced : list of str
        Generations forced by name (``--mlp-generation`` or its variable).
    """

    def __init__(self, baseline_dir: Path, forced: Iterable[str] = ()):
        self.baseline_dir = baseline_dir
        self.forced = list(forced)
        self.records: list[LayerResult] = []
        self.written: list[Path] = []
        self.injections: inject.Frame | None = None
        self._facts: dict[tuple[str, str], tuple[dict | None, str | None]] = {}
        self._verdict = None

    # -- injections ---------------------------------------------------------------

    def begin_injections(self, names: Iterable[str]) -> None:
        """Put exactly ``names`` in force for this run (see :mod:`mlp_weights.suite.inject`)."""
        self.injections = inject.begin(names)

    def end_injections(self) -> None:
        """Undo this run's injections and restore those of the run around it."""
        if self.injections is not None:
            inject.end(self.injections)
            self.injections = None

    # -- facts now and at the baseline ------------------------------------------------

    @functools.cached_property
    def now(self) -> dict:
        from mlp_weights.baselines.manifest import environment_versions

        return environment_versions()

    def baseline_facts(
        self, scenario: str, layer: str = "training"
    ) -> tuple[dict | None, str | None]:
        """The facts recorded for ``scenario`` in the generation ``layer`` compares with.

        ``None`` and the reason when the manifest cannot be read or holds no
        entry for it. Read once per run.
        """
        key = (scenario, COMPARES_FILES_OF.get(layer, "training"))
        if key not in self._facts:
            self._facts[key] = self._read_facts(*key)
        return self._facts[key]

    def _read_facts(self, scenario: str, layer: str) -> tuple[dict | None, str | None]:
        from mlp_weights.baselines.manifest import manifest_path

        generation, error = self.chosen[layer]
        if generation is None:
            return None, str(error)
        facts = generation.facts(scenario)
        if facts is None:
            return None, (
                f"manifest {manifest_path(self.baseline_dir)} has no entry for scenario "
                f"{scenario!r} in {generation.name}"
            )
        return facts, None

    # -- generations ----------------------------------------------------------------

    @functools.cached_property
    def generations(self) -> tuple[list[Generation] | None, BaselineError | None]:
        """The folder's generations, or ``None`` and the error that says why they cannot be read."""
        from mlp_weights.baselines.generations import read_generations

        try:
            return read_generations(self.baseline_dir), None
        except BaselineError as exc:
            return None, exc

    @functools.cached_property
    def chosen(self) -> dict[str, tuple[Generation | None, BaselineError | None]]:
        """Per generation layer, ``(generation, error)``: what it compares with in this run."""
        from mlp_weights.baselines.generations import choose

        generations, error = self.generations
        chosen = {}
        for layer in GENERATION_LAYERS:
            if generations is None:
                chosen[layer] = (None, error)
                continue
            try:
                chosen[layer] = (choose(generations, layer, self.now, self.forced), None)
            except BaselineError as exc:
                chosen[layer] = (None, exc)
        return chosen

    def check_forced_generations(self) -> None:
        """Raise :class:`~mlp_weights.core.errors.UsageError` for an unknown forced name."""
        from mlp_weights.baselines.generations import check_forced

        generations, _ = self.generations
        if self.forced and generations is not None:
            check_forced(generations, self.forced)

    def chosen_file(self, layer: str, scenario: str) -> Path:
        """The chosen generation's file; a typed failure, in one line, when there is none."""
        generation, error = self.chosen[layer]
        if generation is None:
            raise LayerFailure.unusable_baseline(error)
        return generation.file_path(self.baseline_dir, scenario)

    def compared_generation(self, layer: str) -> Generation | None:
        """The generation a test of ``layer`` compares its stored file with.

        ``None`` for a layer that compares no stored file (scores, seed), or
        when no generation could be chosen.
        """
        if layer not in COMPARES_FILES_OF:
            return None
        return self.chosen[COMPARES_FILES_OF[layer]][0]

    def generation_label(self, generation: Generation) -> str:
        return generation.label + (", forced" if generation.name in self.forced else "")

    def generations_summary(self) -> dict:
        """The chosen generations, as the verdict records them."""
        summary = {}
        for generation, _ in self.chosen.values():
            if generation is not None:
                summary[generation.name] = {
                    "layer": generation.layer,
                    "range": generation.range_text,
                    "pins": generation.pins,
                    "forced": generation.name in self.forced,
                }
        return summary

    def uncovered(self) -> list[dict]:
        """Per layer that no generation holds, what a new generation for this stack takes.

        See :func:`mlp_weights.baselines.gaps.uncovered`; empty when
        every layer has its generation, or the manifest cannot be read.
        """
        from mlp_weights.baselines.gaps import uncovered
        from mlp_weights.baselines.generations import NoGenerationError
        from mlp_weights.baselines.store import project_root

        generations, _ = self.generations
        gaps = []
        for layer, (generation, error) in self.chosen.items():
            if generation is not None or not isinstance(error, NoGenerationError):
                continue
            try:
                gap = uncovered(generations, layer, self.now, project_root(self.baseline_dir))
            except (BaselineError, UsageError):
                continue
            if gap is not None:
                gaps.append(gap)
        return gaps

    def header(self) -> list[str]:
        """The lines of pytest's header: baselines, chosen generations, facts now."""
        labels = [
            f"{layer}: {error}" if generation is None else self.generation_label(generation)
            for layer, (generation, error) in self.chosen.items()
        ]
        facts = ", ".join(f"{k} {v}" for k, v in self.now.items())
        return [
            f"mlp-weights: baselines in {self.baseline_dir}",
            f"mlp-weights: generations {'; '.join(labels)}",
            f"mlp-weights: {facts}",
        ]

    # -- records and the verdict ------------------------------------------------------

    def verdict(self):
        """The verdict of the records gathered so far (built once, at the end)."""
        if self._verdict is None:
            from mlp_weights.suite.verdict import build_verdict

            scenarios = {r.scenario for r in self.records}
            baselines = {s: self.baseline_facts(s) for s in scenarios if s in SCENARIOS}
            self._verdict = build_verdict(
                self.records, baselines, self.now, self.generations_summary(), self.uncovered()
            )
        return self._verdict
