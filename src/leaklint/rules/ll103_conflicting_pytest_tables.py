from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from leaklint.config.config_edits import (
    delete_lines,
    header_line_of,
    insert_after_line,
    read_lines,
    render_value,
    section_span,
    to_native,
)
from leaklint.config.pytest_config import ConfigFile, ConfigProblem, Setting, TomlKeyLines
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from leaklint.rules.base import FixAvailability, ProjectRule, register

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from leaklint.model.project import Project


@register
class ConflictingPytestTables(ProjectRule):
    """
    ## What it does
    Reports `[tool.pytest]` (native TOML values, pytest 9) together with
    `[tool.pytest.ini_options]` in one file, and a `[pytest]` section in `setup.cfg` (pytest
    only reads `[tool:pytest]` there).

    ## Why is this bad?
    pytest refuses to start in both cases ("Cannot use both [tool.pytest] … and
    [tool.pytest.ini_options]", "[pytest] section in setup.cfg files is no longer
    supported"), even when another file holds the config: pytest reads every candidate in the
    directory to warn about the ignored ones.

    ## Example
    ```toml
    [tool.pytest]
    minversion = "9.0"

    [tool.pytest.ini_options]
    asyncio_mode = "auto"
    ```

    Use instead:
    ```toml
    [tool.pytest]
    asyncio_mode = "auto"
    minversion = "9.0"
    ```

    ## Fix safety
    Safe: in `setup.cfg` the header is renamed to `[tool:pytest]`. In `pyproject.toml` the
    `ini_options` keys move into `[tool.pytest]`, converted to native TOML types (`addopts` to
    a list, `asyncio_debug` to a bool). The move is unsafe when a key's type is not known to
    leaklint, a key is in both tables, or the moved table holds comments.
    """

    code = "LL103"
    name = "conflicting-pytest-tables"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES

    def check(self, project: Project) -> Iterable[Diagnostic]:
        for problem in project.config.problems:
            if problem.kind == "setup-cfg-pytest":
                yield self.diagnostic(
                    message="setup.cfg uses [pytest]; pytest only reads [tool:pytest] there",
                    path=problem.path,
                    start=problem.location,
                    fix=_rename(problem),
                )
            elif problem.kind == "conflicting-tables":
                fix = _merge(problem) if problem.path.name == "pyproject.toml" else None
                yield self.diagnostic(
                    message=problem.message,
                    path=problem.path,
                    start=problem.location,
                    fix=fix,
                    help=None if fix else "keep one of the two tables",
                )


def _rename(problem: ConfigProblem) -> Fix | None:
    lines = read_lines(problem.path)
    if lines is None or problem.location.row > len(lines):
        return None
    line = lines[problem.location.row - 1]
    start = line.find("[pytest]")
    if start < 0:
        return None
    row = problem.location.row
    edit = Edit(
        problem.path,
        Location(row, start + 1),
        Location(row, start + 1 + len("[pytest]")),
        "[tool:pytest]",
    )
    return Fix(Applicability.SAFE, "rename the section to [tool:pytest]", (edit,))


def _merge(problem: ConfigProblem) -> Fix | None:
    path = problem.path
    lines = read_lines(path)
    if lines is None:
        return None
    text = "".join(lines)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    tool_pytest = document.get("tool", {}).get("pytest", {})
    ini_options = tool_pytest.get("ini_options")
    if not isinstance(ini_options, dict):
        return None
    keys = TomlKeyLines(text)
    native_table = ("tool", "pytest")
    ini_table = ("tool", "pytest", "ini_options")

    def as_file(table: tuple[str, ...], values: dict[str, object]) -> ConfigFile:
        settings = {
            k: Setting(k, v, path, keys.key_location(table, k), "toml") for k, v in values.items()
        }
        return ConfigFile(path, ".".join(table), keys.table_location(table), settings, "toml")

    native = as_file(native_table, {k: v for k, v in tool_pytest.items() if k != "ini_options"})
    ini = as_file(ini_table, ini_options)
    native_header = header_line_of(native, lines)
    span = section_span(ini, lines)
    if native_header is None or span is None:
        return None
    safe = True
    rendered: list[str] = []
    for key, value in ini_options.items():
        if key in native.settings:
            safe = False  # the native value is kept; the ini_options one is dropped
            continue
        ok, converted = to_native(key, value if isinstance(value, list) else str(value))
        if not ok:
            if not isinstance(value, str):
                return None
            safe = False  # unknown type: written as a string
        rendered.append(f"{key} = {render_value(converted)}\n")
    first, last = span
    if any(line.lstrip().startswith("#") for line in lines[first - 1 : last]):
        safe = False
    edits = [
        insert_after_line(path, lines, native_header, "".join(rendered)),
        delete_lines(path, lines, first, last),
    ]
    return Fix(
        Applicability.SAFE if safe else Applicability.UNSAFE,
        "move the [tool.pytest.ini_options] keys into [tool.pytest] as native TOML values",
        tuple(edits),
    )
