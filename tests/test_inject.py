"""Injections nest: each run sees exactly its own, and leaves the run around it as it was.

The first tests drive the stack of :mod:`mlp_weights.suite.inject` with
recording stand-ins for the two injections (nothing is patched); the last
ones run the layer tests inside a run that holds another injection, as
``pytest --mlp-inject drawing -m selftest`` does.
"""

from __future__ import annotations

import json

import pytest

from mlp_weights.pipeline import plot
from mlp_weights.suite import inject
from test_selftest import BASELINES, LAYER_TESTS


@pytest.fixture
def stack(monkeypatch):
    """An empty stack of stand-in injections ``a``, ``b``, ``c``; the log of what happened.

    Each entry is ``+name`` (applied), ``-name`` (undone) or ``forget:``
    followed by what was in force when the drawings were forgotten.
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
    monkeypatch.setattr(inject, "_LOOSE", [])
    forget = lambda: log.append("forget:" + ",".join(inject.active_injections()))  # noqa: E731
    monkeypatch.setattr(plot, "forget_drawings", forget)
    return log


def changes(log):
    return [entry for entry in log if not entry.startswith("forget:")]


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
    assert changes(stack) == ["+a", "+b", "-b", "-a", "+c", "-c", "+a", "+b", "-b", "-a"]
    # Every change forgets the drawings, once what is in force has changed.
    assert stack[:4] == ["+a", "forget:a", "+b", "forget:a,b"]
    assert stack[6:8] == ["-a", "forget:"]
    assert len([e for e in stack if e.startswith("forget:")]) == len(changes(stack))


def test_an_inner_run_keeps_what_it_asked_for_that_is_in_force(stack):
    outer = inject.begin(["a"])
    inner = inject.begin(["b", "a", "b"])
    assert inject.active_injections() == ("a", "b")
    inject.end(inner)
    # ``a`` is the outer run's: the inner one neither applied nor undid it.
    assert inject.active_injections() == ("a",)
    assert changes(stack) == ["+a", "+b", "-b"]
    inject.end(outer)
    assert changes(stack)[-1] == "-a"


def test_a_run_without_injections_sees_none_and_changes_nothing_after(stack):
    outer = inject.begin(["a"])
    with inject.injected() as inner:
        assert inject.active_injections() == () and inner.suspended == ["a"]
    assert inject.active_injections() == ("a",)
    inject.end(outer)
    inner_alone = inject.begin([])
    inject.end(inner_alone)
    assert changes(stack) == ["+a", "-a", "+a", "-a"]


def test_ending_a_run_ends_the_runs_left_open_inside_it(stack):
    outer = inject.begin(["a"])
    inject.begin(["b"])
    inject.begin(["c"])
    inject.end(outer)
    assert inject.active_injections() == () and inject._STACK == []
    assert changes(stack) == ["+a", "-a", "+b", "-b", "+c", "-c", "+b", "-b", "+a", "-a"]
    inject.end(outer)  # ended already: nothing happens
    assert len(changes(stack)) == 10


def test_an_unknown_injection_changes_nothing(stack):
    outer = inject.begin(["a"])
    with pytest.raises(KeyError, match="unknown injection 'z'"):
        inject.begin(["b", "z"])
    assert inject.active_injections() == ("a",) and inject._STACK == [outer]
    assert changes(stack) == ["+a"]


def test_inject_adds_to_what_is_in_force_and_undo_all_leaves_the_runs_own(stack):
    run = inject.begin(["a"])
    inject.inject("b")
    inject.inject("a")
    assert inject.active_injections() == ("a", "b")
    inject.undo_all()
    assert inject.active_injections() == ("a",) and inject._STACK == [run]
    assert changes(stack) == ["+a", "+b", "-b"]


def test_the_real_injections_patch_and_unpatch_under_the_stack():
    from matplotlib.axes import Axes
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    with inject.injected():
        as_installed = Axes.matshow, SGDOptimizer.__init__
        with inject.injected("drawing"):
            assert inject.active_injections() == ("drawing",)
            assert Axes.matshow is not as_installed[0]
            assert SGDOptimizer.__init__ is as_installed[1]
            with inject.injected("training"):
                assert Axes.matshow is as_installed[0]
                assert SGDOptimizer.__init__ is not as_installed[1]
            assert Axes.matshow is not as_installed[0]
            assert SGDOptimizer.__init__ is as_installed[1]
        assert (Axes.matshow, SGDOptimizer.__init__) == as_installed


# -- runs inside runs ------------------------------------------------------------------

#: An outer run's test that runs the layer tests inside it (as a self-test does)
#: and asserts what that inner run found.
INNER_RUN = """
import json

def test_an_inner_run(pytester):
    results = pytester.path / "inner-results"
    result = pytester.runpytest_inprocess(
        {layer_tests!r}, "-p", "no:cacheprovider", "-m", "training or rendering",
        "-k", "mnist-sample", "--mpl-generate-summary=", f"--mpl-results-path={{results}}",
        "--mlp-baseline-dir={baselines}", *{inject!r},
    )
    verdict = json.loads((results / "verdict.json").read_text())
    found = {{r["layer"]: r["status"] for r in verdict["scenarios"][0]["layers"]}}
    assert found == {expected!r}, result.stdout.str()
"""


def outer_run(pytester, inject_outer: str, inject_inner: list, inner_expects: dict, layers: str):
    """An outer run with ``inject_outer``: first a test running the layer tests inside it
    with ``inject_inner``, then the outer run's own layer tests of ``layers`` (mnist-sample)."""
    pytester.makepyfile(
        test_inner=INNER_RUN.format(
            layer_tests=str(LAYER_TESTS),
            baselines=BASELINES,
            inject=tuple(inject_inner),
            expected={"pipeline": "not-run", "scores": "not-run", **inner_expects},
        )
    )
    results = pytester.path / "outer-results"
    result = pytester.runpytest_inprocess(
        "test_inner.py",
        *(f"{LAYER_TESTS}::test_{name}[mnist-sample]" for name in layers.split()),
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
        {"training": "pass", "rendering": "pass"},
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
