"""The suite's pytest plugin: options, blame, the verdict and its files.

Loaded explicitly by this project's ``addopts`` (``-p mlp_weights.pytest_plugin``);
it has no entry point, so installing mlp-weights never changes another
project's pytest run. Its hooks live on one registered :class:`SuitePlugin`;
the run's state (generations chosen, baseline facts, records, injections)
on its :class:`~mlp_weights.suite.state.RunState`.

What it does, in order:

- at configure: refuses to run without ``--mpl`` (image tests would pass
  without comparing) or with pytest-mpl's generate options (baselines are
  written by ``mlp-weights regen`` only); registers the layer markers from
  :data:`mlp_weights.core.layers.LAYERS`; hands the baseline folder to pytest-mpl;
  refuses an unknown forced generation; clears what an earlier run left in
  the results folder; puts in force exactly this run's ``--mlp-inject``
  (:mod:`mlp_weights.suite.inject`: an inner run neither sees nor undoes
  the injections of the run around it);
- at collection: adds the umbrella marker ``layer`` to every layer test, and
  points each image test at the folder of the rendering generation chosen
  for the installed versions (:mod:`mlp_weights.baselines.generations`);
- after each layer test: turns its finding (or pytest-mpl's comparison) into
  a typed :class:`~mlp_weights.suite.results.LayerResult` with what moved and who
  is blamed, adds the explanation to the failure, keeps a failing fit as
  ``<scenario>.obtained.npz`` beside a copy of the snapshot it was compared
  with (``<scenario>.baseline.npz``, so the page can be rebuilt from the
  results folder alone), and sends the record to the controller
  through the report (so ``-n 2`` gives the same verdict);
- at the end: builds the verdict, writes ``verdict.json``, ``verdict.md``
  and ``verdict.html`` into the results folder (and the Markdown into ``$GITHUB_STEP_SUMMARY``),
  prints the table, and removes pytest-mpl's per-worker files;
- at unconfigure: undoes this run's injections and restores those of the
  run around it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from mlp_weights.baselines.generations import forced_names
from mlp_weights.baselines.store import resolve_baseline_dir
from mlp_weights.core.errors import UsageError
from mlp_weights.core.layers import UMBRELLA_MARKER, layer_of_markers, marker_lines
from mlp_weights.suite.inject import INJECTIONS
from mlp_weights.suite.recording import (
    clear_results_folder,
    image_finding,
    layer_record,
    remove_worker_files,
    skipped_record,
)
from mlp_weights.suite.results import FAIL, Finding, Kind, LayerFailure, LayerResult
from mlp_weights.suite.state import RunState
from mlp_weights.suite.verdict import explain

#: Key of the record in ``report.user_properties`` (how xdist carries it).
USER_PROPERTY = "mlp-weights-result"
#: The parametrize argument that names a layer test's scenario.
SCENARIO_ARG = "scenario_name"

_finding_key = pytest.StashKey[Finding]()


def pytest_addoption(parser):
    group = parser.getgroup("mlp-weights")
    group.addoption(
        "--mlp-baseline-dir",
        default=None,
        help="baseline folder to compare against (default: $MLP_WEIGHTS_BASELINE_DIR, "
        "else baseline_images/ in the root folder)",
    )
    group.addoption(
        "--mlp-generation",
        action="append",
        default=[],
        metavar="NAME",
        help="compare against this generation (LAYER/LABEL) whatever is installed; "
        "repeat for another layer (default: $MLP_WEIGHTS_GENERATION, comma-separated, "
        "else the generation whose range holds the installed versions)",
    )
    group.addoption(
        "--mlp-inject",
        choices=sorted(INJECTIONS),
        action="append",
        default=[],
        help="self-test only: inject a small change into training or drawing",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    for line in marker_lines():
        config.addinivalue_line("markers", line)
    check_comparison_options(config)
    baseline_dir = resolve_baseline_dir(
        config.getoption("--mlp-baseline-dir"), default=config.rootpath / "baseline_images"
    ).absolute()
    # pytest-mpl reads its baseline folder from this option in its own
    # pytest_configure, which runs after this one (tryfirst).
    config.option.mpl_baseline_path = str(baseline_dir)
    state = RunState(baseline_dir, forced_names(config.getoption("--mlp-generation")))
    try:
        state.check_forced_generations()
    except UsageError as exc:
        raise pytest.UsageError(f"mlp-weights: {exc}") from None
    config.pluginmanager.register(SuitePlugin(config, state), SuitePlugin.name)
    if not hasattr(config, "workerinput"):
        option = config.getoption("--mpl-results-path", default=None)
        clear_results_folder(Path(option) if option else None)
    state.begin_injections(config.getoption("--mlp-inject"))


def check_comparison_options(config) -> None:
    """Refuse a run whose image tests would not compare, or would write baselines."""
    # Without --mpl, pytest-mpl passes image tests without comparing.
    if not config.getoption("--mpl", default=False):
        raise pytest.UsageError(
            "mlp-weights: image tests need --mpl (set in pyproject.toml's addopts); "
            "without it they would pass without comparing anything"
        )
    # Baselines are written by one command only, with a reason and a manifest.
    if config.getoption("--mpl-generate-path", default=None) or config.getoption(
        "--mpl-generate-hash-library", default=None
    ):
        raise pytest.UsageError(
            "mlp-weights: baselines are not generated by pytest; use "
            'mlp-weights regen --reason "..." (it also updates snapshots and manifest)'
        )


def pytest_unconfigure(config):
    plugin = config.pluginmanager.get_plugin(SuitePlugin.name)
    if plugin is not None:
        plugin.state.end_injections()


@pytest.fixture
def layer_run(request):
    """What a layer test needs: its chosen baseline files, and a place to keep its finding."""
    return LayerRun(request.node, request.config.pluginmanager.get_plugin(SuitePlugin.name).state)


class LayerRun:
    def __init__(self, item, state: RunState):
        self.item = item
        self.state = state

    def keep(self, finding: Finding) -> None:
        """Record a passing check's finding (how close it was) for the verdict."""
        self.item.stash[_finding_key] = finding

    def snapshot(self, scenario: str) -> Path:
        """The snapshot the training generation chosen for this run holds for ``scenario``."""
        return self.state.chosen_file("training", scenario)

    def image(self, scenario: str) -> Path:
        """The image the rendering generation chosen for this run holds for ``scenario``."""
        return self.state.chosen_file("rendering", scenario)


