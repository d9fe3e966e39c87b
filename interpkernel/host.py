"""The host engine: cells that must run in the host interpreter.

Some extension modules (numpy, pandas, matplotlib ...) refuse to load in
subinterpreters.  Cells that use them run here instead, in the namespace they
are given (the user's own), so nothing has to move.  `HostEngine.submit` (the
magics' ``--engine host``) runs a cell on the calling thread, or with
``background=True`` on a thread of its own; either way its output goes
straight to the host's ``sys.stdout``, which IPython kernels already route to
the right cell.  As an `Engine` (the interp kernel's), it is one home,
``'host'``, running versioned tasks on the calling thread (the kernel's: from
the bottom of its loop, as deep in the stack as ipykernel runs a cell).

Unlike workers, host cells share one GIL: they do not run in parallel with
each other, only alongside the workers.
"""

import contextvars
import functools
import itertools
import signal
import threading
import time

from ._core import execution, protocol, values, versioned
from .engine import HOST, Engine, HomeStatus
from .futures import CellFuture

__all__ = ['HostEngine']

WORKER_NAME = HOST


class HostEngine(Engine):
    """Runs cells in this interpreter and reports them as `CellFuture`s.

    Args:
        namespace: the namespace versioned tasks run in (the engine's home).
        execute: ``execute(source, label, namespace, compile_flags, code_name, timed_at)``
            -> ``(shown value as (value,) or None, exception or None)`` for
            versioned tasks (default: run the code as IPython would, catching
            its exception).
        keep: names that stay bound in `namespace` whatever a task binds
            (default: dunder names).
        format_result: put a shown value's mimebundle in the report (an
            IPython shell's display hook shows it itself).
        context: a `contextvars.Context` every versioned task runs in, so that
            state kept in context variables (decimal's context, numpy's print
            options) lasts from cell to cell as in a sequential session, when
            each task is started from a context of its own; the variables of
            the calling context are copied in first (where output goes ...).
        defer: ``defer(function)`` calls `function` soon from the bottom of this
            thread's stack (an event loop's ``call_soon``); versioned tasks then
            run there, as shallow in the stack as a plain kernel runs a cell,
            and `run` returns before they do.  None: `run` runs them at once.
    """

    def __init__(self, namespace=None, execute=None, keep=versioned.is_dunder,
                 format_result=True, context=None, defer=None):
        self._seq = itertools.count(1)
        self._threads = {}     # seq -> ident of the thread running that cell
        self.namespace = {} if namespace is None else namespace
        self.store = values.Store()
        self._execute = execute if execute is not None else _execute
        self._keep = keep
        self._format_result = format_result
        self._context = context
        self._defer = defer
        self._running = None   # (future, started) of the versioned task running now
        # Names to unbind once the running task ends, if they still hold these values:
        # while it runs, its thread owns the namespace (it may bind or delete them).
        self._unbind_later = []
        self._lock = threading.Lock()

    def submit(self, source, namespace, *, label=None, background=False):
        """Run `source` in `namespace`; return its (done, if not background) CellFuture.

        The future's result is ``{}``; ``future.value`` holds ``(value,)`` of a
        shown last expression (the object itself, not a mimebundle), else None.
        Raises SyntaxError at once if the cell does not parse.
        """
        seq = next(self._seq)
        label = str(seq) if label is None else str(label)
        execution.check_syntax(source, label)
        future = CellFuture(seq, label, self._interrupt)
        if background:
            context = contextvars.copy_context()
            thread = threading.Thread(target=context.run, daemon=True,
                                      args=(self._run, future, source, namespace),
                                      name=f'interpkernel-host-{label}')
            thread.start()
        else:
            self._run(future, source, namespace)
        return future

    def _run(self, future, source, namespace):
        if not future.set_running_or_notify_cancel():
            return
        self._threads[future.seq] = threading.get_ident()
        future.start(WORKER_NAME)
        started = time.perf_counter()
        try:
            future.value = execution.execute(source, future.label, namespace)
        except BaseException as exc:
            future.set_times(started, time.perf_counter())
            future.error, reported = execution.describe_error(exc)
            future.set_exception(reported)
        else:
            future.set_times(started, time.perf_counter())
            future.set_result({})
        finally:
            del self._threads[future.seq]

    def _interrupt(self, future):
        ident = self._threads.get(future.seq)
        if ident is None:
            return
        if ident == threading.main_thread().ident:
            # A real SIGINT also breaks blocking calls such as time.sleep.  Not
            # sent from the main thread itself: there a signal handler (the
            # kernel's) runs inside the cell and raises, and the signal would
            # call it again at once, without end.
            if threading.get_ident() != ident:
                signal.pthread_kill(ident, signal.SIGINT)
        else:
            execution.async_raise(ident, KeyboardInterrupt)

    # -- the Engine interface --

    @property
    def homes(self):
        return (HOST,)

    def status(self, home):
        running = self._running
        return HomeStatus(running is not None, running[1] if running is not None else None)

    def run(self, home, make_task, *, label, on_event=None):
        seq = next(self._seq)
        future = CellFuture(seq, label, self._interrupt, make_task(seq), on_event=on_event)
        future.start(HOST)
        if self._defer is None:
            self._run_versioned(future)
        else:
            self._defer(functools.partial(self._run_versioned, future))
        return future

    def _run_versioned(self, future):
        """Run `future`'s task unless it was cancelled; resolve it with the report,
        or with what went wrong outside the cell's code."""
        if not future.set_running_or_notify_cancel():
            return
        try:
            # Inside the try: an interrupt aimed at the cell may land as soon as
            # it counts as running, and must not escape into the caller's loop.
            with self._lock:
                self._running = (future, time.perf_counter())
            self._threads[future.seq] = threading.get_ident()
            execute, within = self._execute, None
            if self._context is not None:
                # The calling context's variables (where output goes ...) first.
                for variable, value in contextvars.copy_context().items():
                    self._context.run(variable.set, value)
                # Called through C, not a frame of ours: a cell runs as deep in the
                # stack as in a plain kernel.
                execute, within = functools.partial(self._context.run, execute), self._context.run
            report = versioned.run(future.task, self.store, self.namespace, execute,
                                   self._keep, self._format_result, within)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_report(report)
        finally:
            with self._lock:
                for name, value in self._unbind_later:
                    if name in self.namespace and self.namespace[name] is value:
                        del self.namespace[name]
                self._unbind_later, self._running = [], None
            self._threads.pop(future.seq, None)
            future.release_task()

    def export(self, home, keys, together=False):
        return _done(versioned.export(protocol.ExportTask(0, tuple(keys), together), self.store))

    def drop(self, home, keys):
        with self._lock:
            if self._running is not None:    # unbound as it ends, not under its feet
                self._unbind_later += [(key[0], self.store.get(key)) for key in keys
                                       if key in self.store]
                self.store.drop(keys)
                return
            versioned.drop(protocol.DropTask(0, tuple(keys)), self.store, self.namespace)

    def interrupt(self, home=None):
        running = self._running
        if running is not None:
            self._interrupt(running[0])

    def close(self):
        self.store.drop(list(self.store.versions))


def _execute(source, label, namespace, flags, code_name, timed_at):
    try:
        return execution.execute(source, label, namespace, flags, code_name,
                                 timed_at=timed_at), None
    except BaseException as exc:
        return None, exc


def _done(result):
    future = CellFuture(0, 'export', lambda future: None)
    future.set_running_or_notify_cancel()
    future.set_result(result)
    return future
