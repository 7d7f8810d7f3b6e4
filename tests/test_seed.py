"""The seed example's published output, on full MNIST (skipped without its data).

Published by scikit-learn's gallery (full MNIST, an earlier scikit-learn).
"""

import pytest

from mlp_weights.suite import checks as suite

SEED_LOSSES = [
    0.44139186,
    0.19174891,
    0.13983521,
    0.11378556,
    0.09443967,
    0.07846529,
    0.06506307,
    0.05534985,
]
SEED_TRAIN_SCORE = 0.986429
SEED_TEST_SCORE = 0.953061

#: Losses agree within 1e-4: above the published 8-decimal rounding and any
#: BLAS noise, below what a learning rate 1e-4 off does to the curve (9e-4).
LOSS_TOLERANCE = 1e-4
#: Scores agree within 5e-4: about 10 of 21,000 training and 25 of 49,000
#: test predictions, room for a different BLAS but not for a training change.
SCORE_TOLERANCE = 5e-4


@pytest.mark.seed
@pytest.mark.parametrize("scenario_name", suite.scenario_params(["mnist"]))
def test_mnist_matches_the_published_seed_output(scenario_name, layer_run):
    finding = suite.check_published(
        scenario_name,
        SEED_LOSSES,
        SEED_TRAIN_SCORE,
        SEED_TEST_SCORE,
        loss_tolerance=LOSS_TOLERANCE,
        score_tolerance=SCORE_TOLERANCE,
    )
    layer_run.keep(finding)


def test_the_published_output_check_fails_by_the_tolerances_on_any_scenario():
    """The seed check itself, on digits: it holds at its own fit and fails just past it."""
    from mlp_weights.suite.results import Kind, LayerFailure

    fit = suite.fresh_fit("digits")
    losses = list(fit.loss_curve)
    finding = suite.check_published(
        "digits", losses, fit.train_score, fit.test_score, LOSS_TOLERANCE, SCORE_TOLERANCE
    )
    assert [a["n_differ"] for a in finding.amount["arrays"]] == [0, 0]
    shifted = [*losses[:-1], losses[-1] + 2 * LOSS_TOLERANCE]
    with pytest.raises(LayerFailure) as info:
        suite.check_published(
            "digits", shifted, fit.train_score, fit.test_score, LOSS_TOLERANCE, SCORE_TOLERANCE
        )
    assert info.value.finding.kind is Kind.MOVED
    assert info.value.finding.amount["arrays"][0]["n_differ"] == 1
    assert "differs from the published output" in str(info.value)
    with pytest.raises(LayerFailure):
        suite.check_published(
            "digits", losses, fit.train_score + 2 * SCORE_TOLERANCE, fit.test_score,
            LOSS_TOLERANCE, SCORE_TOLERANCE,
        )  # fmt: skip
