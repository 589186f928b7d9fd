"""Applying fixes: atomic writes, re-parsing and re-linting until the tree is stable, diffs.

May import: ``leaklint.run`` (to lint again after each round), ``leaklint.rules`` and everything
below them; never ``output`` or ``cli``.
"""
