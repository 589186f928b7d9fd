"""Lint trees with and without the candidate stage (CPython's ``ast`` before libcst) and fail
when any finding differs.

    python scripts/compare_candidates.py PATH...
    python scripts/compare_candidates.py --corpus     # every sdist of the real-world corpus

Each tree is linted as the command line would (its pytest projects, default rules or
``--select``), once with the stage and once without it, without the findings cache. Prints per
tree: files seen, files parsed by libcst each way, findings, and wall time each way. Exit 1 when
the findings or internal errors of any tree differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from leaklint.model.workspace import Workspace
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import LintResult, lint_all

CORPUS = Path.home() / ".cache" / "leaklint-corpus" / "src"  # where the corpus extracts


def run(tree: Path, rules: RuleSelection, candidates: bool) -> tuple[LintResult, float]:
    start = time.perf_counter()
    workspace = Workspace.load([tree])
    result = lint_all(workspace.projects, rules.rules(), candidates=candidates)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--corpus", action="store_true", help=f"every folder in {CORPUS}")
    parser.add_argument("--select", help="rule codes or prefixes, comma-separated")
    args = parser.parse_args()
    trees = list(args.paths)
    if args.corpus:
        trees += sorted(p for p in CORPUS.iterdir() if p.is_dir())
    if not trees:
        parser.error("no tree: give paths or --corpus")
    rules = RuleSelection(select=tuple(args.select.split(",")) if args.select else None)
    differ = 0
    print("tree | files | parsed with / without | findings | s with / without | same")
    for tree in trees:
        on, on_s = run(tree, rules, candidates=True)
        off, off_s = run(tree, rules, candidates=False)
        same = (on.diagnostics, on.internal_errors) == (off.diagnostics, off.internal_errors)
        differ += not same
        print(
            f"{tree.name} | {on.files_checked} | {on.files_parsed} / {off.files_parsed} | "
            f"{len(on.diagnostics)} | {on_s:.1f} / {off_s:.1f} | {'yes' if same else 'NO'}",
            flush=True,
        )
        if not same:
            for d in sorted(set(off.diagnostics) ^ set(on.diagnostics), key=str):
                side = "only without" if d in off.diagnostics else "only with"
                print(f"  {side}: {d.path}:{d.location.row} {d.code} {d.message}")
    print(f"{len(trees) - differ} of {len(trees)} trees identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
