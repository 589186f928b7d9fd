"""The runtime plugin, run the way users run it: real pytest in a subprocess on small projects
written here, asserting on the JSON report and the terminal text.

The line that makes a leaked object carries ``# leak: KIND``; what the report names (kind, file,
line of the project frame) must match those comments exactly, so a near miss on another line
(a joined thread, a closed loop) that got reported fails the comparison too.

Over 500 lines because each project is written beside the test that runs it, which keeps what
a test asserts next to the code it asserts it about; the helpers above the first project are
all the machinery there is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leaklint.runtime.leaks import RULES

LEAK = re.compile(r"#\s*leak:\s*(?P<kind>[\w-]+)")
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
# A run left to hang (warn mode waits on its threads for ever) is ended once its output shows
# what the test asserts on; after this many seconds if it never does.
HANG_TIMEOUT = 60


@dataclass
class Run:
    returncode: int | None
    output: str
    report: dict[str, Any]

    @property
    def leaks(self) -> list[dict[str, Any]]:
        return list(self.report.get("leaks", []))

    def found(self) -> set[tuple[str, int, str]]:
        """(path, line, kind) of each leak, at its project frame."""
        return {
            (leak["project_frame"]["path"], leak["project_frame"]["line"], leak["kind"])
            for leak in self.leaks
        }


def write(root: Path, files: dict[str, str]) -> None:
    files = {"pytest.ini": INI, **files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def expected(root: Path) -> set[tuple[str, int, str]]:
    marked = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            match = LEAK.search(line)
            if match:
                marked.add((path.relative_to(root).as_posix(), number, match["kind"]))
    return marked


def run_pytest(root: Path, *args: str, timeout: float = 120, hang_until: str | None = None) -> Run:
    """Run pytest on ``root``. A run expected to hang at exit (warn mode waits on its threads for
    ever) passes ``hang_until``: the run is ended as soon as its output matches that pattern,
    and its returncode is None; ``timeout`` only guards against a run that never gets there."""
    report = root / "leaks.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--leaklint-report",
        str(report),
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if hang_until is not None:
        returncode, output = _run_until(command, root, env, hang_until, timeout)
    else:
        try:
            done = subprocess.run(
                command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout
            )
            returncode = done.returncode
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as hung:
            returncode = None
            output = _text(hung.stdout) + _text(hung.stderr)
    data = json.loads(report.read_text("utf-8")) if report.exists() else {}
    return Run(returncode, output, data)


def _run_until(
    command: list[str], root: Path, env: dict[str, str], pattern: str, timeout: float
) -> tuple[int | None, str]:
    """(None, output) once the output matches ``pattern``, the process then killed; else its
    status and output."""
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    guard = threading.Timer(timeout, process.kill)
    guard.start()
    output, matched = "", False
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output += line
            if re.search(pattern, output):
                matched = True
                process.kill()
                break
        output += process.communicate()[0] or ""
    finally:
        guard.cancel()
    killed = matched or process.returncode == -signal.SIGKILL
    return (None if killed else process.returncode), output


def _text(raw: bytes | str | None) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return raw or ""


# -- each kind, made in a test ----------------------------------------------------------------

EACH_KIND = {
    "conftest.py": """
        import threading

        STOP = threading.Event()
        """,
    "test_kinds.py": """
        import asyncio
        import multiprocessing
        import subprocess
        import sys
        import threading
        import time
        from concurrent.futures import ThreadPoolExecutor

        import pytest

        from conftest import STOP

        KEEP = []


        def wait():
            STOP.wait()


        def test_thread():
            threading.Thread(target=wait, name="left-behind").start()  # leak: thread


        def test_joined_thread():
            thread = threading.Thread(target=time.sleep, args=(0.01,))
            thread.start()
            thread.join()


        def test_daemon_thread():
            threading.Thread(target=wait, daemon=True).start()  # leak: daemon-thread


        def test_process():
            process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(30,))
            process.start()  # leak: process
            KEEP.append(process)


        def test_popen():
            command = [sys.executable, "-c", "import time; time.sleep(30)"]
            KEEP.append(subprocess.Popen(command))  # leak: popen


        def test_waited_popen():
            subprocess.Popen([sys.executable, "-c", "pass"]).wait()


        def test_loop():
            KEEP.append(asyncio.new_event_loop())  # leak: loop


        def test_closed_loop():
            loop = asyncio.new_event_loop()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()


        def test_executor():
            executor = ThreadPoolExecutor(max_workers=1)  # leak: executor
            executor.submit(time.sleep, 0).result()
            KEEP.append(executor)


        def test_shut_down_executor():
            with ThreadPoolExecutor(max_workers=1) as executor:
                executor.submit(time.sleep, 0).result()


        async def forever():
            await asyncio.Event().wait()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_task():
            KEEP.append(asyncio.create_task(forever()))  # leak: task


        @pytest.mark.asyncio(loop_scope="module")
        async def test_cancelled_task():
            task = asyncio.create_task(forever())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


        def test_zz_cleanup():
            STOP.set()
            for kept in KEEP:
                if isinstance(kept, subprocess.Popen):
                    kept.kill()
                    kept.wait()
                elif isinstance(kept, multiprocessing.process.BaseProcess):
                    kept.terminate()
                    kept.join()
                elif isinstance(kept, ThreadPoolExecutor):
                    kept.shutdown()
        """,
}


def test_each_kind_made_in_a_test_is_named_with_its_site_and_rule(tmp_path: Path) -> None:
    write(tmp_path, EACH_KIND)
    run = run_pytest(tmp_path, "--leaklint")
    assert run.returncode == 0, run.output
    assert run.found() == expected(tmp_path)
    by_kind = {leak["kind"]: leak for leak in run.leaks}
    assert {kind: leak["code"] for kind, leak in by_kind.items()} == {
        "thread": "LL401",
        "daemon-thread": None,
        "process": "LL404",
        "popen": "LL404",
        "loop": "LL304",
        "executor": "LL403",
        "task": None,
    }
    thread = by_kind["thread"]
    assert thread["owner"] == {
        "kind": "test",
        "label": "test_kinds.py::test_thread",
        "nodeid": "test_kinds.py::test_thread",
    }
    assert (thread["object"], thread["detail"]) == ("left-behind", "target wait")
    assert thread["created"][0]["function"] == "test_thread"
    assert thread["hint"] == "`leaklint check` looks for this pattern as LL401 (thread-not-joined)"
    assert by_kind["task"]["detail"].startswith("coroutine forever, waiting at test_kinds.py:")
    # The terminal: the leaks, the daemon threads apart, and one warning per leak.
    assert "leaklint: 6 leaked" in run.output
    assert "leaklint: 1 daemon threads left running" in run.output
    assert "test_kinds.py::test_thread: thread 'left-behind', target wait [LL401" in run.output
    assert run.output.count("LeakWarning") == 7


# -- fixtures are charged at their own teardown -----------------------------------------------

FIXTURES = {
    "conftest.py": """
        import threading

        import pytest

        STOPS = []


        def start(name):
            stop = threading.Event()
            STOPS.append(stop)
            thread = threading.Thread(target=stop.wait, name=name)
            thread.start()  # leak: thread
            thread.stop = stop
            return thread


        @pytest.fixture(scope="session", autouse=True)
        def _stop_every_thread_last():
            yield
            for stop in STOPS:
                stop.set()


        @pytest.fixture(scope="session")
        def shared():
            yield start("session-worker")


        @pytest.fixture(scope="session")
        def joined():
            thread = start("joined-worker")
            yield thread
            thread.stop.set()
            thread.join()


        @pytest.fixture
        def per_test():
            yield start("function-worker")


        @pytest.fixture(scope="class")
        def per_class():
            return start("class-worker")
        """,
    "test_fixtures.py": """
        import pytest

        def test_first(shared):
            pass

        def test_second(shared, per_test):
            pass

        def test_joined(joined):
            pass

        class Base:
            def test_in_class(self, per_class):
                pass

        class TestChild(Base):
            def test_also(self, per_class):
                pass
        """,
}


def test_fixtures_are_charged_at_their_teardown_not_to_the_first_test(tmp_path: Path) -> None:
    write(tmp_path, FIXTURES)
    run = run_pytest(tmp_path, "--leaklint", "--leaklint-exit-timeout", "1", timeout=60)
    owners = sorted((leak["owner"]["label"], leak["object"]) for leak in run.leaks)
    assert owners == [
        ("fixture 'per_class' (class scope)", "class-worker"),
        (
            "fixture 'per_test' (function scope) for test_fixtures.py::test_second",
            "function-worker",
        ),
        ("fixture 'shared' (session scope)", "session-worker"),
    ]
    assert all(leak["owner"]["kind"] == "fixture" for leak in run.leaks)
    # Every leak was made by one helper, called from three fixtures.
    assert {frame["function"] for leak in run.leaks for frame in leak["created"][:1]} == {"start"}
    assert {leak["created"][1]["function"] for leak in run.leaks} == {
        "shared",
        "per_test",
        "per_class",
    }


# -- made inside a library, called from the project -------------------------------------------

LIBRARY = {
    "vendor/fakedriver.py": """
        import threading

        _stop = threading.Event()


        class Connection:
            def __init__(self):
                self._worker = threading.Thread(target=_stop.wait, name="driver-io")
                self._worker.start()

            def close(self):
                _stop.set()
                self._worker.join()
        """,
    "project/pytest.ini": INI + "pythonpath = ../vendor\n",
    "project/test_driver.py": """
        import fakedriver

        CONNECTIONS = []


        def test_connect():
            CONNECTIONS.append(fakedriver.Connection())  # leak: thread


        def test_zz_close():
            CONNECTIONS[0].close()
        """,
}


def test_a_leak_made_inside_a_library_points_at_the_project_caller(tmp_path: Path) -> None:
    write(tmp_path, LIBRARY)
    run = run_pytest(tmp_path / "project", "--leaklint")
    assert run.found() == expected(tmp_path / "project")
    (leak,) = run.leaks
    assert leak["created"][0]["function"] == "__init__"
    assert leak["created"][0]["path"].endswith("vendor/fakedriver.py")
    assert leak["hint"].startswith("made inside ")
    assert leak["hint"].endswith("which the project called at test_driver.py:7: stop it there")


# -- a clean project reports nothing ----------------------------------------------------------

CLEAN = {
    "pytest.ini": INI + "asyncio_mode = auto\n",
    "conftest.py": """
        import asyncio
        import threading

        import pytest
        import pytest_asyncio


        @pytest.fixture(scope="session")
        def worker():
            stop = threading.Event()
            thread = threading.Thread(target=stop.wait)
            thread.start()
            yield thread
            stop.set()
            thread.join()


        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def ticker():
            task = asyncio.create_task(asyncio.sleep(3600))
            yield task
            task.cancel()
        """,
    "test_clean.py": """
        import asyncio
        import subprocess
        import sys
        from concurrent.futures import ThreadPoolExecutor

        import pytest


        def test_sync(worker):
            with ThreadPoolExecutor() as pool:
                assert pool.submit(sum, [1, 2]).result() == 3
            assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0


        async def test_async(ticker):
            await asyncio.to_thread(sum, [1])
            assert not ticker.done()


        @pytest.mark.asyncio(loop_scope="session")
        async def test_on_the_session_loop():
            await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))


        def test_asyncio_run():
            asyncio.run(asyncio.sleep(0))
        """,
}


def test_a_clean_project_reports_nothing(tmp_path: Path) -> None:
    write(tmp_path, CLEAN)
    run = run_pytest(tmp_path, "--leaklint")
    assert run.returncode == 0, run.output
    assert run.report == {"leaklint": 1, "mode": "warn", "leaks": [], "exit": []}
    assert "leaklint:" not in run.output
    assert "4 passed" in run.output


# -- fail mode, the allowlist and the marker --------------------------------------------------

FAIL = {
    "pytest.ini": INI + "leaklint = fail\nleaklint_allow =\n    allowed-by-config-*\n",
    "conftest.py": """
        import threading

        import pytest

        STOP = threading.Event()


        def start(name, daemon=False):
            thread = threading.Thread(target=STOP.wait, name=name, daemon=daemon)
            thread.start()
            return thread


        @pytest.fixture(scope="module")
        def leaky_module_fixture():
            return start("module-worker")


        @pytest.fixture
        def broken():
            yield
            raise RuntimeError("teardown broke")


        @pytest.fixture(scope="session", autouse=True)
        def _stop_every_thread_last():
            yield
            STOP.set()
        """,
    "test_fail.py": """
        import pytest

        from conftest import start


        def test_leaks():
            start("failing-worker")


        def test_daemon_only_warns():
            start("daemon-worker", daemon=True)


        def test_allowed_by_config():
            start("allowed-by-config-1")


        @pytest.mark.leaklint(allow=["allowed-by-mark"])
        def test_allowed_by_mark():
            start("allowed-by-mark")


        def test_leaks_and_breaks(broken):
            start("broken-worker")


        def test_uses_module_fixture(leaky_module_fixture):
            pass
        """,
}


def test_fail_mode_errors_the_leaking_test_and_fixture_and_honours_the_allowlist(
    tmp_path: Path,
) -> None:
    write(tmp_path, FAIL)
    run = run_pytest(tmp_path)
    assert run.returncode == 1, run.output
    assert run.report["mode"] == "fail"
    assert sorted(leak["object"] for leak in run.leaks) == [
        "broken-worker",
        "daemon-worker",
        "failing-worker",
        "module-worker",
    ]
    assert "ERROR at teardown of test_leaks" in run.output
    assert "ERROR at teardown of test_uses_module_fixture" in run.output
    assert "fixture 'leaky_module_fixture' (module scope): thread 'module-worker'" in run.output
    assert "made at conftest.py:10 in start" in run.output
    # A teardown that fails on its own reports its own error; the leak is still recorded.
    assert "RuntimeError: teardown broke" in run.output
    assert "6 passed, 1 warning, 3 errors" in run.output


# -- the aiosqlite-style hang: a worker thread that outlives its loop -------------------------

DRIVER = Path(__file__).resolve().parent.parent / "fixtures" / "runtime" / "driver"


@pytest.mark.parametrize("mode", ["warn", "fail"])
def test_a_worker_thread_that_outlives_its_loop_is_named_instead_of_hanging(
    tmp_path: Path, mode: str
) -> None:
    shutil.copytree(DRIVER, tmp_path, dirs_exist_ok=True)
    with (tmp_path / "pytest.ini").open("a", encoding="utf-8") as ini:
        ini.write(f"leaklint = {mode}\n")
    dumped = r'File ".*fakedb.py", line 16 in _run'
    until = dumped if mode == "warn" else None
    args = ("--leaklint-exit-timeout", "1")
    run = run_pytest(tmp_path, *args, timeout=HANG_TIMEOUT, hang_until=until)
    # The driver's thread is charged to the fixture that opened the connection and never closed
    # it; the test's own thread to the test.
    assert run.found() == expected(tmp_path)
    owners = {leak["object"]: leak["owner"]["label"] for leak in run.leaks}
    assert owners == {
        "fakedb-worker": "fixture 'db' (module scope)",
        "progress": "test_db.py::test_progress_thread",
    }
    (worker,) = (leak for leak in run.leaks if leak["object"] == "fakedb-worker")
    assert worker["detail"] == "target Connection._run"
    assert [frame["function"] for frame in worker["created"][:2]] == ["__init__", "db"]
    # Why pytest won't exit, then the stack of the blocking thread.
    assert sorted(blocker["object"] for blocker in run.report["exit"]) == [
        "fakedb-worker",
        "progress",
    ]
    assert "pytest will not exit while these run" in run.output
    assert "interpreter exit waits for non-daemon thread(s) 'fakedb-worker'" in run.output
    assert re.search(dumped, run.output), run.output
    # warn waits on (run_pytest ends it); fail ends the process with status 1.
    assert run.returncode == (None if mode == "warn" else 1)


def test_the_static_check_sees_one_of_the_two_leaks_the_run_names(tmp_path: Path) -> None:
    """The pairing the README describes: ``leaklint check`` flags the thread the test starts
    (LL401, same line); only the run sees the one inside the driver."""
    from harness import lint_project

    static = {(d.path.name, d.location.row, d.code) for d in lint_project(DRIVER).diagnostics}
    assert static == {("test_db.py", 13, "LL401")}
    shutil.copytree(DRIVER, tmp_path, dirs_exist_ok=True)
    args = ("-o", "leaklint=fail", "--leaklint-exit-timeout", "1")
    run = run_pytest(tmp_path, *args, timeout=HANG_TIMEOUT)
    assert {(path, line) for path, line, _ in run.found()} == {
        ("fakedb.py", 12),
        ("test_db.py", 13),
    }


# -- off by default, and bad configuration ----------------------------------------------------

OFF = {
    "test_off.py": """
        import asyncio.base_events
        import subprocess
        import sys
        import threading


        def test_nothing_is_patched():
            # functools.wraps copies __module__, but a wrapper always has __wrapped__.
            assert not hasattr(threading.Thread.start, "__wrapped__")
            assert not hasattr(subprocess.Popen.__init__, "__wrapped__")
            assert not hasattr(asyncio.base_events.BaseEventLoop.create_task, "__wrapped__")
            assert "leaklint.runtime.track" not in sys.modules
            assert "leaklint.runtime.hooks" not in sys.modules


        def test_leak_nobody_reports():
            threading.Thread(target=lambda: None).start()
        """,
}


def test_off_by_default_patches_nothing_and_reports_nothing(tmp_path: Path) -> None:
    write(tmp_path, OFF)
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.output
    assert run.report == {}
    assert "leaklint:" not in run.output
    assert "LeakWarning" not in run.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "leaklint=loud"], "the ini value 'leaklint' is off, warn or fail, not 'loud'"),
        (
            ["--leaklint", "--leaklint-exit-timeout", "soon"],
            "the exit timeout is a number of seconds above 0, not 'soon'",
        ),
        (["--leaklint", "--leaklint-frames", "0"], "--leaklint-frames is at least 1, not 0"),
    ],
)
def test_bad_configuration_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path, OFF)
    run = run_pytest(tmp_path, *args)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: leaklint: {message}" in run.output
    assert "Traceback" not in run.output


def test_the_rules_named_are_the_registry_s() -> None:
    from leaklint.rules.base import all_rules

    names = {rule.code: rule.name for rule in all_rules()}
    assert {code: names.get(code) for code, _ in RULES.values()} == dict(RULES.values())


# -- pytest-xdist: each worker checks its tests, the controller reports -----------------------

XDIST = {
    "conftest.py": """
        import threading

        STOP = threading.Event()


        def pytest_unconfigure(config):
            STOP.set()  # after the session is checked: the worker can exit
        """,
    "test_spread.py": """
        import threading

        import pytest

        from conftest import STOP


        @pytest.mark.parametrize("n", range(4))
        def test_leaked_thread(n):
            thread = threading.Thread(target=STOP.wait, name=f"waiter-{n}")
            thread.start()  # leak: thread
        """,
}


def test_xdist_workers_send_their_leaks_to_the_controller(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    write(tmp_path, XDIST)
    run = run_pytest(tmp_path, "--leaklint", "-n", "2")
    assert run.returncode == 0, run.output
    assert run.found() == expected(tmp_path)
    assert sorted(leak["object"] for leak in run.leaks) == [f"waiter-{n}" for n in range(4)]
    assert "leaklint: 4 leaked" in run.output
    # Still waiting when their worker's session ended: each is listed under its worker.
    blockers = sorted(blocker["object"].split(" ", 1) for blocker in run.report["exit"])
    assert sorted(name for _, name in blockers) == [f"waiter-{n}" for n in range(4)], blockers
    assert all(re.fullmatch(r"\[gw\d\]", worker) for worker, _ in blockers), blockers
    assert "pytest will not exit while these run" in run.output


# -- anyio's plugin -----------------------------------------------------------------------------

ANYIO = {
    "test_anyio.py": """
        import asyncio
        import threading

        import pytest

        STOP = threading.Event()


        @pytest.fixture(scope="session")
        def anyio_backend():
            return "asyncio"


        @pytest.fixture(scope="module")
        async def resource(anyio_backend):
            yield asyncio.get_running_loop()


        @pytest.mark.anyio
        async def test_clean(resource):
            assert asyncio.get_running_loop() is resource


        @pytest.mark.anyio
        async def test_leaks_a_thread():
            threading.Thread(target=STOP.wait, name="anyio-side").start()  # leak: thread


        def test_zz_stop():
            STOP.set()
        """,
}


def test_anyio_runner_loops_are_not_reported(tmp_path: Path) -> None:
    """anyio is a dev dependency: this runs, never skips."""
    write(tmp_path, ANYIO)
    run = run_pytest(tmp_path, "--leaklint")
    assert run.returncode == 0, run.output
    assert run.found() == expected(tmp_path)


# -- opt-in: file descriptors and sockets -------------------------------------------------------

FDS = {
    "conftest.py": """
        import socket

        import pytest


        @pytest.fixture(scope="module")
        def server():
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            return listener


        @pytest.fixture(scope="module")
        def closed_server():
            listener = socket.socket()
            yield listener
            listener.close()
        """,
    "test_fds.py": """
        import socket

        KEEP = []


        def test_file_left_open(tmp_path):
            path = tmp_path / "data.txt"
            path.write_text("x")
            KEEP.append(path.open())


        def test_file_closed(tmp_path):
            with (tmp_path / "data.txt").open("w") as handle:
                handle.write("x")


        def test_uses_servers(server, closed_server):
            pass


        def test_also_uses_server(server):
            pass


        def test_zz_close():
            for handle in KEEP:
                handle.close()
        """,
}


def test_descriptors_and_sockets_are_reported_when_asked(tmp_path: Path) -> None:
    from leaklint.runtime.fds import supported

    if not supported():
        pytest.skip("no /proc/self/fd or /dev/fd here")
    write(tmp_path, FDS)
    run = run_pytest(tmp_path, "--leaklint", "--leaklint-fds")
    assert run.returncode == 0, run.output
    found = sorted((leak["owner"]["label"], leak["kind"]) for leak in run.leaks)
    assert found == [
        ("fixture 'server' (module scope)", "socket"),
        ("test_fds.py::test_file_left_open", "fd"),
    ]
    (left_open,) = (leak for leak in run.leaks if leak["kind"] == "fd")
    assert left_open["object"].endswith("data.txt")
    # Not asked: not reported.
    assert run_pytest(tmp_path, "--leaklint").leaks == []


DEEP = {
    "test_deep.py": """
        import threading

        STOP = threading.Event()


        def nested(depth):
            if depth:
                return nested(depth - 1)
            thread = threading.Thread(target=STOP.wait)
            thread.start()  # leak: thread
            return thread


        def test_deep():
            nested(12)


        def test_zz_stop():
            STOP.set()
        """,
}


@pytest.mark.parametrize(("frames", "kept"), [(None, 8), ("1", 1), ("40", 14)])
def test_the_creation_site_keeps_as_many_frames_as_asked(
    tmp_path: Path, frames: str | None, kept: int
) -> None:
    write(tmp_path, DEEP)
    run = run_pytest(tmp_path, "--leaklint", *(["--leaklint-frames", frames] if frames else []))
    assert run.found() == expected(tmp_path)
    (leak,) = run.leaks
    # Thirteen calls of nested() and the test itself: the frames end where pytest called the test.
    assert len(leak["created"]) == kept
    assert leak["created"][-1]["function"] == ("test_deep" if kept == 14 else "nested")


IMPORT_TIME = {
    "test_import.py": """
        import threading

        STOP = threading.Event()
        threading.Thread(target=STOP.wait, name="at-import").start()  # leak: thread


        def test_stop():
            STOP.set()
        """,
}


@pytest.mark.parametrize(("mode", "status"), [("warn", 0), ("fail", 1)])
def test_what_import_makes_is_the_session_s(tmp_path: Path, mode: str, status: int) -> None:
    ini = INI + f"leaklint = {mode}\n"
    write(tmp_path, {**IMPORT_TIME, "pytest.ini": ini})
    run = run_pytest(tmp_path)
    # Still alive when the session is checked? No: the test stopped it, so nothing is reported,
    # and nothing fails. A thread made at import and left running is the session's.
    assert run.leaks == []
    assert run.returncode == 0, run.output
    leaky = IMPORT_TIME["test_import.py"].replace("STOP.set()", "pass")
    write(tmp_path, {"test_import.py": leaky, "pytest.ini": ini})
    until = "interpreter exit waits for non-daemon thread" if mode == "warn" else None
    args = ("--leaklint-exit-timeout", "1")
    run = run_pytest(tmp_path, *args, timeout=HANG_TIMEOUT, hang_until=until)
    assert run.found() == expected(tmp_path)
    (leak,) = run.leaks
    assert leak["owner"] == {
        "kind": "session",
        "label": "the session (import and collection)",
        "nodeid": "",
    }
    assert run.returncode == (None if mode == "warn" else status)
    warned = "LeakWarning: the session (import and collection) leaked thread 'at-import'"
    assert (warned in run.output) == (mode == "warn")


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """pytest imports the plugin in every run of everyone who installs leaklint."""
    probe = (
        "import sys; before = set(sys.modules); import leaklint.runtime.plugin; "
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import pytest; " + probe],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(done.stdout.replace("'", '"')))
    assert loaded == {"leaklint", "leaklint.runtime", "leaklint.runtime.plugin"}


def test_the_entry_point_loads_on_a_pluggy_without_wrappers() -> None:
    """pluggy < 1.1 (pytest 7) rejects ``hookimpl(wrapper=True)``: the module every pytest run
    imports must not use it, or installing leaklint breaks every run."""
    probe = textwrap.dedent(
        """
        import pytest

        real = pytest.hookimpl

        def old_hookimpl(*args, **kwargs):
            if "wrapper" in kwargs:
                raise TypeError("HookimplMarker.__call__() got an unexpected keyword 'wrapper'")
            return real(*args, **kwargs)

        pytest.hookimpl = old_hookimpl
        import leaklint.runtime.plugin as plugin

        names = [name for name in dir(plugin) if name.startswith("pytest_")]
        print(sorted(names))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['pytest_addoption',", "'pytest_configure']"]


