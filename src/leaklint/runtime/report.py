"""The leaks as text and JSON. Both are made from the JSON form of a leak (a dict), which is also
what an xdist worker sends to the controller, so one formatter serves every run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KINDS = {
    "thread": "thread",
    "daemon-thread": "daemon thread",
    "process": "process",
    "popen": "subprocess",
    "loop": "event loop",
    "task": "task",
    "executor": "executor",
    "pool": "pool",
    "fd": "file descriptor",
    "socket": "socket",
}


def document(mode: str, leaks: list[dict[str, Any]], exit: list[dict[str, Any]]) -> dict[str, Any]:
    return {"leaklint": 1, "mode": mode, "leaks": leaks, "exit": exit}


def write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def site(frame: dict[str, Any]) -> str:
    where = f"{frame['path']}:{frame['line']}"
    return f"{where} in {frame['function']}" if frame["function"] else where


def headline(leak: dict[str, Any]) -> str:
    rule = f" [{leak['code']} {leak['rule']}]" if leak.get("code") else ""
    kind = KINDS.get(leak["kind"], leak["kind"])
    return f"{kind} {leak['object']!r}, {leak['detail']}{rule}"


def message(leak: dict[str, Any]) -> str:
    """One line for a warning or a failure: what, whose, where."""
    made = f", made at {site(leak['created'][0])}" if leak["created"] else ""
    return f"{leak['owner']['label']} leaked {headline(leak)}{made}"


def leak_lines(leak: dict[str, Any]) -> list[str]:
    lines = [f"{leak['owner']['label']}: {headline(leak)}"]
    frames = leak["created"]
    if frames:
        lines.append(f"    made at {site(frames[0])}")
        lines.extend(f"       from {site(frame)}" for frame in frames[1:4])
    if leak.get("hint"):
        lines.append(f"    {leak['hint']}")
    return lines


def summary(doc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(section title, lines) for the terminal summary; nothing when nothing leaked."""
    sections: list[tuple[str, list[str]]] = []
    leaks = doc["leaks"]
    blocking = [leak for leak in leaks if leak["kind"] != "daemon-thread"]
    daemons = [leak for leak in leaks if leak["kind"] == "daemon-thread"]
    for title, group in (
        (f"leaklint: {len(blocking)} leaked", blocking),
        (f"leaklint: {len(daemons)} daemon threads left running", daemons),
    ):
        if group:
            sections.append((title, [line for leak in group for line in leak_lines(leak)]))
    if doc["exit"]:
        lines = []
        for blocker in doc["exit"]:
            lines.append(
                f"{KINDS.get(blocker['kind'], blocker['kind'])} {blocker['object']!r}, "
                f"{blocker['detail']}"
            )
            if blocker["created"]:
                lines.append(f"    made at {site(blocker['created'][0])}")
        sections.append(("leaklint: pytest will not exit while these run", lines))
    return sections
