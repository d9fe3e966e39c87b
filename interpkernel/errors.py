"""The errors interpkernel raises, each saying what went wrong and what to do.

Every class keeps its constructor arguments in ``args`` so that it pickles
unchanged from a worker interpreter back to the host.
"""

import queue

__all__ = [
    'InterpkernelError', 'TransferError', 'MissingOutputError',
    'ChannelClosed', 'ChannelEmpty', 'ChannelFull',
    'SubinterpreterImportError', 'UnknownWorkerError', 'WorkerBusyError',
    'WorkerLost', 'WorkerStartError', 'PoolClosed', 'ExecutionFailed', 'CellTimeout',
    'ClusterError', 'EngineLost', 'ForkWhileWorkersRun',
]


class InterpkernelError(Exception):
    """Base class of interpkernel's own errors."""


# Why some common objects cannot cross, and what to do instead.
_TRANSFER_HINTS = {
    'TextIOWrapper': 'open the file inside the cell instead',
    'BufferedReader': 'open the file inside the cell instead',
    'BufferedWriter': 'open the file inside the cell instead',
    'FileIO': 'open the file inside the cell instead',
    'generator': 'send list(...) of its items, or create the generator inside the cell',
    'lock': 'locks cannot be shared between interpreters; use a Channel to coordinate',
    'RLock': 'locks cannot be shared between interpreters; use a Channel to coordinate',
    'socket': 'open the connection inside the cell instead',
    'Thread': 'start the thread inside the cell instead',
}


class TransferError(InterpkernelError, TypeError):
    """A value cannot move between interpreters; nothing was assigned.

    Attributes: ``name`` (the variable; None for a value sent over a channel),
    ``type_name`` and ``reason``.
    """

    def __init__(self, name, type_name, reason, direction='into the worker'):
        super().__init__(name, type_name, reason, direction)
        self.name, self.type_name, self.reason = name, type_name, reason
        self.direction = direction

    def __str__(self):
        hint = _TRANSFER_HINTS.get(self.type_name.rpartition('.')[2])
        what = f'variable {self.name!r}' if self.name is not None else 'the value'
        message = f'cannot move {what} ({self.type_name}) {self.direction}: {self.reason}'
        return f'{message}; {hint}' if hint else message


class MissingOutputError(InterpkernelError, NameError):
    """The cell finished without setting a name it was asked to return."""

    def __init__(self, names):
        super().__init__(tuple(names))
        self.names = tuple(names)

    def __str__(self):
        listed = ', '.join(repr(n) for n in self.names)
        return (f'the cell did not set {listed}, which it was asked to return; '
                f'assign it in the cell or leave it out of the outputs')


class ChannelClosed(InterpkernelError):
    """The channel is closed: nothing more can be sent, and nothing is left to receive."""


class ChannelEmpty(InterpkernelError, queue.Empty, TimeoutError):
    """`recv`/`select` timed out with nothing to receive."""


class ChannelFull(InterpkernelError, queue.Full, TimeoutError):
    """`send` timed out: no receiver (or no buffer room) in time."""


class SubinterpreterImportError(InterpkernelError, ImportError):
    """A module refuses to load in a subinterpreter (numpy is one)."""

    def __init__(self, module, detail):
        super().__init__(module, detail)
        self.module, self.detail = module, detail
        self.name = module

    def __str__(self):
        return (f'{self.module!r} cannot be imported in a subinterpreter ({self.detail}); '
                f'run the cell in the host interpreter: %%interp --engine host, or the interp '
                f'kernel, which runs cells that import {self.module} there by itself; or in '
                f'parallel in engine processes: %interp cluster start -n N, then %%interp '
                f'--engine cluster')


class UnknownWorkerError(InterpkernelError, LookupError):
    """A worker name that the pool does not have."""

    def __init__(self, name, known):
        super().__init__(name, tuple(known))
        self.name, self.known = name, tuple(known)

    def __str__(self):
        known = ', '.join(repr(n) for n in self.known) or 'none yet'
        return f'no worker named {self.name!r} (named workers: {known})'


class WorkerBusyError(InterpkernelError, RuntimeError):
    """A worker cannot be closed while it runs or has queued a cell (unless forced)."""

    def __init__(self, name, label):
        super().__init__(name, label)
        self.name, self.label = name, label

    def __str__(self):
        return (f'worker {self.name!r} is busy with cell {self.label}; wait for it, '
                f'interrupt it, or close with force=True')


class WorkerLost(InterpkernelError):
    """The worker's interpreter broke and was replaced: its namespace is gone."""

    def __init__(self, name, detail):
        super().__init__(name, detail)
        self.name, self.detail = name, detail

    def __str__(self):
        return (f'worker {self.name!r} broke ({self.detail}) and was replaced by a '
                f'fresh interpreter: the variables it held are lost')


class WorkerStartError(InterpkernelError, RuntimeError):
    """A worker could not start (no thread or interpreter for it): nothing ran there."""

    def __init__(self, name, detail):
        super().__init__(name, detail)
        self.name, self.detail = name, detail

    def __str__(self):
        return (f'worker {self.name!r} could not start ({self.detail}); the process may be '
                f'out of memory or threads: free some, or use fewer workers')


class ForkWhileWorkersRun(InterpkernelError, RuntimeError):
    """os.fork was called while subinterpreter workers live in the process: CPython
    aborts the child of such a process, so it is refused."""

    def __str__(self):
        return ('cannot fork while interpkernel workers run in this process (CPython aborts '
                "the child); use multiprocessing's 'spawn' or 'forkserver' start method "
                "(multiprocessing.get_context('spawn')), or close the Pool first")


class PoolClosed(InterpkernelError, RuntimeError):
    """The pool was closed; create a new one."""


class ExecutionFailed(InterpkernelError):
    """Carries an exception's traceback as it was formatted in the worker.

    The pool raises the cell's original exception ``from`` this one, the way
    concurrent.futures chains a remote traceback.
    """

    def __init__(self, formatted):
        super().__init__(formatted)
        self.formatted = formatted

    def __str__(self):
        return f'Uncaught in the interpreter:\n\n{self.formatted}'


class CellTimeout(InterpkernelError, TimeoutError):
    """A cell ran past its time limit and was interrupted."""

    def __init__(self, label, seconds):
        super().__init__(label, seconds)
        self.label, self.seconds = label, seconds

    def __str__(self):
        return f'{self.label} ran past --timeout {self.seconds:g} s and was interrupted'


class ClusterError(InterpkernelError, RuntimeError):
    """An ipyparallel cluster cannot be used: not installed, not there, or not answering."""


class EngineLost(InterpkernelError):
    """A cluster engine's process ended: what it ran failed and its namespace is gone."""

    def __init__(self, name, detail):
        super().__init__(name, detail)
        self.name, self.detail = name, detail

    def __str__(self):
        return (f'cluster engine {self.name!r} is gone ({self.detail}): the variables it held '
                f'are lost; the other engines keep working')
