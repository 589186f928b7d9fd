"""What a project declares it depends on, and the pytest-asyncio range it allows.

Every place a Python project commonly names a dependency is read: PEP 621 ``dependencies`` and
``optional-dependencies``, PEP 735 ``[dependency-groups]``, Poetry's ``dependencies``,
``dev-dependencies`` and ``group.<name>.dependencies`` tables (in ``pyproject.toml``),
``requirements*.txt``, ``setup.cfg`` (``install_requires``, ``tests_require``,
``[options.extras_require]``), ``setup.py`` (the same keywords of its ``setup()`` call, read
with CPython's ``ast``: the file is never run) and ``tox.ini`` (``deps`` of every ``testenv``).
Requirement strings and version ranges go through ``packaging``.

Only the project's rootdir is searched, not its parents up to the repository root. A parent's
``pyproject.toml`` or requirements file belongs to another project (a workspace root, the
repository of a tool that keeps example projects), and a declaration found there would switch
on the pytest-asyncio rules, and pick their version, for a project that never asked for the
plugin. A project whose declarations sit above its rootdir is still seen through its pytest
config and its imports; only the version range is then unknown, and the current release is
assumed.
"""

from __future__ import annotations

import ast
import configparser
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from leaklint.config.probes import note_probe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYTEST_ASYNCIO = "pytest-asyncio"
# The newest pytest-asyncio release; assumed when the project declares no range.
CURRENT_PYTEST_ASYNCIO = Version("1.5")
# Releases a declared range is tested against (minor versions are enough for the rules'
# thresholds), with room for releases after the current one.
_KNOWN_RELEASES = tuple(
    Version(v)
    for v in (
        *(f"0.{minor}" for minor in range(10, 27)),
        "1.0",
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.6",
        "2.0",
    )
)


@dataclass(frozen=True)
class Declared:
    """One declaration of a package: where, and the range it allows (``None``: any)."""

    path: Path
    specifier: SpecifierSet | None


@dataclass(frozen=True)
class DeclaredRange:
    """The versions of a package that the project's declarations allow together."""

    declarations: tuple[Declared, ...]

    @property
    def declared(self) -> bool:
        return bool(self.declarations)

    def versions(self) -> list[Version]:
        """The releases the declarations allow; the current release when nothing narrows it.
        Several declarations must hold together (one environment installs them all); when
        they contradict each other, each is taken alone."""
        specifiers = [d.specifier for d in self.declarations if d.specifier is not None]
        if not specifiers:
            return [CURRENT_PYTEST_ASYNCIO]
        # The releases, and every version a declaration names (``==0.23.8`` is no minor).
        candidates = {*_KNOWN_RELEASES, *_named_versions(specifiers)}
        combined = SpecifierSet()
        for specifier in specifiers:
            combined &= specifier
        allowed = sorted(combined.filter(candidates, prereleases=True))
        if allowed:
            return allowed
        return sorted({v for s in specifiers for v in s.filter(candidates, prereleases=True)})

    def allows_at_least(self, version: str) -> bool:
        """Whether some allowed release is ``version`` or later."""
        floor = Version(version)
        return any(v >= floor for v in self.versions())

    def oldest_before(self, version: str) -> Version | None:
        """The oldest allowed release older than ``version``, if the range allows one."""
        ceiling = Version(version)
        older = [v for v in self.versions() if v < ceiling]
        return min(older) if older else None


def _named_versions(specifiers: Iterable[SpecifierSet]) -> Iterator[Version]:
    for specifier_set in specifiers:
        for specifier in specifier_set:
            try:
                yield Version(specifier.version.removesuffix(".*"))
            except InvalidVersion:
                continue


def pytest_asyncio_range(root: Path) -> DeclaredRange:
    """pytest-asyncio as the project in ``root`` declares it."""
    return declared_range(root, PYTEST_ASYNCIO)


def declared_range(root: Path, package: str) -> DeclaredRange:
    wanted = canonicalize_name(package)
    found: list[Declared] = []
    for path, text in declarations(root):
        parsed = _requirement(text)
        if parsed is not None and canonicalize_name(parsed.name) == wanted:
            found.append(Declared(path, parsed.specifier or None))
    return DeclaredRange(tuple(found))


def declarations(root: Path) -> Iterator[tuple[Path, str]]:
    """Every requirement string the project in ``root`` declares, with its file."""
    for name in ("pyproject.toml", "setup.cfg", "setup.py", "tox.ini"):
        note_probe(root / name)  # a run's answer depends on their absence too
    pyproject = root / "pyproject.toml"
    document = _toml(pyproject)
    if document is not None:
        yield from ((pyproject, r) for r in pyproject_requirements(document))
    # Only regular files: a FIFO of that name would block the read for ever.
    for path in sorted(p for p in root.glob("requirements*.txt") if p.is_file()):
        yield from ((path, r) for r in requirements_txt(_text(path)))
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        yield from ((setup_cfg, r) for r in setup_cfg_requirements(_text(setup_cfg)))
    setup_py = root / "setup.py"
    if setup_py.is_file():
        yield from ((setup_py, r) for r in setup_py_requirements(_text(setup_py)))
    tox_ini = root / "tox.ini"
    if tox_ini.is_file():
        yield from ((tox_ini, r) for r in tox_requirements(_text(tox_ini)))


