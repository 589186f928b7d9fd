"""Test classes as pytest collects them: bases found across the project's modules, marks
inherited in pytest's order, and the test methods a class inherits.

A base class is found by name in its own module, or through the import that binds it (``from
base import BaseSuite``, ``import helpers`` then ``helpers.Suite``, relative imports) in the
project's own modules, found as pytest's default import mode finds them (``model.modules``:
the importing module's basedir, the rootdir, ``pythonpath``). Bases that are not found
(installed packages, ``object``) are left out.

pytest reads a class's marks from the ``pytestmark`` in the ``__dict__`` of every class of its
MRO, the farthest base first (``get_unpacked_marks(cls, consider_mro=True)``); a decorator
appends its mark to the ``pytestmark`` the class has at that moment, which is the body's, else
the one it inherits. A subclass collects every test method of its MRO not shadowed by a name
nearer to it, under its own node id, in its own module.

Nothing is kept between calls: every file read is noted by the project each time, so callers
that record what they read (``Project.tracked``) see all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from leaklint.model.modules import module_file
from leaklint.model.project import Project
from leaklint.model.pytest_model import (
    ClassModel,
    Collection,
    FileModel,
    Mark,
    TestDef,
    decorator_marks,
    fixture_decorator,
    method_params,
)

ClassRef = tuple[Path, ClassModel]
# pytest collects the subclasses of these (whatever their name) with its unittest plugin, and
# runs them itself: pytest-asyncio never does.
UNITTEST_BASES = frozenset(
    {
        "unittest.TestCase",
        "unittest.case.TestCase",
        "unittest.IsolatedAsyncioTestCase",
        "unittest.async_case.IsolatedAsyncioTestCase",
    }
)
_DEPTH = 20  # bases followed through re-exports and long hierarchies, at most


class Inheritance:
    def __init__(self, project: Project) -> None:
        self.project = project

    # ---- finding classes ---------------------------------------------------------------

    def module_file(self, module: str, importer: Path) -> Path | None:
        """The project file of ``module`` (dotted, maybe relative) imported from ``importer``."""
        return module_file(self.project, module, importer)

    def find(
        self, path: Path, written: str, qualified: str | None, depth: int = 0
    ) -> ClassRef | None:
        """The class a base expression of a class in ``path`` names."""
        if depth > _DEPTH:
            return None
        model = self.project.file_model(path)
        if qualified is None:
            if model is None or "." in written or written not in model.classes:
                return None
            return path, model.classes[written]
        module, _, name = qualified.rpartition(".")
        if not module:
            return None
        found = self.module_file(module, path)
        if found is None:
            # ``import helpers`` then ``helpers.sub.Suite``: a submodule, tried the same way.
            return None
        other = self.project.file_model(found)
        if other is None:
            return None
        if name in other.classes:
            return found, other.classes[name]
        # Imported there in turn (a re-export): follow it.
        source = self.project.source(found)
        if isinstance(source, OSError) or source.module is None:
            return None
        target = source.imports.bindings.get(name)
        return None if target is None else self.find(found, name, target, depth + 1)

    def bases(self, ref: ClassRef) -> list[ClassRef]:
        path, cls = ref
        found = (self.find(path, written, qualified) for written, qualified in cls.bases)
        return [b for b in found if b is not None]

    def mro(self, ref: ClassRef, depth: int = 0) -> list[ClassRef]:
        """The class and its bases found in the project, in Python's method resolution order
        (C3; depth first when C3 finds no order)."""
        if depth > _DEPTH:
            return [ref]
        bases = self.bases(ref)
        if not bases:
            return [ref]
        lines = [self.mro(base, depth + 1) for base in bases]
        merged = _c3([list(line) for line in lines] + [list(bases)])
        if merged is None:
            merged = []
            for line in lines:
                merged.extend(r for r in line if not any(_same(r, m) for m in merged))
        return [ref, *merged]

    # ---- marks and tests ---------------------------------------------------------------

    def stored_marks(self, ref: ClassRef, mro: list[ClassRef]) -> tuple[Mark, ...]:
        """The ``pytestmark`` in the class's own ``__dict__`` (``mro`` is its MRO)."""
        cls = ref[1]
        if not cls.decorator_marks:
            return cls.body_marks or ()
        start: tuple[Mark, ...] = cls.body_marks or ()
        if cls.body_marks is None:
            for index, base in enumerate(mro[1:], start=1):
                if base[1].stores_marks:  # what ``getattr(cls, "pytestmark")`` finds
                    start = self.stored_marks(base, mro[index:])
                    break
        return (*start, *cls.decorator_marks)

    def class_marks(self, mro: list[ClassRef]) -> tuple[Mark, ...]:
        """The marks pytest gives the class node: each class's stored ones, farthest first."""
        marks: list[Mark] = []
        for index in range(len(mro) - 1, -1, -1):
            marks.extend(self.stored_marks(mro[index], mro[index:]))
        return tuple(marks)

    def is_unittest(self, mro: list[ClassRef]) -> bool:
        """Whether a class of ``mro`` derives from ``unittest.TestCase`` directly."""
        return any(q in UNITTEST_BASES for _, c in mro for _, q in c.bases)

    def tests_of(
        self, path: Path, model: FileModel, cls: ClassModel, mro: list[ClassRef]
    ) -> list[TestDef] | None:
        """The tests pytest collects from the class ``cls`` of ``path`` (``mro`` is its MRO)
        when it inherits from a class found in the project or is a ``unittest.TestCase``;
        ``None`` otherwise (the file's own reading is right then)."""
        unittest = self.is_unittest(mro)
        if len(mro) == 1 and not unittest:
            return None
        if not unittest and any(c.defines_init for _, c in mro):
            return []  # pytest does not collect a test class with an ``__init__``
        collection = Collection(functions=("test",)) if unittest else model.collection
        collection = collection or Collection()
        class_marks = self.class_marks(mro)
        seen: set[str] = set()
        tests: list[TestDef] = []
        for where, owner in mro:
            owner_model = model if where == path else self.project.file_model(where)
            source = self.project.source(where)
            if owner_model is None or isinstance(source, OSError):
                continue
            for func in owner.methods():
                name = func.name.value
                if name in seen:
                    continue
                seen.add(name)
                if not collection.is_test_function(name):
                    continue
                if fixture_decorator(func, source.imports, owner_model.aliases) is not None:
                    continue
                own = decorator_marks(func, source.imports, "function", owner_model.constants)
                tests.append(
                    TestDef(
                        name=name,
                        path=path,
                        node=func,
                        is_async=func.asynchronous is not None,
                        params=method_params(func),
                        marks=(*own, *class_marks, *model.module_marks),
                        class_names=(cls.name,),
                        class_nodes=(cls.node,),
                        defined_in=where if where != path else None,
                        inherited=owner is not cls,
                        unittest=unittest,
                    )
                )
        return tests

    def fixture_classes(self, path: Path, cls: ClassModel) -> Iterator[ClassRef]:
        """The classes whose fixtures a test of ``cls`` sees, nearest first."""
        yield from self.mro((path, cls))


def _same(a: ClassRef, b: ClassRef) -> bool:
    return a[0] == b[0] and a[1] is b[1]


def _c3(sequences: list[list[ClassRef]]) -> list[ClassRef] | None:
    result: list[ClassRef] = []
    while True:
        sequences = [s for s in sequences if s]
        if not sequences:
            return result
        for sequence in sequences:
            head = sequence[0]
            if not any(any(_same(head, r) for r in s[1:]) for s in sequences):
                break
        else:
            return None
        result.append(head)
        for s in sequences:
            if _same(s[0], head):
                del s[0]
