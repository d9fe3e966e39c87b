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
from ._core.refusal import REFUSAL, find_refusal
from ._core.values import comes_with_python

__all__ = ['probe_import', 'fails_in_workers', 'prepare', 'importable_first', 'answered', 'remember']

# What a probe found per module: the reason it cannot be imported in a worker, or
# None.  The modules the worker runtime imports itself are known (results and
# ``display()`` go through IPython's formatters and display): a probe of one
# would import all of IPython (~50 ms) to say so.
_cache = dict.fromkeys(('IPython', 'IPython.display', 'IPython.core.display',
                        'IPython.core.formatters', 'IPython.core.displaypub',
                        'IPython.core.interactiveshell'))
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

# Extensions whose absence changes no result: readline only edits lines typed
# at a terminal (pdb, doctest and rlcompleter do without it when it refuses).
_UNFELT = ('readline',)

# Run in the scratch interpreter for each probe.  Besides the module's own
# failure, it finds a refusal the module's import caught: a library that does
# without an optional extension when it cannot load it (requests without
# charset_normalizer's compiled part) behaves otherwise in a worker than here,
# so it counts as refusing.  Refusals are kept, with which module imported
# which, for the life of the interpreter: a module probed later that imports
# one seen earlier (cached then, so not imported again) is found too.
_PROBE = '''\
import importlib, sys
sys.path[:] = {path!r}
watch = sys.modules.get('_interpkernel_probe_watch')
if watch is None:
    import builtins, importlib.util, os, re, types, warnings
    warnings.simplefilter('ignore')     # a probe shows nothing: not even what a
    sys.stdout = sys.stderr = open(os.devnull, 'w')   # module prints (``import this``)
    watch = types.ModuleType('_interpkernel_probe_watch')
    watch.imports, watch.refused = {{}}, {{}}
    real_import = builtins.__import__

    def watching_import(name, globals=None, locals=None, fromlist=(), level=0):
        globals = globals or {{}}
        importer = globals.get('__name__')
        try:
            return real_import(name, globals, locals, fromlist, level)
        except ImportError as exc:
            found = re.search({refusal!r}, str(exc))
            if found and found.group(1) not in {unfelt!r}:
                watch.refused.setdefault(found.group(1), found.group(0))
            raise
        finally:
            if importer is not None:
                try:
                    target = importlib.util.resolve_name(
                        '.' * level + name, globals.get('__package__')) if level else name
                except (ImportError, ValueError):
                    target = None
                if target:
                    edges = watch.imports.setdefault(importer, set())
                    edges.add(target)
                    edges.update(f'{{target}}.{{item}}' for item in fromlist or ())

    builtins.__import__ = watching_import
    sys.modules['_interpkernel_probe_watch'] = watch
try:
    importlib.import_module({name!r})
except ModuleNotFoundError as exc:
    if exc.name != {name!r} or '.' not in {name!r}:
        raise SystemExit(str(exc))
    # ``from package import name``: no such module, so an attribute; its
    # package imported (its refusals are found below).
except ImportError as exc:
    raise SystemExit(str(exc))
except Exception as exc:   # it needs something workers lack (IPython's get_ipython ...)
    raise SystemExit(f'{{type(exc).__name__}}: {{exc}}')
parts = {name!r}.split('.')
seen, stack = set(), ['.'.join(parts[:n]) for n in range(1, len(parts) + 1)]
while stack:
    module = stack.pop()
    if module in watch.refused:
        raise SystemExit(watch.refused[module])
    if module not in seen:
        seen.add(module)
        stack.extend(watch.imports.get(module, ()))
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
    failure = _scratch.run(_PROBE.format(name=name, path=list(sys.path), refusal=REFUSAL,
                                         unfelt=_UNFELT))
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


def answered(name):
    """Has a probe answered for module `name` already (asking again costs nothing)?"""
    with _cache_lock:
        return name in _cache


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
