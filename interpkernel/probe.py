"""Which modules refuse to load in a subinterpreter, found out in advance.

`probe_import` imports a module in a scratch interpreter once and caches the
answer for the life of the process (`interpkernel._core.refusal` recognises
the refusal itself, inside workers).
"""

import importlib.util
import sys
import threading

from ._core import _xi
from ._core.refusal import find_refusal

__all__ = ['probe_import', 'fails_in_workers']

_cache = {}
_cache_lock = threading.Lock()

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

    The first call for a name costs one scratch interpreter (about 8 ms) plus
    the import; later calls are a dictionary look-up.  A module that is not
    installed at all is reported the same way, with its ImportError message.
    """
    if not isinstance(name, str) or not all(p.isidentifier() for p in name.split('.')):
        raise ValueError(f'module name must be a dotted name, got {name!r}')
    with _cache_lock:
        if name in _cache:
            return _cache[name]
    iid = _xi.create()
    try:
        failure = _xi.run(iid, _PROBE.format(name=name, path=list(sys.path)))
    finally:
        _xi.destroy(iid)
    reason = None
    if failure is not None:
        message = failure.strip().splitlines()[-1].removeprefix('SystemExit: ')
        match = find_refusal(failure)
        reason = match.group(0) if match else message
    with _cache_lock:
        _cache[name] = reason
    return reason


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
