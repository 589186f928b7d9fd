"""Lint pinned real-world projects and compare the findings with the triaged expectations.

    python benchmarks/corpus/run.py [--project NAME ...] [--jobs N] [--cache DIR]
                                    [--write-untriaged FILE] [--markdown]

Each project of ``projects.toml`` (name, pinned version, optional ``path`` to lint) is fetched as
an sdist with ``pip download --no-deps --no-binary NAME NAME==VERSION`` into the cache folder
(default ``~/.cache/leaklint-corpus``; a sdist already there is used again), extracted there, and
linted by the leaklint of the running Python, from the sdist's top folder, as a user or
pre-commit would run it. (``--no-binary NAME`` rather than ``:all:``: pip prepares an sdist's
metadata, and ``:all:`` would also build its build dependencies, Cython among them, from source.)
::

    python -m leaklint check PATH --output-format json --no-cache

with the default rule selection: the corpus measures what a user who installs leaklint sees
(the opt-in rules are left to those who opt in; LL003 needs the project's own suppressions).

The findings are compared with ``expectations.toml``, matched on (project, path, line, code):

* ``[[finding]]`` entries triage one finding: ``verdict = "tp"`` (the rule is right by its own
  definition) or ``"fp"`` (the code is correct), with a one-line ``reason``;
* ``[[must]]`` entries are real hazards that must be found (found or not today); a finding that
  matches one is triaged as a true positive.

Exit 1 when a ``must`` is not found, an ``fp`` is reported, or a finding is untriaged (an
untriaged finding may be a new false positive: a rule change must not land until it is
triaged). Exit 2 when a project cannot be fetched or linted. Nothing here runs in the test
suite except the comparison, on a fake corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path.home() / ".cache" / "leaklint-corpus"
VERDICTS = ("tp", "fp")

Key = tuple[str, str, int, str]


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    path: str = "."
    note: str = ""


@dataclass(frozen=True)
class Entry:
    project: str
    path: str
    line: int
    code: str
    reason: str
    verdict: str = "must"

    @property
    def key(self) -> Key:
        return (self.project, self.path, self.line, self.code)


@dataclass(frozen=True)
class Finding:
    project: str
    path: str
    line: int
    code: str
    message: str

    @property
    def key(self) -> Key:
        return (self.project, self.path, self.line, self.code)


@dataclass
class Result:
    project: str
    findings: list[Finding] = field(default_factory=list)
    tp: int = 0
    fp: list[tuple[Finding, Entry]] = field(default_factory=list)
    untriaged: list[Finding] = field(default_factory=list)
    must_found: int = 0
    must_lost: list[Entry] = field(default_factory=list)
    gone: list[Entry] = field(default_factory=list)
    error: str = ""

    @property
    def must_total(self) -> int:
        return self.must_found + len(self.must_lost)

    @property
    def failed(self) -> bool:
        return bool(self.error or self.fp or self.untriaged or self.must_lost)


class CorpusError(Exception):
    """A project that cannot be fetched or linted, or an expectations file that does not load."""


# --- input files -------------------------------------------------------------------------


def load_projects(path: Path) -> list[Project]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    projects = []
    for raw in data.get("project", []):
        unknown = set(raw) - {"name", "version", "path", "note"}
        if unknown or not {"name", "version"} <= set(raw):
            raise CorpusError(f"{path}: bad project entry {raw!r}")
        projects.append(Project(**raw))
    return projects


def load_expectations(path: Path) -> tuple[list[Entry], list[Entry]]:
    """The ``[[finding]]`` and ``[[must]]`` entries; anything malformed is an error."""
    if not path.exists():
        return [], []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    findings = [_entry(path, raw, verdict=True) for raw in data.get("finding", [])]
    musts = [_entry(path, raw, verdict=False) for raw in data.get("must", [])]
    return findings, musts


def _entry(path: Path, raw: dict[str, object], *, verdict: bool) -> Entry:
    fields = {"project", "path", "line", "code", "reason"} | ({"verdict"} if verdict else set())
    if set(raw) != fields:
        raise CorpusError(f"{path}: entry needs exactly {sorted(fields)}: {raw!r}")
    if verdict and raw["verdict"] not in VERDICTS:
        raise CorpusError(f"{path}: verdict must be one of {VERDICTS}: {raw!r}")
    if not isinstance(raw["line"], int) or not str(raw["reason"]).strip():
        raise CorpusError(f"{path}: line must be an integer and reason non-empty: {raw!r}")
    return Entry(
        project=str(raw["project"]),
        path=str(raw["path"]),
        line=raw["line"],
        code=str(raw["code"]),
        reason=str(raw["reason"]),
        verdict=str(raw["verdict"]) if verdict else "must",
    )


# --- fetching and linting ------------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def find_sdist(cache: Path, project: Project) -> Path | None:
    want = f"{_normalize(project.name)}-{project.version}"
    for candidate in sorted(cache.iterdir()) if cache.is_dir() else []:
        for suffix in (".tar.gz", ".zip"):
            if candidate.name.endswith(suffix):
                stem = candidate.name[: -len(suffix)]
                name, _, version = stem.rpartition("-")
                if f"{_normalize(name)}-{version}" == want:
                    return candidate
    return None


def fetch(cache: Path, project: Project) -> Path:
    """The extracted sdist's top folder, downloading and extracting it when needed."""
    cache.mkdir(parents=True, exist_ok=True)
    sdist = find_sdist(cache, project)
    if sdist is None:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", project.name, f"{project.name}=={project.version}", "-d", str(cache),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        sdist = find_sdist(cache, project)
        if done.returncode != 0 or sdist is None:
            raise CorpusError(f"pip download failed: {done.stderr.strip()[-500:]}")
    target = cache / "src" / f"{_normalize(project.name)}-{project.version}"
    if not target.is_dir():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                archive.extractall(partial)
        else:
            with tarfile.open(sdist) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(partial, filter="data")
                else:  # pragma: no cover
                    archive.extractall(partial)
        partial.rename(target)
    tops = [p for p in target.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else target


def lint(top: Path, project: Project) -> list[Finding]:
    """Run the installed leaklint from the sdist's top folder, as a user would."""
    command = [sys.executable, "-m", "leaklint", "check", project.path]
    command += ["--output-format", "json", "--no-cache"]
    env = {k: v for k, v in os.environ.items() if k != "LEAKLINT_CACHE_DIR"}
    done = subprocess.run(command, cwd=top, capture_output=True, text=True, check=False, env=env)
    if done.returncode not in (0, 1):
        raise CorpusError(f"leaklint exited {done.returncode}: {done.stderr.strip()[-1000:]}")
    findings = []
    for item in json.loads(done.stdout or "[]"):
        path = Path(os.path.normpath(item["filename"])).as_posix()
        row = int(item["location"]["row"])
        findings.append(Finding(project.name, path, row, item["code"], item["message"]))
    return sorted(findings, key=lambda f: (f.path, f.line, f.code))


# --- comparison ----------------------------------------------------------------------------


def compare(
    project: str, findings: Sequence[Finding], entries: Iterable[Entry], musts: Iterable[Entry]
) -> Result:
    result = Result(project, list(findings))
    triaged = {e.key: e for e in entries if e.project == project}
    wanted = {m.key: m for m in musts if m.project == project}
    seen = {f.key for f in findings}
    for finding in findings:
        if finding.key in wanted:
            result.tp += 1
        elif (entry := triaged.get(finding.key)) is None:
            result.untriaged.append(finding)
        elif entry.verdict == "tp":
            result.tp += 1
        else:
            result.fp.append((finding, entry))
    for key, must in sorted(wanted.items()):
        if key in seen:
            result.must_found += 1
        else:
            result.must_lost.append(must)
    result.gone = [e for key, e in sorted(triaged.items()) if key not in seen]
    return result


def check(
    projects: Sequence[Project],
    entries: Sequence[Entry],
    musts: Sequence[Entry],
    get_findings: Callable[[Project], list[Finding]],
    jobs: int = 1,
) -> list[Result]:
    def one(project: Project) -> Result:
        try:
            findings = get_findings(project)
        except (CorpusError, OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            return Result(project.name, error=str(exc) or type(exc).__name__)
        return compare(project.name, findings, entries, musts)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, projects))


