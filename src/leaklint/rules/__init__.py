"""The rules: ``base`` (the ``Rule`` classes, registry and selection), one module per rule (or
small family), each registering its class with ``@register``, and what several rules share:
``async_context`` (where code runs relative to an event loop), ``suppress`` (``# leaklint:``
comments) and ``_asyncio_fixture_fix``.

May import: ``leaklint.model``, ``leaklint.python``, ``leaklint.config`` and
``leaklint.diagnostics``; never ``run``, ``output``, ``fix`` or ``cli``. Rules see the Project and
one source file; they never print or write.
"""
