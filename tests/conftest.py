import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The annotation harness lives beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Fixer cases that use test-only rules live under tests/data; pytest must not collect them.
collect_ignore = ["data"]


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI caches findings beside the project it lints; never inside this repository."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LEAKLINT_CACHE_DIR", str(tmp_path_factory.mktemp("leaklint-cache")))
    yield
    mp.undo()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-fixtures",
        action="store_true",
        default=False,
        help="(Re)write the *.fixed golden files of the fix tests from what the fixer produces.",
    )


@pytest.fixture
def fixer_rules() -> Iterator[None]:
    """Register the test-only rules of fixer_rules.py for one test, then remove them."""
    from fixer_rules import TEST_RULES

    from leaklint.rules.base import _REGISTRY, all_rules

    all_rules()  # load the real rules first, so the registry is not seen as empty
    taken = [rule.code for rule in TEST_RULES if rule.code in _REGISTRY]
    assert not taken, f"test-only rule codes now used by real rules: {taken}"
    for rule in TEST_RULES:
        _REGISTRY[rule.code] = rule
    try:
        yield
    finally:
        for rule in TEST_RULES:
            del _REGISTRY[rule.code]
