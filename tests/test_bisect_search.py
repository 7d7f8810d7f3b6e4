"""The bisect's search against fake probes: offline and instant."""

from __future__ import annotations

import math

import pytest

from mlp_weights.bisect.search import (
    ALL_MOVED,
    BOUNDARY,
    HOLDS,
    MOVES,
    NOTHING_MOVED,
    UNTESTABLE,
    ChangePoint,
    EndUntestableError,
    bisect,
    walk,
)

VERSIONS = [f"3.{minor}.{micro}" for minor in range(7, 12) for micro in range(5)]


class FakeProbe:
    """``version -> outcome`` from a table; counts the calls."""

    def __init__(self, outcomes: dict[str, str]):
        self.outcomes = outcomes
        self.calls: list[str] = []

    def __call__(self, version: str) -> str:
        self.calls.append(version)
        return self.outcomes[version]


def step(versions, first_moving, untestable=()):
    """Releases before ``first_moving`` hold, the rest move."""
    index = versions.index(first_moving)
    return {
        v: UNTESTABLE if v in untestable else (HOLDS if i < index else MOVES)
        for i, v in enumerate(versions)
    }


@pytest.mark.parametrize("first_moving", VERSIONS[1:])
def test_bisect_finds_every_change_point_toward_newer_releases(first_moving):
    probe = FakeProbe(step(VERSIONS, first_moving))
    result = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], probe)
    before = VERSIONS[VERSIONS.index(first_moving) - 1]
    assert result.status == BOUNDARY
    assert result.change_points == [ChangePoint(before, first_moving)]
    # Two ends, then a halving per probe.
    assert len(probe.calls) <= 2 + math.ceil(math.log2(len(VERSIONS)))
    assert len(probe.calls) == len(set(probe.calls))


@pytest.mark.parametrize("first_holding", VERSIONS[1:])
def test_bisect_toward_older_releases(first_holding):
    """The oldest question: the baseline's (newest) end holds, the old end moves."""
    outcomes = {v: MOVES if o == HOLDS else HOLDS for v, o in step(VERSIONS, first_holding).items()}
    probe = FakeProbe(outcomes)
    result = bisect(VERSIONS, VERSIONS[-1], VERSIONS[0], probe)
    before = VERSIONS[VERSIONS.index(first_holding) - 1]
    assert result.change_points == [ChangePoint(holds=first_holding, moves=before)]
    assert probe.calls[:2] == [VERSIONS[-1], VERSIONS[0]]


def test_ends_in_either_order_give_the_same_boundary():
    outcomes = step(VERSIONS, "3.9.3")
    one = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], FakeProbe(outcomes))
    other = bisect(VERSIONS, VERSIONS[-1], VERSIONS[0], FakeProbe(outcomes))
    reversed_order = bisect(VERSIONS[::-1], VERSIONS[-1], VERSIONS[0], FakeProbe(outcomes))
    assert one.change_points == other.change_points == reversed_order.change_points
    assert one.change_points == [ChangePoint("3.9.2", "3.9.3")]


def test_untestable_candidates_are_stepped_over():
    outcomes = step(VERSIONS, "3.9.3", untestable={"3.9.1", "3.9.0", "3.10.0"})
    probe = FakeProbe(outcomes)
    result = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], probe)
    assert result.change_points == [ChangePoint("3.9.2", "3.9.3")]
    assert all(outcomes[v] != UNTESTABLE or v in probe.calls for v in result.outcomes)


def test_untestable_candidates_at_the_boundary_are_named():
    outcomes = step(VERSIONS, "3.9.3", untestable={"3.9.2", "3.9.3"})
    result = bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], FakeProbe(outcomes))
    assert result.change_points == [ChangePoint("3.9.1", "3.9.4", ("3.9.2", "3.9.3"))]


def test_untestable_named_oldest_first_toward_older_releases():
    outcomes = {v: MOVES if i < 3 else HOLDS for i, v in enumerate(VERSIONS[:6])}
    outcomes["3.7.2"] = outcomes["3.7.3"] = UNTESTABLE
    result = bisect(VERSIONS[:6], "3.8.0", "3.7.0", FakeProbe(outcomes))
    assert result.change_points == [ChangePoint("3.7.4", "3.7.1", ("3.7.2", "3.7.3"))]


def test_nothing_moved_and_all_moved_probe_only_the_ends():
    holding = FakeProbe(dict.fromkeys(VERSIONS, HOLDS))
    assert bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], holding).status == NOTHING_MOVED
    moving = FakeProbe(dict.fromkeys(VERSIONS, MOVES))
    assert bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], moving).status == ALL_MOVED
    assert len(holding.calls) == len(moving.calls) == 2


def test_an_untestable_end_is_an_error():
    outcomes = step(VERSIONS, "3.9.3", untestable={VERSIONS[-1]})
    with pytest.raises(EndUntestableError) as info:
        bisect(VERSIONS, VERSIONS[0], VERSIONS[-1], FakeProbe(outcomes))
    assert info.value.version == VERSIONS[-1]


def test_walk_reports_every_flip():
    pattern = [HOLDS, HOLDS, MOVES, MOVES, UNTESTABLE, HOLDS, MOVES, UNTESTABLE, UNTESTABLE, MOVES]
    versions = VERSIONS[: len(pattern)]
    probe = FakeProbe(dict(zip(versions, pattern)))
    result = walk(versions, probe)
    assert probe.calls == versions
    assert result.status == BOUNDARY
    assert result.change_points == [
        ChangePoint("3.7.1", "3.7.2"),
        ChangePoint(holds="3.8.0", moves="3.7.3", untestable=("3.7.4",)),
        ChangePoint("3.8.0", "3.8.1"),
    ]


def test_walk_without_change_says_which_way():
    assert walk(VERSIONS[:4], FakeProbe(dict.fromkeys(VERSIONS, HOLDS))).status == NOTHING_MOVED
    assert walk(VERSIONS[:4], FakeProbe(dict.fromkeys(VERSIONS, MOVES))).status == ALL_MOVED
    with pytest.raises(EndUntestableError):
        walk(VERSIONS[:4], FakeProbe(dict.fromkeys(VERSIONS, UNTESTABLE)))
