"""Text edits for pytest config files (INI and TOML), shared by the config rules.

Every function returns exact ``Edit`` values or ``None`` when it cannot place an edit with
certainty (the rule then gives advice only). INI values keep trailing comments, so nothing here
ever writes a comment after an INI value.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from leaklint.config.pytest_config import ConfigFile, Setting, bracket_balance
from leaklint.diagnostics import Edit, Location

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]")


def read_lines(path: Path) -> list[str] | None:
    """The file's lines with their line endings, or ``None`` when it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None


def is_toml(path: Path) -> bool:
    return path.suffix == ".toml"


def render_value(value: object) -> str:
    """A TOML literal for a string, bool, number or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    return json.dumps(str(value))


def setting_line(file_path: Path, key: str, value: str) -> str:
    """``key = value`` as the file's format writes a string value (no INI comment)."""
    if is_toml(file_path):
        return f"{key} = {render_value(value)}\n"
    return f"{key} = {value}\n"


def header_line_of(file: ConfigFile, lines: list[str]) -> int | None:
    """The line of the section's own ``[header]``; ``None`` when it is not written as one."""
    if not file.section:
        return None
    row = file.section_location.row
    if not 0 < row <= len(lines):
        return None
    match = _HEADER.match(lines[row - 1])
    if match is None:
        return None
    name = re.sub(r"\s*\.\s*", ".", match[1]).replace('"', "")
    return row if name == file.section else None


def insert_after_line(path: Path, lines: list[str], row: int, text: str) -> Edit:
    """Insert whole lines ``text`` after line ``row`` (1-based)."""
    if row >= len(lines):
        last = lines[-1] if lines else ""
        if last and not last.endswith(("\n", "\r")):
            end = Location(len(lines), len(last.rstrip("\r\n")) + 1)
            return Edit(path, end, end, "\n" + text)
        return Edit(path, Location(len(lines) + 1, 1), Location(len(lines) + 1, 1), text)
    return Edit(path, Location(row + 1, 1), Location(row + 1, 1), text)


def append_text(path: Path, lines: list[str], text: str) -> Edit:
    """Append ``text`` (whole lines) at the end of the file, after a blank line."""
    if not lines:
        return Edit(path, Location(1, 1), Location(1, 1), text)
    last = lines[-1]
    blank = "\n" if last.strip() else ""
    if last.endswith(("\n", "\r")):
        at = Location(len(lines) + 1, 1)
        return Edit(path, at, at, blank + text)
    at = Location(len(lines), len(last) + 1)
    return Edit(path, at, at, "\n" + blank + text)


def delete_lines(path: Path, lines: list[str], first: int, last: int) -> Edit:
    """Delete lines ``first``..``last`` (1-based, inclusive) with their line endings."""
    if last < len(lines) or lines[-1].endswith(("\n", "\r")):
        return Edit(path, Location(first, 1), Location(last + 1, 1), "")
    # The last line has no newline: take the newline before ``first`` instead.
    if first > 1:
        previous = lines[first - 2]
        start = Location(first - 1, len(previous.rstrip("\r\n")) + 1)
    else:
        start = Location(1, 1)
    return Edit(path, start, Location(last, len(lines[-1]) + 1), "")


def add_setting(file: ConfigFile, key: str, value: str) -> Edit | None:
    """Add ``key = value`` to the config ``file``: under its section, or as a new section."""
    lines = read_lines(file.path)
    if lines is None:
        return None
    line = setting_line(file.path, key, value)
    if file.section:
        header = header_line_of(file, lines)
        if header is None:
            return None
        return insert_after_line(file.path, lines, header, line)
    new_header = new_section_header(file)
    if new_header is None:
        return None
    return append_text(file.path, lines, new_header + line)


def new_section_header(file: ConfigFile) -> str | None:
    """The header line to write when ``file`` has no pytest section yet."""
    name = file.path.name
    if name == "pyproject.toml":
        return "[tool.pytest.ini_options]\n"
    if name.endswith(".toml") or name.endswith(".ini"):
        return "[pytest]\n"
    if name.endswith(".cfg"):
        return "[tool:pytest]\n"
    return None


