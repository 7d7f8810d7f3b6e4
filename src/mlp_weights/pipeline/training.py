"""Training: the seed's split and estimator, on a scenario's data."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mlp_weights.core.environment import training_threads
from mlp_weights.pipeline.data import Dataset
from mlp_weights.pipeline.scenarios import Scenario


@dataclass(frozen=True)
class TrainingResult:
    """What a fit produced: the numbers the ``training`` layer compares."""

    scenario: str
    loss_curve: np.ndarray
    coefs: np.ndarray
    train_score: float
    test_score: float
    #: What the weights say (:func:`mlp_weights.pipeline.diagnostics.diagnose`).
    diagnostics: dict | None = None


def train(scenario: Scenario, dataset: Dataset, verbose: bool = True) -> TrainingResult:
    """Fit the seed's ``MLPClassifier`` and score it.

    With ``verbose``, scikit-learn prints ``Iteration N, loss = X`` for each
    epoch as it goes, exactly as in the seed.

    The seed's ``train_test_split`` is made on the raw uint8 pixels. The
    split depends only on the number of rows and the random state, so
    splitting first and scaling each part when it is needed gives the seed's
    arrays exactly, without ever holding a float64 copy of the whole set
    (the seed scales first: twice the memory).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from mlp_weights.pipeline.diagnostics import diagnose, init_bound, initial_weights

    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X,
        dataset.y,
        random_state=scenario.split_random_state,
        test_size=scenario.test_size,
    )
    mlp = MLPClassifier(**scenario.estimator_params(), verbose=10 if verbose else 0)
    with training_threads(), warnings.catch_warnings():
        # The seed stops after a few epochs on purpose, to keep the example
        # fast; the resulting "did not converge" warning is expected noise.
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        scaled = X_train / scenario.pixel_max
        mlp.fit(scaled, y_train)
        train_score = mlp.score(scaled, y_train)
        W = np.asarray(mlp.coefs_[0], dtype=np.float64)
        n_inputs, n_units = W.shape
        diagnostics = diagnose(
            W,
            initial_weights(n_inputs, n_units, scenario.random_state),
            np.asarray(mlp.intercepts_[0], dtype=np.float64),
            scaled,
            mlp.loss_curve_,
            init_bound(n_inputs, n_units),
            scenario.image_side,
        )
        # Scale the test part only once the training part is freed.
        del scaled
        test_score = mlp.score(X_test / scenario.pixel_max, y_test)
    return TrainingResult(
        scenario=scenario.name,
        loss_curve=np.asarray(mlp.loss_curve_, dtype=np.float64),
        coefs=W,
        train_score=float(train_score),
        test_score=float(test_score),
        diagnostics=diagnostics,
    )


def format_scores(result: TrainingResult) -> str:
    """The seed's two closing lines."""
    return f"Training set score: {result.train_score:f}\nTest set score: {result.test_score:f}"
