"""The arrays of one scenario, as every data module passes them on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Raw pixels and labels of one scenario.

    ``X`` is ``uint8`` of shape (n_samples, side * side); ``y`` is ``uint8``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
