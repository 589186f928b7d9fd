"""The runtime half: a pytest plugin that names what a test or fixture left running (threads,
processes, event loops, tasks, executors), where it was created, the static rule that covers the
pattern, and what keeps the interpreter from exiting at the end of the session.

Loaded by pytest through the ``pytest11`` entry point in every run of anyone who installs
leaklint, so ``plugin`` imports nothing but the standard library and pytest until the plugin is
switched on (``--leaklint`` or ``leaklint = warn|fail``); only then are ``hooks`` (the hook
wrappers, which need pluggy 1.1), ``track``, ``leaks``, ``exit`` and ``report`` loaded and the
creation functions patched.

May import: the standard library and pytest. Nothing in leaklint imports it, and it imports no
other leaklint package (the rule codes it names are checked against the registry by the tests).
"""
