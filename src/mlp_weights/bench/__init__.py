"""Time and measure each step of the pipeline: ``mlp-weights bench``.

Every number comes from a fresh Python process, as a user's ``run`` would:

- ``import``: a new interpreter importing :data:`IMPORT_STATEMENT`, what
  every run pays before its first step.
- ``load-cold``: a process that imports, then loads a scenario into an
  empty data home (from the source, writing the verified ``.npz`` cache).
- ``load-warm``, ``train``, ``draw``, ``save``: a process that imports,
  then does what a warm ``run`` does, in its order: load from the verified
  cache, train, build the figure, render and write the PNG. A step's time
  includes any import it triggers lazily, as it would in a real run.

Cold loads always start from an empty temporary data home. Warm loads use
``--data-home`` when given (its verified cache is filled, as ``run`` would,
when missing), else the folder the first cold load filled.

Each scenario is measured in its own processes, so a peak RSS
(``ru_maxrss``) belongs to one scenario: the ``peak_rss_mb`` column is the
peak of the step's process by the end of that step.

Besides the offline scenarios, a full-MNIST-shaped synthetic array (70,000 x
784 random ``uint8`` pixels, labels 0-9, from a seeded ``RandomState``) goes
through the same functions, with the full ``mnist`` scenario's settings. Its
"source" is the random generator; its cache stays in the bench's temporary
folder. Two probes then measure what training adds to the peak RSS on it,
against the size of one float64 copy of the array: the package's
``train`` and, for reference, the seed's ``X / 255.0`` before splitting.

``--seed-script`` times the seed example (:mod:`mlp_weights.seed_script`, a
standalone copy) against a warm ``mlp-weights run`` on the same 5,000
images, both as whole processes, interleaved, and prints the ratio of the
medians.

Modules: :mod:`.summary` (summaries and the table), :mod:`.synthetic` (the
synthetic array), :mod:`.worker` (what runs in each measured process) and
:mod:`.runner` (which processes run, and the report).

Output: one table on stdout, whitespace-separated, one header line; every
other line starts with ``#``. Missing values are ``-``. Progress goes to
stderr. MB are 10^6 bytes.
"""

from mlp_weights.bench.runner import run_benchmarks

__all__ = ["run_benchmarks"]
