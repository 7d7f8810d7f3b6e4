"""``mlp-weights bisect``: which release of a library moved a layer.

Wires the parts together: the releases on the index (:mod:`.index`), the
search (:mod:`.search`), the probes (:mod:`.probe`) and their cache
(:mod:`.cache`), and the report (:mod:`.report`).
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from mlp_weights.baselines.generations import (
    GENERATION_ENV,
    read_generations,
    scenarios_with_baselines,
)
from mlp_weights.bisect import generations as lineage
from mlp_weights.bisect import index as index_module
from mlp_weights.bisect.cache import (
    CACHE_SUBDIR,
    ProbeCache,
    baselines_digest,
    key_material,
    suite_digest,
)
from mlp_weights.bisect.environment import (
    PINS_FILE,
    Installer,
    find_uv,
    pinned_version,
    pins_without,
    read_pins,
)
from mlp_weights.bisect.index import (
    find_release,
    newest_installable,
    releases_between,
    resolve_index_url,
)
from mlp_weights.bisect.parallel import ProbePool, run_search
from mlp_weights.bisect.probe import ProbeRunner
from mlp_weights.bisect.process import Cancelled, cancel_scope
from mlp_weights.bisect.report import progress_line, report_dict, terminal_lines, write_reports
from mlp_weights.bisect.results import ProbeResult
from mlp_weights.bisect.run_layers import find_repository
from mlp_weights.bisect.search import (
    ALL_MOVED,
    HOLDS,
    MOVES,
    UNTESTABLE,
    EndUntestableError,
    SearchResult,
    bisect_plan,
    walk_plan,
)
from mlp_weights.core.errors import BaselineError, MLPWeightsError, UsageError
from mlp_weights.core.layers import layers_for_library
from mlp_weights.pipeline.scenarios import SCENARIOS

#: The libraries a bisect can move, each isolated by some layer.
LIBRARIES = ("matplotlib", "scikit-learn", "numpy")
#: Folder for bisect.json and bisect.md unless told otherwise (pytest-mpl's results folder).
DEFAULT_RESULTS_DIR = Path("mpl-results")
#: The bytecode store of the probes, beside their results under the data home.
BYTECODE_SUBDIR = "bytecode"
#: Only with its data cached does the full-MNIST seed comparison run.
SEED_LAYER = "seed"
SEED_SCENARIO = "mnist"


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
    #: Probes side by side (the command line defaults to one per core).
    jobs: int = 1


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
    library: str,
    baseline_dir: Path,
    scenarios: list[str],
    layers: list[str] = (),
    pins_file: Path | None = None,
) -> str:
    """The version of ``library`` the chosen scenarios' baselines were made with.

    The baselines are those of the generation the pinned stack (the pins
    every probe keeps) selects for the first of ``layers`` that compares a
    stored file; without ``pins_file``, the installed stack.
    """
    from mlp_weights.baselines.generations import choose
    from mlp_weights.core.environment import library_versions

    generation_layer = (lineage.file_layers(list(layers)) or ["training"])[0]
    generations = read_generations(baseline_dir)
    if pins_file is not None:
        pinned = read_pins(pins_file)
        stack = lineage.stack_at(pins_file, library, pinned_version(pinned, library) or "")
    else:
        # Imports matplotlib and numpy (0.4 s): only when the installed stack is asked for.
        stack = library_versions()
    generation = choose(generations, generation_layer, stack)
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


def probe_environment(index_url: str) -> dict:
    """Where the probes ran: Python, platform, installer and index."""
    return {
        "python": index_module.python_version_text(),
        "platform": sys.platform,
        "installer": Installer(find_uv(), index_url).name,
        "index_url": index_url,
    }


def timing_line(probes: list[ProbeResult], wall_time: float) -> str:
    """``"wall time 61.2 s; 7 probes run (median 8.8 s), 0 from the cache"``."""
    run = [p.elapsed for p in probes if not p.cached and p.elapsed > 0]
    cached = sum(1 for p in probes if p.cached)
    median = f" (median {statistics.median(run):.1f} s)" if run else ""
    return f"wall time {wall_time:.1f} s; {len(run)} probes run{median}, {cached} from the cache"


class LocalProber:
    """Real probes: builds the project wheel on first use, then probes in throwaway environments.

    Up to ``jobs`` probes run at once, each on a slot of its own (see
    :meth:`.ProbeRunner.run`); :meth:`cancel` stops one, :meth:`close` removes
    everything (call it once no probe runs any more). :meth:`against` makes
    a prober for other generations that works in this one's folder.
    """

    def __init__(
        self, repo, library, layers, scenarios, index_url, data_home=None, jobs=1, forced=""
    ):
        self.repo, self.library, self.layers = repo, library, layers
        self.scenarios, self.index_url, self.data_home = scenarios, index_url, data_home
        # The generations every probe compares with (see bisect.generations).
        self.forced = forced
        self.jobs = jobs
        self.installer = Installer(find_uv(), index_url)
        self.workdir: Path | None = None
        self.runner: ProbeRunner | None = None
        #: The prober whose work folder, wheel and slots this one uses (see :meth:`against`).
        self.base: LocalProber | None = None
        #: One guards the runner (built once), the other the probes' cancel events, so
        #: that a probe can be cancelled while the wheel is being built.
        self._build_lock = threading.Lock()
        self._lock = threading.Lock()
        self._slots: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(jobs):
            self._slots.put(slot)
        self._cancels: dict[str, threading.Event] = {}

    def probe_env(self) -> dict[str, str]:
        """Variables every probe's test run gets on top of this process's environment."""
        extra_env = {GENERATION_ENV: self.forced} if self.forced else {}
        if self.data_home is not None:
            extra_env["SCIKIT_LEARN_DATA"] = str(Path(self.data_home).resolve())
        return extra_env

    def against(self, forced: str) -> LocalProber:
        """A prober of the same releases against the generations ``forced`` names.

        It works in this prober's folder: the project's wheel is built once,
        and each slot's environment and bytecode serve the next probe on
        that slot, whichever prober runs it. Use one of the two at a time;
        closing this one removes the folder.
        """
        other = LocalProber(
            self.repo,
            self.library,
            self.layers,
            self.scenarios,
            self.index_url,
            self.data_home,
            self.jobs,
            forced,
        )
        other.base = self
        return other

    def _ready(self) -> ProbeRunner:
        """The runner, made on first use: a work folder and the project's wheel in it."""
        with self._build_lock:
            if self.runner is None:
                from mlp_weights.pipeline.data import resolve_data_home

                if self.base is not None:
                    base = self.base._ready()
                    workdir, wheel = base.workdir, base.wheel
                else:
                    if self.workdir is None:
                        self.workdir = Path(tempfile.mkdtemp(prefix="mlp-weights-bisect-"))
                    workdir = self.workdir
                    wheel = self.installer.build_wheel(self.repo, workdir / "dist")
                extra_env = self.probe_env()
                store = resolve_data_home(self.data_home) / CACHE_SUBDIR / BYTECODE_SUBDIR
                self.runner = ProbeRunner(
                    self.repo,
                    self.installer,
                    wheel,
                    workdir,
                    self.library,
                    self.layers,
                    self.scenarios,
                    extra_env=extra_env,
                    bytecode_store=store,
                )
            return self.runner

    def __call__(self, version: str) -> ProbeResult:
        cancel = threading.Event()
        with self._lock:
            self._cancels[version] = cancel
        slot = self._slots.get()
        try:
            with cancel_scope(cancel):
                runner = self._ready()
            if cancel.is_set():
                raise Cancelled
            return runner.run(version, slot, cancel)
        finally:
            self._slots.put(slot)
            with self._lock:
                if self._cancels.get(version) is cancel:
                    del self._cancels[version]

    def cancel(self, version: str) -> None:
        with self._lock:
            event = self._cancels.get(version)
        if event is not None:
            event.set()

    def close(self) -> None:
        with self._lock:
            for event in self._cancels.values():
                event.set()
        with self._build_lock:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
            self.runner = None


