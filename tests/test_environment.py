"""The facts a verdict records, and what recording them costs."""

from __future__ import annotations

import json
import subprocess
import sys

#: Records the facts in a fresh process, then imports scikit-learn's MLP and
#: lists the BLAS libraries loaded by then, as training would find them.
RECORD_THEN_TRAIN = """
import json, sys
from mlp_weights.core.environment import environment_facts, library_versions
facts = {**library_versions(), **environment_facts()}
imported = sorted(m for m in sys.modules if m == "sklearn" or m.startswith("sklearn."))
import sklearn.neural_network
from threadpoolctl import threadpool_info
blas = sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()
               if i["user_api"] == "blas"})
print(json.dumps({"facts": facts, "imported": imported, "blas": blas}))
"""


def test_the_facts_are_recorded_without_importing_scikit_learn():
    """A run of the rendering layer alone (a bisect probe) records every fact
    without importing scikit-learn (about 0.9 s of a probe), and the BLAS it
    records is every BLAS that training then loads."""
    out = subprocess.run(
        [sys.executable, "-c", RECORD_THEN_TRAIN], capture_output=True, text=True, check=True
    ).stdout
    seen = json.loads(out)
    import sklearn

    assert seen["imported"] == []
    assert seen["facts"]["scikit-learn"] == sklearn.__version__
    assert seen["blas"] and all(name in seen["facts"]["blas"] for name in seen["blas"])


def test_the_blas_is_inspected_once_per_process(monkeypatch):
    """Every later answer is the first one, in a dictionary of the caller's own."""
    import threadpoolctl

    from mlp_weights.core import environment

    calls = []

    def threadpool_info():
        calls.append(1)
        return [{"user_api": "blas", "internal_api": "openblas", "version": "0.0",
                 "architecture": "Fake", "num_threads": 1}]  # fmt: skip

    environment._blas_facts.cache_clear()
    monkeypatch.setattr(threadpoolctl, "threadpool_info", threadpool_info)
    try:
        first = environment.environment_facts()
        first["blas-kernel"] = "changed by a caller"
        second = environment.environment_facts()
    finally:
        environment._blas_facts.cache_clear()
    assert len(calls) == 1
    assert second["blas-kernel"] == "Fake"
    assert second["blas"] == "openblas 0.0 (unknown)"
