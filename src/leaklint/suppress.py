"""Suppression comments: ``# leaklint: ignore[LL401]``, ``# leaklint: ignore``, ``# noqa: LL401``.

A comment suppresses the findings that point at its line. Codes may be given as prefixes
(``LL4``); a bare comment suppresses every code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IGNORE = re.compile(
    r"#\s*(?:leaklint:\s*ignore|noqa)"
    r"(?:\s*(?:\[(?P<bracket>[^\]]*)\]|:\s*(?P<colon>[A-Z0-9, ]+)))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Suppression:
    line: int
    codes: tuple[str, ...] | None  # None: every code

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(c) for c in self.codes)


def suppressions(text: str) -> dict[int, list[Suppression]]:
    """Suppression comments by 1-based line number."""
    found: dict[int, list[Suppression]] = {}
    if "leaklint" not in text and "noqa" not in text and "NOQA" not in text:
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        for match in _IGNORE.finditer(line):
            raw = match["bracket"] if match["bracket"] is not None else match["colon"]
            codes = None
            if raw is not None:
                codes = tuple(c.strip().upper() for c in raw.split(",") if c.strip()) or None
            found.setdefault(number, []).append(Suppression(number, codes))
    return found


def is_suppressed(code: str, line: int, table: dict[int, list[Suppression]]) -> bool:
    return any(s.covers(code) for s in table.get(line, ()))
