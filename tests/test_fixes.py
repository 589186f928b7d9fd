"""Golden files for fixes, and round trips over real files.

A case folder (``fixtures/<family>/<case>/`` with real rules, ``tests/data/fixer/<case>/`` with
the test-only rules of fixer_rules.py) takes part when it holds a golden file: ``X.fixed`` beside
``X`` is what ``X`` must be after ``leaklint check --fix --unsafe-fixes`` (``--fix`` alone when
the case has a file named ``.safe-only``). A file without a golden must come out unchanged, and
a golden without its file is a file the fixes create. The rules are those of
tests/test_fixtures.py (default ones plus the opt-in rules the annotations name), or the codes
listed in the case's ``.select`` file. For every case:

* the fixed files match the goldens byte for byte, and parse;
* linting again finds nothing with a fix of the applied kind;
* fixing again changes nothing;
* every fix that was dropped is listed in the case's ``.problems`` file (``path: message``).

``pytest --update-fixtures`` (re)writes the goldens of every case from what the fixer produces.
"""

from __future__ import annotations

import difflib
import shutil
import sysconfig
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from harness import FIXTURES, expected_findings, selection_for

from leaklint.diagnostics import Diagnostic
from leaklint.fix.fixer import (
    FixError,
    FixOutcome,
    applicable,
    fix_workspace,
    parse_problem,
    read_document,
)
from leaklint.model.project import Project
from leaklint.model.workspace import Workspace
from leaklint.rules.base import FixAvailability, Rule, RuleSelection
from leaklint.run.engine import lint_all

DATA = Path(__file__).resolve().parent / "data" / "fixer"
GOLDEN = ".fixed"
CONTROL_FILES = (".safe-only", ".select", ".problems")


def case_folders() -> list[Path]:
    cases = [
        case
        for family in sorted(FIXTURES.iterdir())
        if family.is_dir()
        for case in sorted(family.iterdir())
        if case.is_dir()
    ]
    cases += sorted(case for case in DATA.iterdir() if case.is_dir())
    return cases


