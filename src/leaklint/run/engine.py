"""lint(project, rules) -> diagnostics.

Project rules run once, in this process. File rules run together, in one batched libcst pass
per file, and only on files whose bytes can matter to at least one of them (each rule's
``tokens``: the prefilter) and where, by CPython's ``ast``, at least one of them has a
candidate (each rule's ``candidate``: the candidate stage, run where the file is checked). A
file no rule needs is neither parsed nor compiled, and its syntax errors are not reported. A
file is read once and parsed by libcst at most once; its tree is dropped as soon as its rules
are done (conftests and ``pytest_plugins`` modules stay: other files' rules read their
fixtures).

Large trees are parsed in worker processes (``leaklint.run.parallel``); files whose findings are
cached and whose inputs are unchanged are not parsed at all (``leaklint.run.cache``). Both give
exactly the serial, uncached findings, in the same order: outcomes are put back in file order,
and of the diagnostics that share a code and a ``dedup_key`` (one finding that several files
can find) the first is kept, wherever each file was checked.

A rule that crashes on a file is reported as an internal error naming the file and the rule;
the other rules and files go on.

Just over 500 lines: the prefilter, the candidate stage and the per-file pass decide together
which files are read, and each needs the other two's view of the file's bytes and rules.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaklint.diagnostics import Diagnostic, Location
from leaklint.model.project import LoopUseDeferred, Project
from leaklint.python.ast_facts import ast_facts
from leaklint.python.source import SourceFile
from leaklint.python.walk import walk_batched
from leaklint.python.words import has_word
from leaklint.rules.base import FileRule, ProjectRule, Rule, get_rule
from leaklint.rules.suppress import Suppressor
from leaklint.run.collection import fewer_collections
from leaklint.run.tasks import FileOutcome, FileTask

if TYPE_CHECKING:
    from leaklint.run.cache import Cache

SYNTAX_ERROR = "LL001"
UNUSED_SUPPRESSION = "LL003"
# Below this many files to parse, worker start-up costs more than it saves.
PARALLEL_MIN_FILES = 64
# A file whose rules read up to this many other files (besides the conftests) has its cached
# findings keyed on those files by name; beyond, on every test module or every file (unless
# one of them is no file of the project: those are always named).
LISTED_READS = 16

# One file may not stall the run: larger files are skipped before the parse (libcst needs about
# a second and several hundred MB per MB of source), and the rule pass over one file is
# interrupted after the time budget. Both are reported by name.
MAX_FILE_BYTES = 2 * 1024 * 1024
FILE_TIME_BUDGET = 20.0

# Position metadata recurses once per tree level; nesting that CPython itself accepts can need
# more than the default limit of 1000 frames. (Deeper nesting is refused before the parse.)
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
    """Raise FileTimeout in the block after ``seconds`` of CPU time (main thread on POSIX; else
    no limit). CPU time, not wall time: a loaded CI machine must not skip files at random."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FileTimeout

    previous = signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


@dataclass
class LintResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    # Files skipped on purpose (too large, over the time budget): named, not findings.
    warnings: list[str] = field(default_factory=list)
    files_checked: int = 0
    files_parsed: int = 0
    files_cached: int = 0  # findings taken from the cache, file not parsed


def lint(
    project: Project,
    rules: Sequence[type[Rule]],
    *,
    prefilter: bool = True,
    candidates: bool = True,
    jobs: int | None = None,
    cache: bool = False,
    cache_dir: Path | None = None,
) -> LintResult:
    """Lint ``project`` with ``rules``.

    ``prefilter=False`` runs every file rule on every file its scope allows (for measuring the
    prefilter; findings are the same). ``candidates=False`` parses every file the prefilter
    keeps with libcst, without asking CPython's ``ast`` first (findings are the same).
    ``jobs``: worker processes (``None``: one per core when there are enough files; ``1``:
    none). ``cache``: reuse and store findings in
    ``cache_dir``, else where ``leaklint.run.cache.cache_folder`` says (by default
    ``.leaklint_cache`` beside the rootdir).
    """
    with fewer_collections():
        return _lint(project, rules, prefilter, candidates, jobs, cache, cache_dir)


