"""Async resources that hold connections bound to the event loop that opened them.

One row per constructor (by qualified name) with the method that closes what it returns. Adding a
library is one line here; LL302 (global-async-resource) and LL303 (async-resource-not-closed) read
this table and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leaklint.source import ImportMap


@dataclass(frozen=True)
class AsyncResource:
    constructor: str  # qualified name of the call that opens it
    kind: str  # what it is, for messages: connection, pool, engine, client, session
    close: str  # the method that releases it
    awaited: bool = True  # ``await x.close()`` (True) or ``x.close()`` (False)
    other_closes: tuple[str, ...] = ()  # further methods that release it too

    @property
    def closes(self) -> tuple[str, ...]:
        return (self.close, *self.other_closes)

    def close_statement(self, name: str) -> str:
        call = f"{name}.{self.close}()"
        return f"await {call}" if self.awaited else call


_RESOURCES = (
    AsyncResource("aiosqlite.connect", "connection", "close"),
    AsyncResource("aiosqlite.core.connect", "connection", "close"),
    AsyncResource("asyncpg.connect", "connection", "close", other_closes=("terminate",)),
    AsyncResource("asyncpg.connection.connect", "connection", "close", other_closes=("terminate",)),
    AsyncResource("asyncpg.create_pool", "pool", "close", other_closes=("terminate",)),
    AsyncResource("asyncpg.pool.create_pool", "pool", "close", other_closes=("terminate",)),
    AsyncResource("sqlalchemy.ext.asyncio.create_async_engine", "engine", "dispose"),
    AsyncResource("sqlalchemy.ext.asyncio.engine.create_async_engine", "engine", "dispose"),
    AsyncResource("redis.asyncio.Redis", "client", "aclose", other_closes=("close",)),
    AsyncResource("redis.asyncio.client.Redis", "client", "aclose", other_closes=("close",)),
    AsyncResource("redis.asyncio.from_url", "client", "aclose", other_closes=("close",)),
    AsyncResource("redis.asyncio.Redis.from_url", "client", "aclose", other_closes=("close",)),
    AsyncResource(
        "redis.asyncio.client.Redis.from_url", "client", "aclose", other_closes=("close",)
    ),
    AsyncResource("httpx.AsyncClient", "client", "aclose"),
    AsyncResource("aiohttp.ClientSession", "session", "close"),
    AsyncResource("aiohttp.client.ClientSession", "session", "close"),
    AsyncResource("databases.Database", "database", "disconnect"),
    AsyncResource("motor.motor_asyncio.AsyncIOMotorClient", "client", "close", awaited=False),
)

RESOURCES: dict[str, AsyncResource] = {r.constructor: r for r in _RESOURCES}

# Any of these, called or handed over as a callback, counts as releasing a resource.
CLOSING_METHODS = frozenset({"wait_closed", *(name for r in _RESOURCES for name in r.closes)})

# Bytes a file must contain to open one of them (the engine's prefilter).
TOKENS = tuple(sorted({r.constructor.split(".")[0].encode() for r in _RESOURCES}))


def opened_resource(
    imports: ImportMap, value: cst.BaseExpression
) -> tuple[cst.Call, AsyncResource] | None:
    """The resource constructor call ``value`` is (``await`` around it allowed), if any."""
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return None
    qualified = imports.qualified_name(value.func)
    resource = RESOURCES.get(qualified) if qualified is not None else None
    return None if resource is None else (value, resource)
