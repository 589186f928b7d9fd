"""Every output format over one fixture project, as snapshots; JSON and SARIF checked against
schemas; GitHub annotations checked for escaping.

Snapshots live in ``tests/snapshots/``; after an intended change, rewrite them with
``LEAKLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_output.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from harness import FIXTURES

from leaklint import __version__
from leaklint.cli import main
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from leaklint.output.reporters import REPORTERS, ReportContext
from leaklint.output.reporters.github import annotation, escape_data, escape_property
from leaklint.output.reporters.sarif import render_sarif
from leaklint.rules.base import get_rule

PROJECT = FIXTURES / "output" / "reported_project"
DATA = Path(__file__).parent / "data"
SNAPSHOTS = Path(__file__).parent / "snapshots"
SELECT = "LL001,LL003,LL401"  # LL401 needs the broken files: LL001 is about them
FORMATS = sorted(REPORTERS)
SUFFIX = {"json": "json", "sarif": "json", "json-lines": "jsonl"}


def run_check(*args: str, cwd: Path = PROJECT) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["check", "--select", SELECT, *args])
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def redact(text: str) -> str:
    text = text.replace(PROJECT.absolute().as_uri(), "file:///<project>")
    text = text.replace(str(PROJECT.absolute()), "<project>")
    return text.replace(f'"{__version__}"', '"<version>"')


@pytest.mark.parametrize("output_format", FORMATS)
def test_snapshot(output_format: str) -> None:
    code, out, _ = run_check("--output-format", output_format)
    assert code == 1
    snapshot = SNAPSHOTS / f"{output_format}.{SUFFIX.get(output_format, 'txt')}"
    got = redact(out)
    if os.environ.get("LEAKLINT_UPDATE_SNAPSHOTS"):
        snapshot.write_text(got, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot {snapshot.name}: run with LEAKLINT_UPDATE_SNAPSHOTS=1"
    assert got == snapshot.read_text(encoding="utf-8")


def test_json_matches_schema() -> None:
    _, out, _ = run_check("--output-format", "json")
    document = json.loads(out)
    schema = json.loads((DATA / "leaklint-json.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert {d["code"] for d in document} == {"LL001", "LL003"}
    fixed = [d for d in document if d["fix"] is not None]
    assert fixed and all(d["fix"]["applicability"] == "safe" for d in fixed)


def test_json_lines_carry_the_json_objects() -> None:
    _, whole, _ = run_check("--output-format", "json")
    _, lines, _ = run_check("--output-format", "json-lines")
    assert [json.loads(line) for line in lines.splitlines()] == json.loads(whole)


def sarif_schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA / "sarif-2.1.0-subset.schema.json").read_text())
    return loaded


def test_sarif_matches_schema_and_code_scanning_needs() -> None:
    _, out, _ = run_check("--output-format", "sarif")
    document = json.loads(out)
    jsonschema.validate(
        document, sarif_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["LL001", "LL003", "LL401"]
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert "## What it does" in rule["fullDescription"]["text"]
        assert rule["help"]["text"] == rule["fullDescription"]["text"]
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    assert rules[1]["defaultConfiguration"]["level"] == "warning"
    uris = set()
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        uris.add(uri)
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith("/") and "://" not in uri
        region = location["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)
        assert re.fullmatch(
            r"[0-9a-f]{32}:\d+", result["partialFingerprints"]["primaryLocationLineHash"]
        )
    # Relative to the project root, the space percent-encoded.
    assert "sub%20dir/test_spaced.py" in uris
    assert "test_broken.py" in uris


def test_sarif_fingerprint_ignores_line_moves(tmp_path: Path) -> None:
    def fingerprint(text: str, line: str = "def test_x(:") -> str:
        (tmp_path / "test_x.py").write_text(text)
        rule = get_rule("LL001")
        assert rule is not None
        row = text.splitlines().index(line) + 1
        diagnostic = rule.diagnostic(
            message="syntax error", path=tmp_path / "test_x.py", start=Location(row, 12)
        )
        ctx = ReportContext(
            cwd=tmp_path,
            root=tmp_path,
            lines=lambda p: p.read_text().splitlines(),
            rules=[rule],
        )
        result = json.loads(render_sarif([diagnostic], ctx))["runs"][0]["results"][0]
        value: str = result["partialFingerprints"]["primaryLocationLineHash"]
        return value

    first = fingerprint("def test_x(:\n    pass\n")
    moved = fingerprint("import os\n\n\ndef test_x(:\n    pass\n")
    assert first == moved
    assert fingerprint("def test_y(:\n", line="def test_y(:") != first


def test_sarif_sees_equal_lines_as_distinct(tmp_path: Path) -> None:
    rule = get_rule("LL001")
    assert rule is not None
    path = tmp_path / "test_x.py"
    path.write_text("x(\nx(\n")
    diagnostics = [
        rule.diagnostic(message="m", path=path, start=Location(row, 1)) for row in (1, 2)
    ]
    ctx = ReportContext(
        cwd=tmp_path, root=tmp_path, lines=lambda p: p.read_text().splitlines(), rules=[rule]
    )
    results = json.loads(render_sarif(diagnostics, ctx))["runs"][0]["results"]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert hashes[0].endswith(":1") and hashes[1].endswith(":2")
    assert hashes[0].split(":")[0] == hashes[1].split(":")[0]


def test_sarif_carries_fix_edits() -> None:
    _, out, _ = run_check("--output-format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    partial = next(r for r in results if "LL001 in" in r["message"]["text"])
    (fix,) = partial["fixes"]
    (change,) = fix["artifactChanges"]
    (replacement,) = change["replacements"]
    assert change["artifactLocation"]["uri"] == "sub%20dir/test_spaced.py"
    assert replacement["insertedContent"]["text"] == "# noqa: E501"
    assert replacement["deletedRegion"]["startLine"] == 10


# ---- github -----------------------------------------------------------------------------


def test_github_escapes_message_and_properties(tmp_path: Path) -> None:
    diagnostic = Diagnostic(
        code="LL001",
        name="syntax-error",
        message="100% broken\r\nsecond line",
        severity=Severity.ERROR,
        path=tmp_path / "odd:name,x.py",
        location=Location(3, 5),
        end_location=Location(4, 2),
    )
    ctx = ReportContext(cwd=tmp_path, root=tmp_path)
    line = annotation(diagnostic, ctx)
    assert line == (
        "::error file=odd%3Aname%2Cx.py,line=3,col=5,endLine=4,endColumn=2,"
        "title=leaklint (LL001)::100%25 broken%0D%0Asecond line"
    )
    assert "\n" not in line and "\r" not in line


def test_github_warning_level_and_help_line(tmp_path: Path) -> None:
    diagnostic = Diagnostic(
        code="LL003",
        name="unused-suppression",
        message="m",
        severity=Severity.WARNING,
        path=tmp_path / "a.py",
        location=Location(1, 1),
        end_location=Location(1, 2),
        fix=Fix(
            Applicability.SAFE,
            "Remove it",
            (Edit(tmp_path / "a.py", Location(1, 1), Location(1, 2), ""),),
        ),
    )
    line = annotation(diagnostic, ReportContext(cwd=tmp_path, root=tmp_path))
    assert line.startswith("::warning file=a.py,")
    assert line.endswith("::m%0Ahelp: Remove it")


def test_escape_functions() -> None:
    assert escape_data("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"
    assert escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"


def test_github_output_has_one_line_per_finding() -> None:
    _, out, _ = run_check("--output-format", "github")
    lines = out.splitlines()
    assert len(lines) == 4
    assert all(re.match(r"::(error|warning) file=", line) for line in lines)
    assert any(line.startswith("::error file=test_broken.py,line=4,") for line in lines)


# ---- --output-file and the settings' output-format ---------------------------------------


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    code, out, _ = run_check("--output-format", "sarif", "--output-file", str(target))
    assert code == 1
    assert out == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert "\x1b[" not in target.read_text()


def test_output_format_from_settings(tmp_path: Path) -> None:
    (tmp_path / "leaklint.toml").write_text('output-format = "json-lines"\n')
    (tmp_path / "test_x.py").write_text("def test_x(:\n    threading.Thread()\n")
    code, out, _ = run_check(cwd=tmp_path)
    assert code == 1
    (line,) = out.splitlines()
    assert json.loads(line)["code"] == "LL001"
    code, out, _ = run_check("--output-format", "concise", cwd=tmp_path)
    assert out.startswith("test_x.py:1:")
