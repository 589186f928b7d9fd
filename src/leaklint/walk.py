"""One batched, read-only walk over a libcst tree.

``libcst.visit_batched`` rebuilds (and re-validates) every node it passes, because its traversal
is shared with transformers; for a linter that only reads, that rebuild costs more than the
parse. ``walk_batched`` makes the same calls on the same (original) nodes in the same order
without rebuilding anything: the order of a node's children is learnt once per node class from
libcst's own traversal.

Rules with attribute visitors (``visit_FunctionDef_body``) go through ``libcst.visit_batched``,
which calls them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from functools import cache

import libcst as cst

Handler = Callable[[cst.CSTNode], object]


class _FieldRecorder(cst.CSTVisitor):
    """Notes the attributes libcst visits, in order, without descending into them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute not in self.fields:
            self.fields.append(attribute)


_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _child_fields(node: cst.CSTNode) -> tuple[str, ...]:
    cls = type(node)
    fields = _FIELDS.get(cls)
    if fields is None:
        recorder = _FieldRecorder()
        node._visit_and_replace_children(recorder)
        # A field libcst visits only when set (an f-string's format spec) is not seen on an
        # instance without it; such fields come last in libcst's order too.
        rest = [f.name for f in dataclasses.fields(node) if f.name not in recorder.fields]
        fields = _FIELDS[cls] = (*recorder.fields, *rest)
    return fields


@cache
def _handler_names(cls: type[cst.BatchableCSTVisitor]) -> tuple[str, ...]:
    """What ``BatchableCSTVisitor.get_visitors`` returns, by name, computed once per class."""
    names = []
    for name in dir(cls):
        if not name.startswith(("visit_", "leave_")):
            continue
        member = getattr(cls, name)
        if callable(member) and not getattr(member, "_is_no_op", False):
            names.append(name)
    return tuple(names)


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children in libcst's order, read without rebuilding anything."""
    children: list[cst.CSTNode] = []
    for field in _child_fields(node):
        value = getattr(node, field)
        if isinstance(value, cst.CSTNode):
            children.append(value)
        elif isinstance(value, (tuple, list)):
            children.extend(item for item in value if isinstance(item, cst.CSTNode))
    return children


def iter_tree(
    root: cst.CSTNode, prune: Callable[[cst.CSTNode], bool] = lambda node: False
) -> Iterator[cst.CSTNode]:
    """``root`` and the nodes below it, in order; below a pruned node (``root`` aside) nothing
    is visited. A read-only ``CSTVisitor`` walk rebuilds every node it passes; this does not."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is root or not prune(node):
            stack.extend(reversed(child_nodes(node)))


def walk_batched(module: cst.Module, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    visit: dict[str, list[Handler]] = {}
    leave: dict[str, list[Handler]] = {}
    for visitor in visitors:
        for name in _handler_names(type(visitor)):
            kind, _, node_type = name.partition("_")
            if "_" in node_type:  # an attribute visitor: let libcst call it
                cst.visit_batched(module, visitors)
                return
            (visit if kind == "visit" else leave).setdefault(node_type, []).append(
                getattr(visitor, name)
            )

    # An explicit stack, not recursion: deeply nested trees (a long implicit string
    # concatenation, a huge literal) must not hit the interpreter's recursion limit.
    no_handlers: list[Handler] = []
    stack: list[tuple[cst.CSTNode, bool]] = [(module, False)]
    while stack:
        node, leaving = stack.pop()
        node_type = type(node).__name__
        if leaving:
            for handler in leave.get(node_type, no_handlers):
                handler(node)
            continue
        for handler in visit.get(node_type, no_handlers):
            handler(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(child_nodes(node)))
