"""``mlp-weights bisect``: which release of a library moved a layer.

Wires the parts together: what to probe (:mod:`.choices`), the releases on
the index (:mod:`.index`), the search (:mod:`.search`), the probes
(:mod:`.probe`, side by side: :mod:`.process`) and their cache (:mod:`.cache`), and the report
(:mod:`.report`).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from mlp_weights.baselines.generations import read_generations
from mlp_weights.baselines.store import DEFAULT_PINNED_FILE, read_pins
from mlp_weights.bisect import generations as lineage
from mlp_weights.bisect import index as index_module
from mlp_weights.bisect.cache import CACHE_SUBDIR, ProbeCache, suite_digest
from mlp_weights.bisect.choices import (
    Setup,
    check_library,
    choose_layers,
    choose_scenarios,
    find_ends,
    recorded_version,
)
from mlp_weights.bisect.environment import find_uv, pins_without
from mlp_weights.bisect.probe import LocalProber, find_repository
from mlp_weights.bisect.process import probe_side_by_side
from mlp_weights.bisect.report import (
    progress_line,
    report_dict,
    report_lines,
    timing_line,
    write_reports,
)
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.search import (
    ALL_MOVED,
    HOLDS,
    MOVES,
    UNTESTABLE,
    EndUntestableError,
    SearchResult,
    bisect,
    walk,
)
from mlp_weights.core.errors import BaselineError, MLPWeightsError

#: Folder for bisect.json and bisect.md unless told otherwise (pytest-mpl's results folder).
DEFAULT_RESULTS_DIR = Path("mpl-results")


@dataclass
class BisectRequest:
    """The command line of one bisect."""

    library: str
    good: str | None = None
    bad: str | None = None
    scenarios: list[str] | None = None
    pre: bool = False
    walk: bool = False
    no_cache: bool = False
    index_url: str | None = None
    data_home: str | None = None
    results_dir: Path = DEFAULT_RESULTS_DIR
    #: Releases a walk probes side by side (and a search's two ends).
    jobs: int = 1


@dataclass
class Bisection:
    """One run of the command; :meth:`run` returns the exit code."""

    request: BisectRequest
    repo: Path | None = None
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    #: A walk's probes again against the generations a release's own version selects.
    again: list[ProbeResult] = field(default_factory=list)
    prober: LocalProber | None = None

    def run(self) -> int:
        started = time.perf_counter()
        request = self.request
        # A wrong library or folder is a usage error (exit 2), named first; then
        # a missing uv, before the index is asked anything.
        check_library(request.library)
        self.repo = self.repo or find_repository()
        find_uv()
        setup = self.resolve_ends()
        self.say_start(setup)
        self.prober = LocalProber(
            setup.repo,
            setup.library,
            setup.layers,
            setup.scenarios,
            setup.index_url,
            request.data_home,
        )
        try:
            self.probe(setup, [setup.good, setup.bad], setup.forced)
            search = self.search(setup)
            own = self.own_generation_column(setup) if request.walk else None
        except KeyboardInterrupt:
            kept = sum(1 for p in [*self.probes.values(), *self.again] if not p.cached)
            print(
                f"{setup.library} bisect interrupted; {kept} finished "
                f"probe{'' if kept == 1 else 's'} kept in "
                f"{setup.cache.folder}",
                file=sys.stderr,
            )
            raise
        finally:
            # Every probe has stopped (probe_side_by_side waits for them): the folder can go.
            self.prober.close()
        ends = (search.outcomes.get(setup.good), search.outcomes.get(setup.bad))
        if request.good and request.bad and ends == (MOVES, HOLDS):
            self.out(
                f"note: --good {setup.good} moves and --bad {setup.bad} holds; "
                "searched between them"
            )
        wall_time = time.perf_counter() - started
        report = report_dict(setup, request.walk, search, self.probes, own, wall_time)
        self.say_report(report)
        if search.status == ALL_MOVED:
            raise MLPWeightsError(report["verdict"][0])
        return 0

    def resolve_ends(self) -> Setup:
        """Library, scenarios, layers, the two ends and the releases between them."""
        from mlp_weights.pipeline.data import resolve_data_home

        request, library, repo = self.request, self.request.library, self.repo
        scenarios = choose_scenarios(request.scenarios, repo / "baseline_images", request.data_home)
        layers = choose_layers(library, scenarios)
        pins_file = repo / DEFAULT_PINNED_FILE
        index_url = index_module.resolve_index_url(request.index_url)
        releases = index_module.list_releases(library, index_url)
        good, bad = find_ends(
            releases,
            library,
            request.good
            or recorded_version(library, repo / "baseline_images", scenarios, layers, pins_file),
            request.bad,
            request.pre,
        )
        in_range = index_module.releases_between(releases, good, bad, request.pre)
        generations = read_generations(repo / "baseline_images")
        try:
            chosen = lineage.selected(generations, layers, pins_file, library, str(good))
        except BaselineError as exc:
            raise MLPWeightsError(f"--good {library} {good}: {exc}") from None
        return Setup(
            library=library,
            repo=repo,
            scenarios=scenarios,
            layers=layers,
            index_url=index_url,
            good=str(good),
            bad=str(bad),
            candidates=[str(version) for version in in_range],
            not_installable={str(v): releases[v] for v in in_range if releases[v]},
            generations=generations,
            chosen=chosen,
            cache=ProbeCache(resolve_data_home(request.data_home) / CACHE_SUBDIR),
            other_pins=pins_without(read_pins(pins_file), library),
            suite=suite_digest(repo),
        )

    def say_start(self, setup: Setup) -> None:
        jobs = self.request.jobs
        self.out(
            f"{'walk' if self.request.walk else 'bisect'} {setup.library} {setup.good} .. "
            f"{setup.bad}: {len(setup.candidates)} releases; layers {', '.join(setup.layers)}; "
            f"scenarios {', '.join(setup.scenarios)}; "
            f"{jobs} {'probe' if jobs == 1 else 'probes'} at a time"
        )
        self.out(
            f"compared with {'; '.join(g.label for g in setup.chosen)}: "
            f"what {setup.library} {setup.good} selects"
        )

    def probe(self, setup: Setup, versions, forced: str) -> dict[str, ProbeResult]:
        """``versions`` through the cache; the others probed ``request.jobs`` at a time.

        Each result is stored and said in one line, as it comes back.
        """
        found: dict[str, ProbeResult] = {}
        against = forced != setup.forced

        def record(result: ProbeResult) -> None:
            # (What the index says does not install here is not cacheable: no probe ran.)
            if not result.cached and result.cacheable:
                try:
                    setup.cache.put(setup.key(result.version, forced), result)
                except OSError as exc:
                    self.out(f"note: probe not kept in {setup.cache.folder}: {exc.strerror or exc}")
            found[result.version] = result
            if against:
                self.again.append(result)
                self.out(f"against {forced}: {progress_line(result)}")
            else:
                self.probes[result.version] = result
                self.out(progress_line(result))

        known = {v: setup.known(v, forced, self.request.no_cache) for v in versions}
        for result in filter(None, known.values()):
            record(result)
        missing = [version for version, result in known.items() if result is None]
        probe_side_by_side(self.prober, missing, forced, self.request.jobs, record)
        return found

    def search(self, setup: Setup) -> SearchResult:
        """The binary search from the probed ends, or the walk over every release."""

        def outcome(version: str) -> str:
            if version not in self.probes:
                self.probe(setup, [version], setup.forced)
            return self.probes[version].outcome

        try:
            if self.request.walk:
                rest = [v for v in setup.candidates if v not in self.probes]
                self.probe(setup, rest, setup.forced)
                return walk(setup.candidates, outcome)
            return bisect(setup.candidates, setup.good, setup.bad, outcome)
        except EndUntestableError as exc:
            reason = self.probes[exc.version].reason  # the search probed it
            raise MLPWeightsError(
                f"{setup.library} {exc.version} cannot be probed: {reason}"
            ) from None

    def own_generation_column(self, setup: Setup) -> dict:
        """Per walked release: its outcome against the generations its own version selects.

        A release that selects the bisect's generations repeats its probe's
        outcome; those that select others are probed again against them.
        """
        column: dict[str, dict] = {}
        again: dict[str, list[str]] = {}
        for version, result in self.probes.items():
            try:
                own = lineage.forced_value(
                    lineage.selected(
                        setup.generations, setup.layers, setup.pins_file, setup.library, version
                    )
                )
            except BaselineError:  # no declared range holds it
                own = None
            if result.outcome == UNTESTABLE:
                column[version] = {"generation": None, "outcome": UNTESTABLE}
            elif own is None:
                column[version] = {"generation": None, "outcome": lineage.NO_GENERATION}
            elif own == setup.forced:
                column[version] = {"generation": own, "outcome": result.outcome}
            else:
                again.setdefault(own, []).append(version)
        for forced, versions in again.items():
            found = self.probe(setup, sorted(versions, key=Version), forced)
            for version, result in found.items():
                column[version] = {"generation": forced, "outcome": result.outcome}
        return dict(sorted(column.items(), key=lambda item: Version(item[0])))

    def say_report(self, report: dict) -> None:
        """Write bisect.json and bisect.md, and say the report, in lines."""
        probes = list(self.probes.values())
        lines = report_lines(report, probes)
        json_path, md_path = write_reports(self.request.results_dir, report, probes)
        for line in lines:
            self.out(line)
        if report["declare"]:
            self.out("outside every declared range; declare a generation there:")
            for line in report["declare"]:
                self.out(f"  {line}")
        self.out(f"wrote {json_path} and {md_path.name}")
        self.out(timing_line(probes + self.again, report["wall_time_s"]))


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the bisect stops and cleans up as on Ctrl-C."""

    exit_code = 128 + signal.SIGTERM


def run_bisect(request: BisectRequest) -> int:
    """Run the command line's bisect; the exit code (errors raise MLPWeightsError).

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, and as :class:`Terminated` on SIGTERM, once the probes in
        flight are stopped and their folders removed.
    """

    def terminate(signum, frame):
        # Once: a second SIGTERM must not break off the cleanup of the first.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    # SIGTERM (what CI services send to cancel a job) stops like Ctrl-C.
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return Bisection(request).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
