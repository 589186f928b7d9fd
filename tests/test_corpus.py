"""The corpus check's comparison, on a tiny fake corpus (no network: its sdist is cached)."""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_run", CORPUS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load()

LEAKY = """\
import threading


def test_leaks():
    threading.Thread(target=print).start()


def test_joins():
    t = threading.Thread(target=print)
    t.start()
    t.join()
"""


def _sdist(cache: Path, name: str, version: str, files: dict[str, str]) -> None:
    """A cached sdist, as pip download leaves it, so the run never needs the network."""
    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(cache / f"{name}-{version}.tar.gz", "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _entry(kind: str, line: int, code: str = "LL401", verdict: str = "") -> str:
    text = f'[[{kind}]]\nproject = "fake"\npath = "tests/test_leak.py"\nline = {line}\n'
    text += f'code = "{code}"\n'
    if verdict:
        text += f'verdict = "{verdict}"\n'
    return text + 'reason = "a specific reason"\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    _sdist(tmp_path / "cache", "fake", "1.0", {"tests/test_leak.py": LEAKY})
    (tmp_path / "projects.toml").write_text('[[project]]\nname = "fake"\nversion = "1.0"\n')
    return tmp_path


def _main(corpus: Path, expectations: str, *extra: str) -> int:
    (corpus / "expectations.toml").write_text(expectations)
    argv = ["--projects", str(corpus / "projects.toml")]
    argv += ["--expectations", str(corpus / "expectations.toml"), "--cache", str(corpus / "cache")]
    return int(run.main([*argv, *extra]))


def test_all_triaged_exits_0(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(corpus, _entry("must", 5)) == 0
    out = capsys.readouterr().out
    assert "must found: 1/1" in out
    assert "findings: 1 (LL401 1)" in out
    assert "OK: every must found" in out
    # the sdist was extracted into the cache and is used again
    assert (corpus / "cache" / "src" / "fake-1.0" / "fake-1.0" / "tests").is_dir()


def test_tp_verdict_triages(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(corpus, _entry("finding", 5, verdict="tp")) == 0
    assert "tp: 1  fp: 0  untriaged: 0" in capsys.readouterr().out


def test_lost_must_exits_1(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expectations = _entry("must", 5) + "\n" + _entry("must", 9, code="LL402")
    assert _main(corpus, expectations) == 1
    out = capsys.readouterr().out
    assert "must found: 1/2" in out
    assert "MUST LOST tests/test_leak.py:9 LL402 (a specific reason)" in out


def test_fp_back_exits_1(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(corpus, _entry("finding", 5, verdict="fp")) == 1
    out = capsys.readouterr().out
    assert "FP BACK tests/test_leak.py:5 LL401" in out
    assert "tp: 0  fp: 1  untriaged: 0" in out


def test_untriaged_listed_and_stubbed(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stubs = corpus / "stubs.toml"
    assert _main(corpus, "", "--write-untriaged", str(stubs), "--markdown") == 1
    out = capsys.readouterr().out
    assert "UNTRIAGED tests/test_leak.py:5 LL401 non-daemon" in out
    assert "| fake | 1 | 0 | 0 | 1 | 0/0 |" in out
    (stub,) = run.tomllib.loads(stubs.read_text())["finding"]
    assert (stub["project"], stub["path"], stub["line"], stub["code"]) == (
        "fake",
        "tests/test_leak.py",
        5,
        "LL401",
    )
    # a stub left as written does not load: its verdict has to be chosen
    with pytest.raises(run.CorpusError):
        run.load_expectations(stubs)


def test_gone_entries_are_listed_not_fatal(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expectations = _entry("must", 5) + "\n" + _entry("finding", 11, verdict="fp")
    assert _main(corpus, expectations) == 0
    assert "no longer reported (fp) tests/test_leak.py:11 LL401" in capsys.readouterr().out


def test_bad_expectations_exit_2(corpus: Path) -> None:
    assert _main(corpus, _entry("finding", 5, verdict="maybe")) == 2
    assert _main(corpus, _entry("must", 5).replace('reason = "a specific reason"', "")) == 2


def test_unknown_project_exits_2(corpus: Path) -> None:
    assert _main(corpus, "", "--project", "nope") == 2


def test_committed_expectations_are_sorted_and_known() -> None:
    projects = {p.name for p in run.load_projects(CORPUS / "projects.toml")}
    findings, musts = run.load_expectations(CORPUS / "expectations.toml")
    for entries in (findings, musts):
        keys = [(e.project, e.path, e.line, e.code) for e in entries]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)
        assert {e.project for e in entries} <= projects
