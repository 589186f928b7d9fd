"""What leaklint knows about the code under test: the workspace of pytest projects, what pytest
collects from a file, the fixture graph, the event loops tests and fixtures run on, and the
lifetimes of threads, processes, executors and async resources.

May import: ``leaklint.python``, ``leaklint.config`` and ``leaklint.diagnostics``. Rules build on
this package; it never imports them.
"""
