"""The regression layers, per scenario: training, rendering, pipeline, scores.

``training`` draws nothing and ``rendering`` trains nothing, so a failure in
one of them points at scikit-learn or at matplotlib alone; ``pipeline`` is
the seed example end to end.
"""

import pytest

from mlp_weights import suite
from mlp_weights.errors import BaselineError
from mlp_weights.scenarios import SCENARIOS


def _fail_on_baseline_error(func, *args):
    try:
        return func(*args)
    except BaselineError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.training
@pytest.mark.parametrize("scenario_name", suite.scenario_params())
def test_training_matches_snapshot(scenario_name):
    problems = _fail_on_baseline_error(suite.training_problems, scenario_name)
    if problems is not None:
        pytest.fail(problems, pytrace=False)


@pytest.mark.rendering
@pytest.mark.parametrize("scenario_name", suite.scenario_params(image=True))
def test_rendering_matches_baseline_image(scenario_name):
    _fail_on_baseline_error(suite.require_baseline_image, scenario_name)
    snapshot = _fail_on_baseline_error(suite.stored_snapshot, scenario_name)
    return suite.draw_weights(scenario_name, snapshot.coefs)


@pytest.mark.pipeline
@pytest.mark.parametrize("scenario_name", suite.scenario_params(image=True))
def test_pipeline_matches_baseline_image(scenario_name):
    _fail_on_baseline_error(suite.require_baseline_image, scenario_name)
    return suite.draw_weights(scenario_name, suite.fresh_fit(scenario_name).coefs)


@pytest.mark.scores
@pytest.mark.parametrize("scenario_name", suite.scenario_params())
def test_scores_above_floors(scenario_name):
    floors = SCENARIOS[scenario_name].floors
    result = suite.fresh_fit(scenario_name)
    assert result.train_score >= floors["train"], (
        f"training score {result.train_score:.6f} below the floor {floors['train']}"
    )
    assert result.test_score >= floors["test"], (
        f"test score {result.test_score:.6f} below the floor {floors['test']}"
    )