class SuitePlugin:
    """The suite's hooks for one pytest run; what the run holds is its :attr:`state`."""

    name = "mlp-weights-suite"

    def __init__(self, config, state: RunState):
        self.config = config
        self.state = state
        self._record: dict | None = None

    @functools.cached_property
    def image_comparison(self):
        """pytest-mpl's plugin object, registered after this one (the suite requires ``--mpl``)."""
        plugins = self.config.pluginmanager.get_plugins()
        return next(p for p in plugins if type(p).__name__ == "ImageComparison")

    @property
    def results_dir(self) -> Path:
        """pytest-mpl's results folder: ``--mpl-results-path``, else its temporary one."""
        return Path(self.image_comparison.results_dir)

    def verdict_record(self) -> dict:
        """The run's verdict as ``verdict.json`` holds it, built once at the end of the run.

        A method, not a property: pytest before 8 reads every attribute of a
        plugin when it registers it (looking for fixtures), which would build
        the record before any layer ran.
        """
        if self._record is None:
            from mlp_weights.report.views import to_json

            verdict = self.state.verdict()
            self._record = to_json(verdict, self.state.baseline_dir, self.results_dir)
        return self._record

    def pytest_report_header(self, config):
        return self.state.header()

    @pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
    def pytest_collection_modifyitems(self, items):
        for item in items:
            layer = layer_of_markers(m.name for m in item.iter_markers())
            if layer is not None:
                item.add_marker(UMBRELLA_MARKER)
                self.point_at_generation(item, layer.name)

    def point_at_generation(self, item, layer: str) -> None:
        """Give an image test's comparison the chosen rendering generation's folder."""
        compare = item.get_closest_marker("mpl_image_compare")
        generation = self.state.compared_generation(layer)
        if compare is None or generation is None:
            return
        folder = str(generation.directory(self.state.baseline_dir).absolute())
        item.add_marker(
            pytest.mark.mpl_image_compare(
                *compare.args, **{**compare.kwargs, "baseline_dir": folder}
            ),
            append=False,
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        layer = layer_of_markers(m.name for m in item.iter_markers())
        callspec = getattr(item, "callspec", None)
        scenario = callspec.params.get(SCENARIO_ARG) if callspec else None
        if layer is None or scenario is None:
            return
        if not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return
        result = self.layer_result(item, call, report, layer.name, scenario)
        report.user_properties.append((USER_PROPERTY, json.dumps(result.to_dict())))
        if result.status == FAIL:
            self.explain_failure(call, report, result)

    def layer_result(self, item, call, report, layer: str, scenario: str) -> LayerResult:
        """The typed record of one finished layer test."""
        if report.skipped:
            return skipped_record(layer, scenario, item.nodeid)
        finding, images = self.finding_of(item, call, report, scenario)
        return layer_record(
            self.state,
            layer,
            scenario,
            finding,
            failed=report.failed,
            images=images,
            nodeid=item.nodeid,
            results_dir=self.results_dir,
        )

    def explain_failure(self, call, report, result: LayerResult) -> None:
        """Add what moved and who is blamed to a failing layer test's report."""
        _, problem = self.state.baseline_facts(result.scenario, result.layer)
        generation = self.state.compared_generation(result.layer)
        label = self.state.generation_label(generation) if generation is not None else None
        text = explain(result, problem, label)
        if call.excinfo is not None and call.excinfo.errisinstance(LayerFailure):
            # The finding says it all; a traceback of the check adds nothing.
            report.longrepr = text
        else:
            report.sections.append(("mlp-weights verdict", text))

    def finding_of(self, item, call, report, scenario: str) -> tuple[Finding, dict | None]:
        """What the test found: its own typed finding, else pytest-mpl's comparison."""
        if call.excinfo is not None and call.excinfo.errisinstance(LayerFailure):
            return call.excinfo.value.finding, None
        summary = self.mpl_summary(item)
        if summary is not None:
            return image_finding(summary, self.results_dir, scenario)
        if report.failed:
            text = call.excinfo.exconly() if call.excinfo is not None else "failed"
            return Finding(Kind.ERROR, text.strip().splitlines()[0]), None
        return item.stash.get(_finding_key, Finding()), None

    def mpl_summary(self, item) -> dict | None:
        if item.get_closest_marker("mpl_image_compare") is None:
            return None
        from pytest_mpl.plugin import generate_test_name

        return self.image_comparison._test_results.get(generate_test_name(item))

    def pytest_runtest_logreport(self, report):
        if hasattr(self.config, "workerinput"):
            return
        for key, value in getattr(report, "user_properties", ()):
            if key == USER_PROPERTY:
                self.state.records.append(LayerResult.from_dict(json.loads(value)))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workerinput"):
            return
        remove_worker_files(self.results_dir)
        if not self.state.records:
            return
        from mlp_weights.report.views import write_verdict

        self.state.written = write_verdict(self.verdict_record(), self.results_dir)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.state.records:
            return
        from mlp_weights.report.views import to_text

        terminalreporter.write_sep("=", "mlp-weights verdict")
        for line in to_text(self.verdict_record()).splitlines():
            terminalreporter.write_line(line)
        for path in self.state.written:
            terminalreporter.write_line(f"verdict written to {path}")
