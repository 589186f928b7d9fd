from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.config.config_edits import delete_lines, delete_setting, read_lines, value_end_line
from leaklint.config.pytest_config import Entry, Setting, entries
from leaklint.diagnostics import Applicability, Diagnostic, Fix, Location
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

# Categories whose "ignore" hides leaked resources, and the classes above them.
_EVERYTHING = "every warning, leaked resources and thread errors included"
_RESOURCES = "ResourceWarning: unclosed files, sockets, subprocesses and loops go unreported"
_UNRAISABLE = (
    "PytestUnraisableExceptionWarning: errors raised while finalizing leaked objects go unreported"
)
_THREADS = "PytestUnhandledThreadExceptionWarning: exceptions that kill threads go unreported"
_PYTEST = "every pytest warning, unraisable and thread exceptions included"
HIDING = {
    "": _EVERYTHING,
    "Warning": _EVERYTHING,
    "builtins.Warning": _EVERYTHING,
    "ResourceWarning": _RESOURCES,
    "builtins.ResourceWarning": _RESOURCES,
    "pytest.PytestWarning": _PYTEST,
    "_pytest.warning_types.PytestWarning": _PYTEST,
    "pytest.PytestUnraisableExceptionWarning": _UNRAISABLE,
    "_pytest.warning_types.PytestUnraisableExceptionWarning": _UNRAISABLE,
    "pytest.PytestUnhandledThreadExceptionWarning": _THREADS,
    "_pytest.warning_types.PytestUnhandledThreadExceptionWarning": _THREADS,
}
_ACTIONS = ("default", "always", "all", "ignore", "module", "once", "error")


def _action(text: str) -> str | None:
    """Python's warning action for a (possibly abbreviated) action name."""
    text = text.strip()
    if not text:
        return None
    for action in _ACTIONS:
        if action.startswith(text):
            return action
    return None


def _parse(entry: str) -> tuple[str | None, str, str, str]:
    """(action, message, category, module) of a ``-W``-style filter."""
    parts = [p.strip() for p in entry.split(":")]
    parts += [""] * (5 - len(parts))
    return _action(parts[0]), parts[1], parts[2], parts[3]


_ALL = ("", "Warning", "builtins.Warning")
_PYTEST_BASE = ("pytest.PytestWarning", "_pytest.warning_types.PytestWarning")


def _covers(later: str, earlier: str) -> bool:
    """Whether a filter on category ``later`` also matches every warning of ``earlier``."""
    if later == earlier or later in _ALL:
        return True
    short = earlier.rsplit(".", 1)[-1]
    return later in _PYTEST_BASE and short.startswith("Pytest")


@register
class ResourceWarningsIgnored(ProjectRule):
    """
    ## What it does
    Reports `filterwarnings` entries in the pytest config that ignore `ResourceWarning`,
    `pytest.PytestUnraisableExceptionWarning` or `pytest.PytestUnhandledThreadExceptionWarning`
    (also through `Warning`, `pytest.PytestWarning`, or a bare `ignore` that ignores
    everything), and `-W` / `--pythonwarnings` filters in `addopts` that do the same, unless a
    later filter turns them back on (pytest applies `addopts` filters after `filterwarnings`).

    ## Why is this bad?
    These warnings are how Python and pytest say that a socket, file, subprocess or event
    loop was never closed, or that a thread died with an exception. Ignored, the leaks pile
    up until a suite hangs or runs out of file descriptors, with no clue where they started.

    ## Example
    ```ini
    [pytest]
    filterwarnings =
        error
        ignore::ResourceWarning
    ```

    Use instead:
    ```ini
    [pytest]
    filterwarnings =
        error
    ```

    ## Fix safety
    Unsafe: dropping the filter makes the hidden warnings visible, and with `error` in the
    filters they fail tests. The fix is offered when the `filterwarnings` entry is on its own
    line or is the only one; a `-W` in `addopts` gets advice only.
    """

    code = "LL107"
    name = "resource-warnings-ignored"
    fix_availability = FixAvailability.UNSAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        config = project.config
        found: list[_Filter] = []
        setting = config.settings.get("filterwarnings")
        lines = read_lines(setting.path) if setting is not None else None
        if setting is not None and lines is not None:
            items = entries(setting, "".join(lines))
            for item in items:
                fix = _drop(setting, item, len(items), lines)
                found.append(_Filter(item.text, setting.path, _location(item, lines, setting), fix))
        # pytest applies -W filters from addopts after filterwarnings: they take precedence.
        for carried in config.addopts.warning_filters:
            text = str(carried.value)
            found.append(_Filter(text, carried.path, _in_addopts(carried, text), None))
        parsed = [_parse(f.text) for f in found]
        for index, entry in enumerate(found):
            action, message, category, _ = parsed[index]
            if action != "ignore" or category not in HIDING:
                continue
            if message and category in _ALL:
                continue  # a message-specific filter aimed at something else
            if any(
                later_action not in (None, "ignore")
                and _covers(later, category)
                and not text + module
                for later_action, text, later, module in parsed[index + 1 :]
            ):
                continue  # a later filter turns the whole category back on
            what = HIDING[category]
            if message:
                name = category.rsplit(".", 1)[-1]
                what = f"the {name}s it matches: those leaks go unreported"
            yield self.diagnostic(
                message=f'filter "{entry.text}" ignores {what}',
                path=entry.path,
                start=entry.location,
                fix=entry.fix,
                help="remove the filter, or narrow it with a message that matches one warning",
            )


@dataclass(frozen=True)
class _Filter:
    text: str
    path: Path
    location: Location
    fix: Fix | None


def _in_addopts(carried: Setting, text: str) -> Location:
    """Where a ``-W`` value is written inside ``addopts`` (else the addopts key)."""
    lines = read_lines(carried.path)
    if lines is None:
        return carried.location
    row = carried.location.row
    for number in range(row, value_end_line(carried, lines) + 1):
        column = lines[number - 1].find(text)
        if column >= 0:
            return Location(number, column + 1)
    return carried.location


def _location(item: Entry, lines: list[str], setting: Setting) -> Location:
    if item.line == setting.location.row:
        line = lines[item.line - 1]
        at = line.find(item.text, line.find("=") + 1)
        return Location(item.line, at + 1) if at >= 0 else setting.location
    column = lines[item.line - 1].find(item.text)
    if column > 0 and setting.path.suffix == ".toml":
        column -= 1  # the opening quote
    return Location(item.line, max(column, 0) + 1)


def _drop(setting: Setting, item: Entry, count: int, lines: list[str]) -> Fix | None:
    if count == 1:
        edit = delete_setting(setting, lines)
    elif item.own_line:
        edit = delete_lines(setting.path, lines, item.line, item.line)
    else:
        return None
    return Fix(Applicability.UNSAFE, f'drop the filter "{item.text}"', (edit,))
