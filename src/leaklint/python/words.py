"""Whole-word searches of a file's bytes, for the prefilter and the byte scans before any
parse."""

from __future__ import annotations

_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def has_word(raw: bytes, token: bytes) -> bool:
    """Whether ``token`` occurs in ``raw`` with no identifier character on either side. A
    substring search from one occurrence to the next: a pattern with a look-behind first
    gets no fast literal search from ``re`` and crawls through a large file."""
    size = len(token)
    start = raw.find(token)
    while start >= 0:
        end = start + size
        if (start == 0 or raw[start - 1] not in _WORD_BYTES) and (
            end == len(raw) or raw[end] not in _WORD_BYTES
        ):
            return True
        start = raw.find(token, start + 1)
    return False
