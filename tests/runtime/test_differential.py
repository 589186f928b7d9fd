"""The loop map, LL201 and LL202 agree with real runs of pytest + pytest-asyncio on every
example project and every project of ``projects.py`` (see ``differential.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from differential import Tally, differential, expected_exceptions

# Another interpreter whose environment holds the previous minor line of pytest-asyncio
# (.ci/run makes one); the test that needs it is skipped when it is not given.
PREVIOUS = os.environ.get("LEAKLINT_PYTEST_ASYNCIO_PREVIOUS")


def _agrees(tally: Tally) -> None:
    report = "\n".join(str(d) for d in tally.unexplained)
    assert not tally.unexplained, f"{tally.summary()}\n{report}"
    # Every listed exception still happens: the list never holds a stale entry.
    assert {d.key for d in tally.explained} == expected_exceptions(tally.line)
    # The comparison covers real ground: both verdicts, and findings of both rules.
    assert tally.projects >= 60 and tally.pairs_agree >= 150
    assert tally.ll201_agree >= 6 and tally.ll202_agree >= 60


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