@dataclass
class Bisection:
    """One run of the command; :meth:`run` returns the exit code.

    ``list_releases`` and ``make_prober`` are the seams to the index and to
    the environments (tests pass fakes).
    """

    request: BisectRequest
    repo: Path | None = None
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    list_releases: Callable = index_module.list_releases
    make_prober: Callable | None = None
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    #: A walk's probes again against the generations a release's own version selects.
    again: list[ProbeResult] = field(default_factory=list)
    #: The probers made so far; closed when the run ends, however it ends.
    probers: list = field(default_factory=list)

    def run(self) -> int:
        try:
            return self._run()
        finally:
            # Every probe has stopped (each search closes its pool): the folders can go.
            while self.probers:
                close = getattr(self.probers.pop(), "close", None)
                if close is not None:
                    close()

    def _run(self) -> int:
        started = time.perf_counter()
        request = self.request
        library = check_library(request.library)
        repo = self.repo or find_repository()
        baseline_dir = repo / "baseline_images"
        from mlp_weights.pipeline.data import resolve_data_home

        data_home = resolve_data_home(request.data_home)
        scenarios = choose_scenarios(request.scenarios, baseline_dir, request.data_home)
        layers = choose_layers(library, scenarios)
        recorded = recorded_version(library, baseline_dir, scenarios, layers, repo / PINS_FILE)
        index_url = resolve_index_url(request.index_url)
        releases = self.list_releases(library, index_url)
        good, bad = self.find_ends(releases, recorded)
        in_range = releases_between(releases, good.version, bad.version, request.pre)
        candidates = [str(release.version) for release in in_range]
        not_installable = {str(r.version): r.reason for r in in_range if not r.installable}

        other_pins = pins_without(read_pins(repo / PINS_FILE), library)
        generations, chosen = lineage.good_end_generations(
            baseline_dir, repo / PINS_FILE, library, str(good.version), layers
        )
        forced = lineage.forced_value(chosen)
        cache = ProbeCache(data_home / CACHE_SUBDIR)
        make = self.make_prober or LocalProber

        def new_prober(forced: str):
            # A walk's probes against other generations work in the first prober's folder.
            first = self.probers[0] if self.probers else None
            if hasattr(first, "against"):
                made = first.against(forced)
            else:
                made = make(
                    repo,
                    library,
                    layers,
                    scenarios,
                    index_url,
                    request.data_home,
                    request.jobs,
                    forced,
                )
            self.probers.append(made)
            return made

        prober = new_prober(forced)
        mode = "walk" if request.walk else "bisect"
        self.out(
            f"{mode} {library} {good} .. {bad}: {len(candidates)} releases; "
            f"layers {', '.join(layers)}; scenarios {', '.join(scenarios)}; "
            f"{request.jobs} {'probe' if request.jobs == 1 else 'probes'} at a time"
        )
        self.out(
            f"compared with {'; '.join(g.label for g in chosen)}: what {library} {good} selects"
        )

        # Hashed once per run (and per forced generation), not once per release.
        suite = suite_digest(repo)
        baselines = {}

        def key(version: str, forced: str = forced) -> dict:
            if forced not in baselines:
                baselines[forced] = baselines_digest(baseline_dir, scenarios, forced)
            return key_material(
                library, version, other_pins, layers, scenarios, baselines[forced], suite
            )

        ends = (str(good.version), str(bad.version))
        search = self.search(candidates, ends, not_installable, cache, key, prober)

        good_outcome = search.outcomes.get(str(good.version))
        bad_outcome = search.outcomes.get(str(bad.version))
        if request.good and request.bad and (good_outcome, bad_outcome) == (MOVES, HOLDS):
            self.out(f"note: --good {good} moves and --bad {bad} holds; searched between them")
        report = report_dict(
            library=library,
            mode=mode,
            ends=(str(good), str(bad)),
            layers=layers,
            scenarios=scenarios,
            search=search,
            probes=self.probes,
            environment=probe_environment(index_url),
            wall_time=time.perf_counter() - started,
        )
        report["generations"] = [g.name for g in chosen]
        if request.walk:
            report["own_generation"] = self.own_generation_column(
                generations,
                layers,
                repo / PINS_FILE,
                chosen,
                new_prober,
                key,
                cache,
            )
            # The walk's own-generation probes are part of the run's time.
            report["wall_time_s"] = round(time.perf_counter() - started, 2)
        report["declare"] = [
            command
            for point in search.change_points
            if (
                command := lineage.declare_command(
                    generations, layers, repo / PINS_FILE, library, point
                )
            )
        ]
        self.say_report(report)
        if search.status == ALL_MOVED:
            raise MLPWeightsError(report["verdict"][0])
        return 0

    def find_ends(self, releases, recorded: str | None):
        """The ``--good`` and ``--bad`` releases, checked: different, and both installable."""
        request, library = self.request, self.request.library
        good = find_release(releases, request.good or recorded, library)
        if request.bad:
            bad = find_release(releases, request.bad, library)
        else:
            bad = newest_installable(releases, request.pre)
            if bad is None:
                raise MLPWeightsError(f"no release of {library} installs on this Python")
        if good.version == bad.version:
            raise UsageError(
                f"both ends are {library} {good} (--good defaults to the baselines' version, "
                "--bad to the newest release); give a different --good or --bad"
            )
        for end in (good, bad):
            if not end.installable:
                raise MLPWeightsError(f"{library} {end} cannot be tried here: {end.reason}")
        return good, bad

    def say_report(self, report: dict) -> None:
        """Write bisect.json and bisect.md, and say the report, in lines."""
        probes = list(self.probes.values())
        lines = terminal_lines(report, probes)
        json_path, md_path = write_reports(self.request.results_dir, report, probes)
        for line in lines:
            self.out(line)
        for command in report["declare"]:
            self.out(f"outside every declared range; declare a generation there: {command}")
        self.out(f"wrote {json_path} and {md_path.name}")
        self.out(timing_line(probes + self.again, report["wall_time_s"]))

    def search(self, candidates, ends, not_installable, cache, key, prober) -> SearchResult:
        """Probe ``request.jobs`` releases at a time until the search has its answer.

        Releases come from the cache when they can; each finished probe is
        stored and said in one line, here, as it comes back. Every probe in
        flight is stopped however this ends (:meth:`run` closes the prober).
        """
        request = self.request
        library = request.library

        def instant(version: str) -> ProbeResult | None:
            if version in not_installable:
                return ProbeResult(library, version, UNTESTABLE, reason=not_installable[version])
            if request.no_cache:
                return None
            return cache.get(key(version))

        def record(result: ProbeResult) -> str:
            if not result.cached and result.cacheable and result.version not in not_installable:
                try:
                    cache.put(key(result.version), result)
                except OSError as exc:
                    self.out(f"note: probe not kept in {cache.folder}: {exc.strerror or exc}")
            self.probes[result.version] = result
            self.out(progress_line(result))
            return result.outcome

        def plan(known: dict, width: int):
            if request.walk:
                return walk_plan(candidates, known, width)
            return bisect_plan(candidates, *ends, known, width)

        pool = ProbePool(prober, request.jobs)
        try:
            return run_search(plan, pool, instant, record)
        except EndUntestableError as exc:
            reason = self.probes[exc.version].reason if exc.version in self.probes else ""
            raise MLPWeightsError(f"{library} {exc.version} cannot be probed: {reason}") from None
        except KeyboardInterrupt:
            kept = sum(1 for p in self.probes.values() if not p.cached)
            print(
                f"{library} bisect interrupted; {kept} finished probes kept in {cache.folder}",
                file=sys.stderr,
            )
            raise
        finally:
            pool.close()

    def own_generation_column(
        self, generations, layers, pins_file, chosen, new_prober, key, cache
    ) -> dict:
        """Per walked release: its outcome against the generations its own version selects.

        A release that selects the bisect's generations repeats its probe's
        outcome; those that select others are probed again against them,
        ``request.jobs`` at a time.
        """
        library = self.request.library
        column: dict[str, dict] = {}
        again: dict[str, list[str]] = {}
        for version, result in self.probes.items():
            own = lineage.own_generations(generations, layers, pins_file, library, version)
            if result.outcome == UNTESTABLE:
                column[version] = {"generation": None, "outcome": UNTESTABLE}
            elif own is None:
                column[version] = {"generation": None, "outcome": lineage.NO_GENERATION}
            elif [g.name for g in own] == [g.name for g in chosen]:
                column[version] = {
                    "generation": lineage.forced_value(own),
                    "outcome": result.outcome,
                }
            else:
                again.setdefault(lineage.forced_value(own), []).append(version)
        for forced, versions in again.items():
            for result in self.probe_again(forced, versions, new_prober, key, cache):
                column[result.version] = {"generation": forced, "outcome": result.outcome}
        return dict(sorted(column.items(), key=lambda item: Version(item[0])))

    def probe_again(self, forced, versions, new_prober, key, cache) -> list[ProbeResult]:
        """``versions`` probed against the generations ``forced`` names, through the cache."""
        request = self.request
        results: dict[str, ProbeResult] = {}
        versions = sorted(versions, key=Version)

        def instant(version: str) -> ProbeResult | None:
            return None if request.no_cache else cache.get(key(version, forced))

        def record(result: ProbeResult) -> str:
            if not result.cached and result.cacheable:
                try:
                    cache.put(key(result.version, forced), result)
                except OSError as exc:
                    self.out(f"note: probe not kept in {cache.folder}: {exc.strerror or exc}")
            results[result.version] = result
            self.again.append(result)
            self.out(f"against {forced}: {progress_line(result)}")
            return result.outcome

        def plan(known: dict, width: int):
            missing = [version for version in versions if version not in known]
            return (None, missing[:width]) if missing else (True, [])

        prober = new_prober(forced)
        pool = ProbePool(prober, request.jobs)
        try:
            run_search(plan, pool, instant, record)
        finally:
            pool.close()
        return [results[version] for version in versions]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the bisect stops and cleans up as on Ctrl-C."""

    exit_code = 128 + signal.SIGTERM


def _terminate(signum, frame):
    # Once: a second SIGTERM must not break off the cleanup of the first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within this block, SIGTERM (what CI services send to cancel a job) stops like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_bisect(request: BisectRequest) -> int:
    """Run the command line's bisect; the exit code (errors raise MLPWeightsError).

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, and as :class:`Terminated` on SIGTERM, once the probes in
        flight are stopped and their folders removed.
    """
    with sigterm_as_interrupt():
        return Bisection(request).run()
