"""The engine lints with fewer full garbage collections and leaves the caller's settings as
they were."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaklint.model.project import Project
from leaklint.rules.base import RuleSelection
from leaklint.run import engine
from leaklint.run.collection import THRESHOLDS, fewer_collections, use_fewer_collections

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "graph" / "fixture_chain"


@pytest.fixture
def thresholds() -> Iterator[None]:
    previous = gc.get_threshold()
    yield
    gc.set_threshold(*previous)


@pytest.mark.usefixtures("thresholds")
def test_the_block_raises_the_thresholds_and_restores_them() -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("thresholds")
def test_a_higher_threshold_is_never_lowered() -> None:
    gc.set_threshold(50_000, 5, 5_000)
    use_fewer_collections()
    assert gc.get_threshold() == (50_000, THRESHOLDS[1], 5_000)


@pytest.mark.usefixtures("thresholds")
def test_lint_runs_its_files_under_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []
    check_file = engine.check_file

    def recording(*args: object) -> object:
        seen.append(gc.get_threshold())
        return check_file(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "check_file", recording)
    result = engine.lint(Project.load([EXAMPLE]), RuleSelection().rules(), jobs=1)
    assert seen and set(seen) == {THRESHOLDS}
    assert result.files_checked > 0
    assert gc.get_threshold() == (700, 10, 10)
