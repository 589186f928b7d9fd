"""Rule base classes and the registry.

A rule is one class in one module under ``leaklint.rules``. It carries its code, name,
severity, whether it is on by default, what kind of fix it offers, and its documentation as the
class docstring with the fixed headings (What it does / Why is this bad? / Example / Use instead /
Fix safety). Registration is by decorator; the registry imports every module of the package so
that no hand-kept list can miss one.

Two kinds of rule:

* ``ProjectRule.check(project)`` sees the whole project at once: the pytest config, Cargo.toml
  files, the bytes of every file. It runs once per run, in the main process.
* ``FileRule`` is a libcst batchable visitor run over one parsed Python file, together with every
  other file rule in a single pass, in whichever process checks that file. It reports through
  ``self.report``; positions are computed only when something is reported. It may read other
  files through the project (the fixture graph of a test module reads its conftests and
  ``pytest_plugins`` modules): the engine notes what it read, and the findings cache follows
  those files. A finding that several files find carries a ``dedup_key``; the first is kept.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

import libcst as cst

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity

if TYPE_CHECKING:
    from leaklint.model.project import Project
    from leaklint.model.pytest_model import FileModel
    from leaklint.python.ast_facts import AstFacts
    from leaklint.python.source import ImportMap, SourceFile


class FixAvailability(enum.Enum):
    """What a rule can offer: an edit (safe or unsafe), or advice only."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    SOMETIMES = "sometimes"
    SUGGESTION = "suggestion"
    NONE = "none"


DOC_HEADINGS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "Use instead:",
    "## Fix safety",
)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    default_enabled: ClassVar[bool] = True
    fix_availability: ClassVar[FixAvailability] = FixAvailability.SUGGESTION
    # Byte strings a file must contain for this rule to find anything in it (any one suffices).
    # An empty tuple means "every file". Used by the engine's prefilter.
    tokens: ClassVar[tuple[bytes, ...]] = ()
    # Whole words with which a file that has none of ``tokens`` can still hold a finding,
    # through another project file that has one (a sync fixture here builds a class whose
    # ``__init__`` is there): the file must hold a word of every group. Only counted when
    # some project file has one of ``tokens``.
    indirect_words: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    # The tokens are identifiers the rule resolves names to (``Thread``, ``Popen``): they count
    # only as whole words, not inside ``ThreadPoolExecutor`` or ``CalledProcessError``.
    whole_words: ClassVar[bool] = False
    # The rule reads pytest-asyncio's semantics and finds nothing where pytest-asyncio is not in
    # play (``Project.uses_pytest_asyncio``): the prefilter then skips it for the whole project.
    needs_pytest_asyncio: ClassVar[bool] = False

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        """Whether ``path``, with these ``ast`` facts, can hold a finding of this rule: a cheap
        over-approximation of what the rule fires on, checked before libcst parses the file.
        ``False`` must mean "no finding here"; what it reads of other files to say so it reads
        through the project (the findings cache follows those files). A rule that does not
        say is always a candidate."""
        return True

    @classmethod
    def has_candidate_check(cls) -> bool:
        """Whether this rule declares ``candidate`` (else every file is a candidate, and a file
        it runs on is parsed by libcst whatever the others say)."""
        return any("candidate" in vars(k) for k in cls.__mro__ if k is not Rule)

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        """Whole words, found from the bytes of the project's files, with which a file that
        holds none of ``tokens`` can still hold a finding (the names of the project's own
        ``Thread`` subclasses, constructed in another module)."""
        return ()

    @classmethod
    def required_words(cls, project: Project) -> Iterable[tuple[bytes, ...]] | None:
        """Sets of whole words of which a file that passes the ``tokens`` test must hold every
        word of one set, or the rule finds nothing there (``None``: no such test). A sharper
        prefilter, for rules whose tokens are module names: the names the rule resolves calls
        to (``(b"aiosqlite", b"connect")``: the module, written in the import, and the name
        called). Tried in order, up to the first found (an iterator may defer costly sets)."""
        return None

    @classmethod
    def docs(cls) -> str:
        return (cls.__doc__ or "").strip("\n")

    @classmethod
    def summary(cls) -> str:
        """First sentence of "What it does"."""
        docs = cls.docs()
        marker = "## What it does"
        if marker in docs:
            body = docs.split(marker, 1)[1].strip().split("\n\n", 1)[0]
            return " ".join(body.split())
        return cls.name

    @classmethod
    def diagnostic(
        cls,
        *,
        message: str,
        path: Path,
        start: Location,
        end: Location | None = None,
        fix: Fix | None = None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
        dedup_key: str | None = None,
    ) -> Diagnostic:
        return Diagnostic(
            code=cls.code,
            name=cls.name,
            message=message,
            severity=cls.severity,
            path=path,
            location=start,
            end_location=end or start,
            fix=fix,
            help=help,
            notes=notes,
            dedup_key=dedup_key,
        )