def _lint(
    project: Project,
    rules: Sequence[type[Rule]],
    prefilter: bool,
    candidates: bool,
    jobs: int | None,
    cache: bool,
    cache_dir: Path | None,
) -> LintResult:
    result = LintResult()
    selected = {rule.code for rule in rules}
    active = rules_for_project(project, rules) if prefilter else list(rules)
    project_rules = [r for r in active if issubclass(r, ProjectRule)]
    file_rules = [r for r in active if issubclass(r, FileRule)]

    store = None
    if cache and project.python_files:
        from leaklint.run.cache import Cache

        store = Cache.open(project, rules, cache_dir)

    for rule_cls in project_rules:
        try:
            found = list(rule_cls().check(project))
        except Exception:
            result.internal_errors.append(_crash(rule_cls, project.root, traceback.format_exc()))
            continue
        result.diagnostics.extend(found)

    tasks: list[FileTask] = []
    for path in project.python_files:
        result.files_checked += 1
        raw = project.read(path)
        search = None
        if isinstance(raw, bytes):
            search = TokenSearch(raw, store.tokens(path) if store else None)
        relevant = rules_for_file(project, path, file_rules, search=search)
        if store is not None and search is not None:
            store.put_tokens(path, (search.known, search.words))
        run = relevant if prefilter else rules_for_file(project, path, file_rules, tokens=False)
        # A syntax error is leaklint's finding only where a rule had to read the file (it could
        # hide a finding there); a file no rule needs is not compiled or parsed at all, and
        # whether it parses is ruff's and pytest's business. Decided by the token prefilter
        # either way, so that a run without the prefilter reports the same.
        report_syntax = SYNTAX_ERROR in selected and bool(relevant)
        if run:
            indexes = tuple(file_rules.index(r) for r in run)
            tasks.append(FileTask(path, indexes, report_syntax, prefilter and candidates))

    if tasks:
        # Bytes-only, and read by many rules: settle it once, before any worker starts.
        _ = project.uses_pytest_asyncio
        if project.uses_pytest_asyncio:
            # Read here, where the run records what it looked at (workers get it shipped).
            _ = project.pytest_asyncio_range
    outcomes = _check_files(project, file_rules, tasks, jobs=jobs, store=store, result=result)
    if store is not None:
        store.save()
    for task in tasks:
        outcome = outcomes[task.path]
        result.files_parsed += outcome.parsed
        result.diagnostics.extend(outcome.diagnostics)
        result.internal_errors.extend(outcome.internal_errors)
        result.warnings.extend(outcome.warnings)
    result.diagnostics = first_of_each(result.diagnostics)

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


def lint_all(
    projects: Iterable[Project], rules: Sequence[type[Rule]], **options: Any
) -> LintResult:
    """Each project linted on its own (``lint`` with ``options``), the findings of all of them
    in one sorted list: the pytest projects of a workspace share no fixture or loop."""
    total = LintResult()
    for project in projects:
        add_result(total, lint(project, rules, **options))
    return total


def add_result(total: LintResult, result: LintResult) -> None:
    """``result`` (one project's) added to ``total``, findings kept sorted."""
    total.diagnostics = sorted([*total.diagnostics, *result.diagnostics], key=Diagnostic.sort_key)
    total.internal_errors.extend(result.internal_errors)
    total.warnings.extend(result.warnings)
    total.files_checked += result.files_checked
    total.files_parsed += result.files_parsed
    total.files_cached += result.files_cached


