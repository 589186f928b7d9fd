"""Command line: parse options, build the project, run the engine, pick a reporter.

Exit codes: 0 nothing found, 1 findings, 2 usage error or internal failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from leaklint import __version__
from leaklint.engine import lint
from leaklint.project import Project, UsageError
from leaklint.reporters import REPORTERS, ReportContext
from leaklint.rule import RuleSelection, UnknownRuleError, all_rules, get_rule

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
    default="full",
    show_default=True,
    help="How findings are printed.",
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
@click.option("--no-cache", is_flag=True, help="Neither read nor write .leaklint_cache.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that parse files (default: one per core on large trees).",
)
def check(
    paths: tuple[Path, ...],
    output_format: str,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    exit_zero: bool,
    no_cache: bool,
    jobs: int | None,
) -> None:
    """Lint PATHS (default: the current directory)."""
    selection = RuleSelection(
        select=_codes(select) or None,
        extend_select=_codes(extend_select),
        ignore=_codes(ignore),
    )
    try:
        rules = selection.rules()
        project = Project.load(list(paths) or [Path(".")], config_file=config_file)
    except (UnknownRuleError, UsageError) as exc:
        _fail(str(exc))
        return
    result = lint(project, rules, jobs=jobs, cache=not no_cache)

    def lines(path: Path) -> list[str]:
        raw = project.read(path)
        if isinstance(raw, OSError):
            return []
        return raw.decode("utf-8", errors="replace").splitlines()

    ctx = ReportContext(cwd=Path.cwd(), root=project.root, lines=lines, color=_use_color())
    output = REPORTERS[output_format](result.diagnostics, ctx)
    if output:
        click.echo(output, nl=False)
    if output_format in ("full", "concise"):
        _summary(len(result.diagnostics))
    for error in result.internal_errors:
        click.echo(f"leaklint: error: {error}", err=True)
    if result.internal_errors:
        sys.exit(EXIT_ERROR)
    if result.diagnostics and not exit_zero:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


def _summary(count: int) -> None:
    if count == 0:
        click.echo("All checks passed!", err=True)
    else:
        noun = "finding" if count == 1 else "findings"
        click.echo(f"Found {count} {noun}.", err=True)


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Print the documentation of rule CODE."""
    rule_cls = get_rule(code)
    if rule_cls is None:
        _fail(f"unknown rule code: {code!r} (see `leaklint rules`)")
        return
    opt_in = "" if rule_cls.default_enabled else " (opt-in)"
    click.echo(f"# {rule_cls.name} ({rule_cls.code}){opt_in}\n")
    click.echo(f"Severity: {rule_cls.severity.value}. Fix: {rule_cls.fix_availability.value}.\n")
    click.echo(rule_cls.docs())


@main.command(name="rules")
def list_rules() -> None:
    """List every rule."""
    for rule_cls in all_rules():
        opt_in = " (opt-in)" if not rule_cls.default_enabled else ""
        click.echo(f"{rule_cls.code}  {rule_cls.name}{opt_in}: {rule_cls.summary()}")


if __name__ == "__main__":  # pragma: no cover
    main()
