"""What the user configured: pytest's own config discovery and values (with their file and line),
``[tool.leaklint]`` settings, the pytest-asyncio version a project declares, and the edits that
rewrite a config file.

May import: ``leaklint.diagnostics`` and ``leaklint.python`` (never ``model``, ``rules``, ``run``,
``output``, ``fix`` or ``cli``). What these modules need from above, such as the known rule codes
or a recorder of probed paths, is passed in as a value.
"""
