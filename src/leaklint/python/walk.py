"""Read-only walks over a libcst tree: one batched walk for visitor classes, one plain walk.

``libcst.visit_batched`` rebuilds (and re-validates) every node it passes, because its traversal
is shared with transformers; for a linter that only reads, that rebuild costs more than the
parse. ``walk_batched`` makes the same calls on the same (original) nodes in the same order
without rebuilding anything: the order of a node's children is learnt once per node class from
libcst's own traversal.

Attribute visitors (``visit_FunctionDef_body``) are called around the attribute's children, as
libcst calls them. Trivia (whitespace, comments, punctuation, operators) is stepped over when no
visitor handles it.
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
# The fields libcst itself visits (and calls attribute visitors for), by node class.
_VISITED: dict[type[cst.CSTNode], frozenset[str]] = {}


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
        _VISITED[cls] = frozenset(recorder.fields)
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


# Whitespace, comments and punctuation: nodes that hold nothing but more of the same. A walk
# whose visitors handle none of these types steps over them (about 60% of a typical tree).
_TRIVIA_BASES: tuple[type[cst.CSTNode], ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
    cst.EmptyLine,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
    cst.Asynchronous,
)


# What a value found in a node's field is, by its type: not a node, a trivia node (see
# ``_TRIVIA_BASES``), or another node. ``isinstance`` against libcst's abstract node classes
# goes through ``ABCMeta`` and cost more than the rest of the walk; a dict lookup does not.
_NOT_NODE, _TRIVIA, _NODE = range(3)
_KINDS: dict[type, int] = {}


def _kind(cls: type) -> int:
    kind = _KINDS.get(cls)
    if kind is None:
        if not issubclass(cls, cst.CSTNode):
            kind = _NOT_NODE
        else:
            kind = _TRIVIA if issubclass(cls, _TRIVIA_BASES) else _NODE
        _KINDS[cls] = kind
    return kind


def is_content_type(cls: type) -> bool:
    """A libcst node class that is not trivia."""
    kind = _KINDS.get(cls)
    return (kind if kind is not None else _kind(cls)) == _NODE


def child_nodes(node: cst.CSTNode, *, trivia: bool = True) -> list[cst.CSTNode]:
    """The node's children in libcst's order, read without rebuilding anything; without the
    trivia ones when ``trivia`` is false. The hottest loop of a run: the kind lookup is
    inlined here (a helper call per field made walks 30% slower); ``_field_nodes`` is the
    one-field form, for the rare nodes with attribute visitors."""
    lowest = _TRIVIA if trivia else _NODE
    kinds = _KINDS
    children: list[cst.CSTNode] = []
    for field in _child_fields(node):
        value = getattr(node, field)
        cls = type(value)
        if cls is tuple or cls is list:
            for item in value:
                kind = kinds.get(type(item))
                if kind is None:
                    kind = _kind(type(item))
                if kind >= lowest:
                    children.append(item)
        else:
            kind = kinds.get(cls)
            if kind is None:
                kind = _kind(cls)
            if kind >= lowest:
                children.append(value)
    return children


def iter_tree(
    root: cst.CSTNode, prune: Callable[[cst.CSTNode], bool] = lambda node: False
) -> Iterator[cst.CSTNode]:
    """``root`` and the nodes below it, in order, trivia (whitespace, comments, punctuation)
    left out; below a pruned node (``root`` aside) nothing is visited. A read-only
    ``CSTVisitor`` walk rebuilds every node it passes; this does not."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is root or not prune(node):
            stack.extend(reversed(child_nodes(node, trivia=False)))


# Entries of the walk's stack: (what, node, attribute).
_VISIT, _LEAVE, _VISIT_ATTRIBUTE, _LEAVE_ATTRIBUTE = range(4)