# -- what a loop makes for itself belongs to the loop ------------------------------------------

DEFAULT_EXECUTOR = {
    "test_default_executor.py": """
        import asyncio
        import time
        from concurrent.futures import ThreadPoolExecutor

        import pytest

        KEEP = []


        @pytest.mark.asyncio(loop_scope="module")
        async def test_to_thread():
            assert await asyncio.to_thread(sum, [1, 2]) == 3


        @pytest.mark.asyncio(loop_scope="module")
        async def test_run_in_executor():
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, time.sleep, 0) is None


        def test_own_executor():
            executor = ThreadPoolExecutor(max_workers=1)  # leak: executor
            executor.submit(time.sleep, 0).result()
            KEEP.append(executor)


        def test_zz_cleanup():
            KEEP.pop().shutdown()
        """,
}


def test_the_loop_s_default_executor_is_not_the_test_s(tmp_path: Path) -> None:
    write(tmp_path, DEFAULT_EXECUTOR)
    run = run_pytest(tmp_path, "-o", "leaklint=fail")
    assert run.found() == expected(tmp_path), run.output
    assert "leaklint: 1 leaked" in run.output, run.output
    assert "4 passed, 1 error" in run.output, run.output


# -- the first test to load a pool module is tracked like the next ------------------------------

LAZY = {
    "test_lazy.py": """
        import pytest

        KEEP = []


        @pytest.mark.parametrize("n", range(2))
        def test_thread_pool_executor(n):
            from concurrent.futures import ThreadPoolExecutor  # loads .thread the first time

            KEEP.append(ThreadPoolExecutor(max_workers=1))  # leak: executor


        @pytest.mark.parametrize("n", range(2))
        def test_thread_pool(n):
            from multiprocessing.pool import ThreadPool  # loaded the first time

            KEEP.append(ThreadPool(1))  # leak: pool


        def test_zz_cleanup():
            for pool in KEEP:
                pool.shutdown() if hasattr(pool, "shutdown") else pool.terminate()
        """,
}


def test_the_first_test_to_load_a_pool_module_is_tracked(tmp_path: Path) -> None:
    write(tmp_path, LAZY)
    run = run_pytest(tmp_path, "--leaklint")
    assert run.returncode == 0, run.output
    assert run.found() == expected(tmp_path)
    owners = sorted(leak["owner"]["nodeid"] for leak in run.leaks)
    assert owners == [
        f"test_lazy.py::test_{name}[{n}]"
        for name in ("thread_pool", "thread_pool_executor")
        for n in range(2)
    ]


# -- loaded by its entry point, or by name ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--leaklint"], pytest.ExitCode.OK),
        (["-p", "leaklint.runtime.plugin", "--leaklint"], pytest.ExitCode.OK),
        (["-p", "no:leaklint.runtime.plugin", "--leaklint"], pytest.ExitCode.USAGE_ERROR),
    ],
)
def test_the_plugin_is_loaded_once_whichever_way_it_is_named(
    tmp_path: Path, args: list[str], status: int
) -> None:
    write(tmp_path, {"test_one.py": "def test_one():\n    pass\n"})
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == status, done.stdout + done.stderr
    assert "already registered" not in done.stdout + done.stderr
