"""Small, layout-keeping libcst rewrites that fixes are built from.

Each function returns a new node (or a place to insert text); the rule turns it into an exact
text edit with ``FileRule.replace_edit`` / ``FileRule.insert_edit``. Nothing here reformats code
it does not have to touch: argument lists keep their line breaks and trailing commas.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.diagnostics import Location
from leaklint.python.source import ImportMap


def string_like(old: cst.BaseExpression | None, value: str) -> cst.SimpleString:
    """A string literal holding ``value``, quoted like ``old`` when that is a plain string."""
    quote = '"'
    if isinstance(old, cst.SimpleString) and old.quote in ("'", '"'):
        quote = old.quote
    return cst.SimpleString(f"{quote}{value}{quote}")


def set_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with keyword ``name`` set to ``value``: replaced in place, or appended last."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == name:
            args[index] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    new_arg = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # A trailing comma (usually one argument per line): the new argument takes the last
        # one's comma and the last one gets the separator the others use.
        if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
            separator = args[-2].comma.with_changes(
                whitespace_after=_layout_only(args[-2].comma.whitespace_after)
            )
        else:
            separator = cst.Comma(whitespace_after=_layout_only(call.whitespace_before_args))
        args[-1] = last.with_changes(comma=separator)
        args.append(new_arg.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new_arg)
    return call.with_changes(args=args)


def _layout_only(
    whitespace: cst.BaseParenthesizableWhitespace,
) -> cst.BaseParenthesizableWhitespace:
    """The same line break and indentation, without the comment or blank lines it carries (a
    copied comment would appear twice)."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return whitespace


def remove_arg(call: cst.Call, target: cst.Arg) -> cst.Call:
    """``call`` without the argument ``target``; a trailing comma stays as it was."""
    args = list(call.args)
    index = next(i for i, arg in enumerate(args) if arg is target)
    removed = args.pop(index)
    if index == len(args) and args:
        # The removed argument was the last one: its predecessor takes its comma (or none).
        args[-1] = args[-1].with_changes(comma=removed.comma)
    if not args:
        return call.with_changes(args=[], whitespace_before_args=cst.SimpleWhitespace(""))
    return call.with_changes(args=args)


def top_level_name_for(module: cst.Module, qualified: str) -> str | None:
    """A name bound at module level by an import to ``qualified`` (``pa`` for
    ``import pytest_asyncio as pa``), usable anywhere in the file."""
    names: dict[str, str] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            if any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
                names.update(ImportMap.from_module(cst.Module(body=[stmt])).bindings)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.pop(stmt.name.value, None)
    for name, target in names.items():
        if target == qualified:
            return name
    return None


def import_insertion_point(module: cst.Module) -> Location:
    """Where a new ``import`` line goes: after the last top-level import statement, else after
    the module docstring, else at the first statement."""
    row = len(module.header) + 1
    last_import: int | None = None
    lines_before = row
    for index, stmt in enumerate(module.body):
        lines = _line_count(module, stmt)
        if isinstance(stmt, cst.SimpleStatementLine) and (
            any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
            or (index == 0 and _is_docstring(stmt))
        ):
            last_import = lines_before + lines
        lines_before += lines
    if last_import is not None:
        return Location(last_import, 1)
    if module.body:
        first = module.body[0]
        return Location(len(module.header) + 1 + len(first.leading_lines), 1)
    return Location(row, 1)


def _line_count(module: cst.Module, stmt: cst.BaseStatement) -> int:
    return module.code_for_node(stmt).count("\n")


def _is_docstring(stmt: cst.SimpleStatementLine) -> bool:
    return (
        len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def indentation_of(text: str, row: int) -> str:
    """The leading whitespace of line ``row`` (1-based) of ``text``."""
    lines = text.splitlines()
    if not 1 <= row <= len(lines):
        return ""
    line = lines[row - 1]
    return line[: len(line) - len(line.lstrip())]


def sole_statement(body: Sequence[cst.BaseStatement], node: cst.BaseStatement) -> bool:
    return len(body) == 1 and body[0] is node


def reference_to(module: cst.Module, qualified: str) -> tuple[str, str | None]:
    """How to spell ``qualified`` (``pytest_asyncio.fixture``) in this file, and the import line
    to add when nothing imported at module level reaches it.

    ``from pytest_asyncio import fixture as afix`` gives ``afix``; ``import pytest_asyncio as
    pa`` gives ``pa.fixture``; otherwise ``pytest_asyncio.fixture`` with
    ``import pytest_asyncio``.
    """
    direct = top_level_name_for(module, qualified)
    if direct is not None:
        return direct, None
    parent = qualified.rpartition(".")[0]
    while parent:
        name = top_level_name_for(module, parent)
        if name is not None:
            return f"{name}.{qualified[len(parent) + 1 :]}", None
        parent = parent.rpartition(".")[0]
    return qualified, f"import {qualified.split('.')[0]}\n"
