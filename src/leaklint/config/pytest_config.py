"""pytest's own configuration discovery, with every value's file and line.

This follows ``_pytest/config/findpaths.py`` (pytest 9): ``-c FILE`` wins; otherwise walk up from
the common ancestor of the paths and, in each directory, take the first of ``pytest.toml``,
``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``, ``pyproject.toml`` (with ``[tool.pytest]`` or
``[tool.pytest.ini_options]``), ``tox.ini`` (with ``[pytest]``), ``setup.cfg`` (with
``[tool:pytest]``). Files are never merged. What pytest would reject (a file that does not parse,
both pyproject tables, ``[pytest]`` in setup.cfg) is recorded as a problem, not raised: a linter
reports and goes on.

Over 500 lines: it mirrors pytest's discovery and the parsing of each of its config formats
(TOML, INI, ``setup.cfg``, ``addopts``) with the file and line of every value, one format after
the other.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import iniconfig

from leaklint.config.paths import absolute, common_ancestor
from leaklint.diagnostics import Location

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAMES = (
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
)

SETUP_PY = "setup.py"  # marks a rootdir when no config file is found
LOOP_SCOPES = ("function", "class", "module", "package", "session")
ASYNCIO_MODES = ("strict", "auto")


@dataclass(frozen=True)
class Setting:
    """One configuration value and where it was written."""

    key: str
    value: object
    path: Path
    location: Location
    # "ini": a string (or list of strings) as INI files and [tool.pytest.ini_options] give it;
    # "toml": a native TOML value from [tool.pytest] or pytest.toml's [pytest];
    # "addopts": an option carried by addopts (``-o k=v``, ``--asyncio-mode=``).
    mode: str = "ini"

    @property
    def text(self) -> str | None:
        """The value as a string, when it is one."""
        return self.value if isinstance(self.value, str) else None


@dataclass(frozen=True)
class ConfigProblem:
    """A config file pytest would refuse (LL002) or a table conflict (LL103)."""

    kind: str  # "parse" | "type" | "conflicting-tables" | "setup-cfg-pytest" | "top-level"
    message: str
    path: Path
    location: Location


@dataclass(frozen=True)
class ConfigFile:
    """A file that holds pytest configuration, whether it won or was shadowed."""

    path: Path
    section: str  # "pytest", "tool.pytest", "tool.pytest.ini_options", "tool:pytest", ""
    section_location: Location
    settings: dict[str, Setting]
    mode: str  # "ini" | "toml"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Addopts:
    """What the ``addopts`` value carries that matters to leaklint."""

    asyncio_mode: Setting | None = None
    disabled_plugins: tuple[str, ...] = ()
    overrides: dict[str, Setting] = field(default_factory=dict)
    numprocesses: Setting | None = None
    timeout: Setting | None = None
    # ``-W`` / ``--pythonwarnings`` filters, in order; pytest applies them after filterwarnings.
    warning_filters: tuple[Setting, ...] = ()
    plugins: tuple[str, ...] = ()  # ``-p NAME`` (not ``no:``): modules loaded as plugins

    @property
    def asyncio_disabled(self) -> bool:
        return any(p in ("asyncio", "pytest_asyncio") for p in self.disabled_plugins)


@dataclass(frozen=True)
class PytestConfig:
    rootdir: Path
    file: ConfigFile | None
    shadowed: tuple[ConfigFile, ...] = ()
    problems: tuple[ConfigProblem, ...] = ()
    addopts: Addopts = field(default_factory=Addopts)
    explicit: bool = False  # chosen with -c / --config

    @property
    def path(self) -> Path | None:
        return None if self.file is None else self.file.path

    @property
    def settings(self) -> dict[str, Setting]:
        return {} if self.file is None else self.file.settings

    def get(self, key: str) -> Setting | None:
        """The effective setting: ``-o`` in addopts beats the file (``--asyncio-mode`` too)."""
        if key == "asyncio_mode" and self.addopts.asyncio_mode is not None:
            return self.addopts.asyncio_mode
        if key in self.addopts.overrides:
            return self.addopts.overrides[key]
        return self.settings.get(key)

    def text(self, key: str) -> str | None:
        setting = self.get(key)
        if setting is None:
            return None
        value = setting.value
        if isinstance(value, str):
            return value.strip()
        return None

    @property
    def asyncio_mode(self) -> str:
        mode = self.text("asyncio_mode")
        return mode if mode in ASYNCIO_MODES else "strict"

    @property
    def default_fixture_loop_scope(self) -> str | None:
        """``asyncio_default_fixture_loop_scope`` when valid (``fixture-scope`` means unset)."""
        value = self.text("asyncio_default_fixture_loop_scope")
        return value if value in LOOP_SCOPES else None

    @property
    def default_test_loop_scope(self) -> str:
        value = self.text("asyncio_default_test_loop_scope")
        return value if value in LOOP_SCOPES else "function"


# --------------------------------------------------------------------------- discovery


def discover(paths: Sequence[Path], config_file: Path | None = None) -> PytestConfig:
    """The configuration pytest would use when run on ``paths`` (``determine_setup``)."""
    problems: list[ConfigProblem] = []
    if config_file is not None:
        path = absolute(config_file)
        loaded = load_config_file(path, problems, explicit=True)
        if loaded is None:
            # pytest still reports the file as the configfile, with no values.
            loaded = ConfigFile(path, "", Location(1, 1), {}, _mode_of(path))
        return _finish(path.parent, loaded, (), problems, explicit=True)

    dirs = [p if p.is_dir() else p.parent for p in map(absolute, paths) if p.exists()]
    ancestor = common_ancestor(dirs)
    located = _locate([ancestor], problems)
    if located is not None:
        return _finish(*located, problems)
    for base in (ancestor, *ancestor.parents):
        if (base / SETUP_PY).is_file():
            return _finish(base, None, (), problems)
    if dirs and dirs != [ancestor]:
        # pytest then searches upward from each argument: a config below the common
        # ancestor (``pytest a/x b/y`` with ``a/pytest.ini``) is found this way.
        located = _locate(dirs, problems)
        if located is not None:
            return _finish(*located, problems)
    # No config anywhere: pytest roots at what the working directory and the paths share.
    rootdir = common_ancestor([absolute(Path.cwd()), ancestor])
    if rootdir == Path(rootdir.anchor):
        rootdir = ancestor
    return _finish(rootdir, None, (), problems)


def _locate(
    args: Sequence[Path], problems: list[ConfigProblem]
) -> tuple[Path, ConfigFile | None, tuple[ConfigFile, ...]] | None:
    """``locate_config``: the first directory upward holding a config, its losers, or the first
    bare ``pyproject.toml`` seen (pytest >= 8.1 uses it as the configfile, with no values)."""
    bare_pyproject: Path | None = None
    for arg in args:
        for base in (arg, *arg.parents):
            found: ConfigFile | None = None
            shadowed: list[ConfigFile] = []
            before = len(problems)
            for name in CONFIG_NAMES:
                candidate = base / name
                if not candidate.is_file():
                    continue
                if name == "pyproject.toml" and bare_pyproject is None:
                    bare_pyproject = candidate
                loaded = load_config_file(candidate, problems)
                if loaded is None:
                    if found is None and len(problems) > before:
                        # pytest stops with a usage error on the first file it cannot read.
                        return base, None, ()
                    continue
                if found is None:
                    found = loaded
                else:
                    shadowed.append(loaded)
            if found is not None:
                return base, found, tuple(shadowed)
    if bare_pyproject is not None:
        empty = ConfigFile(bare_pyproject, "", Location(1, 1), {}, "ini")
        return bare_pyproject.parent, empty, ()
    return None


def holds_config(directory: Path) -> bool:
    """Whether pytest run on ``directory`` stops its config search there: one of the seven
    names holds pytest configuration, or is a file pytest cannot read (it stops with an
    error). A ``pyproject.toml`` without a pytest table does not count: pytest only falls back
    on one when no config is found further up. Only names that exist are read."""
    for name in CONFIG_NAMES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        problems: list[ConfigProblem] = []
        if load_config_file(candidate, problems) is not None or problems:
            return True
    return False


def _mode_of(path: Path) -> str:
    return "toml" if path.suffix == ".toml" else "ini"


def _finish(
    rootdir: Path,
    file: ConfigFile | None,
    shadowed: tuple[ConfigFile, ...],
    problems: list[ConfigProblem],
    *,
    explicit: bool = False,
) -> PytestConfig:
    addopts = parse_addopts(file.settings.get("addopts")) if file is not None else Addopts()
    if file is not None and file.mode == "toml":
        problems = [*problems, *type_problems(file)]
    return PytestConfig(
        rootdir=rootdir,
        file=file,
        shadowed=shadowed,
        problems=tuple(problems),
        addopts=addopts,
        explicit=explicit,
    )


def load_config_file(
    path: Path, problems: list[ConfigProblem], *, explicit: bool = False
) -> ConfigFile | None:
    """The pytest configuration ``path`` holds, or ``None`` when it holds none."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            ConfigProblem("parse", f"cannot decode {path.name}: {exc.reason}", path, Location(1, 1))
        )
        return None
    except OSError as exc:
        problems.append(
            ConfigProblem("parse", f"cannot read {path.name}: {exc.strerror}", path, Location(1, 1))
        )
        return None
    # pytest picks the loader by name first, then (for ``-c`` files) by suffix.
    if path.name in CONFIG_NAMES:
        kind = path.name
    elif explicit and path.suffix in (".ini", ".cfg", ".toml"):
        kind = path.suffix
    elif explicit:
        problems.append(
            ConfigProblem(
                "parse",
                f"{path.name} has an unsupported format for pytest's -c "
                "(supported extensions: .cfg, .ini, .toml)",
                path,
                Location(1, 1),
            )
        )
        return None
    else:
        return None
    if kind.endswith(".toml"):
        return _load_toml(path, text, problems, kind=kind)
    return _load_ini(path, text, problems, kind=kind)


