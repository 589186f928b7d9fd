"""One Python file: its source and libcst tree, the walk over it, positions, the import map
that turns names into qualified names, edits that keep the file's layout, and what CPython's
``ast`` says of it (``ast_facts``: the calls, decorators and bases the candidate stage asks
about before libcst parses the file), and whole-word searches of its bytes (``words``).

May import: ``leaklint.diagnostics`` only. Nothing here knows about pytest.
"""
