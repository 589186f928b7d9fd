"""One Python file: its source and libcst tree, the walk over it, positions, the import map
that turns names into qualified names, and edits that keep the file's layout.

May import: ``leaklint.diagnostics`` only. Nothing here knows about pytest.
"""
