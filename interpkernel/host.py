"""The host engine: cells that must run in the host interpreter.

Some extension modules (numpy, pandas, matplotlib ...) refuse to load in
subinterpreters.  Cells that use them run here instead, in the namespace they
are given (the user's own, for the magics), so nothing has to move.  A cell
runs on the calling thread, or with ``background=True`` on a thread of its
own; either way its output goes straight to the host's ``sys.stdout``, which
IPython kernels already route to the right cell.

Unlike workers, host cells share one GIL: they do not run in parallel with
each other, only alongside the workers.
"""

import contextvars
import itertools
import signal
import threading
import time

from ._core import execution
from .futures import CellFuture

__all__ = ['HostEngine']

WORKER_NAME = 'host'


class HostEngine:
    """Runs cells in this interpreter and reports them as `CellFuture`s."""

    def __init__(self):
        self._seq = itertools.count(1)
        self._threads = {}     # seq -> ident of the thread running that cell

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
        future._worker = WORKER_NAME
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
        future._started = time.perf_counter()
        try:
            future.value = execution.execute(source, future.label, namespace)
        except BaseException as exc:
            future._finished = time.perf_counter()
            future.error, reported = execution.describe_error(exc)
            future.set_exception(reported)
        else:
            future._finished = time.perf_counter()
            future.set_result({})
        finally:
            del self._threads[future.seq]

    def _interrupt(self, future):
        ident = self._threads.get(future.seq)
        if ident is None:
            return
        if ident == threading.main_thread().ident:
            # A real SIGINT also breaks blocking calls such as time.sleep.
            signal.pthread_kill(ident, signal.SIGINT)
        else:
            execution.async_raise(ident, KeyboardInterrupt)
