"""Every annotated fixture project reports exactly what its annotations say."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import FIXTURES, compare, describe, fixture_projects, lint_project

CASES = fixture_projects()


@pytest.mark.parametrize("case", CASES, ids=[c.relative_to(FIXTURES).as_posix() for c in CASES])
def test_fixture_project(case: Path) -> None:
    result = lint_project(case)
    assert not result.internal_errors, result.internal_errors
    missing, unexpected = compare(case, result)
    assert not missing and not unexpected, describe(missing, unexpected, case)
