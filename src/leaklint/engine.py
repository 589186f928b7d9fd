"""lint(project, rules) -> diagnostics.

Project rules run once. File rules run together, in one batched libcst pass per file, and only
on files whose bytes can matter to at least one of them (each rule's ``tokens``). A file is read
and parsed once. A rule that crashes on a file is reported as an internal error naming the file
and the rule; the other rules and files go on.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from leaklint.diagnostics import Diagnostic, Location
from leaklint.project import Project
from leaklint.rule import FileRule, ProjectRule, Rule, get_rule
from leaklint.source import SourceFile
from leaklint.suppress import Suppressor

SYNTAX_ERROR = "LL001"
UNUSED_SUPPRESSION = "LL003"


# One file may not stall the run: larger files are skipped before the parse (libcst needs about
# a second and several hundred MB per MB of source), and the rule pass over one file is
# interrupted after the time budget. Both are reported by name.
MAX_FILE_BYTES = 2 * 1024 * 1024
FILE_TIME_BUDGET = 20.0


# libcst's visitors recurse once per tree level; nesting that CPython itself accepts needs more
# than the default limit of 1000 frames. (Deeper nesting is refused before the parse.)
RECURSION_LIMIT = 20_000 if sys.version_info >= (3, 11) else 8_000


class FileTimeout(Exception):
    pass


@contextmanager
def deep_recursion() -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise FileTimeout in the block after ``seconds`` (main thread on POSIX; else no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FileTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class LintResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    # Files skipped on purpose (too large, over the time budget): named, not findings.
    warnings: list[str] = field(default_factory=list)
    files_checked: int = 0
    files_parsed: int = 0


def lint(project: Project, rules: Sequence[type[Rule]]) -> LintResult:
    result = LintResult()
    selected = {rule.code for rule in rules}
    project_rules = [r for r in rules if issubclass(r, ProjectRule)]
    file_rules = [r for r in rules if issubclass(r, FileRule)]

    for rule_cls in project_rules:
        try:
            result.diagnostics.extend(rule_cls().check(project))
        except Exception:
            result.internal_errors.append(_crash(rule_cls, project.root, traceback.format_exc()))

    for path in project.python_files:
        result.files_checked += 1
        wanted = rules_for_file(project, path, file_rules)
        # pytest imports every test module and conftest: a syntax error there always matters.
        if not wanted and not (SYNTAX_ERROR in selected and project.is_pytest_file(path)):
            continue
        raw = project.read(path)
        if isinstance(raw, bytes) and len(raw) > MAX_FILE_BYTES:
            size = len(raw) / (1024 * 1024)
            limit = MAX_FILE_BYTES // (1024 * 1024)
            result.warnings.append(f"{path}: skipped: {size:.1f} MB is over the {limit} MB limit")
            continue
        source = project.source(path)
        if isinstance(source, OSError):
            if SYNTAX_ERROR in selected:
                result.diagnostics.append(_unreadable(path, source))
            continue
        result.files_parsed += 1
        if source.error is not None:
            if SYNTAX_ERROR in selected:
                result.diagnostics.append(_syntax_error(source))
            continue
        try:
            with deep_recursion(), time_budget(FILE_TIME_BUDGET):
                diagnostics, errors = run_file_rules(source, project, wanted)
        except FileTimeout:
            budget = f"{FILE_TIME_BUDGET:g} s"
            result.warnings.append(f"{path}: skipped: its checks took longer than {budget}")
            continue
        result.diagnostics.extend(diagnostics)
        result.internal_errors.extend(errors)

    suppressor = Suppressor(project)
    result.diagnostics = [
        d
        for d in suppressor.filter(result.diagnostics)
        if not project.settings.is_ignored(d.path, d.code)
    ]
    if UNUSED_SUPPRESSION in selected:
        from leaklint.rules.ll003_unused_suppression import unused_suppressions

        result.diagnostics.extend(unused_suppressions(project, suppressor, rules))
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def rules_for_file(
    project: Project, path: Path, file_rules: Sequence[type[FileRule]]
) -> list[type[FileRule]]:
    """The file rules that can find something in ``path``: the prefilter, before any parse."""
    raw = project.read(path)
    if isinstance(raw, OSError):
        return list(file_rules)  # let the read error surface
    pytest_file = project.is_pytest_file(path)
    wanted: list[type[FileRule]] = []
    for rule_cls in file_rules:
        if rule_cls.test_files_only and not pytest_file:
            continue
        if rule_cls.tokens and not any(token in raw for token in rule_cls.tokens):
            continue
        wanted.append(rule_cls)
    return wanted


def run_file_rules(
    source: SourceFile, project: Project, rule_classes: Sequence[type[FileRule]]
) -> tuple[list[Diagnostic], list[str]]:
    """Every rule over one parsed file, in one batched pass; a crashing rule is isolated."""
    assert source.module is not None
    visitors = [rule_cls(source, project) for rule_cls in rule_classes]
    try:
        cst.visit_batched(source.module, visitors)
        for visitor in visitors:
            visitor.finish()
        return [d for v in visitors for d in v.diagnostics], []
    except FileTimeout:
        raise
    except Exception:
        pass
    # Something crashed: run the rules one at a time to keep the others' findings.
    diagnostics: list[Diagnostic] = []
    errors: list[str] = []
    for rule_cls in rule_classes:
        visitor = rule_cls(source, project)
        try:
            cst.visit_batched(source.module, [visitor])
            visitor.finish()
        except FileTimeout:
            raise
        except Exception:
            errors.append(_crash(rule_cls, source.path, traceback.format_exc()))
            continue
        diagnostics.extend(visitor.diagnostics)
    return diagnostics, errors


def _crash(rule_cls: type[Rule], path: Path, trace: str) -> str:
    last = trace.strip().splitlines()[-1] if trace.strip() else "unknown error"
    return f"{path}: internal error in {rule_cls.code} ({rule_cls.name}): {last}"


def _syntax_error(source: SourceFile) -> Diagnostic:
    assert source.error is not None
    rule_cls = get_rule(SYNTAX_ERROR)
    assert rule_cls is not None
    return rule_cls.diagnostic(
        message=source.error.message, path=source.path, start=source.error.location
    )


def _unreadable(path: Path, error: OSError) -> Diagnostic:
    rule_cls = get_rule(SYNTAX_ERROR)
    assert rule_cls is not None
    reason = error.strerror or str(error)
    return rule_cls.diagnostic(
        message=f"cannot read file: {reason}", path=path, start=Location(1, 1)
    )
