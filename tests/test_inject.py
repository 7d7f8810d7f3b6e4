"""Injections nest: each run sees exactly its own, and leaves the run around it as it was.

Most tests drive the stack of :mod:`mlp_weights.suite.inject` with
recording stand-ins for the two injections (nothing is patched); two use
the real ones; the last ones run the layer tests inside a run that holds
another injection, as ``pytest --mlp-inject drawing -m selftest`` does.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlp_weights.pipeline import plot
from mlp_weights.pipeline.scenarios import get_scenario
from mlp_weights.suite import inject
from test_selftest import BASELINES, LAYER_TESTS


@pytest.fixture
def stack(monkeypatch):
    """An empty stack of stand-in injections ``a``, ``b``, ``c``; the log of what happened.

    Each entry is ``+name`` (applied) or ``-name`` (undone).
    """
    log = []

    def stand_in(name):
        def apply():
            log.append(f"+{name}")
            return lambda: log.append(f"-{name}")

        return apply

    monkeypatch.setattr(inject, "INJECTIONS", {n: stand_in(n) for n in "abc"})
    monkeypatch.setattr(inject, "_IN_FORCE", {})
    monkeypatch.setattr(inject, "_STACK", [])
    return log


def test_an_inner_run_suspends_what_it_did_not_ask_for_and_restores_it(stack):
    outer = inject.begin(["a", "b"])
    assert inject.active_injections() == ("a", "b")
    inner = inject.begin(["c"])
    assert inject.active_injections() == ("c",)
    inject.end(inner)
    assert inject.active_injections() == ("a", "b")
    inject.end(outer)
    assert inject.active_injections() == ()
    # Undone newest first, applied again in their first order.
    assert stack == ["+a", "+b", "-b", "-a", "+c", "-c", "+a", "+b", "-b", "-a"]


def test_drawings_made_under_the_drawing_change_stay_with_it(monkeypatch):
    """A figure drawn under one drawing state is never given under another, and is given
    again when its state comes back (the real injections; drawing is counted, not done)."""
    drawn = []
    monkeypatch.setattr(plot, "_DRAWINGS", {})
    monkeypatch.setattr(plot, "render_weights", lambda w, s: drawn.append(s) or object())
    coefs, scenario = np.zeros((4, 2)), get_scenario("digits")
    runs = [inject.begin([])]
    try:
        as_installed = plot.draw_weights(coefs, scenario)
        # Training draws as installed: the figures drawn so far still hold.
        runs.append(inject.begin(["training"]))
        assert plot.draw_weights(coefs, scenario) is as_installed
        runs.append(inject.begin(["drawing"]))
        under_change = plot.draw_weights(coefs, scenario)
        assert under_change is not as_installed and len(drawn) == 2
        inject.end(runs.pop())
        assert plot.draw_weights(coefs, scenario) is as_installed
        runs.append(inject.begin(["drawing", "training"]))
        assert plot.draw_weights(coefs, scenario) is under_change
    finally:
        inject.end(runs[0])
    assert plot.draw_weights(coefs, scenario) is as_installed and len(drawn) == 2


def test_an_inner_run_keeps_what_it_asked_for_that_is_in_force(stack):
    outer = inject.begin(["a"])
    inner = inject.begin(["b", "a", "b"])
    assert inject.active_injections() == ("a", "b")
    inject.end(inner)
    # ``a`` is the outer run's: the inner one neither applied nor undid it.
    assert inject.active_injections() == ("a",)
    assert stack == ["+a", "+b", "-b"]
    inject.end(outer)
    assert stack[-1] == "-a"


def test_a_run_without_injections_sees_none_and_changes_nothing_after(stack):
    outer = inject.begin(["a"])
    inner = inject.begin([])
    assert inject.active_injections() == () and inner.before == ("a",)
    inject.end(inner)
    assert inject.active_injections() == ("a",)
    inject.end(outer)
    inner_alone = inject.begin([])
    inject.end(inner_alone)
    assert stack == ["+a", "-a", "+a", "-a"]


def test_ending_a_run_ends_the_runs_left_open_inside_it(stack):
    outer = inject.begin(["a"])
    inject.begin(["b"])
    inject.begin(["c"])
    inject.end(outer)
    assert inject.active_injections() == () and inject._STACK == []
    assert stack == ["+a", "-a", "+b", "-b", "+c", "-c", "+b", "-b", "+a", "-a"]
    inject.end(outer)  # ended already: nothing happens
    assert len(stack) == 10


def test_an_unknown_injection_changes_nothing(stack):
    outer = inject.begin(["a"])
    with pytest.raises(KeyError, match="unknown injection 'z'"):
        inject.begin(["b", "z"])
    assert inject.active_injections() == ("a",) and inject._STACK == [outer]
    assert stack == ["+a"]


def test_the_real_injections_patch_and_unpatch_under_the_stack():
    from matplotlib.axes import Axes
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    outer = inject.begin([])
    try:
        as_installed = Axes.matshow, SGDOptimizer.__init__
        inject.begin(["drawing"])
        assert inject.active_injections() == ("drawing",)
        assert Axes.matshow is not as_installed[0]
        assert SGDOptimizer.__init__ is as_installed[1]
        inner = inject.begin(["training"])
        assert Axes.matshow is as_installed[0]
        assert SGDOptimizer.__init__ is not as_installed[1]
        inject.end(inner)
        assert Axes.matshow is not as_installed[0]
        assert SGDOptimizer.__init__ is as_installed[1]
    finally:
        inject.end(outer)
    assert (Axes.matshow, SGDOptimizer.__init__) == as_installed


# -- runs inside runs ------------------------------------------------------------------

#: An outer run's test that runs the layer tests inside it (as a self-test does)
#: and asserts what that inner run found.
INNER_RUN = """
import json

