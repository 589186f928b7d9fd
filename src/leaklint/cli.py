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
from leaklint.docs import problem_matcher_json, rules_markdown
from leaklint.engine import lint
from leaklint.project import Project, UsageError
from leaklint.pytest_config import common_ancestor
from leaklint.reporters import REPORTERS, ReportContext
from leaklint.rule import RuleSelection, UnknownRuleError, all_rules, get_rule
from leaklint.settings import Settings, SettingsError, find_settings_file, load_settings

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
def check(
    paths: tuple[Path, ...],
    output_format: str | None,
    output_file: Path | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    exit_zero: bool,
) -> None:
    """Lint PATHS (default: the current directory).

    Settings come from leaklint.toml or [tool.leaklint] in pyproject.toml, found by walking up
    from the paths; an option given here replaces the file's value for that key."""
    targets = list(paths) or [Path(".")]
    try:
        settings = _settings(targets)
        selection = RuleSelection(
            select=_codes(select) or settings.select,
            extend_select=_codes(extend_select) or settings.extend_select,
            ignore=_codes(ignore) or settings.ignore,
        )
        rules = selection.rules()
        project = Project.load(targets, config_file=config_file, settings=settings)
    except (UnknownRuleError, UsageError, SettingsError) as exc:
        _fail(str(exc))
        return
    output_format = output_format or settings.output_format or "full"
    result = lint(project, rules)

    def lines(path: Path) -> list[str]:
        raw = project.read(path)
        if isinstance(raw, OSError):
            return []
        return raw.decode("utf-8", errors="replace").splitlines()

    color = output_file is None and output_format == "full" and _use_color()
    ctx = ReportContext(
        cwd=Path.cwd(),
        root=project.root,
        lines=lines,
        color=color,
        rules=rules,
        version=__version__,
    )
    output = REPORTERS[output_format](result.diagnostics, ctx)
    if output_file is not None:
        try:
            output_file.write_text(output, encoding="utf-8")
        except OSError as exc:
            _fail(f"{output_file}: cannot write output: {exc.strerror or exc}")
    elif output:
        click.echo(output, nl=False)
    if output_format in ("full", "concise"):
        _summary(len(result.diagnostics))
    for warning in result.warnings:
        click.echo(f"leaklint: warning: {warning}", err=True)
    for error in result.internal_errors:
        click.echo(f"leaklint: error: {error}", err=True)
    if result.internal_errors:
        sys.exit(EXIT_ERROR)
    if result.diagnostics and not exit_zero:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


def _settings(paths: Sequence[Path]) -> Settings:
    found = find_settings_file(common_ancestor([p.absolute() for p in paths]))
    if found is None:
        return Settings()
    return load_settings(found, tuple(REPORTERS))


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
@click.option("--markdown", is_flag=True, help="Print every rule's documentation as Markdown.")
def list_rules(markdown: bool) -> None:
    """List every rule."""
    if markdown:
        click.echo(rules_markdown(all_rules()), nl=False)
        return
    for rule_cls in all_rules():
        opt_in = " (opt-in)" if not rule_cls.default_enabled else ""
        click.echo(f"{rule_cls.code}  {rule_cls.name}{opt_in}: {rule_cls.summary()}")


@main.command(name="problem-matcher")
def problem_matcher() -> None:
    """Print the problem matcher (GitHub Actions format) for the concise and full output."""
    click.echo(problem_matcher_json(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
