"""A pytest plugin (``-p record_loops``) that records which event loop each test and each
async fixture of the project really ran on, and every loop ``ScopeMismatch``.

Loops are numbered in the order they are first seen (and kept alive, so that no two loops ever
share an ``id``). Fixtures are named ``path::qualname`` (path relative to the rootdir), as the
differential test names leaklint's. At the end of the session the record is written as JSON to
the file named by ``LEAKLINT_LOOP_RECORD``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from _pytest.fixtures import FixtureRequest, resolve_fixture_function

_LOOPS: dict[int, int] = {}
_KEPT: list[asyncio.AbstractEventLoop] = []
_FIXTURE_LOOP: dict[int, int | None] = {}  # id(FixtureDef) -> loop number of its latest setup
_FIXTURE_PLAIN: dict[int, bool] = {}
_TEST_LOOP: dict[str, int | None] = {}
_RECORD: dict[str, Any] = {"tests": [], "fixtures": {}, "mismatches": [], "errors": []}
_PLAIN = (str, bytes, int, float, bool, type(None))


def _runner() -> str:
    """The plugin whose runner drives the running coroutine: the innermost frame of the
    real stack (a coroutine's first step runs under the ``run`` call that started its loop)
    that belongs to ``pytest_asyncio`` or to another plugin (``anyio``)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        for plugin in ("pytest_asyncio", "anyio"):
            if module == plugin or module.startswith(plugin + "."):
                return plugin
        frame = frame.f_back  # type: ignore[assignment]
    return "other"


def _loop_number() -> int | None:
    """The number of the running loop, or None when pytest-asyncio does not run it (an
    ``anyio`` test or fixture): the loop map only speaks of pytest-asyncio's loops."""
    if _runner() != "pytest_asyncio":
        return None
    loop = asyncio.get_running_loop()
    number = _LOOPS.get(id(loop))
    if number is None:
        number = _LOOPS[id(loop)] = len(_LOOPS) + 1
        _KEPT.append(loop)
    return number


def _plain(value: object, depth: int = 0) -> bool:
    """Plain data as LL202 means it: strings, numbers, and lists, tuples or sets of them (a
    dict is a mutable holder, not plain data)."""
    if isinstance(value, _PLAIN):
        return True
    if depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        return all(_plain(v, depth + 1) for v in value)
    return False


def _running(loop: asyncio.AbstractEventLoop) -> tuple[int, int, int]:
    """What keeps work on ``loop``: tasks, timers, watched sockets (servers)."""
    selector = getattr(loop, "_selector", None)
    watched = len(selector.get_map()) if selector is not None else 0
    return len(asyncio.all_tasks(loop)), len(getattr(loop, "_scheduled", ())), watched


def _root(config: pytest.Config) -> Path:
    return Path(str(config.rootpath)).resolve()


def _where(obj: object, root: Path) -> tuple[str, int, int] | None:
    """(path relative to the rootdir, first line, last line) of a function of the project."""
    func = inspect.unwrap(getattr(obj, "__func__", obj))  # type: ignore[arg-type]
    try:
        path = Path(inspect.getsourcefile(func) or "").resolve()
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None
    if not path.is_relative_to(root):
        return None
    return path.relative_to(root).as_posix(), first, first + len(lines) - 1


def fixture_key(fixturedef: Any, root: Path) -> str | None:
    func = getattr(fixturedef.func, "__func__", fixturedef.func)
    where = _where(func, root)
    return None if where is None else f"{where[0]}::{func.__qualname__}"


def _recording(fixturedef: Any, target: Any, source: Any) -> Any:
    """``target`` (the bound fixture function), noting the loop it runs on and its value."""
    key = id(fixturedef)

    def note(value: object, before: tuple[int, int, int]) -> None:
        after = _running(asyncio.get_running_loop())
        _FIXTURE_PLAIN[key] = _plain(value) and all(
            a <= b for a, b in zip(after, before, strict=True)
        )

    if inspect.isasyncgenfunction(source):

        async def generator(*args: Any, **kwargs: Any) -> Any:
            _FIXTURE_LOOP[key] = _loop_number()
            before = _running(asyncio.get_running_loop())
            async for value in target(*args, **kwargs):
                note(value, before)
                yield value

        wrapper: Any = generator
    else:

        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            _FIXTURE_LOOP[key] = _loop_number()
            before = _running(asyncio.get_running_loop())
            value = await target(*args, **kwargs)
            note(value, before)
            return value

        wrapper = coroutine
    functools.update_wrapper(wrapper, target, updated=())
    for attribute in ("_force_asyncio_fixture", "_loop_scope"):
        if hasattr(source, attribute):
            setattr(wrapper, attribute, getattr(source, attribute))
    return wrapper


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Any:
    root = _root(request.config)
    original = fixturedef.func
    source = getattr(original, "__func__", original)
    key = fixture_key(fixturedef, root)
    _FIXTURE_LOOP.pop(id(fixturedef), None)
    if key is not None and (
        inspect.iscoroutinefunction(source) or inspect.isasyncgenfunction(source)
    ):
        target = resolve_fixture_function(fixturedef, request)
        fixturedef.func = _recording(fixturedef, target, source)
    try:
        return (yield)
    except BaseException as exc:
        text = str(exc)
        if (
            key is not None
            and "ScopeMismatch" in text
            and "_scoped_runner" in text
            and not getattr(exc, "_loop_recorded", False)
        ):
            exc._loop_recorded = True  # type: ignore[attr-defined]
            _RECORD["mismatches"].append(key)
        raise
    finally:
        fixturedef.func = original


_DYNAMIC: dict[object, list[Any]] = defaultdict(list)  # requester -> fixtures asked by value
_getfixturevalue = FixtureRequest.getfixturevalue


def _recorded_getfixturevalue(self: Any, argname: str) -> Any:
    value = _getfixturevalue(self, argname)
    caller = str(sys._getframe(1).f_globals.get("__name__", ""))
    fixturedef = self._fixture_defs.get(argname)
    if fixturedef is not None and not caller.startswith(("_pytest", "pytest_asyncio")):
        owner = getattr(self, "_fixturedef", None)
        requester = id(owner) if owner is not None else self._pyfuncitem.nodeid
        _DYNAMIC[requester].append(fixturedef)
    return value


FixtureRequest.getfixturevalue = _recorded_getfixturevalue  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: Any) -> Any:
    obj = getattr(item, "obj", None)
    if inspect.iscoroutinefunction(obj):
        nodeid = item.nodeid

        @functools.wraps(obj)
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            _TEST_LOOP[nodeid] = _loop_number()
            return await obj(*args, **kwargs)

        item.obj = recorded
    return (yield)