def test_an_inner_run(pytester):
    results = pytester.path / "inner-results"
    result = pytester.runpytest_inprocess(
        {layer_tests!r}, "-p", "no:cacheprovider", "-m", {layers!r},
        "-k", "digits", "--mpl-generate-summary=", f"--mpl-results-path={{results}}",
        "--mlp-baseline-dir={baselines}", *{inject!r},
    )
    verdict = json.loads((results / "verdict.json").read_text())
    found = {{r["layer"]: r["status"] for r in verdict["scenarios"][0]["layers"]}}
    assert found == {expected!r}, result.stdout.str()
"""


def outer_run(pytester, inject_outer: str, inject_inner: list, inner_expects: dict, layers: str):
    """An outer run with ``inject_outer``: first a test running the layer tests named in
    ``inner_expects`` inside it with ``inject_inner``, then the outer run's own layer tests
    of ``layers``, all of digits (its fit and drawings are the process's already, so an
    inner run costs little beyond what it proves)."""
    expected = dict.fromkeys(("training", "rendering", "pipeline", "scores"), "not-run")
    pytester.makepyfile(
        test_inner=INNER_RUN.format(
            layer_tests=str(LAYER_TESTS),
            baselines=BASELINES,
            inject=tuple(inject_inner),
            layers=" or ".join(inner_expects),
            expected={**expected, **inner_expects},
        )
    )
    results = pytester.path / "outer-results"
    result = pytester.runpytest_inprocess(
        "test_inner.py",
        *(f"{LAYER_TESTS}::test_{name}[digits]" for name in layers.split()),
        "-p",
        "pytester",
        "-p",
        "no:cacheprovider",
        "--mpl-generate-summary=",
        f"--mpl-results-path={results}",
        f"--mlp-baseline-dir={BASELINES}",
        inject_outer,
    )
    verdict = json.loads((results / "verdict.json").read_text())
    found = {r["layer"]: r for r in verdict["scenarios"][0]["layers"]}
    return result, found


@pytest.mark.selftest
@pytest.mark.usefixtures("warm_process", "no_ci_summary")
def test_an_inner_run_neither_sees_nor_undoes_the_outer_runs_injection(pytester):
    result, outer = outer_run(
        pytester,
        "--mlp-inject=drawing",
        [],
        {"rendering": "pass"},
        "rendering_matches_baseline_image",
    )
    # The inner run held (it saw no drawing change); the outer run's rendering,
    # drawn after it, still draws with the change.
    result.assert_outcomes(passed=1, failed=1)
    assert outer["rendering"]["status"] == "fail" and outer["rendering"]["kind"] == "moved"


@pytest.mark.selftest
@pytest.mark.usefixtures("warm_process", "no_ci_summary")
def test_an_inner_runs_injection_stays_inside_it(pytester):
    result, outer = outer_run(
        pytester,
        "--mlp-inject=training",
        ["--mlp-inject=drawing"],
        {"training": "pass", "rendering": "fail"},
        "training_matches_snapshot rendering_matches_baseline_image",
    )
    # The inner run saw its drawing change and not the outer training change;
    # after it the outer run trains with its change and draws without the inner one.
    result.assert_outcomes(passed=2, failed=1)
    assert outer["training"]["status"] == "fail" and outer["training"]["kind"] == "moved"
    assert outer["rendering"]["status"] == "pass"
