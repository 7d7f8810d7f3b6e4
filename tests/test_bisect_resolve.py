"""The resolver retry's facts: which releases need NumPy 1."""

from __future__ import annotations

from mlp_weights.bisect.resolve import NUMPY1_ONLY, extra_requirements


def test_known_numpy1_builds_ask_for_numpy_below_2_at_once():
    assert extra_requirements("matplotlib", "3.7.0") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.3") == [NUMPY1_ONLY]
    assert extra_requirements("matplotlib", "3.8.4") == []
    assert extra_requirements("scikit-learn", "1.4.1.post1") == [NUMPY1_ONLY]
    assert extra_requirements("scikit-learn", "1.4.2") == []
    assert extra_requirements("numpy", "1.26.4") == []