def value_end_line(setting: Setting, lines: list[str]) -> int:
    """The last line of a setting's value: INI continuation lines, or a TOML multi-line array."""
    row = setting.location.row
    if is_toml(setting.path):
        depth = 0
        for number in range(row, len(lines) + 1):
            text = lines[number - 1]
            if number == row:
                text = text.split("=", 1)[1] if "=" in text else text
            depth += bracket_balance(text)
            if depth <= 0:
                return number
        return row
    end = row
    for number in range(row + 1, len(lines) + 1):
        text = lines[number - 1]
        if not text.strip() or text.lstrip().startswith(("#", ";")):
            continue
        if text[:1] in (" ", "\t"):
            end = number
            continue
        break
    return end


def delete_setting(setting: Setting, lines: list[str]) -> Edit:
    """Delete a whole setting: its key line and the rest of its value."""
    return delete_lines(setting.path, lines, setting.location.row, value_end_line(setting, lines))


def setting_text(setting: Setting, lines: list[str]) -> str:
    """The setting exactly as written (key line through the end of its value)."""
    end = value_end_line(setting, lines)
    text = "".join(lines[setting.location.row - 1 : end])
    return text if text.endswith("\n") else text + "\n"


# --------------------------------------------------------------------------- moving values

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


def to_native(key: str, value: object) -> tuple[bool, object]:
    """``(ok, value)``: a string-mode value as [tool.pytest] / pytest.toml must write it.

    ``ok`` is False when the key's type is unknown or the value does not convert cleanly.
    """
    from leaklint.config.pytest_config import KNOWN_TYPES

    kind = KNOWN_TYPES.get(key)
    if kind is None:
        return False, value
    if kind == "string":
        return isinstance(value, str), value
    if kind == "bool":
        text = str(value).strip().lower()
        if text in _TRUE:
            return True, True
        if text in _FALSE:
            return True, False
        return False, value
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value), value
    if not isinstance(value, str):
        return False, value
    if kind == "args":
        try:
            return True, shlex.split(value)
        except ValueError:
            return False, value
    return True, [line.strip() for line in value.split("\n") if line.strip()]


def to_string_mode(value: object) -> object:
    """A native value as INI (and [tool.pytest.ini_options]) reads it: strings or a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def render_ini(key: str, value: object) -> str | None:
    """``key = value`` in INI; ``None`` when a list cannot keep its meaning there."""
    if isinstance(value, list):
        from leaklint.config.pytest_config import KNOWN_TYPES

        kind = KNOWN_TYPES.get(key)
        items = [str(item) for item in value]
        if kind == "args":
            # INI args values are shell-split: quote items that hold spaces or quotes.
            items = [shlex.quote(item) for item in items]
        elif kind != "linelist" or any("\n" in item or not item.strip() for item in items):
            return None
        return f"{key} =\n" + "".join(f"    {item}\n" for item in items)
    text = str(value)
    if "\n" in text:
        first, *rest = text.split("\n")
        head = f"{key} = {first}\n" if first else f"{key} =\n"
        return head + "".join(f"    {line}\n" for line in rest if line.strip())
    return f"{key} = {text}\n"


def render_setting(target: ConfigFile, key: str, value: object) -> str | None:
    """``key = value`` for ``target``'s format and mode; ``None`` when it cannot be written."""
    if target.mode == "toml" and is_toml(target.path):
        return f"{key} = {render_value(value)}\n"
    if is_toml(target.path):
        return f"{key} = {render_value(to_string_mode(value))}\n"
    return render_ini(key, to_string_mode(value))


def section_span(file: ConfigFile, lines: list[str]) -> tuple[int, int] | None:
    """First and last line of ``file``'s section: its header through its last value."""
    header = header_line_of(file, lines)
    if header is None:
        return None
    last = header
    for setting in file.settings.values():
        if setting.location.row < header:
            return None
        last = max(last, value_end_line(setting, lines))
    # A dotted or out-of-order key elsewhere in the file would be cut in two: refuse.
    for number in range(header + 1, last + 1):
        if _HEADER.match(lines[number - 1]):
            return None
    return header, last
