"""Who owns a thread, executor or process, and is it ever joined, shut down or waited?

One pass over a file finds every constructor call of a tracked kind (``threading.Thread``,
``concurrent.futures.ThreadPoolExecutor``, ``subprocess.Popen``, a ``Thread`` subclass of the
file or of another project module, ...), follows the variable it is bound to (a local name,
``self.<attr>`` across the class, a list built by a comprehension or by ``append`` and the loop
variables that walk it), and records what is
done with it: the methods called on it, ``.daemon = ...``, ``with obj:``, and whether it
*escapes* (is returned, stored, passed to a call). Rules LL401-LL404 read the result; they never
walk the tree themselves.

Precision first: an object that escapes is someone else's to clean up and is never reported.
A pytest fixture that returns or yields what it started hands it to pytest, which stops nothing:
that is no escape, so the fixture itself must stop it (after ``yield``, or in a finalizer).
Uses inside nested functions count (``request.addfinalizer(t.join)``, a ``def fin(): t.join()``),
so do uses after ``yield`` in a fixture and in ``finally``: anywhere in the owning function.

What is tracked (``Kind``, ``Use``, ``Resource``) lives in ``leaklint.model.tracked``; the
classes and helpers that make such objects in ``leaklint.model.classes``; the messages and fixes
the rules build from a ``Resource`` in ``leaklint.rules.lifecycle_fixes``. Over 500 lines: the
walk is one visitor (``Analysis``) whose scopes, bindings and uses of each kind of statement
depend on one another; split by statement kind, each part would need the whole scope stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

import libcst as cst

from leaklint.model.classes import (
    PLAIN_BASES,
    Subclass,
    base_name,
    class_families,
    class_infos,
    find_subclasses,
    fresh_helpers,
    open_class_families,
    project_classes,
)
from leaklint.model.pytest_model import fixture_decorator
from leaklint.model.tracked import (
    EXECUTOR_CLASSES,
    GET_CONTEXT,
    OS_EXIT,
    POPEN_CLASSES,
    PROCESS_CLASSES,
    THREAD_CLASSES,
    Kind,
    Resource,
    Use,
    bool_literal,
    is_name,
)
from leaklint.python.source import SourceFile, dotted_name
from leaklint.python.walk import walk

if TYPE_CHECKING:
    from leaklint.model.project import Project

# --------------------------------------------------------------------------- the pass


@dataclass
class _Scope:
    node: cst.CSTNode
    is_class: bool = False
    self_name: str | None = None  # first parameter of a method
    owner: str = ""  # the class family a method's ``self.<attr>`` belongs to
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    uses: dict[str, list[Use]] = field(default_factory=dict)
    aliases: dict[str, set[str]] = field(default_factory=dict)  # loop variable -> collections
    resources: list[Resource] = field(default_factory=list)
    params: set[str] = field(default_factory=set)
    fixture: bool = False  # a pytest fixture: what it returns or yields goes to pytest
    exits: bool = False  # calls ``os._exit()``
    made: list[Resource] = field(default_factory=list)  # every constructor call in this scope
    # Objects that nested functions append to a list they do not bind (a closure variable),
    # with the "append" use: the function that binds the list follows them.
    closure_appends: list[tuple[Resource, Use]] = field(default_factory=list)


_NEUTRAL_PARENTS = (
    cst.Comparison,
    cst.ComparisonTarget,
    cst.BooleanOperation,
    cst.If,
    cst.While,
    cst.IfExp,
    cst.Assert,
    cst.Del,
)


class Analysis:
    """Walk a module once; ``resources`` holds every tracked constructor call afterwards."""

    def __init__(self, source: SourceFile, project: Project | None = None) -> None:
        assert source.module is not None
        self.source = source
        self.imports = source.imports
        infos = class_infos(source.module, source)
        self.external: Callable[[str], Subclass | None] | None = None
        if project is not None:
            classes = project_classes(project)
            self.external = lambda qualified: classes.lookup(qualified, source.path)
        self.subclasses = find_subclasses(infos, self.external)
        self.helpers = fresh_helpers(source.module, source)
        self.families = class_families(infos)
        self.open_families = open_class_families(infos, self.families)
        self.stack: list[cst.CSTNode] = []
        self.scopes: list[_Scope] = []
        self.resources: list[Resource] = []
        # ``self.<attr>`` of a class (and its subclasses in the file), keyed "family.attr".
        self.self_uses: dict[str, list[Use]] = {}
        self.self_resources: list[tuple[str, Resource]] = []
        self.foreign_attrs: set[str] = set()
        self.contexts: set[str] = set()  # names bound to multiprocessing.get_context(...)
        # ``<loop>.set_default_executor(...)`` calls in source order: (scope, receiver, call).
        self.default_executor_calls: list[tuple[_Scope, str, cst.Call]] = []

    # ---- generic bookkeeping ---------------------------------------------------------

    def on_visit(self, node: cst.CSTNode) -> None:
        kind = type(node)  # exact types: libcst node classes are final, and this is hot
        if kind is cst.Name:
            self._name(node)  # type: ignore[arg-type]
        elif kind is cst.Attribute:
            self._attribute(node)  # type: ignore[arg-type]
        elif kind is cst.Call:
            self._call(node)  # type: ignore[arg-type]
        elif kind is cst.FunctionDef:
            self._enter_function(node)  # type: ignore[arg-type]
        elif kind is cst.ClassDef:
            self.scopes.append(_Scope(node, is_class=True))
        elif kind is cst.Module:
            self.scopes.append(_Scope(node))
        elif kind is cst.Global or kind is cst.Nonlocal:
            for item in node.names:  # type: ignore[attr-defined]
                self.scopes[-1].globals.add(item.name.value)
        self.stack.append(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
        kind = type(original_node)
        if kind is cst.Module or kind is cst.FunctionDef or kind is cst.ClassDef:
            scope = self.scopes.pop()
            self._close_scope(scope)
        if kind is cst.Module:
            self._close_self_attrs()
            self._close_default_executors()

    def _enter_function(self, node: cst.FunctionDef) -> None:
        parent = self.scopes[-1] if self.scopes else None
        scope = _Scope(node)
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        if isinstance(params.star_arg, cst.Param):
            every.append(params.star_arg)
        if params.star_kwarg is not None:
            every.append(params.star_kwarg)
        scope.locals.update(p.name.value for p in every)
        scope.params.update(p.name.value for p in every)
        scope.fixture = fixture_decorator(node, self.imports) is not None
        positional = [*params.posonly_params, *params.params]
        if parent is not None and parent.is_class and positional:
            static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in node.decorators
            )
            if not static and isinstance(parent.node, cst.ClassDef):
                scope.self_name = positional[0].name.value
                name = parent.node.name.value
                scope.owner = self.families.get(name, name)
                if name not in self.families and any(
                    base_name(arg.value, self.source) not in PLAIN_BASES
                    for arg in parent.node.bases
                    if arg.keyword is None
                ):
                    self.open_families.add(name)
        self.scopes.append(scope)

    def _close_scope(self, scope: _Scope) -> None:
        for resource in scope.resources:
            if resource.name is None or resource.name.startswith("self."):
                continue
            if resource.name in scope.globals:
                resource.escaped = True
                continue
            uses = list(scope.uses.get(resource.name, ()))
            for alias, targets in scope.aliases.items():
                if resource.name in targets:
                    uses.extend(scope.uses.get(alias, ()))
            uses.extend(self._appended_to(resource, uses, scope))
            self._settle(resource, uses)
        for resource, append in scope.closure_appends:
            self._close_closure_append(resource, append, scope)
        if scope.exits:
            for resource in scope.made:
                resource.exits = True
        # Names this scope reads but does not bind belong to an enclosing function.
        parent = next((s for s in reversed(self.scopes) if not s.is_class), None)
        if parent is None or scope.is_class:
            return
        for name, uses in scope.uses.items():
            if name in scope.locals and name not in scope.globals:
                continue
            target = parent.uses.setdefault(name, [])
            for use in uses:
                use.nested = True
                target.append(use)

    def _appended_to(self, resource: Resource, uses: list[Use], scope: _Scope) -> list[Use]:
        """The uses of the local lists ``resource`` is appended to, and of their loop variables:
        ``threads.append(t)`` then ``for t in threads: t.join()`` joins it.

        A list this function does not bind, and that an enclosing function does (a closure
        variable, reached from a nested function or a nested class's method), is followed in
        the function that binds it, once that function's uses are all known."""
        found: list[Use] = []
        appends = [use for use in uses if use.kind == "append"]
        for use in appends:
            items = use.method
            if (
                resource.name
                and len(appends) == 1
                and items not in scope.locals
                and items not in scope.globals
            ):
                enclosing = self._enclosing_function()
                if enclosing is not None:
                    resource.collection = True
                    resource.name = items
                    enclosing.closure_appends.append((resource, use))
                    continue
            item_uses = scope.uses.get(items, [])
            # Only a list this function made: a parameter or a global list is someone else's.
            own = (
                items not in scope.params
                and items not in scope.globals
                and any(u.kind == "bind" for u in item_uses)
            )
            if not own or not resource.name:
                resource.escaped = True
                continue
            resource.collection = True
            resource.name = items
            found.extend(self._list_uses(items, use, scope))
        return found

    def _close_closure_append(self, resource: Resource, append: Use, scope: _Scope) -> None:
        """``resource`` was appended to ``append.method`` by a function nested in ``scope``:
        follow that list if ``scope`` made it, look further out if ``scope`` does not bind it,
        and count it handed off otherwise (a parameter, a global, not a new list)."""
        items = append.method
        if items in scope.globals:
            resource.escaped = True
            return
        if items not in scope.locals:
            enclosing = self._enclosing_function()
            if enclosing is None:
                resource.escaped = True
            else:
                enclosing.closure_appends.append((resource, append))
            return
        binds = [u for u in scope.uses.get(items, ()) if u.kind == "bind"]
        if items in scope.params or not binds or not all(_is_list(u.value) for u in binds):
            resource.escaped = True
            return
        self._settle(resource, self._list_uses(items, append, scope))

    def _list_uses(self, items: str, append: Use, scope: _Scope) -> list[Use]:
        """What ``scope`` does with the list ``items`` and with the loop variables that walk it.
        When the list holds exactly what ``append`` put in it (bound once to an empty list,
        that one append, not in a loop, and no other method called on it), ``items[0]`` and
        ``items[-1]`` are that object: what is done with them is done with it."""
        item_uses = [u for u in scope.uses.get(items, ()) if u.kind != "bind"]
        binds = [u for u in scope.uses.get(items, ()) if u.kind == "bind"]
        single = (
            not append.repeated
            and len(binds) == 1
            and _is_empty_list(binds[0].value)
            and [u.method for u in item_uses if u.kind == "call"] == ["append"]
        )
        found: list[Use] = []
        for use in item_uses:
            if (single or use.every) and use.kind == "item" and use.item:
                found.append(
                    Use(
                        use.item,
                        use.node,
                        use.method,
                        call=use.call,
                        value=use.value,
                        nested=use.nested,
                        repeated=use.repeated,
                    )
                )
            else:
                found.append(use)
        for alias, targets in scope.aliases.items():
            if items in targets:
                found.extend(scope.uses.get(alias, ()))
        return found

    def _enclosing_function(self) -> _Scope | None:
        """The nearest function around the scope being closed (classes between are skipped:
        their methods see the function's names, not the class body's)."""
        parent = next((s for s in reversed(self.scopes) if not s.is_class), None)
        if parent is None or not isinstance(parent.node, cst.FunctionDef):
            return None
        return parent

    def _close_self_attrs(self) -> None:
        for owner, resource in self.self_resources:
            assert resource.name is not None
            attr = resource.name.removeprefix("self.")
            uses = self.self_uses.get(f"{owner}.{attr}", [])
            # A class that assigns a thread or process to ``self.<attr>`` and starts it owns
            # it, whatever its bases (a Popen or executor, started when made, may be its base
            # class's to clean up).
            started = resource.kind in (Kind.THREAD, Kind.PROCESS) and (
                resource.started or any(u.kind == "call" and u.method == "start" for u in uses)
            )
            open_family = owner in self.open_families and not started
            if attr in self.foreign_attrs or open_family or not owner:
                resource.escaped = True
            self._settle(resource, uses)

    def _close_default_executors(self) -> None:
        """An executor given to ``set_default_executor`` belongs to the loop, unless the same
        function gives that loop another one later: the first is then never shut down."""
        calls = self.default_executor_calls
        for resource in self.resources:
            for use in resource.uses:
                if use.kind != "handoff" or use.method != "set_default_executor":
                    continue
                index = next((i for i, c in enumerate(calls) if c[2] is use.call), None)
                if index is None:
                    resource.escaped = True
                    continue
                scope, receiver, _ = calls[index]
                replaced = any(s is scope and r == receiver for s, r, _ in calls[index + 1 :])
                if not replaced:
                    resource.escaped = True

    def _settle(self, resource: Resource, uses: list[Use]) -> None:
        resource.uses.extend(uses)
        for use in uses:
            if use.kind == "escape" or (use.kind in ("item", "append") and not resource.collection):
                resource.escaped = True
            elif use.kind == "handoff" and use.method in ("return", "yield"):
                resource.handed = use.method
            elif use.method == "start" and use.kind == "call":
                resource.started = True
            elif use.kind == "store" and use.method == "daemon" and use.value is not None:
                resource.daemon = bool_literal(use.value)
            elif use.kind == "call" and use.method == "setDaemon" and use.call and use.call.args:
                resource.daemon = bool_literal(use.call.args[0].value)

    # ---- constructor calls -----------------------------------------------------------

    def _classify(self, call: cst.Call) -> tuple[Kind, str, bool | None, bool] | None:
        """(kind, label, daemon from the class, started on construction) of a constructor."""
        func = call.func
        qualified = self.imports.qualified_name(func)
        if qualified in THREAD_CLASSES:
            return Kind.THREAD, qualified, False, False
        if qualified in PROCESS_CLASSES:
            return Kind.PROCESS, qualified, False, False
        if qualified in EXECUTOR_CLASSES:
            return Kind.EXECUTOR, qualified, False, True
        if qualified in POPEN_CLASSES:
            return Kind.POPEN, qualified, False, True
        if isinstance(func, cst.Name) and func.value in self.subclasses and qualified is None:
            sub = self.subclasses[func.value]
            return sub.kind, func.value, sub.daemon, sub.self_start
        if isinstance(func, cst.Name) and func.value in self.helpers and qualified is None:
            return self.helpers[func.value], f"{func.value}()", False, True
        if qualified is not None and self.external is not None:
            found = self.external(qualified)
            if found is not None:
                label = dotted_name(func) or qualified
                self.subclasses.setdefault(label, found)
                return found.kind, label, found.daemon, found.self_start
        if isinstance(func, cst.Attribute) and func.attr.value in ("Pool", "Process"):
            base = func.value
            from_context = (isinstance(base, cst.Name) and base.value in self.contexts) or (
                isinstance(base, cst.Call)
                and self.imports.matches(base.func, GET_CONTEXT) is not None
            )
            if from_context:
                if func.attr.value == "Pool":
                    return Kind.EXECUTOR, "multiprocessing.Pool", False, True
                return Kind.PROCESS, "multiprocessing.Process", False, False
        return None

    def _call(self, call: cst.Call) -> None:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "set_default_executor":
            receiver = dotted_name(func.value) or ""
            self.default_executor_calls.append((self.scopes[-1], receiver, call))
        elif self.imports.matches(func, OS_EXIT) is not None:
            self.scopes[-1].exits = True
        if self.imports.matches(call.func, GET_CONTEXT) is not None:
            parent = self.stack[-1] if self.stack else None
            if isinstance(parent, cst.Assign):
                for target in parent.targets:
                    if isinstance(target.target, cst.Name):
                        self.contexts.add(target.target.value)
            return
        found = self._classify(call)
        if found is None:
            return
        kind, label, class_daemon, started = found
        resource = Resource(kind, call, label, started=started, daemon=class_daemon)
        resource.timer = label == "threading.Timer"
        # Timer() and the file's own subclasses may not take ``daemon=``.
        resource.accepts_daemon = label in ("threading.Thread", "multiprocessing.Process")
        if label in self.subclasses:
            resource.join_methods = self.subclasses[label].joiners | {"join"}
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "daemon":
                resource.daemon = bool_literal(arg.value)
            elif arg.star == "**":
                resource.daemon = None
        self.resources.append(resource)
        self.scopes[-1].made.append(resource)
        resource.expects_failure = self._expects_failure()
        self._bind(resource)

    def _bind(self, resource: Resource) -> None:
        call = resource.call
        stack = self.stack
        parent = stack[-1] if stack else None
        scope = self.scopes[-1]
        if isinstance(parent, cst.WithItem) and parent.item is call:
            resource.managed = True
            return
        if isinstance(parent, cst.Attribute) and parent.value is call:
            grand = stack[-2] if len(stack) > 1 else None
            if isinstance(grand, cst.Call) and grand.func is parent:
                # ``Thread(...).start()``: an object nobody else can reach.
                resource.uses.append(Use("call", call, parent.attr.value, call=grand))
                resource.started = resource.started or parent.attr.value == "start"
                return
            resource.escaped = True
            return
        if isinstance(parent, cst.Expr):
            return  # a bare constructor call: nothing keeps it
        if isinstance(parent, (cst.Return, cst.Yield)) and parent.value is call and scope.fixture:
            resource.handed = "return" if isinstance(parent, cst.Return) else "yield"
            return
        if isinstance(parent, cst.Arg) and parent.value is call and parent.keyword is None:
            grand = stack[-2] if len(stack) > 1 else None
            if _is_default_executor_call(grand):
                resource.uses.append(Use("handoff", call, "set_default_executor", call=grand))
                return
        container = parent
        depth = 1
        if isinstance(parent, cst.Element) and len(stack) > 2 and isinstance(stack[-2], cst.List):
            container, depth = stack[-2], 2
        listed = isinstance(container, cst.List) and container is not parent
        if listed or (isinstance(parent, cst.ListComp) and parent.elt is call):
            resource.collection = True
            owner = stack[-1 - depth] if len(stack) > depth else None
            target = _single_target(owner, container)
            if isinstance(target, cst.Name) and not scope.is_class:
                resource.name = target.value
                scope.resources.append(resource)
                return
            resource.escaped = True
            return
        target = _single_target(parent, call)
        if isinstance(target, cst.Name) and not scope.is_class:
            resource.name = target.value
            scope.resources.append(resource)
            statement = stack[-2] if len(stack) > 1 else None
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                resource.statement = statement
                block = stack[-3] if len(stack) > 2 else None
                if isinstance(block, (cst.IndentedBlock, cst.Module)):
                    resource.block = block
                    function = stack[-4] if len(stack) > 3 else None
                    resource.function_body = (
                        isinstance(function, cst.FunctionDef) and function.body is block
                    )
            return
        if isinstance(target, cst.Attribute) and self._is_self(target.value):
            resource.name = f"self.{target.attr.value}"
            self.self_resources.append((self.scopes[-1].owner, resource))
            return
        resource.escaped = True

    def _in_assert(self, depth: int) -> bool:
        """Whether the node whose parent is ``self.stack[-depth]`` is in an ``assert``."""
        for node in reversed(self.stack[: len(self.stack) - depth + 1]):
            if isinstance(node, cst.Assert):
                return True
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return False
        return False

    def _waits_while(self, index: int) -> bool:
        """Whether the call at ``self.stack[index]`` is a ``while`` loop's whole test, or one of
        its ``or`` operands: the loop ends only when the call is false."""
        node = self.stack[index] if index >= 0 else None
        index -= 1
        while index >= 0:
            outer = self.stack[index]
            if isinstance(outer, cst.BooleanOperation) and isinstance(outer.operator, cst.Or):
                node, index = outer, index - 1
                continue
            return isinstance(outer, cst.While) and outer.test is node
        return False

    def _in_loop(self) -> bool:
        """Inside a loop, in this function or around it (a nested function may be defined, or
        called, once per iteration)."""
        return any(isinstance(node, (cst.For, cst.While, cst.CompFor)) for node in self.stack)

    def _in_while(self) -> bool:
        for node in reversed(self.stack):
            if isinstance(node, cst.While):
                return True
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return False
        return False

    def _expects_failure(self) -> str:
        """Inside ``with pytest.raises(...)`` / ``self.assertRaises(...)``, or a ``try`` body."""
        stack = self.stack
        for index in range(len(stack) - 1, -1, -1):
            node = stack[index]
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return ""
            in_body = index + 1 < len(stack) and stack[index + 1] is getattr(node, "body", None)
            if isinstance(node, cst.Try) and in_body and node.handlers:
                return "try"
            if isinstance(node, cst.With):
                for item in node.items:
                    call = item.item
                    if not isinstance(call, cst.Call):
                        continue
                    name = self.imports.qualified_name(call.func) or dotted_name(call.func) or ""
                    if name == "pytest.raises" or name.rsplit(".", 1)[-1].startswith(
                        "assertRaises"
                    ):
                        return "raises"
        return ""

    def _is_self(self, expr: cst.BaseExpression) -> bool:
        scope = self.scopes[-1]
        return (
            scope.self_name is not None
            and isinstance(expr, cst.Name)
            and expr.value == scope.self_name
        )

    # ---- uses --------------------------------------------------------------------------

    def _use(self, ref: cst.BaseExpression, depth: int) -> Use:
        """What the code does with ``ref``, whose parent is ``self.stack[-depth]``."""
        stack = self.stack
        parent = stack[-depth] if len(stack) >= depth else None
        grand = stack[-depth - 1] if len(stack) > depth else None
        if isinstance(parent, cst.Attribute) and parent.value is ref:
            method = parent.attr.value
            popped = stack[-depth - 2] if len(stack) > depth + 1 else None
            if (
                method == "pop"
                and isinstance(grand, cst.Call)
                and grand.func is parent
                and isinstance(popped, cst.Attribute)
                and popped.value is grand
            ):
                # ``items.pop().join()`` acts on one item; in a ``while`` loop, on each.
                return self._item_use(ref, grand, depth + 2, every=self._in_while())
            if isinstance(grand, cst.Call) and grand.func is parent:
                if method == "is_alive" and self._waits_while(len(self.stack) - depth - 1):
                    # ``while t.is_alive(): ...`` goes on only once the thread has ended.
                    return Use("call", ref, "join", call=grand, repeated=True)
                repeated = method == "join" and self._in_while()
                return Use("call", ref, method, call=grand, repeated=repeated)
            if isinstance(grand, cst.AssignTarget) and grand.target is parent:
                great = stack[-depth - 2] if len(stack) > depth + 1 else None
                value = great.value if isinstance(great, cst.Assign) else None
                return Use("store", ref, method, value=value)
            if method == "pid" and self._in_assert(depth):
                return Use("neutral", ref, "pid")  # read, not handed to os.waitpid/os.kill
            return Use("ref", ref, method)
        if isinstance(parent, (cst.Return, cst.Yield)) and parent.value is ref:
            if self.scopes[-1].fixture:
                return Use("handoff", ref, "return" if isinstance(parent, cst.Return) else "yield")
            return Use("escape", ref)
        if isinstance(parent, cst.Arg) and parent.value is ref and parent.keyword is None:
            if _is_default_executor_call(grand):
                return Use("handoff", ref, "set_default_executor", call=grand)
            if isinstance(grand, cst.Call) and _is_name_in(grand.func, _READERS):
                return Use("neutral", ref)  # ``len(threads)``: looks, keeps nothing
            if (
                isinstance(grand, cst.Call)
                and len(grand.args) == 1
                and isinstance(grand.func, cst.Attribute)
                and grand.func.attr.value == "append"
                and isinstance(grand.func.value, cst.Name)
            ):
                return Use("append", ref, grand.func.value.value, repeated=self._in_loop())
        if isinstance(parent, cst.Subscript) and parent.value is ref:
            # ``threads[0].join()`` acts on one item, not on the list; anything else may let
            # the item out.
            if isinstance(grand, cst.Attribute) and grand.value is parent:
                if not _end_index(parent):
                    return Use("item", ref)
                return self._item_use(ref, parent, depth + 1)
            return Use("escape", ref)
        if isinstance(parent, cst.WithItem) and parent.item is ref:
            return Use("with", ref)
        if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is ref:
            owner = grand if isinstance(parent, cst.AssignTarget) else parent
            bound = owner.value if isinstance(owner, (cst.Assign, cst.AnnAssign)) else None
            return Use("bind", ref, value=bound)
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return Use("neutral", ref)
        if isinstance(parent, _NEUTRAL_PARENTS):
            return Use("neutral", ref)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is ref:
            if isinstance(parent.target, cst.Name):
                return Use("iter", ref, parent.target.value)
            return Use("escape", ref)
        return Use("escape", ref)

    def _item_use(
        self, ref: cst.BaseExpression, item: cst.BaseExpression, depth: int, every: bool = False
    ) -> Use:
        """An "item" use of the list ``ref``: what is done with ``item`` (one of its items,
        whose parent is ``self.stack[-depth]``)."""
        of_item = self._use(item, depth)
        return Use(
            "item",
            ref,
            of_item.method,
            call=of_item.call,
            value=of_item.value,
            # Each turn of the ``while`` loop pops another item: no repeated join of one.
            repeated=of_item.repeated and not every,
            item=of_item.kind,
            every=every,
        )

    def _name(self, node: cst.Name) -> None:
        parent = self.stack[-1] if self.stack else None
        if _is_declaration(node, parent):
            return
        scope = self.scopes[-1]
        if _is_store(node, parent):
            scope.locals.add(node.value)
            if isinstance(parent, (cst.For, cst.CompFor, cst.AsName)):
                return
        use = self._use(node, 1)
        if use.kind == "iter":
            scope.aliases.setdefault(use.method, set()).add(node.value)
            return
        scope.uses.setdefault(node.value, []).append(use)

    def _attribute(self, node: cst.Attribute) -> None:
        if not isinstance(node.value, cst.Name):
            self.foreign_attrs.add(node.attr.value)
            return
        if not self._is_self(node.value):
            self.foreign_attrs.add(node.attr.value)
            return
        use = self._use(node, 1)
        key = f"{self.scopes[-1].owner}.{node.attr.value}"
        self.self_uses.setdefault(key, []).append(use)


# Builtins that look at a list of objects and keep nothing of it. (Not ``repr(proc)``: code
# that shows an object is often code that mocks it.)
_READERS = frozenset({"len"})


def _end_index(subscript: cst.Subscript) -> bool:
    """``items[0]`` or ``items[-1]``: the one item of a list that holds one."""
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    if not isinstance(index, cst.Index) or index.star is not None:
        return False
    value = index.value
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        return isinstance(value.expression, cst.Integer) and value.expression.value == "1"
    return isinstance(value, cst.Integer) and value.value == "0"


def _is_empty_list(expr: cst.BaseExpression | None) -> bool:
    """``[]`` or ``list()``."""
    if isinstance(expr, cst.List):
        return not expr.elements
    return isinstance(expr, cst.Call) and is_name(expr.func, "list") and not expr.args


def _is_list(expr: cst.BaseExpression | None) -> bool:
    """A new list: a literal, a comprehension or ``list(...)``."""
    if isinstance(expr, (cst.List, cst.ListComp)):
        return True
    return isinstance(expr, cst.Call) and is_name(expr.func, "list")


def _is_name_in(expr: cst.BaseExpression, names: frozenset[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in names


def _is_default_executor_call(node: cst.CSTNode | None) -> TypeGuard[cst.Call]:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "set_default_executor"
    )


def _single_target(
    owner: cst.CSTNode | None, value: cst.CSTNode | None
) -> cst.BaseExpression | None:
    if isinstance(owner, cst.Assign) and owner.value is value and len(owner.targets) == 1:
        return owner.targets[0].target
    if isinstance(owner, cst.AnnAssign) and owner.value is value:
        return owner.target
    return None


def _is_declaration(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    """A name that is not a variable reference: attribute, keyword, def name, import..."""
    if isinstance(parent, cst.Attribute):
        return parent.attr is node
    if isinstance(parent, cst.Arg):
        return parent.keyword is node
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
        return parent.name is node
    return isinstance(parent, (cst.Param, cst.ImportAlias, cst.NameItem, cst.ImportFrom))


def _is_store(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign)):
        return parent.target is node
    if isinstance(parent, (cst.For, cst.CompFor, cst.NamedExpr)):
        return parent.target is node
    return isinstance(parent, (cst.AsName, cst.MatchAs))


_last: tuple[cst.Module, list[Resource]] | None = None


def resources(source: SourceFile, project: Project | None = None) -> list[Resource]:
    """Every tracked constructor call of ``source``; computed once per file for all rules.
    With ``project``, Thread and Process subclasses of the project's other modules count."""
    global _last
    assert source.module is not None
    if _last is not None and _last[0] is source.module:
        return _last[1]
    analysis = Analysis(source, project)
    try:
        walk(source.module, analysis.on_visit, analysis.on_leave)
        found = analysis.resources
    except RecursionError:
        found = []  # nesting deeper than the walk can follow: claim nothing about the file
    _last = (source.module, found)
    return found


def resources_of(
    source: SourceFile, kinds: Sequence[Kind], project: Project | None = None
) -> list[Resource]:
    return [r for r in resources(source, project) if r.kind in kinds]
