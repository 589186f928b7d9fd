"""``sarif``: SARIF 2.1.0, one run, for GitHub code scanning and other SARIF viewers.

``tool.driver.rules`` holds every rule selected for the run, documented from its docstring.
Result locations are relative to the project root (``uriBaseId: %SRCROOT%``); columns count
Unicode code points (``columnKind``), like every other leaklint format. Each result carries a
``primaryLocationLineHash`` built from the code, the relative path and the stripped source line,
so a finding keeps its fingerprint when lines above it move.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from leaklint.diagnostics import Diagnostic, Edit, Location, Severity

if TYPE_CHECKING:
    from leaklint.output.reporters.context import ReportContext
    from leaklint.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _rule_descriptor(rule: type[Rule]) -> dict[str, object]:
    from leaklint.output.docs import rule_text  # the rules load only when SARIF is asked for

    docs = rule_text(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": docs},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {
            "enabled": rule.default_enabled,
            "level": _level(rule.severity),
        },
        "properties": {"fix": rule.fix_availability.value},
    }


def _artifact(path: Path, ctx: ReportContext) -> dict[str, str]:
    try:
        relative = path.relative_to(ctx.root).as_posix()
    except ValueError:
        return {"uri": path.absolute().as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _region(start: Location, end: Location) -> dict[str, int]:
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column,
    }


def _fingerprint(diagnostic: Diagnostic, ctx: ReportContext) -> str:
    line = ctx.source_line(diagnostic.path, diagnostic.location.row) or ""
    key = "\0".join((diagnostic.code, ctx.root_relative(diagnostic.path), line.strip()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _fixes(diagnostic: Diagnostic, ctx: ReportContext) -> list[dict[str, object]]:
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return []
    by_file: dict[Path, list[Edit]] = {}
    for edit in fix.edits:
        by_file.setdefault(edit.path, []).append(edit)
    return [
        {
            "description": {"text": f"{fix.message} ({fix.applicability.value} fix)"},
            "artifactChanges": [
                {
                    "artifactLocation": _artifact(path, ctx),
                    "replacements": [
                        {
                            "deletedRegion": _region(edit.start, edit.end),
                            "insertedContent": {"text": edit.content},
                        }
                        for edit in edits
                    ],
                }
                for path, edits in by_file.items()
            ],
        }
    ]


def render_sarif(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    from leaklint.rules.base import get_rule

    rules = list(ctx.rules)
    index = {rule.code: i for i, rule in enumerate(rules)}
    for diagnostic in diagnostics:  # a finding from a rule the caller did not list
        if diagnostic.code not in index:
            extra = get_rule(diagnostic.code)
            if extra is not None:
                index[extra.code] = len(rules)
                rules.append(extra)
    seen: dict[str, int] = {}
    results: list[dict[str, object]] = []
    for diagnostic in diagnostics:
        digest = _fingerprint(diagnostic, ctx)
        seen[digest] = seen.get(digest, 0) + 1
        message = diagnostic.message
        if diagnostic.help_text:
            message += f"\nhelp: {diagnostic.help_text}"
        result: dict[str, object] = {
            "ruleId": diagnostic.code,
            "level": _level(diagnostic.severity),
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(diagnostic.path, ctx),
                        "region": _region(diagnostic.location, diagnostic.end_location),
                    }
                }
            ],
            "partialFingerprints": {"primaryLocationLineHash": f"{digest}:{seen[digest]}"},
        }
        if diagnostic.code in index:
            result["ruleIndex"] = index[diagnostic.code]
        fixes = _fixes(diagnostic, ctx)
        if fixes:
            result["fixes"] = fixes
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "leaklint",
                        "version": ctx.version,
                        "rules": [_rule_descriptor(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": ctx.root.absolute().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
