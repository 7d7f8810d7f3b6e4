"""What a result depends on besides our code: library versions and machine facts.

Two flat dictionaries of strings, recorded in the baseline manifest when
baselines are made and again at every test run, so that a verdict can say
what moved between the two:

- :func:`library_versions`: Python, scikit-learn, matplotlib, numpy;
- :func:`environment_facts`: the BLAS (library, kernel, threads while
  training), numpy's SIMD targets, FreeType, the platform and the machine.

Identical pins can give different results when one of the latter differs
(scikit-learn issue 20516: BLAS kernels; matplotlib issue 22099: FreeType).
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform

#: Keys of :func:`library_versions`, in report order.
LIBRARIES = ("python", "scikit-learn", "matplotlib", "numpy")
#: How each fact is named in a sentence, where that is not its key.
LABELS = {
    "python": "Python",
    "blas": "BLAS",
    "blas-kernel": "BLAS kernel",
    "blas-threads": "BLAS threads while training",
    "numpy-simd": "numpy SIMD targets",
    "freetype": "FreeType",
}


def library_versions() -> dict[str, str]:
    """The versions in use now, keyed as in :data:`LIBRARIES`.

    From the installed metadata: importing scikit-learn takes about 0.9 s,
    which a run of the rendering layer alone (a bisect probe) need not pay.
    """
    versions = {name: importlib.metadata.version(name) for name in LIBRARIES[1:]}
    return {"python": platform.python_version(), **versions}


#: BLAS and OpenMP threads used while training and scoring. MLP results can
#: differ with the thread count (scikit-learn issues 13108, 14603, 20516);
#: one thread makes a fit independent of the machine's core count.
TRAINING_THREADS = 1


def training_threads():
    """A context in which BLAS and OpenMP use :data:`TRAINING_THREADS` threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=TRAINING_THREADS)


@functools.lru_cache(maxsize=1)
def _blas_facts() -> dict[str, str]:
    """BLAS libraries, kernels and threads as threadpoolctl sees them while training.

    Asked once per process: the imports below load, for good, every BLAS
    that training uses, and the threads are read under training's own limit,
    so a second answer would be the same. Each inspection walks every loaded
    library (5 to 15 ms); a test session asked about 60 times.
    Callers get the dictionary spread into their own, never this one.
    """
    # Load the BLAS libraries training uses, so that they are listed: numpy's,
    # and scipy's, which scikit-learn's solvers call. scipy.linalg loads the
    # same two as scikit-learn's own imports do (checked with threadpoolctl on
    # the pinned and the oldest stack), in a fifth of the time.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    with training_threads():
        blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]

    def joined(values) -> str:
        return ", ".join(sorted({str(v) for v in values})) or "none found"

    return {
        "blas": joined(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer', 'unknown')})"
            for i in blas
        ),
        "blas-kernel": joined(i.get("architecture") or "unknown" for i in blas),
        "blas-threads": joined(i.get("num_threads") for i in blas),
    }


def _numpy_simd() -> str:
    """numpy's SIMD baseline and the dispatch targets this CPU runs (``X86_V2 + X86_V3``)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as umath
    baseline = list(umath.__cpu_baseline__)
    dispatch = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
    return " ".join(baseline or ["none"]) + (" + " + " ".join(dispatch) if dispatch else "")


def environment_facts() -> dict[str, str]:
    """The machine facts in use now: BLAS (and kernel, threads), SIMD, FreeType, platform."""
    from matplotlib import ft2font

    return {
        **_blas_facts(),
        "numpy-simd": _numpy_simd(),
        "freetype": ft2font.__freetype_version__,
        "platform": platform.system(),
        "machine": platform.machine(),
    }


def describe_move(key: str, now: str | None, then: str | None) -> str:
    """``"BLAS kernel Haswell now, SkylakeX at the baseline"``."""
    return f"{LABELS.get(key, key)} {now or '?'} now, {then or '?'} at the baseline"