def _load_ini(
    path: Path, text: str, problems: list[ConfigProblem], *, kind: str
) -> ConfigFile | None:
    try:
        ini = iniconfig.IniConfig(str(path), data=text)
    except iniconfig.ParseError as exc:
        problems.append(
            ConfigProblem("parse", f"invalid INI: {exc.msg}", path, Location(exc.lineno + 1, 1))
        )
        return None
    is_cfg = kind in ("setup.cfg", ".cfg")
    section = "tool:pytest" if is_cfg else "pytest"
    if is_cfg and section not in ini.sections and "pytest" in ini.sections:
        line = ini.lineof("pytest") or 1
        problems.append(
            ConfigProblem(
                "setup-cfg-pytest",
                "[pytest] in setup.cfg is not supported by pytest; rename it to [tool:pytest]",
                path,
                Location(line, 1),
            )
        )
    if section not in ini.sections:
        if kind in ("pytest.ini", ".pytest.ini"):
            return ConfigFile(path, "", Location(1, 1), {}, "ini")
        return None
    settings: dict[str, Setting] = {}
    lines = text.splitlines()
    for key, value in ini.sections[section].items():
        line = ini.lineof(section, key) or 1
        column = _key_column(lines, line, key)
        settings[key] = Setting(key, value, path, Location(line, column), "ini")
    header_line = ini.lineof(section) or 1
    return ConfigFile(path, section, Location(header_line, 1), settings, "ini")


