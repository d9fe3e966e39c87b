"""Run notebook cells in parallel CPython subinterpreters, one per core.

The runtime: a `Pool` of subinterpreter workers (each with its own GIL on its
own thread), CSP `Channel`s with `select` that any interpreter can use, and
the errors they raise.
"""

from .channels import Channel, select
from .errors import (ChannelClosed, ChannelEmpty, ChannelFull, ExecutionFailed,
                     InterpkernelError, MissingOutputError, PoolClosed,
                     SubinterpreterImportError, TransferError, UnknownWorkerError,
                     WorkerBusyError, WorkerLost)
from .futures import CellFuture, Event, Timings
from .pool import Pool, WorkerStatus
from .probe import probe_import

__all__ = [
    'Pool', 'CellFuture', 'Event', 'Timings', 'WorkerStatus',
    'Channel', 'select', 'probe_import',
    'InterpkernelError', 'TransferError', 'MissingOutputError',
    'ChannelClosed', 'ChannelEmpty', 'ChannelFull',
    'SubinterpreterImportError', 'UnknownWorkerError', 'WorkerBusyError',
    'WorkerLost', 'PoolClosed', 'ExecutionFailed',
]