def _in_use(item: Any) -> list[Any]:
    """The fixture definitions the test set up: its closure as pytest resolves it (a fixture
    that requests its own name gets the one before it), and names asked for by value."""
    info = item._fixtureinfo
    found: list[Any] = []

    def add(fixturedef: Any) -> None:
        if all(f is not fixturedef for f in found):
            found.append(fixturedef)

    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name, ())
        index = len(defs) - 1
        while index >= 0:
            add(defs[index])
            if name not in defs[index].argnames:
                break
            index -= 1
    request = getattr(item, "_request", None)
    for fixturedef in getattr(request, "_fixture_defs", {}).values():
        add(fixturedef)
    return [f for f in found if f.cached_result is not None]


def _dependencies(item: Any, fixturedef: Any, root: Path) -> list[str]:
    info = item._fixtureinfo
    keys: list[str] = []
    for asked in _DYNAMIC.get(id(fixturedef), ()):
        key = fixture_key(asked, root)
        if key is not None:
            keys.append(key)
    for name in fixturedef.argnames:
        defs = list(info.name2fixturedefs.get(name, ()))
        if name == fixturedef.argname and fixturedef in defs:
            defs = defs[: defs.index(fixturedef)]
        if defs:
            key = fixture_key(defs[-1], root)
            if key is not None:
                keys.append(key)
    return keys


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> Any:
    root = _root(item.config)
    fixtures = []
    for fixturedef in _in_use(item):
        key = fixture_key(fixturedef, root)
        if key is None:
            continue
        fixtures.append(
            {
                "key": key,
                "loop": _FIXTURE_LOOP.get(id(fixturedef)),
                "plain": _FIXTURE_PLAIN.get(id(fixturedef), False),
                "dependencies": _dependencies(item, fixturedef, root),
            }
        )
    function = getattr(item, "function", None)
    where = None if function is None else _where(function, root)
    requests = []
    for name in item._fixtureinfo.initialnames:
        defs = item._fixtureinfo.name2fixturedefs.get(name, ())
        key = fixture_key(defs[-1], root) if defs else None
        if key is not None:
            requests.append(key)
    for fixturedef in _DYNAMIC.get(item.nodeid, ()):  # ``request.getfixturevalue`` in the test
        key = fixture_key(fixturedef, root)
        if key is not None:
            requests.append(key)
    _RECORD["tests"].append(
        {
            "node_id": item.nodeid,
            "requests": requests,
            "loop": _TEST_LOOP.get(item.nodeid),
            "async": inspect.iscoroutinefunction(getattr(function, "__func__", function)),
            "where": where,
            "fixtures": fixtures,
        }
    )
    return (yield)


def pytest_collection_finish(session: pytest.Session) -> None:
    root = _root(session.config)
    for fixturedef in session._fixturemanager._get_all_fixture_defs():
        if True:
            key = fixture_key(fixturedef, root)
            where = _where(fixturedef.func, root)
            if key is not None and where is not None:
                _RECORD["fixtures"][key] = {"path": where[0], "lines": [where[1], where[2]]}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and report.when == "setup":
        _RECORD["errors"].append({"node_id": report.nodeid, "text": str(report.longrepr)})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _RECORD["errors"].append({"node_id": report.nodeid, "text": str(report.longrepr)})


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("LEAKLINT_LOOP_RECORD")
    if target:
        Path(target).write_text(json.dumps(_RECORD, indent=1), encoding="utf-8")
