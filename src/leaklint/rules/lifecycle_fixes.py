"""The messages and fixes LL401-LL404 build from a tracked ``Resource``: the subject of a
message, ``daemon=True`` added to a constructor, a ``with`` block around a local executor or
process."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from leaklint.diagnostics import Edit, Location
from leaklint.model.tracked import PROCESS_CLASSES, THREAD_CLASSES, Kind, Resource
from leaklint.python.source import SourceFile
from leaklint.python.walk import walk

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------- messages and fixes


def described(resource: Resource) -> str:
    """The subject of a message, verb included: ``thread `t` (threading.Thread) is``; a thread
    or process bound to no variable goes by its ``name=`` when that is a literal."""
    noun = {Kind.THREAD: "thread", Kind.PROCESS: "process"}.get(resource.kind, "object")
    if resource.name is None:
        given = _given_name(resource)
        if given is None:
            return f"unnamed {noun} ({resource.label}) is"
        if given == "":  # ``name=`` computed at run time
            return f"{noun} ({resource.label}) is"
        return f"{noun} named {given} ({resource.label}) is"
    if resource.collection:
        plural = "processes" if resource.kind is Kind.PROCESS else f"{noun}s"
        return f"{plural} in `{resource.name}` ({resource.label}) are"
    return f"{noun} `{resource.name}` ({resource.label}) is"


def _given_name(resource: Resource) -> str | None:
    """The ``name=`` a standard ``Thread`` or ``Process`` is made with, as written when it is a
    string literal (``"progress"``); ``""`` when it is computed; None without one. A subclass's
    ``name`` parameter may mean something else: it is not read."""
    if resource.label not in THREAD_CLASSES | PROCESS_CLASSES:
        return None
    for arg in resource.call.args:
        if arg.keyword is not None and arg.keyword.value == "name":
            value = arg.value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                return value.value  # as written: ``"progress"``
            return ""
    return None


def daemon_edit(source: SourceFile, resource: Resource) -> Edit | None:
    """``daemon=True`` in the constructor call, as a text insertion (layout kept)."""
    call = resource.call
    if not resource.accepts_daemon or call.rpar:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "daemon":
            start, end = source.range_of(arg.value)
            return Edit(source.path, start, end, "True")
        if arg.star == "**":
            return None
    if call.args:
        # The whole range: a parenthesized last value (``args=(sock, )``) ends after its ``)``.
        _, end = source.whole_range_of(call.args[-1].value)
        return Edit(source.path, end, end, ", daemon=True")
    _, end = source.range_of(call)
    at = Location(end.row, end.column - 1)
    return Edit(source.path, at, at, "daemon=True")


def with_rewrite(source: SourceFile, resource: Resource) -> Edit | None:
    """``x = Ctor(...)`` + the rest of its block -> ``with Ctor(...) as x:`` around that rest.

    Only when the variable is used nowhere but in the statements that follow in the same block
    (not in nested functions, not rebound), and the lines to re-indent hold no multi-line string.
    Returns None whenever the rewrite is not certain to be right.
    """
    statement, block, name = resource.statement, resource.block, resource.name
    if statement is None or not isinstance(block, cst.IndentedBlock) or name is None:
        return None
    if resource.collection or resource.handed == "return":
        return None  # ``with`` would stop it before the caller or the test uses it
    if any(u.nested or (u.kind == "handoff" and u.method != "yield") for u in resource.uses):
        return None
    assign = statement.body[0]
    if not isinstance(assign, (cst.Assign, cst.AnnAssign)) or assign.value is not resource.call:
        return None
    body = list(block.body)
    index = next((i for i, s in enumerate(body) if s is statement), None)
    if index is None or index + 1 >= len(body):
        return None
    rest = body[index + 1 :]
    inside: set[int] = set()
    for stmt in rest:
        _collect_ids(stmt, inside)
    stores = 0
    for use in resource.uses:
        if use.kind == "bind":
            stores += 1
        elif id(use.node) not in inside:
            return None
    if stores > 1:
        return None
    text = source.text
    if "\r" in text:
        return None
    lines = text.split("\n")
    start, _ = source.range_of(statement)
    call_start, call_end = source.range_of(resource.call)
    _, last_end = source.range_of(rest[-1])
    end_row = last_end.row if last_end.column > 1 else last_end.row - 1
    tail = lines[call_end.row - 1][call_end.column - 1 :]
    if tail.strip() and not tail.strip().startswith("#"):
        return None
    wrapped = lines[call_end.row : end_row]
    if any('"""' in line or "'''" in line for line in wrapped):
        return None
    first = lines[start.row - 1]
    indent = first[: len(first) - len(first.lstrip())]
    call_text = _slice(lines, call_start, call_end)
    unit = source.module.default_indent if source.module is not None else "    "
    new_lines = [f"{indent}with {call_text} as {name}:{tail}"]
    new_lines += [unit + line if line.strip() else line for line in wrapped]
    edit = Edit(
        source.path,
        Location(start.row, 1),
        Location(end_row, len(lines[end_row - 1]) + 1),
        "\n".join(new_lines),
    )
    new_text = "\n".join([*lines[: start.row - 1], *new_lines, *lines[end_row:]])
    try:
        cst.parse_module(new_text)
    except Exception:
        return None
    return edit


def _slice(lines: list[str], start: Location, end: Location) -> str:
    if start.row == end.row:
        return lines[start.row - 1][start.column - 1 : end.column - 1]
    parts = [lines[start.row - 1][start.column - 1 :]]
    parts += lines[start.row : end.row - 1]
    parts.append(lines[end.row - 1][: end.column - 1])
    return "\n".join(parts)


def _collect_ids(node: cst.CSTNode, ids: set[int]) -> None:
    walk(node, lambda n: ids.add(id(n)), lambda n: None)