def _key_column(lines: list[str], line: int, key: str) -> int:
    if 0 < line <= len(lines):
        index = lines[line - 1].find(key)
        if index >= 0:
            return index + 1
    return 1


_TOML_ERROR_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _load_toml(
    path: Path, text: str, problems: list[ConfigProblem], *, kind: str
) -> ConfigFile | None:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR_POSITION.search(str(exc))
        location = Location(int(match[1]), int(match[2])) if match else Location(1, 1)
        message = _TOML_ERROR_POSITION.sub("", str(exc)).strip()
        problems.append(ConfigProblem("parse", f"invalid TOML: {message}", path, location))
        return None
    keys = TomlKeyLines(text)
    if kind in ("pytest.toml", ".pytest.toml"):
        # Always the config, even when empty.
        found = _pytest_table(path, document, keys, problems)
        return found or ConfigFile(path, "", Location(1, 1), {}, "toml")
    from_tool = _tool_pytest(path, document, keys, problems)
    if kind == "pyproject.toml":
        return from_tool
    # A ``-c`` file with another name: [tool.pytest] tables, else a [pytest] table.
    if from_tool is None:
        return _pytest_table(path, document, keys, problems)
    if "pytest" in document:
        problems.append(
            ConfigProblem(
                "conflicting-tables",
                "[pytest] and [tool.pytest] in one file: pytest refuses to start",
                path,
                keys.table_location(("pytest",)),
            )
        )
    return from_tool


