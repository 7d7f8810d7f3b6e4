"""Where between two releases a result starts to move: the search, without any I/O.

A *probe* is a function ``version -> outcome`` with outcome :data:`HOLDS`,
:data:`MOVES` or :data:`UNTESTABLE` (the release could not be installed or
the suite could not run on it). :func:`bisect` assumes one change point and
probes about log2(n) releases; :func:`walk` probes every release and reports
every change point, so results that flip back and forth show up. Both work
whichever end holds, so a search toward older releases (the ``oldest``
question) is the same as one toward newer releases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

HOLDS = "holds"
MOVES = "moves"
UNTESTABLE = "untestable"

#: Statuses of a finished search.
BOUNDARY = "boundary"
NOTHING_MOVED = "nothing-moved"
ALL_MOVED = "all-moved"


class EndUntestableError(Exception):
    """One end of the range cannot be probed (it does not install, or the suite cannot run)."""

    def __init__(self, version: str):
        super().__init__(version)
        self.version = version


@dataclass(frozen=True)
class ChangePoint:
    """Two neighbouring tested releases with different outcomes.

    Parameters
    ----------
    holds, moves : str
        The release that holds and the one that moves; either may be the
        older one.
    untestable : tuple of str
        Releases between the two that could not be tested, oldest first:
        the change may have come with any of them.
    """

    holds: str
    moves: str
    untestable: tuple[str, ...] = ()


@dataclass
class SearchResult:
    """What a search found.

    Parameters
    ----------
    status : str
        :data:`BOUNDARY`, :data:`NOTHING_MOVED` (every tested release holds)
        or :data:`ALL_MOVED` (every tested release moves).
    change_points : list of ChangePoint
        Oldest first; one for :func:`bisect`, any number for :func:`walk`.
    outcomes : dict
        ``version -> outcome`` of every probed release, in probing order.
    """

    status: str
    change_points: list[ChangePoint] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)


def bisect(
    candidates: Sequence[str], end_a: str, end_b: str, probe: Callable[[str], str]
) -> SearchResult:
    """Binary search for the one release where the outcome changes.

    Parameters
    ----------
    candidates : sequence of str
        Releases ordered by version (either direction), containing both
        ends, which differ (:func:`.choices.find_ends` sees to it).
    end_a, end_b : str
        The two ends, in any order; ``end_a`` is probed first.
    probe : callable
        ``version -> outcome``; called at most once per version.

    Returns
    -------
    SearchResult

    Raises
    ------
    EndUntestableError
        When an end cannot be probed.
    """
    candidates = list(candidates)
    outcomes: dict[str, str] = {}

    def tried(version: str) -> str:
        if version not in outcomes:
            outcomes[version] = probe(version)
        return outcomes[version]

    for end in (end_a, end_b):
        if tried(end) == UNTESTABLE:
            raise EndUntestableError(end)
    if outcomes[end_a] == outcomes[end_b]:
        status = NOTHING_MOVED if outcomes[end_a] == HOLDS else ALL_MOVED
        return SearchResult(status, [], outcomes)
    holding, moving = (end_a, end_b) if outcomes[end_a] == HOLDS else (end_b, end_a)
    # The releases from the holding end to the moving end, halved down to two
    # tested neighbours (holds at low, moves at high), stepping over untestable ones.
    i_hold, i_move = candidates.index(holding), candidates.index(moving)
    line = candidates[min(i_hold, i_move) : max(i_hold, i_move) + 1]
    line = line[::-1] if i_move < i_hold else line
    low, high = 0, len(line) - 1
    unusable: set[int] = set()
    while inside := [i for i in range(low + 1, high) if i not in unusable]:
        middle = min(inside, key=lambda i: (abs(i - (low + high) / 2), i))
        outcome = tried(line[middle])
        if outcome == HOLDS:
            low = middle
        elif outcome == MOVES:
            high = middle
        else:
            unusable.add(middle)
    between = tuple(sorted(line[low + 1 : high], key=candidates.index))
    return SearchResult(BOUNDARY, [ChangePoint(line[low], line[high], between)], outcomes)


def walk(candidates: Sequence[str], probe: Callable[[str], str]) -> SearchResult:
    """Probe every release, oldest first as given, and report every change point.

    Raises
    ------
    EndUntestableError
        When no release at all can be probed (the first one is named).
    """
    candidates = list(candidates)
    outcomes = {version: probe(version) for version in candidates}
    tested = [v for v in candidates if outcomes[v] != UNTESTABLE]
    if not tested:
        raise EndUntestableError(candidates[0])
    points = []
    for previous, version in zip(tested, tested[1:]):
        if outcomes[version] != outcomes[previous]:
            pair = (previous, version) if outcomes[previous] == HOLDS else (version, previous)
            between = candidates[candidates.index(previous) + 1 : candidates.index(version)]
            points.append(ChangePoint(*pair, tuple(between)))
    if points:
        return SearchResult(BOUNDARY, points, outcomes)
    return SearchResult(NOTHING_MOVED if outcomes[tested[0]] == HOLDS else ALL_MOVED, [], outcomes)
