"""The loop map, LL201 and LL202 agree with real runs of pytest + pytest-asyncio on every
example project and every project of ``projects.py`` (see ``differential.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from differential import EXCEPTIONS, differential

# Another interpreter whose environment holds the previous minor line of pytest-asyncio
# (.ci/run makes one); the test that needs it is skipped when it is not given.
PREVIOUS = os.environ.get("LEAKLINT_PYTEST_ASYNCIO_PREVIOUS")


def _versions(python: str) -> str:
    code = "import pytest, pytest_asyncio; print(pytest.__version__, pytest_asyncio.__version__)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def test_loop_map_matches_pytest_asyncio() -> None:
    tally = differential()
    report = "\n".join(str(d) for d in tally.unexplained)
    assert not tally.unexplained, f"{tally.summary()}\n{report}"
    # Every listed exception still happens: the list never holds a stale entry.
    assert {d.key for d in tally.explained} == set(EXCEPTIONS)
    # The comparison covers real ground: both verdicts, and findings of both rules.
    assert tally.projects >= 50 and tally.pairs_agree >= 100
    assert tally.ll201_agree >= 3 and tally.ll202_agree >= 20


@pytest.mark.skipif(PREVIOUS is None, reason="LEAKLINT_PYTEST_ASYNCIO_PREVIOUS is not set")
def test_loop_map_matches_the_previous_minor_line() -> None:
    assert PREVIOUS is not None
    assert _versions(PREVIOUS).split()[1].startswith("1.4."), _versions(PREVIOUS)
    tally = differential(PREVIOUS)
    report = "\n".join(str(d) for d in tally.unexplained)
    assert not tally.unexplained, f"{tally.summary()}\n{report}"
