"""Command line: parse options, build the project, run the engine, pick a reporter.

Exit codes: 0 nothing found, 1 findings, 2 usage error or internal failure.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

import click

from leaklint import __version__
from leaklint.config.paths import common_ancestor
from leaklint.config.settings import Settings, SettingsError, find_settings_file, load_settings
from leaklint.output.reporters import REPORTERS, ReportContext
from leaklint.run import snapshot
from leaklint.run.snapshot import Recorded

# libcst, the rules and the engine load only when a run needs them: a run that replays its
# snapshot (``leaklint.run.snapshot``) never does.
if TYPE_CHECKING:
    from leaklint.diagnostics import Diagnostic
    from leaklint.fix.fixer import FixOutcome
    from leaklint.model.workspace import Workspace

P = ParamSpec("P")

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def _codes(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _fail(message: str) -> None:
    click.echo(f"leaklint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _interruptible(command: Callable[P, None]) -> Callable[P, None]:
    """SIGTERM stops a run as Ctrl-C does, and an interrupted run exits 2 with one line. The
    fixer holds both signals while it replaces files, so every file is old or new."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            _fail("interrupted; files already fixed were written whole")
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="leaklint")
def main() -> None:
    """Find the pytest configuration and code that make test suites hang, leak threads or
    processes, or fail with "attached to a different loop"."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--output-format",
    type=click.Choice(sorted(REPORTERS)),
    default=None,
    help="How findings are printed (default: the settings' output-format, else full).",
)
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the findings to this file instead of standard output.",
)
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes added to the selection.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip (comma-separated).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Use this pytest config file, as pytest's -c does.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fix", is_flag=True, help="Apply safe fixes; print what remains.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="With --fix or --diff, apply unsafe fixes too; alone, count them as available.",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write .leaklint_cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the cache in this folder (default: .leaklint_cache beside the pytest rootdir).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that parse files (default: one per core on large trees).",
)
@_interruptible
def check(
    paths: tuple[Path, ...],
    output_format: str | None,
    output_file: Path | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    exit_zero: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
) -> None:
    """Lint PATHS (default: the current directory).

    Settings come from leaklint.toml or [tool.leaklint] in pyproject.toml, found by walking up
    from the paths; an option given here replaces the file's value for that key."""
    try:
        os.getcwd()
    except OSError:
        _fail("the working directory no longer exists")
    targets = list(paths) or [Path(".")]
    opts = CheckOptions(
        output_format=output_format,
        output_file=output_file,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        config_file=config_file,
        exit_zero=exit_zero,
        fix=fix,
        unsafe_fixes=unsafe_fixes,
        diff=diff,
        no_cache=no_cache,
        cache_dir=cache_dir,
        jobs=jobs,
    )
    invocation = None
    if not (fix or diff or no_cache):
        invocation = snapshot.Invocation(
            targets=tuple(t.absolute() for t in targets),
            options=opts.identity(),
            config_file=config_file,
            cache_dir=cache_dir,
            color=_use_color(),
        )
        replayed = snapshot.replay(invocation)
        if replayed is not None:
            _emit(replayed)
            return
    recorder = snapshot.Recorder()
    with recorder if invocation is not None else contextlib.nullcontext():
        recorded, workspace = _run(targets, opts)
    if invocation is not None and workspace is not None:
        snapshot.save(
            invocation,
            recorded,
            recorder,
            root=workspace.root,
            setting=workspace.settings.cache_dir,
            inputs=_inputs(workspace, invocation.targets),
            contents={p: b for project in workspace.projects for p, b in project.loaded().items()},
            project_roots=[project.root for project in workspace.projects],
        )
    _emit(recorded)


@dataclass(frozen=True)
class CheckOptions:
    """The options of ``leaklint check``, as given."""

    output_format: str | None
    output_file: Path | None
    select: tuple[str, ...]
    extend_select: tuple[str, ...]
    ignore: tuple[str, ...]
    config_file: Path | None
    exit_zero: bool
    fix: bool
    unsafe_fixes: bool
    diff: bool
    no_cache: bool
    cache_dir: Path | None
    jobs: int | None

    def identity(self) -> dict[str, object]:
        """What a replayed run must share with the one it replays: every option but the
        worker count (which changes nothing printed), paths made absolute."""
        return {
            name: str(value.absolute()) if isinstance(value, Path) else value
            for name, value in vars(self).items()
            if name != "jobs"
        }


