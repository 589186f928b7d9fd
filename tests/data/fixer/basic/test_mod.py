# A latin word in a comment: café, and old_name() in a comment stays.
import os


def test_rename():
    assert old_name(old_name(1)) == risky(2)  # both kinds on one line


def test_unwrap():
    value = wrap(wrap(wrap("é")))
    add_line()
    return value


def helper():
    both()
