"""Lint whole real trees (the running Python's standard library, the environment's
site-packages) with every rule, and fail on any internal error.

    python scripts/lint_trees.py            # stdlib and site-packages
    python scripts/lint_trees.py PATH...    # other trees

Prints, per tree: files seen, files parsed, findings per rule, LL001 count, internal errors and
wall time. Exit 1 when any internal error occurred. Findings are expected on real code; this
checks that leaklint survives it, not that the code is clean.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from leaklint.model.workspace import Workspace
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint_all


def default_trees() -> list[Path]:
    paths = sysconfig.get_paths()
    trees = [Path(paths["stdlib"]), Path(paths["purelib"])]
    return [tree for tree in trees if tree.is_dir()]


def lint_tree(tree: Path) -> int:
    started = time.perf_counter()
    workspace = Workspace.load([tree])
    result = lint_all(workspace.projects, RuleSelection(select=("ALL",)).rules())
    elapsed = time.perf_counter() - started
    by_rule = Counter(d.code for d in result.diagnostics)
    print(f"== {tree}")
    print(
        f"files: {result.files_checked}  parsed: {result.files_parsed}  "
        f"findings: {len(result.diagnostics)}  LL001: {by_rule.get('LL001', 0)}  "
        f"internal errors: {len(result.internal_errors)}  skipped: {len(result.warnings)}  "
        f"time: {elapsed:.1f} s"
    )
    for code, count in sorted(by_rule.items()):
        print(f"  {code}: {count}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    for error in result.internal_errors:
        print(f"  INTERNAL ERROR: {error}")
    return len(result.internal_errors)


def main(argv: list[str]) -> int:
    trees = [Path(arg) for arg in argv] or default_trees()
    errors = sum(lint_tree(tree) for tree in trees)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