def _run(targets: list[Path], opts: CheckOptions) -> tuple[Recorded, Workspace | None]:
    """Lint (and fix) ``targets``, each pytest project in them on its own: what to print and
    how to exit, and the workspace when the run may be replayed (no fixes, no diff, no error,
    no warning)."""
    from leaklint.fix.fixer import fix_workspace
    from leaklint.model.project import UsageError
    from leaklint.model.workspace import Workspace
    from leaklint.rules.base import RuleSelection, UnknownRuleError
    from leaklint.run.engine import lint_all

    recorded = Recorded()
    try:
        settings = _settings(targets)
        chosen = RuleSelection(
            select=_codes(opts.select) or settings.select,
            extend_select=_codes(opts.extend_select) or settings.extend_select,
            ignore=_codes(opts.ignore) or settings.ignore,
        )
        rules = chosen.rules()
        workspace = Workspace.load(targets, config_file=opts.config_file, settings=settings)
    except (UnknownRuleError, UsageError, SettingsError) as exc:
        return _failed(recorded, str(exc)), None
    output_format = opts.output_format or settings.output_format or "full"
    projects = workspace.projects
    if opts.fix or opts.diff:
        outcome = fix_workspace(workspace, rules, unsafe=opts.unsafe_fixes, write=not opts.diff)
        for problem in outcome.problems:
            where = f"{_display(problem.path)}: " if problem.path is not None else ""
            recorded.err(f"leaklint: {where}{problem.message}\n")
        if opts.diff:
            return _diff_mode(recorded, outcome, opts.exit_zero, opts.unsafe_fixes), None
        result = outcome.remaining
        projects = [workspace.reload(index) for index in range(len(projects))]
    else:
        outcome = None
        result = lint_all(
            projects, rules, jobs=opts.jobs, cache=not opts.no_cache, cache_dir=opts.cache_dir
        )

    # Each file's lines come from the project that read it (as it read them).
    owners = {path: project for project in reversed(projects) for path in project.loaded()}

    def lines(path: Path) -> list[str]:
        raw = owners.get(path, projects[0]).read(path)
        if isinstance(raw, OSError):
            return []
        return raw.decode("utf-8", errors="replace").splitlines()

    color = opts.output_file is None and output_format == "full" and _use_color()
    ctx = ReportContext(
        cwd=Path.cwd(),
        root=workspace.root,
        lines=lines,
        color=color,
        rules=rules,
        version=__version__,
    )
    output = REPORTERS[output_format](result.diagnostics, ctx)
    if opts.output_file is not None:
        recorded.output_file = (opts.output_file.absolute(), output)
    elif output:
        recorded.out(output)
    if output_format in ("full", "concise"):
        fixed = None if outcome is None else len(outcome.fixed)
        fixable = _fixable(result.diagnostics, opts.unsafe_fixes)
        _summary(recorded, len(result.diagnostics), fixed, fixable, opts.unsafe_fixes)
    for warning in result.warnings:
        recorded.err(f"leaklint: warning: {warning}\n")
    for error in result.internal_errors:
        recorded.err(f"leaklint: error: {error}\n")
    if result.internal_errors:
        recorded.exit_code = EXIT_ERROR
    elif result.diagnostics and not opts.exit_zero:
        recorded.exit_code = EXIT_FINDINGS
    replayable = outcome is None and not result.warnings and not result.internal_errors
    return recorded, workspace if replayable else None


def _inputs(workspace: Workspace, targets: Sequence[Path]) -> list[Path]:
    """What a run read besides what the recorder saw: the linted files of every project
    (workers read them), and the names it only tested for in the directories above the linted
    paths."""
    from leaklint.config.pytest_config import CONFIG_NAMES, SETUP_PY
    from leaklint.config.settings import PYPROJECT, SETTINGS_FILE
    from leaklint.model.project import CONFTEST, GIT_MARKER, GITIGNORE

    names = (*CONFIG_NAMES, SETUP_PY, SETTINGS_FILE, PYPROJECT, GITIGNORE, GIT_MARKER, CONFTEST)
    return [
        *(path for project in workspace.projects for path in project.python_files),
        *(path for project in workspace.projects for path in project.cargo_files),
        *snapshot.ancestor_probes(targets, dict.fromkeys(names)),
    ]


def _emit(recorded: Recorded) -> None:
    """Print what a run recorded (again, when replayed) and exit with its code."""
    if recorded.output_file is not None:
        path, report = recorded.output_file
        try:
            path.write_text(report, encoding="utf-8")
        except OSError as exc:
            _fail(f"{path}: cannot write output: {exc.strerror or exc}")
    for stream, text in recorded.chunks:
        click.echo(text, nl=False, err=stream == snapshot.STDERR)
    sys.exit(recorded.exit_code)


def _failed(recorded: Recorded, message: str) -> Recorded:
    recorded.err(f"leaklint: error: {message}\n")
    recorded.exit_code = EXIT_ERROR
    return recorded


def _settings(paths: Sequence[Path]) -> Settings:
    found = find_settings_file(common_ancestor([p.absolute() for p in paths]))
    if found is None:
        return Settings()
    return load_settings(found, tuple(REPORTERS), known_codes=_rule_codes)


def _rule_codes() -> list[str]:
    from leaklint.rules.base import all_rules  # loaded only when the settings name a code

    return [rule.code for rule in all_rules()]


