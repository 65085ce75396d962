"""Libraries imported without running the parts the model never uses, until something uses them.

- **Mesa** (`from sim.deferred import mesa`): `import mesa` runs every Mesa subpackage. In Mesa 3.3
  `mesa.space` imports networkx and `mesa.experimental` scipy.spatial and scipy.sparse; in Mesa 3.5
  `mesa.discrete_space` imports both. The model builds no grid or space: 0.15-0.25 s of CPU and
  17 MB of the seed county's peak in every process that runs it.
- **scipy.special** (`from sim.deferred import special`: `ndtri`, `ndtr`, `expit`, `stdtrit`): scipy's
  array-API layer (1.17, 1.18) copies numpy's namespace by reading every name numpy lists, which
  imports numpy's lazily loaded submodules (f2py with charset_normalizer, testing with unittest,
  polynomial, ...): 0.12-0.14 s of CPU and 6 MB for modules nothing here calls.

Those modules are registered in `sys.modules` but run on their first use, as the standard library's
`importlib.util.LazyLoader` does, so `mesa.space.MultiGrid`, the dashboard's `mesa.visualization` or
`numpy.testing` work as before. LazyLoader itself cannot be used: Mesa's own import logs through
`inspect.stack()`, which reads every loaded module's `__file__` and so would run them all; a deferred
module here answers its identity (name, file, spec, loader) without running (docs/performance.md,
"Where the seed county's peak memory goes"). A library imported before `sim` is used as it is.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Sequence

MESA_UNUSED = ("mesa.space", "mesa.experimental", "mesa.experimental.continuous_space", "mesa.discrete_space")
NUMPY_UNUSED = ("numpy.char", "numpy.core", "numpy.ctypeslib", "numpy.f2py", "numpy.polynomial", "numpy.rec",
                "numpy.strings", "numpy.testing")
IDENTITY = frozenset({"__name__", "__file__", "__cached__", "__spec__", "__loader__", "__package__", "__class__"})
PYTHON_CODE = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader)
_running = threading.RLock()


class DeferredModule(types.ModuleType):
    """A registered module that runs its code on the first read of anything but its identity. Other
    threads wait until it has run; the thread running it reads it as it stands, as during an import."""

    def __getattribute__(self, attr: str):
        if attr in IDENTITY:
            return object.__getattribute__(self, attr)
        with _running:
            if type(self) is DeferredModule:
                spec = object.__getattribute__(self, "__spec__")
                if not isinstance(spec.loader, _DeferringLoader):
                    return object.__getattribute__(self, attr)
                loader = spec.loader.loader
                spec.loader = loader
                self.__loader__ = loader
                try:
                    loader.exec_module(self)
                finally:
                    self.__class__ = types.ModuleType
        return getattr(self, attr)


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__class__ = DeferredModule


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if not isinstance(getattr(spec, "loader", None), PYTHON_CODE):      # an extension module makes its own
            return None
        spec.loader = _DeferringLoader(spec.loader)
        return spec


def import_deferring(name: str, deferred: Sequence[str]) -> types.ModuleType:
    """Import package `name` with its submodules `deferred` registered but not run until used (the
    package as it is if it was already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    finder = _DeferringFinder(deferred)
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)


def __getattr__(name: str) -> types.ModuleType:
    """`mesa` and `special` (scipy.special), each imported only when asked for."""
    if name == "mesa":
        return import_deferring("mesa", MESA_UNUSED)
    if name == "special":
        return import_deferring("scipy.special", NUMPY_UNUSED)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
