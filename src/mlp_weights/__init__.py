"""mlp-weights: scikit-learn's MLP-weights example as a regression suite.

Data flows one way: scenario -> load -> train -> snapshot -> draw -> compare
-> verdict, one module per step.
"""

__version__ = "0.1.0"

from .data import Dataset, load_dataset  # noqa: E402
from .errors import BaselineError, DataUnavailableError, MLPWeightsError, UsageError  # noqa: E402
from .plot import STYLE, plot_weight_grid, render_weights, save_figure  # noqa: E402
from .scenarios import SCENARIOS, Scenario, get_scenario  # noqa: E402
from .snapshot import Snapshot, compare_training, load_snapshot, save_snapshot  # noqa: E402
from .train import TrainingResult, train  # noqa: E402

__all__ = [
    "SCENARIOS",
    "STYLE",
    "BaselineError",
    "DataUnavailableError",
    "Dataset",
    "MLPWeightsError",
    "Scenario",
    "Snapshot",
    "TrainingResult",
    "UsageError",
    "compare_training",
    "get_scenario",
    "load_dataset",
    "load_snapshot",
    "plot_weight_grid",
    "render_weights",
    "save_figure",
    "save_snapshot",
    "train",
]
