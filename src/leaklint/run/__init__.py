"""Running the rules over a workspace: the engine (prefilter, one libcst walk per file, project
pass, suppressions), the worker pool, the findings cache and its folder, and the snapshot that
replays a run nothing has changed since.

May import: ``leaklint.rules``, ``leaklint.model``, ``leaklint.python``, ``leaklint.config`` and
``leaklint.diagnostics``. A replay (``snapshot``, ``cachedir``) loads neither libcst nor the rules.
"""