class ProjectRule(Rule):
    def check(self, project: Project) -> Iterable[Diagnostic]:
        raise NotImplementedError


class FileRule(Rule, cst.BatchableCSTVisitor):
    """A visitor over one file. A fresh instance is made for every file."""

    # Limit to test modules and conftest.py files (the pytest side), or run on every file.
    test_files_only: ClassVar[bool] = False
    # Limit to test modules (pytest's ``python_files``), conftest.py files excluded.
    test_modules_only: ClassVar[bool] = False

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__()
        self.source = source
        self.project = project
        self.diagnostics: list[Diagnostic] = []

    @property
    def imports(self) -> ImportMap:
        return self.source.imports

    def finish(self) -> None:
        """Called after the walk; rules that need the whole file report here."""

    def pytest_asyncio_model(self) -> FileModel | None:
        """This file's fixtures, tests and marks when pytest-asyncio runs the project's tests;
        ``None`` when it does not (or the file does not parse)."""
        if not self.project.uses_pytest_asyncio:
            return None
        return self.project.file_model(self.source.path)

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
        dedup_key: str | None = None,
    ) -> None:
        start, end = self.source.range_of(node)
        self.diagnostics.append(
            self.diagnostic(
                message=message,
                path=self.source.path,
                start=start,
                end=end,
                fix=fix,
                help=help,
                notes=notes,
                dedup_key=dedup_key,
            )
        )

    # ---- fix helpers: exact text edits computed from nodes -------------------------------

    def replace_edit(self, old: cst.CSTNode, new: cst.CSTNode) -> Edit:
        """An edit that swaps ``old`` for ``new``, rendered by libcst in place (layout and the
        block's indentation kept)."""
        start, end = self.source.whole_range_of(old)
        return Edit(
            self.source.path, start, end, self.source.rendered_in_place(old, new, start, end)
        )

    def insert_edit(self, at: Location, text: str) -> Edit:
        return Edit(self.source.path, at, at, text)

    def make_fix(self, applicability: Applicability, message: str, *edits: Edit) -> Fix:
        return Fix(applicability, message, tuple(edits))


# --------------------------------------------------------------------------- registry

R = TypeVar("R", bound=type[Rule])

_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: R) -> R:
    code = cls.code
    if code in _REGISTRY and _REGISTRY[code] is not cls:
        raise RuntimeError(f"rule code {code} registered twice")
    _REGISTRY[code] = cls
    return cls


def _load_rules() -> None:
    import leaklint.rules as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


_LOADED: list[bool] = []


def all_rules() -> list[type[Rule]]:
    # A flag, not "registry empty": importing one rule module must not stop the others loading.
    if not _LOADED:
        _load_rules()
        _LOADED.append(True)
    return [_REGISTRY[code] for code in sorted(_REGISTRY)]


def get_rule(code: str) -> type[Rule] | None:
    all_rules()
    return _REGISTRY.get(code.upper())


class UnknownRuleError(ValueError):
    pass


@dataclass(frozen=True)
class RuleSelection:
    """Which rules run: ruff-style ``select``/``ignore`` with codes and prefixes."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def rules(self) -> list[type[Rule]]:
        rules = all_rules()
        for selector in (*(self.select or ()), *self.extend_select, *self.ignore):
            _check_selector(selector, rules)

        def chosen(rule: type[Rule]) -> bool:
            def hit(selectors: Iterable[str]) -> bool:
                return any(_matches(rule.code, s) for s in selectors)

            if self.select is None:
                on = rule.default_enabled or any(rule.code == s.upper() for s in self.extend_select)
            else:
                # A rule is on when selected; opt-in rules only by their exact code or by ALL.
                on = any(
                    _matches(rule.code, s)
                    and (rule.default_enabled or s.upper() in (rule.code, "ALL"))
                    for s in (*self.select, *self.extend_select)
                )
            return on and not hit(self.ignore)

        return [rule for rule in rules if chosen(rule)]


def _matches(code: str, selector: str) -> bool:
    selector = selector.upper()
    return selector == "ALL" or code.startswith(selector)


def _check_selector(selector: str, rules: list[type[Rule]]) -> None:
    if not any(_matches(rule.code, selector) for rule in rules):
        raise UnknownRuleError(f"unknown rule selector: {selector!r}")