def _summary(
    recorded: Recorded, count: int, fixed: int | None, fixable: tuple[int, int], unsafe: bool
) -> None:
    """``fixed`` is None without --fix; ``fixable`` counts findings with applicable fixes and
    those with unsafe fixes left out."""
    total = count + (fixed or 0)
    noun = "finding" if total == 1 else "findings"
    if total == 0:
        recorded.err("All checks passed!\n")
    elif fixed is not None:
        recorded.err(f"Found {total} {noun} ({fixed} fixed, {count} remaining).\n")
    else:
        recorded.err(f"Found {total} {noun}.\n")
    applicable, hidden = fixable
    if applicable and fixed is None:
        options = "--fix --unsafe-fixes" if unsafe else "--fix"
        recorded.err(f"{applicable} fixable with {options}.\n")
    if hidden:
        recorded.err(f"{hidden} hidden {_fixes(hidden)} can be enabled with --unsafe-fixes.\n")


def _fixes(count: int) -> str:
    return "fix" if count == 1 else "fixes"


def _fixable(diagnostics: Sequence[Diagnostic], unsafe: bool) -> tuple[int, int]:
    from leaklint.fix.fixer import applicable as can_apply

    applicable = sum(1 for d in diagnostics if can_apply(d.fix, unsafe))
    hidden = 0 if unsafe else sum(1 for d in diagnostics if can_apply(d.fix, True)) - applicable
    return applicable, hidden


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _diff_mode(recorded: Recorded, outcome: FixOutcome, exit_zero: bool, unsafe: bool) -> Recorded:
    """The patch; exit 1 when there is something to fix."""
    from leaklint.fix.fixer import unified_diff

    patch = unified_diff(outcome.changes, Path.cwd())
    if patch:
        recorded.out(patch)
    count = len(outcome.fixed)
    if count:
        noun = "finding" if count == 1 else "findings"
        recorded.err(f"Would fix {count} {noun}.\n")
    _, hidden = _fixable(outcome.remaining.diagnostics, unsafe)
    if hidden:
        recorded.err(f"{hidden} hidden {_fixes(hidden)} can be enabled with --unsafe-fixes.\n")
    for error in outcome.remaining.internal_errors:
        recorded.err(f"leaklint: error: {error}\n")
    if outcome.remaining.internal_errors:
        recorded.exit_code = EXIT_ERROR
    else:
        recorded.exit_code = EXIT_FINDINGS if count and not exit_zero else EXIT_CLEAN
    return recorded


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Print the documentation of rule CODE."""
    from leaklint.rules.base import get_rule

    rule_cls = get_rule(code)
    if rule_cls is None:
        _fail(f"unknown rule code: {code!r} (see `leaklint rules`)")
        return
    opt_in = "" if rule_cls.default_enabled else " (opt-in)"
    click.echo(f"# {rule_cls.name} ({rule_cls.code}){opt_in}\n")
    click.echo(f"Severity: {rule_cls.severity.value}. Fix: {rule_cls.fix_availability.value}.\n")
    click.echo(rule_cls.docs())


@main.command(name="rules")
@click.option("--markdown", is_flag=True, help="Print every rule's documentation as Markdown.")
def list_rules(markdown: bool) -> None:
    """List every rule."""
    from leaklint.output.docs import rules_markdown
    from leaklint.rules.base import all_rules

    if markdown:
        click.echo(rules_markdown(all_rules()), nl=False)
        return
    for rule_cls in all_rules():
        opt_in = " (opt-in)" if not rule_cls.default_enabled else ""
        click.echo(f"{rule_cls.code}  {rule_cls.name}{opt_in}: {rule_cls.summary()}")


@main.command(name="problem-matcher")
def problem_matcher() -> None:
    """Print the problem matcher (GitHub Actions format) for the concise and full output."""
    from leaklint.output.docs import problem_matcher_json

    click.echo(problem_matcher_json(), nl=False)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Use this pytest config file, as pytest's -c does.",
)
@click.option(
    "--output-format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text (default), or json: per project its rootdir and tests, each test's loop and "
    "each fixture's verdict against it (same, different, unknown).",
)
def fixtures(path: Path, config_file: Path | None, output_format: str) -> None:
    """Print each test's event loop and the fixtures it uses (test file or directory).

    Each pytest project under PATH is read with its own config; paths are shown relative to
    the working directory when the project's rootdir is under it, else to the rootdir."""
    from leaklint.model.project import UsageError
    from leaklint.model.workspace import Workspace
    from leaklint.output.fixture_map import NO_TESTS, fixture_map, fixture_map_data

    try:
        workspace = Workspace.load([path], config_file=config_file)
    except UsageError as exc:
        _fail(str(exc))
        return
    if output_format == "json":
        import json

        data = [fixture_map_data(project, Path.cwd()) for project in workspace.projects]
        click.echo(json.dumps({"version": 1, "projects": data}, indent=2))
        return
    maps = [fixture_map(project, Path.cwd()) for project in workspace.projects]
    found = [text for text in maps if text != NO_TESTS]
    click.echo("\n".join(found) if found else NO_TESTS, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
