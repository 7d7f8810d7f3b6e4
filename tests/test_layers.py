"""The regression layers, per scenario: training, rendering, pipeline, scores.

``training`` draws nothing and ``rendering`` trains nothing, so a failure in
one of them points at scikit-learn or at matplotlib alone; ``pipeline`` is
the seed example end to end. Each test calls one check of
:mod:`mlp_weights.suite.checks` with the files of the generations the plugin chose
for the installed versions (``layer_run``); the plugin blames and reports.
"""

import pytest

from mlp_weights.suite import checks as suite


@pytest.mark.training
@pytest.mark.parametrize("scenario_name", suite.scenario_params())
def test_training_matches_snapshot(scenario_name, layer_run):
    layer_run.keep(suite.check_training(scenario_name, layer_run.snapshot(scenario_name)))


@pytest.mark.rendering
@pytest.mark.parametrize("scenario_name", suite.scenario_params(image=True))
def test_rendering_matches_baseline_image(scenario_name, layer_run):
    return suite.rendering_figure(
        scenario_name, layer_run.image(scenario_name), layer_run.snapshot(scenario_name)
    )


@pytest.mark.pipeline
@pytest.mark.parametrize("scenario_name", suite.scenario_params(image=True))
def test_pipeline_matches_baseline_image(scenario_name, layer_run):
    return suite.pipeline_figure(scenario_name, layer_run.image(scenario_name))


@pytest.mark.scores
@pytest.mark.parametrize("scenario_name", suite.scenario_params())
def test_scores_above_floors(scenario_name, layer_run):
    layer_run.keep(suite.check_scores(scenario_name))
