"""Which modules refuse to load in a subinterpreter, found out in advance.

`probe_import` imports a module in a scratch interpreter once and caches the
answer for the life of the process (one scratch interpreter serves every
probe: making and ending one per probe cost ~20 ms, which a fresh kernel
paid for each module its cells import) (`interpkernel._core.refusal` recognises
the refusal itself, inside workers).
"""

import atexit
import importlib.util
import sys
import threading

from ._core import _xi
from ._core.refusal import find_refusal
from ._core.values import comes_with_python

__all__ = ['probe_import', 'fails_in_workers', 'prepare', 'importable_first', 'remember']

_cache = {}
_cache_lock = threading.Lock()


class _ScratchInterpreter:
    """The interpreter probes import in, made on first use, one probe at a time.

    Importing more modules in it changes no answer: a module that imports in
    an interpreter where others were imported first imports in a fresh one.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._id = None

    def prepare(self):
        """Make the interpreter now, so that the first probe need not wait for it."""
        with self._lock:
            self._ensure()

    def run(self, code):
        with self._lock:
            self._ensure()
            return _xi.run(self._id, code)

    def _ensure(self):
        if self._id is None:
            self._id = _xi.create()
            atexit.register(self.close)

    def close(self):
        with self._lock:
            if self._id is not None:
                _xi.destroy(self._id)
                self._id = None


_scratch = _ScratchInterpreter()

_PROBE = '''\
import importlib, sys
sys.path[:] = {path!r}
try:
    importlib.import_module({name!r})
except ImportError as exc:
    raise SystemExit(str(exc))
except Exception as exc:   # it needs something workers lack (IPython's get_ipython ...)
    raise SystemExit(f'{{type(exc).__name__}}: {{exc}}')
'''


def probe_import(name):
    """Return None if module `name` imports in a subinterpreter, else why not.

    The first call for a name costs the import (and, the first time of all,
    the scratch interpreter); later calls are a dictionary look-up.  A module that is not
    installed at all is reported the same way, with its ImportError message.
    """
    if not isinstance(name, str) or not all(p.isidentifier() for p in name.split('.')):
        raise ValueError(f'module name must be a dotted name, got {name!r}')
    with _cache_lock:
        if name in _cache:
            return _cache[name]
    failure = _scratch.run(_PROBE.format(name=name, path=list(sys.path)))
    reason = None
    if failure is not None:
        message = failure.strip().splitlines()[-1].removeprefix('SystemExit: ')
        match = find_refusal(failure)
        reason = match.group(0) if match else message
    with _cache_lock:
        _cache[name] = reason
    return reason


# Standard-library modules that show something as they import (a poem, a browser,
# a window): a worker must not import them before the cell's own code runs.
_SHOWS_AS_IMPORTED = frozenset({'this', 'antigravity', '__hello__', '__phello__', 'idlelib',
                                'turtledemo'})


def importable_first(name):
    """True if a worker may import module `name` before a cell instead of a probe
    here: a standard-library module no probe answered yet, that shows nothing as it
    imports, and that no file of the notebook's shadows."""
    top = name.partition('.')[0]
    if top not in sys.stdlib_module_names or top in _SHOWS_AS_IMPORTED:
        return False
    with _cache_lock:
        if name in _cache or _cache.get(top) is not None:   # answered, or its package refuses
            return False
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    return comes_with_python(spec)


def remember(name, reason):
    """Record what importing module `name` in a worker found (None: it imports)."""
    with _cache_lock:
        _cache[name] = reason


def prepare():
    """Make the scratch interpreter probes import in (~20 ms): a kernel calls it in a
    thread as it starts, before its first cell's imports are probed."""
    _scratch.prepare()


def fails_in_workers(name):
    """Why module `name`, which this interpreter can import, cannot be imported in a
    worker (it refuses subinterpreters, or needs what only the host has, such as
    IPython's ``get_ipython``); None if it can, or if it is not installed at all."""
    try:
        if importlib.util.find_spec(name.partition('.')[0]) is None:
            return None
    except (ImportError, ValueError):
        return None
    return probe_import(name)
