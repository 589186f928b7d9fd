from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from leaklint.config.config_edits import read_lines, value_end_line
from leaklint.config.pytest_config import ASYNCIO_MODES, LOOP_SCOPES, Setting
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

FIXTURE_KEY = "asyncio_default_fixture_loop_scope"
FIXTURE_SCOPE = "fixture-scope"  # valid from pytest-asyncio 1.5 on
CHOICES: dict[str, tuple[str, ...]] = {
    "asyncio_mode": ASYNCIO_MODES,
    FIXTURE_KEY: (*LOOP_SCOPES, FIXTURE_SCOPE),
    "asyncio_default_test_loop_scope": LOOP_SCOPES,
}
_INLINE_COMMENT = re.compile(r"\s+[#;]")


@register
class InvalidAsyncioOption(ProjectRule):
    """
    ## What it does
    Reports a value pytest-asyncio rejects: an `asyncio_mode` other than `strict` or `auto`,
    or a default loop scope other than `function`, `class`, `module`, `package`, `session`
    (and `fixture-scope` for `asyncio_default_fixture_loop_scope`). Values in the config file
    and in `addopts` (`--asyncio-mode=…`, `-o asyncio_…=…`) are checked, and the message names
    the nearest valid value. `fixture-scope` exists from pytest-asyncio 1.5 on: it is reported
    when the project's declared pytest-asyncio range allows an older release.

    ## Why is this bad?
    pytest-asyncio stops the run with a usage error. A comment written after an INI value
    is part of the value (`asyncio_mode = auto  # fast` is the mode `auto  # fast`).

    ## Example
    ```ini
    [pytest]
    asyncio_default_test_loop_scope = sesion
    ```

    Use instead:
    ```ini
    [pytest]
    asyncio_default_test_loop_scope = session
    ```

    ## Fix safety
    Unsafe: the nearest valid value is a guess at what was meant. With no near value there is
    only advice.
    """

    code = "LL104"
    name = "invalid-asyncio-option"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES

    def check(self, project: Project) -> Iterable[Diagnostic]:
        for setting in _written(project):
            choices = CHOICES[setting.key]
            value = setting.value
            if value == FIXTURE_SCOPE and setting.key == FIXTURE_KEY:
                yield from self._before_fixture_scope(project, setting)
                continue
            if not isinstance(value, str) or value in choices:
                continue
            nearest = _nearest(value, choices)
            valid = ", ".join(f'"{c}"' for c in choices)
            message = f'"{value}" is not a valid {setting.key} (valid: {valid})'
            if nearest is not None:
                message += f'; did you mean "{nearest}"?'
            commented = _INLINE_COMMENT.search(value) is not None and setting.mode == "ini"
            help_text = (
                "INI values keep inline comments: put the comment on its own line"
                if commented
                else f"use one of {valid}"
            )
            fix = _fix(setting, value, nearest or "")
            start, end = (fix.edits[0].start, fix.edits[0].end) if fix else (setting.location, None)
            if nearest is None:
                fix = None
            yield self.diagnostic(
                message=message,
                path=setting.path,
                start=start,
                end=end,
                fix=fix,
                help=None if fix else help_text,
            )

    def _before_fixture_scope(self, project: Project, setting: Setting) -> Iterator[Diagnostic]:
        """``fixture-scope`` under a declared range that allows a release before 1.5."""
        declared = project.pytest_asyncio_range
        oldest = declared.oldest_before("1.5") if declared.declared else None
        if oldest is None:
            return
        # Name a declaration that allows that release (several may hold together).
        where = next(
            (
                d
                for d in declared.declarations
                if d.specifier is None or d.specifier.contains(oldest, prereleases=True)
            ),
            declared.declarations[0],
        )
        spec = f" {where.specifier}" if where.specifier else ""
        name = project.relative(where.path).as_posix()
        yield self.diagnostic(
            message=(
                f'"{FIXTURE_SCOPE}" is a valid {FIXTURE_KEY} from pytest-asyncio 1.5 on, but '
                f"the declared pytest-asyncio{spec} ({name}) allows {oldest}, which stops the "
                "run with a usage error"
            ),
            path=setting.path,
            start=setting.location,
            help=(
                'require pytest-asyncio>=1.5, or name the loop scope ("function", "module", ...)'
            ),
        )


def _written(project: Project) -> Iterator[Setting]:
    config = project.config
    for key in CHOICES:
        setting = config.settings.get(key)
        if setting is not None:
            yield setting
    if config.addopts.asyncio_mode is not None:
        yield config.addopts.asyncio_mode
    for key, setting in config.addopts.overrides.items():
        if key in CHOICES:
            yield setting


def _nearest(value: str, choices: tuple[str, ...]) -> str | None:
    cleaned = _INLINE_COMMENT.split(value, maxsplit=1)[0].strip().strip("\"'").lower()
    if cleaned in choices:
        return cleaned
    close = difflib.get_close_matches(cleaned, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _fix(setting: Setting, value: str, nearest: str) -> Fix | None:
    """Replace the written value; for addopts, the option's value inside the addopts text."""
    lines = read_lines(setting.path)
    if lines is None:
        return None
    row = setting.location.row
    end = value_end_line(setting, lines) if setting.mode == "addopts" else row
    for number in range(row, end + 1):
        line = lines[number - 1].rstrip("\r\n")
        offset = 0
        if number == row and "=" in line:
            offset = line.index("=") + 1
        if setting.mode == "ini":
            # The whole rest of the key line is the value (comments included).
            head = line[offset:]
            start = offset + len(head) - len(head.lstrip())
            stop = len(line.rstrip())
            if line[start:stop] != value:
                return None
        else:
            found = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])").search(line, offset)
            if found is None:
                continue
            start, stop = found.span()
        edit = Edit(setting.path, Location(number, start + 1), Location(number, stop + 1), nearest)
        return Fix(Applicability.UNSAFE, f'use "{nearest}"', (edit,))
    return None
