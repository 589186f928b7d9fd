"""The edit LL201 and LL207 share: turn a fixture decorator into a ``pytest_asyncio.fixture``
with a given ``loop_scope``, keeping its arguments and layout, importing pytest_asyncio when
nothing in the file reaches it yet."""

from __future__ import annotations

import libcst as cst

from leaklint.diagnostics import Edit
from leaklint.model.pytest_model import FixtureDef, keyword
from leaklint.python.cstedit import import_insertion_point, reference_to, set_keyword, string_like
from leaklint.rules.base import FileRule

ASYNCIO_FIXTURE = "pytest_asyncio.fixture"


def asyncio_fixture_edits(
    rule: FileRule, fixture: FixtureDef, *, loop_scope: str | None
) -> tuple[Edit, ...]:
    """Edits making ``fixture``'s decorator ``@pytest_asyncio.fixture(..., loop_scope=...)``.

    ``loop_scope=None`` leaves the loop scope alone. A decorator that already is a
    ``pytest_asyncio.fixture`` keeps its spelling.
    """
    module = rule.source.module
    assert module is not None
    expr = fixture.decorator.decorator
    edits: list[Edit] = []
    if fixture.kind == "pytest_asyncio":
        target: cst.BaseExpression | None = None
    else:
        spelling, import_line = reference_to(module, ASYNCIO_FIXTURE)
        target = cst.parse_expression(spelling)
        if import_line is not None:
            edits.append(rule.insert_edit(import_insertion_point(module), import_line))
    if isinstance(expr, cst.Call):
        new_call = expr if target is None else expr.with_changes(func=target)
        if loop_scope is not None:
            old = keyword(expr, "loop_scope")
            value = string_like(old.value if old else _scope_value(expr), loop_scope)
            new_call = set_keyword(new_call, "loop_scope", value)
        edits.append(rule.replace_edit(expr, new_call))
    else:
        replacement: cst.BaseExpression = expr if target is None else target
        if loop_scope is not None:
            replacement = cst.Call(
                func=replacement,
                args=[
                    cst.Arg(
                        keyword=cst.Name("loop_scope"),
                        value=string_like(None, loop_scope),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                ],
            )
        edits.append(rule.replace_edit(expr, replacement))
    return tuple(sorted(edits, key=lambda e: e.start))


def _scope_value(call: cst.Call) -> cst.BaseExpression | None:
    arg = keyword(call, "scope")
    return None if arg is None else arg.value
