"""mlp-weights: scikit-learn's MLP-weights example as a regression suite.

Data flows one way: scenario -> load -> train -> snapshot -> draw -> compare
-> verdict, one module per step. The public names below are imported on
first use, so that ``mlp-weights --help`` does not pay for numpy, scikit-learn
and matplotlib.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "data",
    "load_dataset": "data",
    "BaselineError": "errors",
    "DataUnavailableError": "errors",
    "MLPWeightsError": "errors",
    "UsageError": "errors",
    "STYLE": "plot",
    "plot_weight_grid": "plot",
    "render_weights": "plot",
    "save_figure": "plot",
    "SCENARIOS": "scenarios",
    "Scenario": "scenarios",
    "get_scenario": "scenarios",
    "Snapshot": "snapshot",
    "compare_training": "snapshot",
    "load_snapshot": "snapshot",
    "save_snapshot": "snapshot",
    "TrainingResult": "training",
    "train": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlp_weights' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
