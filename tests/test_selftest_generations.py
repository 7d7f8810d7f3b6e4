"""Detection within each baseline generation, on whichever stack runs the suite.

On the pinned stack the rendering layer compares with ``rendering/mpl-3.11``;
on the oldest stack (``tox -e oldest`` runs this file too) with
``rendering/mpl-3.7``. Each test works out the generation the installed
versions select and proves, against it, what the suite promises: a slight
drawing change fails ``rendering`` and is blamed on matplotlib; forcing the
other generation shows the measured difference between them; a stack
outside every range fails in one line.
"""

from __future__ import annotations

import json

import pytest

from mlp_weights.baselines.generations import choose, read_generations
from mlp_weights.core.environment import library_versions
from test_selftest import BASELINES, copy_baselines, run_layers, tree_digest

pytestmark = [pytest.mark.selftest, pytest.mark.usefixtures("warm_process", "no_ci_summary")]

#: Measured between the two committed rendering generations (matplotlib 3.7.0
#: and 3.11.2 drawing the same stored weights): one-pixel shifts of the panel edges.
RMS_BETWEEN_GENERATIONS = {"digits": 12.573, "mnist-sample": 13.818}


def rendering_generations():
    """``(selected here, the other one)`` of the committed rendering generations."""
    generations = read_generations(BASELINES)
    selected = choose(generations, "rendering", library_versions())
    (other,) = [g for g in generations if g.layer == "rendering" and g is not selected]
    return selected, other


def test_a_drawing_change_fails_the_selected_generation_and_blames_matplotlib(pytester, tmp_path):
    selected, _ = rendering_generations()
    baselines = copy_baselines(tmp_path / "baselines", matplotlib="0.0-baseline")
    run = run_layers(pytester, "--mlp-inject=drawing", "-m", "rendering", baselines=baselines)
    assert run.statuses("rendering") == {"fail"}, run.output
    for scenario in RMS_BETWEEN_GENERATIONS:
        rendering = run.layer("rendering", scenario)
        assert rendering["generation"] == selected.name
        assert rendering["blamed"] == ["matplotlib"]
        assert rendering["amount"]["image_rms"] > rendering["amount"]["tolerance"]
    assert f"baseline generation: {selected.label}" in run.output
    assert run.verdict["generations"][selected.name]["forced"] is False


def test_the_selected_generation_holds_without_the_change(pytester):
    selected, _ = rendering_generations()
    run = run_layers(pytester, "-m", "rendering")
    assert run.ret == 0, run.output
    assert {run.layer("rendering", s)["generation"] for s in RMS_BETWEEN_GENERATIONS} == {
        selected.name
    }


def test_forcing_the_other_generation_shows_the_measured_difference(pytester):
    before = tree_digest(BASELINES)
    selected, other = rendering_generations()
    run = run_layers(pytester, "-m", "rendering", f"--mlp-generation={other.name}")
    assert run.statuses("rendering") == {"fail"}
    for scenario, rms in RMS_BETWEEN_GENERATIONS.items():
        rendering = run.layer("rendering", scenario)
        assert rendering["generation"] == other.name
        assert rendering["amount"]["image_rms"] == pytest.approx(rms, abs=0.01)
        # Blame reads the forced generation's provenance: another matplotlib.
        assert rendering["blamed"][0] == "matplotlib"
    assert f"{other.label}, forced" in run.output
    assert run.verdict["generations"][other.name]["forced"] is True
    markdown = (run.results_dir / "verdict.md").read_text()
    assert f"`{other.name}` ({other.range_text}, forced)" in markdown
    assert tree_digest(BASELINES) == before


def test_a_stack_outside_every_range_fails_in_one_line(pytester, tmp_path):
    baselines = copy_baselines(tmp_path / "baselines")
    manifest = json.loads((baselines / "manifest.json").read_text())
    manifest["generations"]["rendering/mpl-3.11"]["range"] = {"matplotlib": ">=99"}
    manifest["generations"]["rendering/mpl-3.7"]["range"] = {"matplotlib": "<1"}
    (baselines / "manifest.json").write_text(json.dumps(manifest))
    run = run_layers(pytester, "-m", "rendering or pipeline or training", baselines=baselines)
    matplotlib = library_versions()["matplotlib"]
    line = (
        f"no rendering generation holds matplotlib {matplotlib} (declared: "
        "rendering/mpl-3.11 (matplotlib>=99); rendering/mpl-3.7 (matplotlib<1)); create one "
        f"with: mlp-weights regen --new-generation rendering/NAME --range "
        f"'matplotlib=={matplotlib}' --pins requirements/FILE.txt --reason \"...\""
    )
    for layer in ("rendering", "pipeline"):
        failed = run.layer(layer)
        assert failed["status"] == "fail" and failed["kind"] == "missing-baseline"
        assert failed["message"] == line and failed["generation"] is None
    # Training has a generation for every version: it still compares.
    assert run.statuses("training") == {"pass"}
    assert f"layer 'rendering', scenario 'digits': {line}" in run.output
    # No image was compared: no other generation was tried.
    assert not list(run.results_dir.glob("*/baseline.png"))