def _pytest_table(
    path: Path, document: dict[str, object], keys: TomlKeyLines, problems: list[ConfigProblem]
) -> ConfigFile | None:
    """The ``[pytest]`` table of ``pytest.toml`` (native TOML values)."""
    table = document.get("pytest")
    if isinstance(table, dict):
        return _toml_file(path, ("pytest",), table, keys, "toml")
    top_level = [k for k, v in document.items() if not isinstance(v, dict)]
    if top_level:
        problems.append(
            ConfigProblem(
                "top-level",
                "pytest configuration must be under a [pytest] table "
                f"(found top-level options: {', '.join(top_level)})",
                path,
                keys.key_location((), top_level[0]),
            )
        )
    return None


def _tool_pytest(
    path: Path, document: dict[str, object], keys: TomlKeyLines, problems: list[ConfigProblem]
) -> ConfigFile | None:
    """``[tool.pytest]`` (native values) or ``[tool.pytest.ini_options]`` (strings)."""
    tool = document.get("tool")
    tool_pytest = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(tool_pytest, dict):
        return None
    native = {k: v for k, v in tool_pytest.items() if k != "ini_options"}
    ini_options = tool_pytest.get("ini_options")
    if native and ini_options:
        problems.append(
            ConfigProblem(
                "conflicting-tables",
                "[tool.pytest] and [tool.pytest.ini_options] in one file: pytest refuses to start",
                path,
                keys.table_location(("tool", "pytest", "ini_options")),
            )
        )
    if native:
        return _toml_file(path, ("tool", "pytest"), native, keys, "toml")
    if isinstance(ini_options, dict):
        as_ini: dict[str, object] = {
            k: v if isinstance(v, list) else str(v) for k, v in ini_options.items()
        }
        return _toml_file(path, ("tool", "pytest", "ini_options"), as_ini, keys, "ini")
    return None


def _toml_file(
    path: Path,
    table: tuple[str, ...],
    values: dict[str, object],
    keys: TomlKeyLines,
    mode: str,
) -> ConfigFile:
    settings = {
        key: Setting(key, value, path, keys.key_location(table, key), mode)
        for key, value in values.items()
    }
    return ConfigFile(path, ".".join(table), keys.table_location(table), settings, mode)


_TABLE_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"^(\s*)((?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.\- ]+?))\s*=")