def first_of_each(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """``diagnostics`` without those whose code and ``dedup_key`` an earlier one has: a finding
    that several files can find is given by the first of them, as in one pass over the files
    in order, whether each file was checked here, in a worker or taken from the cache."""
    seen: set[tuple[str, str]] = set()
    kept: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if diagnostic.dedup_key is not None:
            key = (diagnostic.code, diagnostic.dedup_key)
            if key in seen:
                continue
            seen.add(key)
        kept.append(diagnostic)
    return kept


def _check_files(
    project: Project,
    file_rules: Sequence[type[FileRule]],
    tasks: list[FileTask],
    *,
    jobs: int | None,
    store: Cache | None,
    result: LintResult,
) -> dict[Path, FileOutcome]:
    """Outcomes of ``tasks``: from the findings cache ``store``, else parsed here or in
    workers."""
    outcomes: dict[Path, FileOutcome] = {}
    if store is not None:
        for task in tasks:
            hit = store.get(task.path, task_key(task, file_rules))
            if hit is not None:
                outcomes[task.path] = FileOutcome(hit, [], parsed=False)
                result.files_cached += 1
    cached = set(outcomes)
    todo = [task for task in tasks if task.path not in cached]

    workers = worker_count(jobs, len(todo))
    if workers > 1:
        from leaklint.run.parallel import check_in_workers

        # Files a project rule already parsed are finished here, not parsed again elsewhere.
        here = [task for task in todo if project.is_parsed(task.path)]
        away = [task for task in todo if not project.is_parsed(task.path)]
        outcomes.update(check_in_workers(project, file_rules, away, workers, check_file))
        todo = here
    for task in todo:
        outcomes[task.path] = check_file(project, task, file_rules)

    if store is not None:
        for task in tasks:
            outcome = outcomes[task.path]
            if task.path not in cached and not outcome.internal_errors and not outcome.warnings:
                store.put(
                    task.path,
                    task_key(task, file_rules),
                    outcome.diagnostics,
                    reads=outcome.reads,
                )
    return outcomes


def task_key(task: FileTask, file_rules: Sequence[type[FileRule]]) -> str:
    """What was asked of a file: which rules ran on it (the prefilter's choice can depend on
    other files) and whether its syntax errors count."""
    codes = ",".join(sorted(file_rules[i].code for i in task.rules))
    return f"{codes};{int(task.report_syntax_error)}"


def worker_count(jobs: int | None, files: int) -> int:
    """How many processes parse ``files`` files: 1 means this one."""
    if jobs is not None:
        return max(1, min(jobs, files))
    if files < PARALLEL_MIN_FILES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, files // (PARALLEL_MIN_FILES // 2)))


def rules_for_project(project: Project, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules that can find something in ``project`` at all: the rules that read
    pytest-asyncio's semantics are dropped where pytest-asyncio is not in play, before any
    file is parsed for them."""
    if not any(rule.needs_pytest_asyncio for rule in rules) or project.uses_pytest_asyncio:
        return list(rules)
    return [rule for rule in rules if not rule.needs_pytest_asyncio]


def rules_for_file(
    project: Project,
    path: Path,
    file_rules: Sequence[type[FileRule]],
    *,
    tokens: bool = True,
    search: TokenSearch | None = None,
) -> list[type[FileRule]]:
    """The file rules that can find something in ``path``: the prefilter, before any parse.

    ``tokens=False`` keeps only the scope tests (``test_files_only``, ``test_modules_only``),
    which are part of a rule's meaning, not an optimisation. ``search``: the file's token
    search, to share or keep.
    """
    raw = project.read(path)
    if isinstance(raw, OSError):
        return list(file_rules)  # let the read error surface
    pytest_file = project.is_pytest_file(path)
    found = search if search is not None else TokenSearch(raw)
    wanted: list[type[FileRule]] = []
    for rule_cls in file_rules:
        if rule_cls.test_files_only and not pytest_file:
            continue
        if rule_cls.test_modules_only and not project.is_test_file(path):
            continue
        if tokens and rule_cls.tokens and not found.any(rule_cls.tokens, rule_cls.whole_words):
            groups = rule_cls.indirect_words
            indirect = bool(groups) and all(found.any(group, True) for group in groups)
            if not (indirect and project.holds_any(rule_cls.tokens)):
                extra = rule_cls.project_tokens(project)
                if not (extra and found.any(extra, True)):
                    continue
        if tokens:
            required = rule_cls.required_words(project)
            if required is not None and not any(
                all(found.has_word(word) for word in words) for words in required
            ):
                continue
        wanted.append(rule_cls)
    return wanted


class TokenSearch:
    """Which byte strings one file contains, each searched for once (rules share tokens).
    ``facts``: what an earlier search of the same bytes found (from the findings cache)."""

    def __init__(
        self, raw: bytes, facts: tuple[dict[bytes, bool], dict[bytes, bool]] | None = None
    ) -> None:
        self.raw = raw
        self.known: dict[bytes, bool] = dict(facts[0]) if facts else {}
        self.words: dict[bytes, bool] = dict(facts[1]) if facts else {}

    def any(self, tokens: Iterable[bytes], whole_words: bool = False) -> bool:
        has = self.has_word if whole_words else self.has
        return any(has(token) for token in tokens)

    def has(self, token: bytes) -> bool:
        present = self.known.get(token)
        if present is None:
            present = self.known[token] = token in self.raw
        return present

    def has_word(self, token: bytes) -> bool:
        present = self.words.get(token)
        if present is None:
            present = self.words[token] = self.has(token) and has_word(self.raw, token)
        return present


def check_file(
    project: Project, task: FileTask, file_rules: Sequence[type[FileRule]]
) -> FileOutcome:
    """Parse one file and run its rules; then drop its tree unless other files' rules read it
    (a conftest, a ``pytest_plugins`` module)."""
    path = task.path
    raw = project.read(path)
    if isinstance(raw, bytes) and len(raw) > MAX_FILE_BYTES:
        size, limit = len(raw) / (1024 * 1024), MAX_FILE_BYTES // (1024 * 1024)
        skipped = f"{path}: skipped: {size:.1f} MB is over the {limit} MB limit"
        return FileOutcome([], [], parsed=False, warnings=[skipped])
    rules = task.rules
    project.access_log = set()
    try:
        # A rule without a candidate check needs the libcst tree anyway: then no ast first.
        if (
            task.candidates
            and isinstance(raw, bytes)
            and not project.is_parsed(path)
            and all(file_rules[i].has_candidate_check() for i in rules)
        ):
            facts = ast_facts(raw)
            if facts is not None:
                # CPython reads the file: no syntax error to report, and only the rules with
                # a candidate here can find anything.
                rules = tuple(i for i in rules if file_rules[i].candidate(facts, path, project))
                if not rules:
                    # The answer may rest on the file list and on the files read for it.
                    read = project.access_log - {path} - project.conftest_set
                    return FileOutcome(
                        [], [], parsed=False, reads=tuple(sorted(str(p) for p in read))
                    )
        source = project.source(path)
        if isinstance(source, OSError):
            found = [_unreadable(path, source)] if task.report_syntax_error else []
            return FileOutcome(found, [], parsed=False)
        if source.error is not None and source.error.newer_syntax is not None:
            # Valid code for a newer Python: not a finding of the project's code. Say so only
            # when a rule needed to read the file.
            row = source.error.location.row
            newer = f"{path}:{row}: skipped: uses {source.error.newer_syntax}, which "
            newer += f"Python {sys.version_info[0]}.{sys.version_info[1]} cannot read"
            return FileOutcome([], [], parsed=True, warnings=[newer] if rules else [])
        if source.error is not None:
            found = [_syntax_error(source)] if task.report_syntax_error else []
            return FileOutcome(found, [], parsed=True)
        wanted = [file_rules[i] for i in rules]
        try:
            with deep_recursion(), time_budget(FILE_TIME_BUDGET):
                diagnostics, errors = run_file_rules(source, project, wanted)
        except FileTimeout:
            skipped = f"{path}: skipped: its checks took longer than {FILE_TIME_BUDGET:g} s"
            return FileOutcome([], [], parsed=True, warnings=[skipped])
        except LoopUseDeferred:
            return FileOutcome([], [], parsed=True, deferred=True)
        others = project.access_log - {path} - project.conftest_set
        reads: str | tuple[str, ...] | None = None
        # Files the project does not list (a plugin module outside the linted paths, a path
        # tried for one) are always named: no bulk fingerprint covers them.
        listed = project.python_file_set
        if len(others) > LISTED_READS and others <= listed:
            reads = "tests" if all(project.is_test_file(p) for p in others) else "all"
        elif others:
            reads = tuple(sorted(str(p) for p in others))
        # A worker that may defer files brings back its modules' loops, for the pool.
        loops = None
        if project.defer_loop_use and project.is_test_file(path):
            loops = project.resolved_loops(path)
        return FileOutcome(diagnostics, errors, parsed=True, reads=reads, loops=loops)
    finally:
        project.access_log = None
        if not project.is_shared(path):
            project.forget(path)


def run_file_rules(
    source: SourceFile, project: Project, rule_classes: Sequence[type[FileRule]]
) -> tuple[list[Diagnostic], list[str]]:
    """Every rule over one parsed file, in one batched (read-only) walk; a crashing rule is
    isolated."""
    assert source.module is not None
    visitors = [rule_cls(source, project) for rule_cls in rule_classes]
    try:
        walk_batched(source.module, visitors)
        for visitor in visitors:
            visitor.finish()
        return [d for v in visitors for d in v.diagnostics], []
    except (FileTimeout, LoopUseDeferred):
        raise
    except Exception:
        pass
    # Something crashed: run the rules one at a time to keep the others' findings.
    diagnostics: list[Diagnostic] = []
    errors: list[str] = []
    for rule_cls in rule_classes:
        visitor = rule_cls(source, project)
        try:
            walk_batched(source.module, [visitor])
            visitor.finish()
        except (FileTimeout, LoopUseDeferred):
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