# --- output --------------------------------------------------------------------------------


def _by_rule(findings: Iterable[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{code} {n}" for code, n in sorted(counts.items())) or "none"


def report(results: Sequence[Result], out: Callable[[str], None] = print) -> None:
    for r in results:
        out(f"== {r.project}")
        if r.error:
            out(f"  ERROR: {r.error}")
            continue
        out(f"  findings: {len(r.findings)} ({_by_rule(r.findings)})")
        out(f"  tp: {r.tp}  fp: {len(r.fp)}  untriaged: {len(r.untriaged)}")
        out(f"  must found: {r.must_found}/{r.must_total}")
        for finding, entry in r.fp:
            out(f"  FP BACK {finding.path}:{finding.line} {finding.code} ({entry.reason})")
        for f in r.untriaged:
            out(f"  UNTRIAGED {f.path}:{f.line} {f.code} {f.message}")
        for m in r.must_lost:
            out(f"  MUST LOST {m.path}:{m.line} {m.code} ({m.reason})")
        for e in r.gone:
            out(f"  no longer reported ({e.verdict}) {e.path}:{e.line} {e.code}")
    ok = [r for r in results if not r.error]
    findings = [f for r in ok for f in r.findings]
    must_found = sum(r.must_found for r in ok)
    must_total = sum(r.must_total for r in ok)
    out("== total")
    out(f"  findings: {len(findings)} ({_by_rule(findings)})")
    out(
        f"  tp: {sum(r.tp for r in ok)}  fp: {sum(len(r.fp) for r in ok)}"
        f"  untriaged: {sum(len(r.untriaged) for r in ok)}"
    )
    recall = f" ({must_found / must_total:.0%})" if must_total else ""
    out(f"  must found: {must_found}/{must_total}{recall}")
    errors = [r.project for r in results if r.error]
    if errors:
        out(f"  projects that could not be linted: {', '.join(errors)}")
    failed = [r.project for r in results if r.failed]
    if failed:
        out(
            "FAILED: lost musts, false positives back, untriaged findings or errors in: "
            + ", ".join(failed)
        )
    else:
        out("OK: every must found, no false positive, nothing untriaged")


def markdown_table(results: Sequence[Result]) -> str:
    lines = [
        "| project | findings | tp | fp | untriaged | must found |",
        "|---|---|---|---|---|---|",
    ]
    rows = [r for r in results if not r.error]
    for r in rows:
        lines.append(
            f"| {r.project} | {len(r.findings)} | {r.tp} | {len(r.fp)} | {len(r.untriaged)} "
            f"| {r.must_found}/{r.must_total} |"
        )
    lines.append(
        f"| **total** | {sum(len(r.findings) for r in rows)} | {sum(r.tp for r in rows)} "
        f"| {sum(len(r.fp) for r in rows)} | {sum(len(r.untriaged) for r in rows)} "
        f"| {sum(r.must_found for r in rows)}/{sum(r.must_total for r in rows)} |"
    )
    return "\n".join(lines)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def untriaged_stubs(results: Sequence[Result]) -> str:
    """Stub ``[[finding]]`` entries for every untriaged finding, to fill in and merge."""
    chunks = []
    for r in results:
        for f in r.untriaged:
            chunks.append(
                "[[finding]]\n"
                f"project = {_toml_string(f.project)}\n"
                f"path = {_toml_string(f.path)}\n"
                f"line = {f.line}\n"
                f"code = {_toml_string(f.code)}\n"
                'verdict = "TODO tp or fp"\n'
                f"reason = {_toml_string('TODO: ' + f.message)}\n"
            )
    return "\n".join(chunks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=Path, default=HERE / "projects.toml")
    parser.add_argument("--expectations", type=Path, default=HERE / "expectations.toml")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--project", action="append", default=[], metavar="NAME")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--write-untriaged", type=Path, metavar="FILE")
    parser.add_argument("--markdown", action="store_true", help="also print the table")
    args = parser.parse_args(argv)

    try:
        projects = load_projects(args.projects)
        entries, musts = load_expectations(args.expectations)
    except (CorpusError, tomllib.TOMLDecodeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.project:
        unknown = set(args.project) - {p.name for p in projects}
        if unknown:
            print(f"error: unknown project(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        projects = [p for p in projects if p.name in args.project]

    def get_findings(project: Project) -> list[Finding]:
        return lint(fetch(args.cache, project), project)

    results = check(projects, entries, musts, get_findings, jobs=args.jobs)
    report(results)
    if args.markdown:
        print()
        print(markdown_table(results))
    if args.write_untriaged:
        args.write_untriaged.write_text(untriaged_stubs(results), encoding="utf-8")
        print(f"stubs for the untriaged findings written to {args.write_untriaged}")
    if any(r.error for r in results):
        return 2
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
