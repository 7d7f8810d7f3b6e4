"""What the first-layer weights say, in numbers (numpy only).

The seed example reads its figure this way: "if weights look unstructured,
maybe some were not used at all, or if very large coefficients exist, maybe
regularization was too low or the learning rate too high". :func:`diagnose`
states those readings as numbers for one fit; those that take more than a
line have a function of their own. ``W`` is always the first layer, ``(n_inputs,
n_units)``: column ``j`` holds hidden unit ``j``'s input weights, one per
pixel of a ``side x side`` image.

The initial weights are not stored by scikit-learn; :func:`initial_weights`
draws them again exactly as ``MLPClassifier`` does (Glorot uniform, the
first draws of its ``random_state``).
"""

from __future__ import annotations

import numpy as np

#: Glorot's factor for ReLU (scikit-learn's default activation): the initial
#: weights are uniform in ``+-sqrt(INIT_FACTOR / (n_inputs + n_units))``.
#: (scikit-learn uses 2 for the logistic activation, which the seed does not.)
INIT_FACTOR = 6.0
#: A weight counts as "still at its initial value" when it moved by at most
#: this fraction of the initial bound. The 121 pixels that are 0 in every
#: mnist-sample image get no gradient but the L2 penalty's: with the seed's
#: alpha 1e-4 they shrink by about 6e-6 of their value in 8 epochs (well
#: inside), with alpha 1 by about 6% (far outside).
AT_INIT_TOLERANCE = 1e-3

#: The keys of :func:`diagnose`, with the label a person reads.
LABELS = {
    "max_weight_over_init_bound": "largest |w|, in initial bounds",
    "init_bound": "initial (Glorot) bound",
    "dead_units": "hidden units never active on the training set",
    "hidden_units": "hidden units",
    "fraction_at_init": "fraction of weights still at their initial value",
    "min_unit_norm": "smallest unit L2 norm",
    "median_unit_norm": "median unit L2 norm",
    "stable_rank": "stable rank of the weight matrix",
    "smoothness_vs_init": "total variation per norm, relative to initialisation",
    "constant_pixels": "input pixels constant in the training set",
    "input_pixels": "input pixels",
    "final_loss": "final training loss",
}


def init_bound(n_inputs: int, n_units: int) -> float:
    """Glorot's bound: ``sqrt(INIT_FACTOR / (n_inputs + n_units))``.

    scikit-learn draws every initial weight of a layer uniformly within
    ``+-init_bound``: 0.0853 for 784 inputs and 40 units.
    """
    return float(np.sqrt(INIT_FACTOR / (n_inputs + n_units)))


def initial_weights(n_inputs: int, n_units: int, random_state: int) -> np.ndarray:
    """The first layer's weights before training, as ``MLPClassifier`` draws them.

    ``RandomState(random_state).uniform(-b, b, (n_inputs, n_units))`` with
    ``b = init_bound(n_inputs, n_units)``: scikit-learn's ``_init_coef``
    makes exactly these draws first, before any shuffling.
    """
    bound = init_bound(n_inputs, n_units)
    rng = np.random.RandomState(random_state)
    return rng.uniform(-bound, bound, (n_inputs, n_units))


def dead_units(X, W, intercepts) -> int:
    """Hidden units never active on ``X``: ``max_i (X W + b)_ij <= 0``.

    A ReLU unit whose pre-activation is never positive outputs 0 for every
    training image, gets no gradient, and is "not used at all".
    """
    pre_activation = np.asarray(X, dtype=np.float64) @ W + intercepts
    return int(np.count_nonzero(pre_activation.max(axis=0) <= 0))


def stable_rank(W) -> float:
    """``||W||_F^2 / ||W||_2^2``: sum of squared singular values over the largest one.

    Between 1 (every unit a multiple of one pattern) and the number of units
    (all directions used equally, as random weights nearly are); 0 for a
    matrix of zeros.
    """
    singular = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    if singular[0] == 0:
        return 0.0
    return float(np.sum(singular**2) / singular[0] ** 2)


def total_variation(W, side: int) -> np.ndarray:
    """Each unit's total variation as a ``side x side`` image.

    The sum of absolute differences between horizontally and vertically
    neighbouring pixels (anisotropic total variation).
    """
    images = np.asarray(W, dtype=np.float64).T.reshape(-1, side, side)
    across = np.abs(np.diff(images, axis=2)).sum(axis=(1, 2))
    down = np.abs(np.diff(images, axis=1)).sum(axis=(1, 2))
    return across + down


