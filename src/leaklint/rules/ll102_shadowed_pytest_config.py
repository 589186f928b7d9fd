from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from leaklint.config.config_edits import (
    append_text,
    delete_lines,
    header_line_of,
    insert_after_line,
    new_section_header,
    read_lines,
    render_setting,
    section_span,
    to_native,
)
from leaklint.config.pytest_config import ConfigFile
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project


@register
class ShadowedPytestConfig(ProjectRule):
    """
    ## What it does
    Reports pytest settings written in a file that pytest never reads, because another
    config file in the same directory comes first (`pytest.toml`, `.pytest.toml`,
    `pytest.ini`, `.pytest.ini`, `pyproject.toml`, `tox.ini`, `setup.cfg`). pytest never
    merges config files; it only prints "ignoring pytest config in …" in its header.

    ## Why is this bad?
    The ignored settings look active. An `asyncio_mode = auto` or a loop scope in the ignored
    file silently does nothing: async tests are skipped or fail, fixtures run on other loops.

    ## Example
    ```ini
    # pytest.ini
    [pytest]
    addopts = -ra

    # tox.ini (ignored)
    [pytest]
    asyncio_mode = auto
    ```

    Use instead:
    ```ini
    # pytest.ini
    [pytest]
    addopts = -ra
    asyncio_mode = auto
    ```

    ## Fix safety
    Unsafe: the fix moves the ignored settings into the file pytest reads (settings that file
    already has are dropped), which changes how the suite runs. Values are converted
    between INI strings and native TOML types where their type is known; otherwise only
    advice is given.
    """

    code = "LL102"
    name = "shadowed-pytest-config"
    fix_availability = FixAvailability.UNSAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        winner = project.config.file
        if winner is None:
            return
        for shadowed in project.config.shadowed:
            if not shadowed.settings:
                continue  # nothing is lost
            where = f"[{shadowed.section}]" if shadowed.section else shadowed.name
            message = (
                f"pytest ignores {where} in {shadowed.name} because {winner.name} wins: "
                f"{_listing(sorted(shadowed.settings))} never read"
            )
            fix = _move(shadowed, winner)
            yield self.diagnostic(
                message=message,
                path=shadowed.path,
                start=shadowed.section_location,
                fix=fix,
                help=None
                if fix
                else f"move these settings into {winner.name} and delete them here",
            )


def _listing(keys: list[str]) -> str:
    """The asyncio settings by name (they matter most here), the others by count."""
    named = [k for k in keys if k.startswith("asyncio_")][:3] or keys[:2]
    others = len(keys) - len(named)
    text = ", ".join(named)
    if others:
        text += f" and {others} other setting" + ("s" if others > 1 else "")
    return text + (" is" if len(keys) == 1 else " are")


def _move(shadowed: ConfigFile, winner: ConfigFile) -> Fix | None:
    lines = read_lines(shadowed.path)
    winner_lines = read_lines(winner.path)
    if lines is None or winner_lines is None:
        return None
    span = section_span(shadowed, lines)
    if span is None:
        return None
    rendered: list[str] = []
    for key, setting in shadowed.settings.items():
        if key in winner.settings:
            continue
        value = setting.value
        if winner.mode == "toml" and shadowed.mode != "toml":
            ok, value = to_native(key, value)
            if not ok:
                return None
        text = render_setting(winner, key, value)
        if text is None:
            return None
        rendered.append(text)
    edits: list[Edit] = [delete_lines(shadowed.path, lines, *span)]
    if rendered:
        block = "".join(rendered)
        if winner.section:
            header = header_line_of(winner, winner_lines)
            if header is None:
                return None
            edits.append(insert_after_line(winner.path, winner_lines, header, block))
        else:
            header_text = new_section_header(winner)
            if header_text is None:
                return None
            edits.append(append_text(winner.path, winner_lines, header_text + block))
    return Fix(
        Applicability.UNSAFE,
        f"move the settings into {winner.name}",
        tuple(edits),
    )
