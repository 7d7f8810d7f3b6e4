"""mlp-weights: scikit-learn's MLP-weights example as a regression suite.

Data flows one way: scenario -> load -> train -> snapshot -> draw -> compare
-> verdict, one module per step. Import names from the module that defines
them (``from mlp_weights.pipeline.training import train``): importing the
package itself loads nothing, so that ``mlp-weights --help`` does not pay for
numpy, scikit-learn and matplotlib.
"""

__version__ = "0.1.0"