def smoothness_vs_init(W, W0, side: int) -> float:
    """Median over units of ``(TV(w) / ||w||) / (TV(w0) / ||w0||)``.

    TV is :func:`total_variation`, ``w`` a unit's weights now and ``w0`` at
    initialisation. 1 means as rough as the random start (no structure);
    below 1, smoother images: strokes and blobs rather than noise. A unit of
    zeros counts as flat (0); units whose start was flat are left out, and
    with none left the result is 1.
    """
    now, then = _roughness(W, side), _roughness(W0, side)
    usable = then > 0
    if not usable.any():
        return 1.0
    return float(np.median(now[usable] / then[usable]))


def _roughness(W, side: int) -> np.ndarray:
    """Each unit's ``TV(w) / ||w||``, 0 for a unit of zeros."""
    norms = np.linalg.norm(W, axis=0)
    tv = total_variation(W, side)
    return np.divide(tv, norms, out=np.zeros_like(tv), where=norms > 0)


def diagnose(W, W0, intercepts, X_train, loss_curve, bound: float, side: int) -> dict:
    """Every diagnostic of one fit, as ``{key: number}`` (keys of :data:`LABELS`).

    Parameters
    ----------
    W, W0 : ndarray of shape (n_inputs, n_units)
        First-layer weights after training and at initialisation.
    intercepts : ndarray of shape (n_units,)
        First-layer intercepts after training.
    X_train : ndarray of shape (n_samples, n_inputs)
        The training inputs, as the network saw them (scaled).
    loss_curve : sequence of float
        The loss of each epoch.
    bound : float
        The initial bound (:func:`init_bound`).
    side : int
        Images are ``side x side`` pixels.
    """
    norms = np.linalg.norm(W, axis=0)
    return {
        # "Very large coefficients": 1 or less means no weight grew beyond its start.
        "max_weight_over_init_bound": float(np.max(np.abs(W)) / bound),
        "init_bound": float(bound),
        "dead_units": dead_units(X_train, W, intercepts),
        "hidden_units": int(W.shape[1]),
        "fraction_at_init": float(np.mean(np.abs(W - W0) <= AT_INIT_TOLERANCE * bound)),
        "min_unit_norm": float(norms.min()),
        "median_unit_norm": float(np.median(norms)),
        "stable_rank": stable_rank(W),
        "smoothness_vs_init": smoothness_vs_init(W, W0, side),
        # No gradient but the L2 penalty's: the noisy frame around each panel.
        "constant_pixels": int(np.count_nonzero(X_train.min(axis=0) == X_train.max(axis=0))),
        "input_pixels": int(W.shape[0]),
        "final_loss": float(loss_curve[-1]),
    }


def describe(diagnostics: dict) -> list[str]:
    """The diagnostics in plain words, a line each (what ``mlp-weights run`` prints)."""
    d = diagnostics
    units, pixels = d["hidden_units"], d["input_pixels"]
    rows = [
        (
            "largest |w|",
            f"{d['max_weight_over_init_bound']:.2f} x the initial bound {d['init_bound']:.4f} "
            "(large if the learning rate is too high or regularization too low)",
        ),
        ("dead units", f"{d['dead_units']} of {units}, never active on the training set"),
        (
            "still at init",
            f"{d['fraction_at_init']:.1%} of the weights; {d['constant_pixels']} of {pixels} "
            "pixels never vary, so their weights never learn",
        ),
        ("unit norms", f"smallest {d['min_unit_norm']:.2f}, median {d['median_unit_norm']:.2f}"),
        (
            "stable rank",
            f"{d['stable_rank']:.1f} of at most {units} (independent patterns the units use)",
        ),
        (
            "roughness",
            f"{d['smoothness_vs_init']:.2f} x the random start's (1 = noise, lower = smoother)",
        ),
        ("final loss", f"{d['final_loss']:.4g}"),
    ]
    width = max(len(name) for name, _ in rows)
    title = f"What the weights say (first layer, {pixels} inputs x {units} hidden units):"
    return [title] + [f"  {name:<{width}}  {text}" for name, text in rows]