def _split_key(raw: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", raw)
    return tuple(p.strip("\"'") for p in parts)


class TomlKeyLines:
    """Where each table header and key of a TOML document is written.

    ``tomllib`` gives values without positions; this reads the lines once to find a key's own
    line (a dotted key like ``tool.pytest.ini_options.addopts = ...`` included). Lines inside
    multi-line strings and arrays are skipped.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, ...], Location] = {}
        self.keys: dict[tuple[str, ...], Location] = {}
        current: tuple[str, ...] = ()
        depth = 0
        in_string: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                if in_string in line:
                    in_string = None
                continue
            if depth > 0:
                depth += bracket_balance(line)
                continue
            header = _TABLE_HEADER.match(line)
            if header:
                current = _split_key(header[1])
                self.tables.setdefault(current, Location(number, line.index("[") + 1))
                continue
            key = _KEY_LINE.match(line)
            if key:
                full = (*current, *_split_key(key[2]))
                self.keys.setdefault(full, Location(number, len(key[1]) + 1))
                value = line[key.end() :]
                for quote in ('"""', "'''"):
                    if value.count(quote) == 1:
                        in_string = quote
                depth = max(0, bracket_balance(value))

    def key_location(self, table: tuple[str, ...], key: str) -> Location:
        return self.keys.get((*table, key)) or self.table_location(table)

    def table_location(self, table: tuple[str, ...]) -> Location:
        for length in range(len(table), 0, -1):
            found = self.tables.get(table[:length]) or self.keys.get(table[:length])
            if found is not None:
                return found
        return Location(1, 1)


def bracket_balance(text: str) -> int:
    """Brackets and braces opened minus closed on a TOML line (strings and comments aside)."""
    balance = 0
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance


# --------------------------------------------------------------------------- native types

# The type pytest (or pytest-asyncio) registers for the keys leaklint reads. In TOML mode
# ([tool.pytest], pytest.toml) pytest checks these exactly and refuses to start otherwise.
KNOWN_TYPES: dict[str, str] = {
    "asyncio_mode": "string",
    "asyncio_default_fixture_loop_scope": "string",
    "asyncio_default_test_loop_scope": "string",
    "asyncio_debug": "bool",
    "addopts": "args",
    "filterwarnings": "linelist",
    "markers": "linelist",
    "python_files": "args",
    "python_classes": "args",
    "python_functions": "args",
    "testpaths": "args",
    "norecursedirs": "args",
    "usefixtures": "args",
    "required_plugins": "args",
}

_TYPE_NAMES = {"string": "a string", "bool": "a bool (true or false)"}


def type_problem(setting: Setting) -> str | None:
    """Why pytest would refuse this native TOML value, or ``None`` when it is fine."""
    expected = KNOWN_TYPES.get(setting.key)
    value = setting.value
    if expected is None or setting.mode != "toml":
        return None
    got = _toml_type(value)
    if expected in ("args", "linelist"):
        if not isinstance(value, list):
            return f"'{setting.key}' must be a list of strings in native TOML, got {got}"
        for index, item in enumerate(value):
            if not isinstance(item, str):
                return (
                    f"'{setting.key}' must be a list of strings, "
                    f"but item {index} is {_toml_type(item)}"
                )
        return None
    if expected == "bool" and not isinstance(value, bool):
        return f"'{setting.key}' must be {_TYPE_NAMES[expected]}, got {got}"
    if expected == "string" and not isinstance(value, str):
        return f"'{setting.key}' must be {_TYPE_NAMES[expected]}, got {got}"
    return None


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return f"a bool ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def type_problems(file: ConfigFile) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for setting in file.settings.values():
        message = type_problem(setting)
        if message is not None:
            problems.append(ConfigProblem("type", message, setting.path, setting.location))
    return problems


# --------------------------------------------------------------------------- list values


@dataclass(frozen=True)
class Entry:
    """One item of a list-valued setting (``filterwarnings``, ``addopts``) and its own line."""

    text: str
    line: int
    own_line: bool  # alone on its line (not on the key's line, not beside other items)


def entries(setting: Setting, text: str) -> list[Entry]:
    """The items of a list setting, each with the line it is written on.

    An INI value spans the key line and its indented continuation lines; a TOML value is an
    array, one item per line or inline. An item that cannot be found is placed on the key line.
    """
    value = setting.value
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = [line.strip() for line in value.split("\n") if line.strip()]
    else:
        return []
    lines = text.splitlines()
    key_line = setting.location.row
    found: list[Entry] = []
    cursor = key_line
    for item in items:
        line = _find_entry(lines, cursor, item, setting)
        if line is None:
            found.append(Entry(item, key_line, False))
            continue
        cursor = line
        own = line != key_line and _alone(lines[line - 1], item, setting)
        found.append(Entry(item, line, own))
    return found


def _item_spellings(item: str, setting: Setting) -> tuple[str, ...]:
    if setting.path.suffix == ".toml":
        return (f'"{item}"', f"'{item}'")
    return (item,)


def _find_entry(lines: list[str], start: int, item: str, setting: Setting) -> int | None:
    spellings = _item_spellings(item, setting)
    for number in range(start, min(len(lines), start + 200) + 1):
        line = lines[number - 1]
        if number == setting.location.row and "=" in line:
            line = line.split("=", 1)[1]
        if setting.path.suffix == ".toml":
            if any(s in line for s in spellings):
                return number
        elif line.strip() == item or (number == setting.location.row and item in line):
            return number
    return None


def _alone(line: str, item: str, setting: Setting) -> bool:
    rest = line.strip()
    for spelling in _item_spellings(item, setting):
        if rest.startswith(spelling):
            rest = rest[len(spelling) :].strip()
            break
    else:
        return False
    rest = rest.removeprefix(",").strip()
    return rest == "" or rest.startswith("#")


# --------------------------------------------------------------------------- addopts


def addopts_tokens(setting: Setting) -> list[str]:
    value = setting.value
    if isinstance(value, list):
        tokens: list[str] = []
        for item in value:
            tokens.extend(_split(str(item)))
        return tokens
    return _split(str(value))


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse_addopts(setting: Setting | None) -> Addopts:
    if setting is None:
        return Addopts()
    tokens = addopts_tokens(setting)
    mode: Setting | None = None
    disabled: list[str] = []
    overrides: dict[str, Setting] = {}
    numprocesses: Setting | None = None
    timeout: Setting | None = None
    filters: list[Setting] = []
    plugins: list[str] = []

    def carried(key: str, value: str) -> Setting:
        return Setting(key, value, setting.path, setting.location, "addopts")

    for option, value in _options(tokens):
        if option == "--asyncio-mode":
            mode = carried("asyncio_mode", value)
        elif option == "-p" and value.startswith("no:"):
            disabled.append(value[3:])
        elif option == "-p":
            plugins.append(value)
        elif option in ("-o", "--override-ini") and "=" in value:
            key, _, override = value.partition("=")
            overrides[key.strip()] = carried(key.strip(), override)
        elif option in ("-n", "--numprocesses"):
            numprocesses = carried("numprocesses", value)
        elif option == "--timeout":
            timeout = carried("timeout", value)
        elif option in ("-W", "--pythonwarnings"):
            filters.append(carried("pythonwarnings", value))
    return Addopts(
        mode, tuple(disabled), overrides, numprocesses, timeout, tuple(filters), tuple(plugins)
    )


_WITH_VALUE = (
    "--asyncio-mode",
    "-p",
    "-o",
    "--override-ini",
    "-n",
    "--numprocesses",
    "--timeout",
    "-W",
    "--pythonwarnings",
)


def _options(tokens: list[str]) -> Iterator[tuple[str, str]]:
    """``(option, value)`` pairs for the options leaklint reads, in every spelling pytest takes."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("--") and "=" in token:
            option, _, value = token.partition("=")
            if option in _WITH_VALUE:
                yield option, value
            continue
        if token in _WITH_VALUE:
            if index < len(tokens):
                yield token, tokens[index]
                index += 1
            continue
        for short in ("-p", "-o", "-n", "-W"):
            if token.startswith(short) and len(token) > 2 and not token.startswith("--"):
                yield short, token[2:].lstrip("=")
