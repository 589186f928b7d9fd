"""The pytest plugin: options, the ``leaklint`` marker, and, when switched on, the hooks that
charge what is made to the test or fixture running and check it when that owner is done.

Loaded in every pytest run through the ``pytest11`` entry point, so at import it needs nothing but
pytest and defines no hook that an old pluggy would reject; off (the default) it only registers
its options and marker, patches nothing and never imports ``hooks``.
"""

from __future__ import annotations

import pytest

MODES = ("off", "warn", "fail")
DEFAULT_EXIT_TIMEOUT = 60.0
DEFAULT_FRAMES = 8


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leaklint", "leaklint: what tests leave running")
    group.addoption(
        "--leaklint",
        action="store_true",
        default=False,
        help="Report threads, processes, loops, tasks and executors that outlive the test or "
        "fixture that made them (the 'leaklint' ini value picks warn or fail; default warn).",
    )
    group.addoption(
        "--leaklint-report",
        metavar="FILE",
        default=None,
        help="Write the leaks as JSON to FILE.",
    )
    group.addoption(
        "--leaklint-exit-timeout",
        metavar="SECONDS",
        default=None,
        help="Dump every thread's stack when the interpreter still waits on a thread this long "
        f"after the session (default {DEFAULT_EXIT_TIMEOUT:g}; in fail mode it then exits 1).",
    )
    group.addoption(
        "--leaklint-fds",
        action="store_true",
        default=None,
        help="Also report file descriptors and sockets left open (Linux and macOS).",
    )
    group.addoption(
        "--leaklint-frames",
        metavar="N",
        type=int,
        default=None,
        help="Frames kept of each creation site, up to the test or fixture "
        f"(default {DEFAULT_FRAMES}).",
    )
    parser.addini("leaklint", "leaklint runtime checks: off, warn or fail.", default="off")
    parser.addini(
        "leaklint_fds", "Also report file descriptors and sockets left open.", type="bool"
    )
    parser.addini(
        "leaklint_allow",
        "Names (fnmatch patterns) of threads, processes and tasks that may outlive their test.",
        type="linelist",
        default=[],
    )
    parser.addini(
        "leaklint_exit_timeout",
        "Seconds before leaklint dumps every thread's stack at a hanging exit.",
        default=str(DEFAULT_EXIT_TIMEOUT),
    )


def mode_of(config: pytest.Config) -> str:
    value = str(config.getini("leaklint")).strip().lower() or "off"
    if value not in MODES:
        raise pytest.UsageError(
            f"leaklint: the ini value 'leaklint' is off, warn or fail, not {value!r}"
        )
    if value == "off" and config.getoption("leaklint"):
        return "warn"
    return value


def exit_timeout_of(config: pytest.Config) -> float:
    raw = config.getoption("leaklint_exit_timeout") or config.getini("leaklint_exit_timeout")
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0:
        raise pytest.UsageError(
            f"leaklint: the exit timeout is a number of seconds above 0, not {raw!r}"
        )
    return seconds


def frames_of(config: pytest.Config) -> int:
    frames = config.getoption("leaklint_frames")
    if frames is not None and frames < 1:
        raise pytest.UsageError(f"leaklint: --leaklint-frames is at least 1, not {frames}")
    return int(frames or DEFAULT_FRAMES)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "leaklint(allow=[...]): names (fnmatch patterns) of threads, processes and tasks this "
        "test may leave running",
    )
    mode = mode_of(config)
    if mode == "off":
        return
    exit_timeout, frames = exit_timeout_of(config), frames_of(config)
    from leaklint.runtime.hooks import LeakPlugin  # only now: its wrappers need pluggy >= 1.1

    config.pluginmanager.register(
        LeakPlugin(config, mode, exit_timeout, frames), "leaklint-runtime"
    )
