"""The loop map, LL201 and LL202 agree with real runs of pytest + pytest-asyncio on every
example project and every project of ``projects.py`` (see ``differential.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from differential import Difference, Tally, differential, expected_exceptions

# Another interpreter whose environment holds the previous minor line of pytest-asyncio
# (.ci/run makes one); the test that needs it is skipped when it is not given.
PREVIOUS = os.environ.get("LEAKLINT_PYTEST_ASYNCIO_PREVIOUS")

# The "unknown" counts of today, on both minor lines: async tests on a loop the map cannot
# read, (test, async fixture) pairs without a verdict, rule subjects left silent for it.
UNKNOWN_TESTS = 2
UNKNOWN_PAIRS = 4
UNKNOWN_RULES = 2


def _agrees(tally: Tally) -> None:
    report = "\n".join(str(d) for d in tally.unexplained)
    assert not tally.unexplained, f"{tally.summary()}\n{report}"
    # Every listed exception still happens: the list never holds a stale entry.
    assert {d.key for d in tally.explained} == expected_exceptions(tally.line)
    # The comparison covers real ground: both verdicts, and findings of both rules.
    assert tally.projects >= 75 and tally.pairs_agree >= 180
    assert tally.ll201_agree >= 8 and tally.ll202_agree >= 80
    # ... and no more "unknown" than today: a change that turns verdicts into "unknown" loses
    # ground the floors above do not see (a verdict the map gives up is not a difference).
    assert tally.tests_unknown <= UNKNOWN_TESTS, tally.summary()
    assert tally.pairs_unknown <= UNKNOWN_PAIRS, tally.summary()
    assert tally.rules_unknown <= UNKNOWN_RULES, tally.summary()


def test_loop_map_matches_pytest_asyncio() -> None:
    tally = differential()
    assert tally.line == "1.5", tally.versions
    _agrees(tally)


@pytest.mark.skipif(PREVIOUS is None, reason="LEAKLINT_PYTEST_ASYNCIO_PREVIOUS is not set")
def test_loop_map_matches_the_previous_minor_line() -> None:
    assert PREVIOUS is not None
    tally = differential(PREVIOUS)
    assert tally.line == "1.4", tally.versions
    _agrees(tally)


def _passing_tally() -> Tally:
    """A tally that meets every bound of ``_agrees`` exactly."""
    return Tally(
        projects=75,
        pairs_agree=180,
        ll201_agree=8,
        ll202_agree=80,
        tests_unknown=UNKNOWN_TESTS,
        pairs_unknown=UNKNOWN_PAIRS,
        rules_unknown=UNKNOWN_RULES,
        differences=[Difference(*key, "listed") for key in expected_exceptions("1.5")],
        line="1.5",
    )


def test_the_bounds_hold_at_todays_counts() -> None:
    _agrees(_passing_tally())


@pytest.mark.parametrize("count", ["tests_unknown", "pairs_unknown", "rules_unknown"])
def test_more_unknown_verdicts_fail(count: str) -> None:
    tally = _passing_tally()
    setattr(tally, count, getattr(tally, count) + 1)
    with pytest.raises(AssertionError):
        _agrees(tally)