def walk_batched(module: cst.Module, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    """Call the visitors' ``visit_<Node>``, ``leave_<Node>``, ``visit_<Node>_<attribute>`` and
    ``leave_<Node>_<attribute>`` methods as ``libcst.visit_batched`` would, in the same order,
    on the same nodes; nodes of trivia types no visitor handles are not entered."""
    visit: dict[str, list[Handler]] = {}
    leave: dict[str, list[Handler]] = {}
    attributes: dict[tuple[int, str, str], list[Handler]] = {}  # (kind, node type, attribute)
    for visitor in visitors:
        for name in _handler_names(type(visitor)):
            kind, _, node_type = name.partition("_")
            node_type, _, attribute = node_type.partition("_")
            handler = getattr(visitor, name)
            if attribute:
                what = _VISIT_ATTRIBUTE if kind == "visit" else _LEAVE_ATTRIBUTE
                attributes.setdefault((what, node_type, attribute), []).append(handler)
            else:
                (visit if kind == "visit" else leave).setdefault(node_type, []).append(handler)
    with_attributes = {node_type for _, node_type, _ in attributes}
    handled = set(visit) | set(leave) | with_attributes
    trivia = any(_kind(getattr(cst, name, cst.CSTNode)) == _TRIVIA for name in handled)

    # An explicit stack, not recursion: deeply nested trees (a long implicit string
    # concatenation, a huge literal) must not hit the interpreter's recursion limit.
    no_handlers: list[Handler] = []
    stack: list[tuple[int, cst.CSTNode, str]] = [(_VISIT, module, "")]
    push = stack.append
    while stack:
        what, node, attribute = stack.pop()
        node_type = type(node).__name__
        if what == _VISIT:
            for handler in visit.get(node_type, no_handlers):
                handler(node)
            push((_LEAVE, node, ""))
            if node_type in with_attributes:
                fields = _child_fields(node)  # fills _VISITED for this class
                visited = _VISITED[type(node)]
                for field in reversed(fields):
                    if field in visited:
                        push((_LEAVE_ATTRIBUTE, node, field))
                    stack.extend(
                        (_VISIT, child, "") for child in reversed(_field_nodes(node, field, trivia))
                    )
                    if field in visited:
                        push((_VISIT_ATTRIBUTE, node, field))
            else:
                stack.extend(
                    (_VISIT, child, "") for child in reversed(child_nodes(node, trivia=trivia))
                )
        elif what == _LEAVE:
            for handler in leave.get(node_type, no_handlers):
                handler(node)
        else:
            for handler in attributes.get((what, node_type, attribute), no_handlers):
                handler(node)


def _field_nodes(node: cst.CSTNode, field: str, trivia: bool) -> list[cst.CSTNode]:
    value = getattr(node, field)
    lowest = _TRIVIA if trivia else _NODE
    items = value if isinstance(value, (tuple, list)) else (value,)
    return [item for item in items if _kind(type(item)) >= lowest]


# ------------------------------------------------------------- a plain walk, no visitor classes

# Fields that only hold punctuation, whitespace and comments: never a name or a call.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "newline",
        "comma",
        "semicolon",
        "equal",
        "colon",
        "dot",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "operator",
        "asynchronous",
        "star_tok",
        "first_line",
        "empty_lines",
        "last_line",
    }
)
_CONTENT_FIELDS: dict[type, tuple[str, ...]] = {}


def _content_fields(cls: type) -> tuple[str, ...]:
    names = _CONTENT_FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _CONTENT_FIELDS[cls] = names
    return names


def walk(
    node: cst.CSTNode,
    enter: Callable[[cst.CSTNode], object],
    leave: Callable[[cst.CSTNode], object],
) -> None:
    """Visit ``node`` and its descendants in source order, without libcst's node rebuilding,
    calling ``enter`` and ``leave`` on each (the ownership pass of ``leaklint.model.lifecycle``).

    ``CSTNode.visit`` copies every node it passes, which made that pass cost more than parsing.
    Only fields that can hold names and calls are followed, and trivia (whitespace, comments,
    punctuation) is stepped over.
    """
    enter(node)
    for name in _content_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                if is_content_type(type(item)):
                    walk(item, enter, leave)
        elif is_content_type(kind):
            walk(value, enter, leave)
    leave(node)


def walk_visitor(node: cst.CSTNode, visitor: object) -> None:
    """``walk`` with ``visit_<Node>``/``leave_<Node>`` methods, as libcst visitors spell them."""

    def enter(n: cst.CSTNode) -> None:
        method = getattr(visitor, "visit_" + type(n).__name__, None)
        if method is not None:
            method(n)

    def leave(n: cst.CSTNode) -> None:
        method = getattr(visitor, "leave_" + type(n).__name__, None)
        if method is not None:
            method(n)

    walk(node, enter, leave)
