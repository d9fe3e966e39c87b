"""A home inside an ipyparallel engine process: what `cluster.ClusterEngine` runs there.

The engine process is one home.  Its namespace (a module named ``__main__``)
and its `values.Store` are made on first use and last as long as the
process, so a value made there stays there until a `DropTask` forgets it.
The host sends each task record pickled by `dumps` in one ``apply`` request
calling `handle`, which answers with the report, pickled the same way.

Output needs nothing here: the engine's own ipykernel captures what a cell
prints or displays and publishes it on iopub, tagged with the request, and
the host turns it into events.

Interrupts arrive as SIGINT (ipyparallel's nanny signals the engine
process).  While `handle` runs, SIGINT raises KeyboardInterrupt only inside
the cell's own code: one that arrives while the task is being set up is
raised as the code starts, one that arrives after the code ended is dropped.
"""

import contextvars
import io
import functools
import os
import pickle
import signal
import socket
import sys
import threading
import types

from . import execution, protocol, values, versioned

__all__ = ['handle', 'hello', 'dumps', 'loads']

_home = None     # this process's `_Home`, made by the first task


def hello():
    """``(host name, pid, interpkernel version)`` of this engine; imports now what
    tasks will need, so that the first cell does not wait for it."""
    from .. import __version__
    _the_home()
    versioned.warm(protocol.WarmTask(0))
    return socket.gethostname(), os.getpid(), __version__


def handle(data):
    """Run the task record pickled in `data` in this engine's home; return its report, pickled."""
    return dumps(_the_home().handle(loads(data)))


def _the_home():
    global _home
    if _home is None:
        _home = _Home()
    return _home


_SETUP, _CELL, _AFTER = 'setup', 'cell', 'after'


class _Home:
    def __init__(self):
        self.module = types.ModuleType('__main__')
        self.namespace = self.module.__dict__
        self.store = values.Store()
        # One context for all cells, as in a sequential session: state kept in
        # context variables (decimal's context) lives from cell to cell.
        self.context = contextvars.Context()
        self.phase = _AFTER
        self.interrupted = False

    def handle(self, task):
        if isinstance(task, protocol.ExportTask):
            return versioned.export(task, self.store)
        if isinstance(task, protocol.DropTask):
            return versioned.drop(task, self.store, self.namespace)
        if not isinstance(task, protocol.VersionedTask):
            raise TypeError(f'a cluster home runs versioned, export and drop tasks, '
                            f'got {type(task).__name__}')
        self.phase, self.interrupted = _SETUP, False
        if threading.current_thread() is threading.main_thread():
            # Left in place when this returns: ipykernel puts its own handler
            # back after the request, and until then a late SIGINT is dropped
            # here instead of breaking the reply.
            signal.signal(signal.SIGINT, self._on_sigint)
        # pickle, dataclasses and typing find a cell's classes through
        # sys.modules['__main__'], which in the engine is ipyparallel's namespace.
        engine_main = sys.modules.get('__main__')
        sys.modules['__main__'] = self.module
        try:
            return versioned.run(task, self.store, self.namespace,
                                 functools.partial(self._execute, frame_depth=task.frame_depth),
                                 within=self.context.run)
        finally:
            sys.modules['__main__'] = engine_main
            self.phase = _AFTER

    def _on_sigint(self, signum, frame):
        if self.phase == _CELL:
            raise KeyboardInterrupt
        if self.phase == _SETUP:
            self.interrupted = True

    def _execute(self, source, label, namespace, flags, code_name, timed_at, frame_depth=0):
        try:
            try:
                self.phase = _CELL
                if self.interrupted:
                    raise KeyboardInterrupt
                # In the home's context, where the states were restored and are
                # captured (numpy's print options and decimal's context live in
                # context variables).
                result = self.context.run(execution.execute, source, label, namespace, flags,
                                          code_name, frame_depth, timed_at)
            finally:
                self.phase = _AFTER
        except BaseException as exc:   # the cell's failure, reported (KeyboardInterrupt too)
            if isinstance(exc, KeyboardInterrupt):
                _cut_handler(exc.__traceback__)
            return None, exc
        return result, None


def _cut_handler(tb):
    """End the traceback of an interrupt at the cell's line: our SIGINT handler,
    which raised it, is not the user's code."""
    while tb is not None and tb.tb_next is not None:
        if tb.tb_next.tb_frame.f_code is _Home._on_sigint.__code__:
            tb.tb_next = None
            return
        tb = tb.tb_next


# -- pickling records between processes --

class _Pickler(pickle.Pickler):
    """Pickles memoryviews (payloads of buffers, shared in place between
    interpreters) as copies of their bytes."""

    def reducer_override(self, obj):
        if isinstance(obj, memoryview):
            data = bytes(obj) if obj.readonly else bytearray(obj)
            return _view, (data, obj.format, obj.shape)
        return NotImplemented


def _view(data, format, shape):
    view = memoryview(data)
    if format == 'B' and len(shape) == 1:
        return view
    return view.cast(format, shape)


def dumps(record):
    """`record` pickled to cross to another process (memoryviews as copies)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(record)
    return buffer.getvalue()


def loads(data):
    """The record `dumps` pickled."""
    return pickle.loads(data)
