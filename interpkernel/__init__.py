"""Run notebook cells in parallel CPython subinterpreters, one per core.

The runtime: a `Pool` of subinterpreter workers (each with its own GIL on its
own thread), CSP `Channel`s with `select` that any interpreter can use, and
the errors they raise.

Names are loaded on first use, so that a worker interpreter, which imports
only what cells need, boots in a few milliseconds.
"""

import importlib

__version__ = '0.2.0'

_EXPORTS = {
    'Pool': 'pool', 'WorkerStatus': 'pool',
    'CellFuture': 'futures', 'Event': 'futures', 'Timings': 'futures',
    'Channel': 'channels', 'select': 'channels',
    'probe_import': 'probe',
    'InterpkernelError': 'errors', 'TransferError': 'errors',
    'MissingOutputError': 'errors', 'ChannelClosed': 'errors', 'ChannelEmpty': 'errors',
    'ChannelFull': 'errors', 'SubinterpreterImportError': 'errors',
    'UnknownWorkerError': 'errors', 'WorkerBusyError': 'errors', 'WorkerLost': 'errors',
    'WorkerStartError': 'errors',
    'PoolClosed': 'errors', 'ExecutionFailed': 'errors', 'CellTimeout': 'errors',
    'ClusterError': 'errors', 'EngineLost': 'errors',
}

__all__ = ['__version__', *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython):
    """``%load_ext interpkernel``: add the ``%%interp`` and ``%interp`` magics."""
    from .magics import load_ipython_extension as load
    load(ipython)


def unload_ipython_extension(ipython):
    from .magics import unload_ipython_extension as unload
    unload(ipython)
