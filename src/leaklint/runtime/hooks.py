"""The hooks the plugin runs when switched on: each test and fixture owns what is made while it
runs, and is checked when it is done; the leaks are warned about or failed, written to the JSON
report and summed up at the end of the session.

A module of its own, imported only by ``plugin.pytest_configure`` when the mode is not off:
its new-style wrappers (``hookimpl(wrapper=True)``) need pluggy 1.1, and the entry-point module
must load on any pytest, including pytest 7 with pluggy 1.0, for everyone who installs leaklint.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from leaklint.runtime.leaks import Leak
    from leaklint.runtime.track import Owner, Tracker


class LeakWarning(pytest.PytestWarning):
    """Something a test or fixture made is still running after it ended."""


def allowed_by(node: Any) -> list[str]:
    patterns: list[str] = []
    for mark in node.iter_markers("leaklint"):
        allow = mark.kwargs.get("allow", ())
        patterns.extend([allow] if isinstance(allow, str) else allow)
        patterns.extend(mark.args)
    return patterns


class LeakPlugin:
    def __init__(self, config: pytest.Config, mode: str, exit_timeout: float, frames: int) -> None:
        from leaklint.runtime.track import Owner, Tracker

        self._owner = Owner

        self.config = config
        self.mode = mode
        self.root = Path(config.rootpath)
        self.allow = tuple(config.getini("leaklint_allow"))
        self.exit_timeout = exit_timeout
        report = config.getoption("leaklint_report")
        self.report_path = Path(report) if report else None
        fds = config.getoption("leaklint_fds")
        self.fds = bool(config.getini("leaklint_fds") if fds is None else fds)
        self.owned_fds: dict[int, str] = {}  # opened by a fixture's setup: not the test's
        self.finalized_fds: list[dict[int, str]] = []  # to forget after this teardown
        self.tracker: Tracker = Tracker(frames)
        self.tracker.install()
        self.fixtures: dict[object, tuple[Owner, Any]] = {}
        self.tests: dict[pytest.Item, Owner] = {}
        self.pending: list[Leak] = []  # fixture leaks found during the current teardown
        self.leaks: list[dict[str, Any]] = []
        self.exit: list[dict[str, Any]] = []
        self.failed_late = False  # fail mode: a leak found when no test was left to fail

    # -- owners -------------------------------------------------------------------------------

    def _test_owner(self, item: pytest.Item) -> Owner:
        owner = self.tests.get(item)
        if owner is None:
            owner = self.tests[item] = self._owner("test", item.nodeid)
            if self.fds:
                from leaklint.runtime.fds import snapshot

                owner.fds_before = snapshot()
        return owner

    def _run_as(self, owner: Owner) -> Generator[None, object, object]:
        self.tracker.push(owner)
        try:
            return (yield)
        finally:
            self.tracker.pop(owner)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """The test owns what is made from its setup to its teardown (one owner for the three
        phases, so no per-phase work)."""
        try:
            return (yield from self._run_as(self._test_owner(item)))
        finally:
            self.tests.pop(item, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        """Check the test once its fixtures are torn down, and fail the teardown in fail mode."""
        try:
            result = yield
        except BaseException:
            self._after_teardown(item, fail_now=False)  # the teardown's own error goes first
            raise
        self._after_teardown(item, fail_now=True)
        return result

    def _after_teardown(self, item: pytest.Item, *, fail_now: bool) -> None:
        owner = self._test_owner(item)
        found = self._check(owner, item) + self._check_fds(owner, item) + self.pending
        self.pending = []
        for forget in self.finalized_fds:
            for fd in forget:
                self.owned_fds.pop(fd, None)
        self.finalized_fds = []
        self._deliver(found, fail_now=fail_now)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        owner = self._owner(
            "fixture", request.node.nodeid, name=fixturedef.argname, scope=fixturedef.scope
        )
        self.fixtures[fixturedef] = (owner, request.node)
        if not self.fds:
            return (yield from self._run_as(owner))
        from leaklint.runtime.fds import opened, snapshot

        before = snapshot()
        try:
            return (yield from self._run_as(owner))
        finally:
            owner.fds = opened(before, snapshot())
            self.owned_fds.update(owner.fds)

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        entry = self.fixtures.pop(fixturedef, None)
        if entry is not None:
            owner, node = entry
            self.pending.extend(self._check(owner, node))
            if owner.fds:
                from leaklint.runtime.fds import fd_leaks, still_open

                self.pending.extend(fd_leaks(owner, still_open(owner.fds), self.root))
                self.finalized_fds.append(owner.fds)

    # -- checks and delivery ------------------------------------------------------------------

    def _check(self, owner: Owner, node: Any) -> list[Leak]:
        from leaklint.runtime.leaks import leaks_of

        if not owner.created:
            return []
        return leaks_of(owner, self.root, lambda: self._allow(node))

    def _check_fds(self, owner: Owner, node: Any) -> list[Leak]:
        if owner.fds_before is None:
            return []
        from leaklint.runtime.fds import fd_leaks, opened, snapshot

        new = opened(owner.fds_before, snapshot())
        mine = {fd: t for fd, t in new.items() if self.owned_fds.get(fd) != t}
        leaks = fd_leaks(owner, mine, self.root)
        patterns = tuple(self._allow(node))
        return [leak for leak in leaks if not any(fnmatchcase(leak.name, p) for p in patterns)]

    def _allow(self, node: Any) -> Iterable[str]:
        return (*self.allow, *allowed_by(node)) if node is not None else self.allow

    def _deliver(self, found: list[Leak], *, fail_now: bool = True) -> None:
        """Record the leaks; in fail mode fail the current test (or, at the end of the session,
        the run), else warn. Daemon threads only ever warn."""
        if not found:
            return
        from leaklint.runtime.report import leak_lines, message

        records = [leak.to_dict(self.root) for leak in found]
        self.leaks.extend(records)
        failing = [r for r in records if self.mode == "fail" and r["kind"] != "daemon-thread"]
        for leak, record in zip(found, records, strict=True):
            if record in failing:
                continue
            where = leak.project_frame or (leak.created[0] if leak.created else None)
            path = where.path if where else str(self.root / leak.nodeid.split("::")[0])
            warnings.warn_explicit(
                LeakWarning(message(record)), LeakWarning, path, where.line if where else 0
            )
        if failing and fail_now:
            lines = [line for record in failing for line in leak_lines(record)]
            pytest.fail("leaklint: left running\n" + "\n".join(lines), pytrace=False)
        self.failed_late = self.failed_late or bool(failing)

    # -- the end of the session ---------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from leaklint.runtime.exit import blockers

        found = self._check(self.tracker.session, session) + self.pending
        for owner, node in list(self.fixtures.values()):  # never torn down (interrupted run)
            found.extend(self._check(owner, node))
        self.fixtures.clear()
        self.pending = []
        self._deliver(found, fail_now=False)
        self.exit.extend(leak.to_dict(self.root) for leak in blockers(self.tracker, self.root))
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reports
            import json

            data = {"leaks": self.leaks, "exit": self.exit, "failed_late": self.failed_late}
            workeroutput["leaklint"] = json.dumps(data)
        elif self.failed_late and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        import json

        raw = getattr(node, "workeroutput", {}).get("leaklint")
        if raw:
            data = json.loads(raw)
            worker = getattr(node, "gateway", None)
            prefix = f"[{worker.id}] " if worker is not None else ""
            self.leaks.extend(data["leaks"])
            self.failed_late = self.failed_late or data.get("failed_late", False)
            for blocker in data["exit"]:
                blocker["object"] = prefix + blocker["object"]
                self.exit.append(blocker)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from leaklint.runtime.report import document, summary, write

        if getattr(self.config, "workeroutput", None) is not None:
            return
        doc = document(self.mode, self.leaks, self.exit)
        if self.report_path is not None:
            write(self.report_path, doc)
        for title, lines in summary(doc):
            colour = {"red": True} if self.mode == "fail" else {"yellow": True}
            terminalreporter.write_sep("=", title, **colour)
            for line in lines:
                terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from leaklint.runtime.exit import arm_at_shutdown

        self.tracker.uninstall()
        arm_at_shutdown(self.exit_timeout, exit_after=self.mode == "fail")