# --------------------------------------------------------------------------- pyproject.toml


def pyproject_requirements(document: dict[str, object]) -> Iterator[str]:
    project = _table(document.get("project"))
    yield from _strings(project.get("dependencies"))
    for group in _table(project.get("optional-dependencies")).values():
        yield from _strings(group)
    for group in _table(document.get("dependency-groups")).values():
        yield from _strings(group)  # ``{include-group = ...}`` entries are not requirements
    poetry = _table(_table(document.get("tool")).get("poetry"))
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables.extend(_table(g).get("dependencies") for g in _table(poetry.get("group")).values())
    for table in tables:
        for name, constraint in _table(table).items():
            yield _poetry_requirement(name, constraint)


def _poetry_requirement(name: str, constraint: object) -> str:
    """``name`` with Poetry's constraint (``"^0.23"``, ``{version = "~1.0"}``) as PEP 440."""
    if isinstance(constraint, dict):
        constraint = constraint.get("version")
    if not isinstance(constraint, str):
        return name
    specifiers = [_poetry_specifier(part) for part in constraint.split(",")]
    if any(s is None for s in specifiers) or "||" in constraint:
        return name  # a range leaklint cannot read: any version
    return name + ",".join(s for s in specifiers if s)


_POETRY_BOUND = re.compile(r"^\s*(\^|~(?!=)|)\s*(\d+(?:\.\d+)*)(?:\.\*)?\s*$")


def _poetry_specifier(part: str) -> str | None:
    """One comma-separated part of a Poetry constraint as a PEP 440 specifier (``""``: any)."""
    text = part.strip()
    if text in ("", "*"):
        return ""
    match = _POETRY_BOUND.match(text)
    if match is None:
        try:
            return str(SpecifierSet(text))  # ``>=0.23``, ``<1.0``, ``==0.21.1``
        except InvalidSpecifier:
            return None
    operator, version = match[1], match[2]
    numbers = [int(n) for n in version.split(".")]
    if operator == "^":
        index = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
    elif operator == "~":
        index = 0 if len(numbers) == 1 else 1
    else:
        return f"=={version}.*" if text.endswith(".*") else f"=={version}"
    upper = [*numbers[:index], numbers[index] + 1]
    return f">={version},<{'.'.join(map(str, upper))}"


# --------------------------------------------------------------------------- requirements.txt


def requirements_txt(text: str) -> Iterator[str]:
    for line in _logical_lines(text):
        if not line.startswith("-"):  # ``-r``, ``-e``, ``--hash``: not a named requirement
            yield line


def _logical_lines(text: str) -> Iterator[str]:
    """Lines without comments, joined where they end with a backslash."""
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield line


# --------------------------------------------------------------------------- setup.cfg, tox.ini


def setup_cfg_requirements(text: str) -> Iterator[str]:
    parser = _ini(text)
    if parser is None:
        return
    for key in ("install_requires", "tests_require", "setup_requires"):
        if parser.has_option("options", key):
            yield from requirements_txt(parser.get("options", key, raw=True))
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require", raw=True):
            yield from requirements_txt(value)


# ``py311,py312: pytest-asyncio`` (a tox factor condition before the requirement).
_TOX_FACTORS = re.compile(r"^[A-Za-z0-9_.!,{}-]+:\s+")


def tox_requirements(text: str) -> Iterator[str]:
    parser = _ini(text)
    if parser is None:
        return
    for section in parser.sections():
        if section != "testenv" and not section.startswith("testenv:"):
            continue
        if parser.has_option(section, "deps"):
            for line in requirements_txt(parser.get(section, "deps", raw=True)):
                yield _TOX_FACTORS.sub("", line)


def _ini(text: str) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser


# --------------------------------------------------------------------------- setup.py


_SETUP_KEYWORDS = ("install_requires", "tests_require", "setup_requires", "extras_require")


def setup_py_requirements(text: str) -> Iterator[str]:
    """Requirement literals given to ``setup()`` in ``setup.py``, read without running it; a
    keyword may name a module-level variable bound to a literal."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep for the parser
        return
    bound: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = statement.value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called(node.func) != "setup":
            continue
        for keyword in node.keywords:
            if keyword.arg in _SETUP_KEYWORDS:
                yield from _literal_strings(keyword.value, bound, 0)


def _called(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _literal_strings(node: ast.expr, bound: dict[str, ast.expr], depth: int) -> Iterator[str]:
    if depth > 5:
        return
    if isinstance(node, ast.Name) and node.id in bound:
        yield from _literal_strings(bound[node.id], bound, depth + 1)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from requirements_txt(node.value)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _literal_strings(element, bound, depth + 1)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _literal_strings(value, bound, depth + 1)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _literal_strings(node.left, bound, depth + 1)
        yield from _literal_strings(node.right, bound, depth + 1)


# --------------------------------------------------------------------------- helpers


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text.strip())
    except InvalidRequirement:
        # ``pytest-asyncio>=0.23 --hash=...`` or a bare name followed by an option.
        head = text.strip().split(" -", 1)[0].strip()
        try:
            return Requirement(head) if head != text.strip() else None
        except InvalidRequirement:
            return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _toml(path: Path) -> dict[str, object] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(_text(path))
    except tomllib.TOMLDecodeError:
        return None


def _table(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> Iterable[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