def has_goldens(case: Path) -> bool:
    return any(path.name.endswith(GOLDEN) for path in case.rglob("*"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fix_case" in metafunc.fixturenames:
        update = metafunc.config.getoption("--update-fixtures")
        cases = [case for case in case_folders() if update or has_goldens(case)]
        ids = [_case_id(case) for case in cases]
        metafunc.parametrize("fix_case", cases, ids=ids)


def _case_id(case: Path) -> str:
    base = DATA if case.is_relative_to(DATA) else FIXTURES
    prefix = "data/" if base is DATA else ""
    return prefix + case.relative_to(base).as_posix()


def loader(root: Path) -> Callable[[Mapping[Path, bytes]], Project]:
    """One project over ``root`` (a tree without nested pytest projects)."""

    def load(contents: Mapping[Path, bytes]) -> Project:
        return Project.load([root]).use_contents(contents)

    return load


def fix(root: Path, rules: Sequence[type[Rule]], **options: Any) -> FixOutcome:
    """Fix ``root`` as ``leaklint check --fix`` does: each pytest project in it on its own."""
    return fix_workspace(Workspace.load([root]), rules, **options)


def rules_for(case: Path) -> list[type[Rule]]:
    select = case / ".select"
    if select.is_file():
        codes = tuple(select.read_text().replace(",", " ").split())
        return RuleSelection(select=codes).rules()
    return selection_for(expected_findings(case)).rules()


def case_files(root: Path) -> set[str]:
    """Relative names of the case's files (goldens named by the file they are for)."""
    names: set[str] = set()
    for path in root.rglob("*"):
        if not path.is_file() or path.name in CONTROL_FILES:
            continue
        rel = path.relative_to(root).as_posix()
        names.add(rel.removesuffix(GOLDEN))
    return names


def assert_parses(path: Path) -> None:
    try:
        document = read_document(path, path.read_bytes())
    except FixError as exc:
        pytest.fail(f"{path.name} does not parse after fixing: {exc}")
    problem = parse_problem(document, document.text)
    assert problem is None, f"{path.name} does not parse after fixing: {problem}"


def dropped(outcome: FixOutcome, root: Path) -> list[str]:
    return sorted(
        f"{p.path.relative_to(root).as_posix() if p.path else '-'}: {p.message}"
        for p in outcome.problems
    )


def test_fix_golden(fix_case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if fix_case.is_relative_to(DATA):
        request.getfixturevalue("fixer_rules")
    unsafe = not (fix_case / ".safe-only").exists()
    work = tmp_path / fix_case.name
    shutil.copytree(fix_case, work, ignore=shutil.ignore_patterns(f"*{GOLDEN}", *CONTROL_FILES))
    rules = rules_for(fix_case)
    outcome = fix(work, rules, unsafe=unsafe)
    assert not outcome.remaining.internal_errors, outcome.remaining.internal_errors

    update = request.config.getoption("--update-fixtures")
    expected_problems_file = fix_case / ".problems"
    expected_problems = (
        sorted(expected_problems_file.read_text().splitlines())
        if expected_problems_file.is_file()
        else []
    )
    if update:
        _update(fix_case, work)
        problems = dropped(outcome, work)
        if problems:
            expected_problems_file.write_text("".join(p + "\n" for p in problems))
        elif expected_problems_file.exists():
            expected_problems_file.unlink()
        return
    assert dropped(outcome, work) == expected_problems

    for name in sorted(case_files(fix_case)):
        golden = fix_case / (name + GOLDEN)
        produced = work / name
        if golden.is_file():
            assert produced.is_file(), f"{name}: the fixes did not create it"
            assert produced.read_bytes() == golden.read_bytes(), _show(name, golden, produced)
            assert_parses(produced)
        else:
            original = (fix_case / name).read_bytes()
            assert produced.read_bytes() == original, f"{name} changed but has no {GOLDEN} file"

    # Nothing fixable of the applied kind is left, except the fixes that were dropped.
    again = lint_all(Workspace.load([work]).projects, rules)
    left = [d for d in again.diagnostics if applicable(d.fix, unsafe)]
    reported = {(p.path, p.message.split(" fix not applied")[0]) for p in outcome.problems}
    unexplained = [d for d in left if (d.path, f"line {d.location.row}: {d.code}") not in reported]
    assert not unexplained, [f"{d.path.name}:{d.location.row}: {d.code}" for d in unexplained]

    second = fix(work, rules, unsafe=unsafe)
    assert second.changes == {}, f"fixing again changed {sorted(p.name for p in second.changes)}"


def _update(case: Path, work: Path) -> None:
    names = case_files(case) | {
        p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()
    }
    for name in sorted(names):
        golden = case / (name + GOLDEN)
        source, produced = case / name, work / name
        before = source.read_bytes() if source.is_file() else None
        after = produced.read_bytes() if produced.is_file() else None
        if after is not None and after != before:
            golden.write_bytes(after)
        elif golden.exists():
            golden.unlink()


def _show(name: str, golden: Path, produced: Path) -> str:
    diff = difflib.unified_diff(
        golden.read_text(errors="replace").splitlines(),
        produced.read_text(errors="replace").splitlines(),
        f"{name}{GOLDEN}",
        f"{name} (fixed)",
        lineterm="",
    )
    return "\n".join([f"{name} differs from its golden file:", *diff])


REAL_CASES = [case for case in case_folders() if not case.is_relative_to(DATA)]


@pytest.mark.parametrize("case", REAL_CASES, ids=[_case_id(c) for c in REAL_CASES])
def test_every_fixture_case_fixes_cleanly(case: Path, tmp_path: Path) -> None:
    """With or without golden files: every fix of the real rules applies (none dropped), the
    result parses, nothing fixable is left, and fixing again changes nothing."""
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns(f"*{GOLDEN}", *CONTROL_FILES))
    rules = rules_for(case)
    outcome = fix(work, rules, unsafe=True)
    assert not outcome.remaining.internal_errors, outcome.remaining.internal_errors
    assert dropped(outcome, work) == []
    for path in outcome.changes:
        assert_parses(path)
    left = [d for d in outcome.remaining.diagnostics if applicable(d.fix, True)]
    assert not left, [f"{d.path.name}:{d.location.row}: {d.code}" for d in left]
    assert fix(work, rules, unsafe=True).changes == {}


def test_the_harness_has_a_case() -> None:
    assert any(has_goldens(case) for case in case_folders() if case.is_relative_to(DATA))


# --------------------------------------------------------------------------- round trips


def stdlib_sample() -> list[Path]:
    """About 20 modules of the standard library, test modules among them, chosen by name."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    small = [p for p in sorted(stdlib.glob("*.py")) if 1_000 < p.stat().st_size < 15_000]
    chosen = small[:: max(1, len(small) // 15)][:15]
    tests = stdlib / "test" / "test_asyncio"
    if tests.is_dir():
        chosen += [p for p in sorted(tests.glob("test_*.py")) if p.stat().st_size < 15_000][:5]
    return chosen


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="surrogateescape").replace("\r\n", "\n").split("\n")


def changed_rows(before: bytes, after: bytes) -> Iterator[int]:
    """1-based rows of ``before`` that the change touches (an insertion touches its row)."""
    matcher = difflib.SequenceMatcher(None, _lines(before), _lines(after), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        yield from range(i1 + 1, max(i2, i1 + 1) + 1)


def edited_rows(fixed: Sequence[Diagnostic], path: Path) -> set[int]:
    rows: set[int] = set()
    for diagnostic in fixed:
        assert diagnostic.fix is not None
        for edit in diagnostic.fix.edits:
            if edit.path == path:
                rows.update(range(edit.start.row, edit.end.row + 1))
    return rows


LIFECYCLE_TOKENS = (b"Thread(", b"Popen(", b"Executor(", b"Pool(", b"_event_loop(")


def lifecycle_sample() -> list[Path]:
    """Standard-library modules that make threads, processes, pools or event loops: where the
    real rules can find something to fix."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = [
        path
        for path in sorted(stdlib.rglob("*.py"))
        if "site-packages" not in path.parts
        and path.stat().st_size < 60_000
        and any(token in path.read_bytes() for token in LIFECYCLE_TOKENS)
    ]
    return found


def round_trip(
    tmp_path: Path, rules: Sequence[type[Rule]], sample: Sequence[Path] | None = None
) -> FixOutcome:
    sample = list(sample) if sample is not None else stdlib_sample()
    assert len(sample) >= 15
    for number, path in enumerate(sample):
        # test_asyncio modules keep their names: rules for test files see them as tests.
        shutil.copyfile(path, tmp_path / f"{path.stem}_{number}{path.suffix}")
    originals = {p: p.read_bytes() for p in tmp_path.iterdir()}
    # One pass, so that every edit's rows refer to the original text.
    outcome = fix(tmp_path, rules, unsafe=True, max_passes=1)
    assert not outcome.remaining.internal_errors, outcome.remaining.internal_errors
    for path, before in originals.items():
        after = path.read_bytes()
        compile(after, str(path), "exec", dont_inherit=True)
        allowed = edited_rows(outcome.fixed, path)
        stray = sorted(set(changed_rows(before, after)) - allowed)
        assert not stray, f"{path.name}: rows {stray[:10]} changed but no edit named them"
    return outcome


@pytest.mark.usefixtures("fixer_rules")
def test_round_trip_over_stdlib_with_a_test_rule(tmp_path: Path) -> None:
    outcome = round_trip(tmp_path, RuleSelection(select=("LL999",)).rules())
    assert len(outcome.fixed) > 200
    assert outcome.problems == []
    assert all(p.read_bytes().count(b"_ll(") > 0 for p in tmp_path.iterdir())


def test_round_trip_over_stdlib_with_every_rule_that_fixes(tmp_path: Path) -> None:
    fixing = (FixAvailability.SAFE, FixAvailability.UNSAFE, FixAvailability.SOMETIMES)
    rules = [r for r in RuleSelection(select=("ALL",)).rules() if r.fix_availability in fixing]
    if not rules:
        pytest.skip("no rule offers fixes")
    outcome = round_trip(tmp_path, rules, stdlib_sample() + lifecycle_sample())
    assert outcome.fixed, "no fixable finding in the standard library sample"
    dropped_fixes = [p for p in outcome.problems if "fix not applied" in p.message]
    assert not dropped_fixes, [f"{p.path}: {p.message}" for p in dropped_fixes]


def test_test_only_rules_stay_out_of_the_registry() -> None:
    from fixer_rules import TEST_RULES

    from leaklint.rules.base import all_rules

    codes = {rule.code for rule in all_rules()}
    assert not codes & {rule.code for rule in TEST_RULES}
