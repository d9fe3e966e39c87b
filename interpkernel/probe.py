"""Which modules refuse to load in a subinterpreter, and how to say so.

Extension modules built without multi-interpreter support (numpy 2.5 is one)
raise ImportError when imported in an isolated subinterpreter.  `refusal`
recognises that error anywhere in an exception chain and turns it into a
`SubinterpreterImportError` that names the module and the way out;
`probe_import` tells in advance, by importing the module in a scratch
interpreter once and caching the answer for the life of the process.
"""

import threading

from . import _xi
from .errors import SubinterpreterImportError

__all__ = ['refusal', 'probe_import', 'refuses_subinterpreters']

_REFUSAL = r'module ([\w.]+) does not support loading in subinterpreters'


def refuses_subinterpreters(reason):
    """True if a `probe_import` reason says the module refuses subinterpreters."""
    return reason is not None and _find_refusal(reason) is not None


def _find_refusal(text):
    import re  # on first need: workers boot faster without it
    return re.search(_REFUSAL, text)


def refusal(exc):
    """Return a SubinterpreterImportError if `exc` (or its chain) is a refusal, else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SubinterpreterImportError):
            return exc
        if isinstance(exc, ImportError):
            match = _find_refusal(str(exc))
            if match:
                extension = match.group(1)
                top = extension.partition('.')[0]
                detail = f'its extension module {extension} does not support subinterpreters'
                return SubinterpreterImportError(top, detail)
        exc = exc.__cause__ or exc.__context__
    return None


_cache = {}
_cache_lock = threading.Lock()

_PROBE = '''\
import importlib
try:
    importlib.import_module({name!r})
except ImportError as exc:
    raise SystemExit(str(exc))
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
        failure = _xi.run(iid, _PROBE.format(name=name))
    finally:
        _xi.destroy(iid)
    reason = None
    if failure is not None:
        message = failure.strip().splitlines()[-1].removeprefix('SystemExit: ')
        match = _find_refusal(failure)
        reason = match.group(0) if match else message
    with _cache_lock:
        _cache[name] = reason
    return reason
