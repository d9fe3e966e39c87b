"""One execution of a ``%%interp`` cell: its futures, and how it ends.

Shared by blocking and ``--bg`` cells: `CellRun` waits (Ctrl-C interrupts the
cell first), then applies the cell's outputs to the user namespace and
returns what IPython shows as ``Out[n]``, or raises the cell's error with the
worker's traceback.
"""

import concurrent.futures
import sys
import threading

from ..errors import CellTimeout
from .render import ResultBundle, with_cell_traceback

__all__ = ['CellRun', 'SETTLE']

SETTLE = 5.0    # seconds to wait for interrupted cells to stop


class CellRun:
    """One execution of a ``%%interp`` cell: its futures and how to finish it."""

    def __init__(self, label, source, futures, requested, outputs, deletes, ranks, strict,
                 timeout):
        self.label, self.source = label, source
        self.futures = futures
        self._requested = requested    # the worker asked for, per future (None: any)
        self.outputs, self.deletes = outputs, deletes
        self.ranks, self.strict = ranks, strict
        self.timed_out = False
        self._timer = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()
        self.timeout = timeout

    def _expire(self):
        self.timed_out = True
        self.interrupt()

    def interrupt(self):
        for future in self.futures:
            future.interrupt()

    def worker_names(self):
        """The workers the cell runs on, or was sent to (anonymous: once it starts)."""
        names = [f.worker or asked for f, asked in zip(self.futures, self._requested)]
        return [name for name in names if name]

    def state(self, futures=None):
        """How the cell (or those of its `futures`) stands: 'queued', 'running', 'done',
        'failed', 'interrupted' or 'cancelled'."""
        futures = self.futures if futures is None else futures
        if not all(f.done() for f in futures):
            return 'running' if any(f.running() or f.done() for f in futures) else 'queued'
        if any(f.cancelled() for f in futures):
            return 'cancelled'
        errors = [f.exception() for f in futures if f.exception() is not None]
        if not errors:
            return 'done'
        if self.timed_out or any(isinstance(e, KeyboardInterrupt) for e in errors):
            return 'interrupted'
        return 'failed'

    def wait(self):
        """Block until every future is done; Ctrl-C interrupts the cell first."""
        try:
            while concurrent.futures.wait(self.futures, timeout=0.1).not_done:
                pass
        except KeyboardInterrupt:
            self.interrupt()
            concurrent.futures.wait(self.futures, timeout=SETTLE)
            if not all(f.done() for f in self.futures):
                raise

    def finish(self, namespace):
        """Apply the cell's effects to `namespace`; return what to show as Out[n].

        Raises the cell's error (showing the worker's traceback) if it failed.
        """
        if self._timer is not None:
            self._timer.cancel()
        failed = [(rank, f) for rank, f in enumerate(self.futures)
                  if f.cancelled() or f.exception() is not None]
        if failed:
            raise self._error(failed)
        results = [f.result() for f in self.futures]
        if self.ranks:
            for name in self.outputs:
                namespace[name] = [values[name] for values in results]
        else:
            namespace.update(results[0])
            # `deletes` are the names the cell may delete: those it did are gone
            # from the worker (a value that could not move stayed there).
            stayed = {name for name, _, _ in self.futures[0].skipped_outputs}
            for name in self.deletes:
                if name not in results[0] and name not in stayed:
                    namespace.pop(name, None)
        for rank, future in enumerate(self.futures):
            for name, type_name, reason in future.skipped_outputs:
                where = f'rank {rank}' if self.ranks else 'the worker'
                print(f'[interp] {name} ({type_name}) stayed in {where}: {reason}',
                      file=sys.stderr)
        return self._result()

    def _result(self):
        shown = [f for f in self.futures if f.value or f.execute_result]
        if not shown:
            return None
        if not self.ranks:
            future = shown[0]
            return future.value[0] if future.value else ResultBundle(future.execute_result)
        from IPython.display import display
        for rank, future in enumerate(self.futures):
            if future.execute_result:
                print(f'[rank {rank}] Out:')
                display(ResultBundle(future.execute_result))
        return None

    def _error(self, failed):
        lines = []
        first = None
        for rank, future in failed:
            if future.cancelled() and self.timed_out:   # the time ran out before it began
                exc = CellTimeout(self.label, self.timeout)
                tb = [f'CellTimeout: {exc}']
            elif future.cancelled():
                exc = concurrent.futures.CancelledError(f'{self.label} was cancelled')
                tb = [f'CancelledError: {self.label} was cancelled before it ran']
            else:
                exc = future.exception()
                tb = list(future.error['traceback']) if future.error else \
                    [f'{type(exc).__name__}: {exc}']
                if self.timed_out and isinstance(exc, KeyboardInterrupt):
                    exc = CellTimeout(self.label, self.timeout)
                    tb = tb[:-1] + [f'CellTimeout: {exc}']
            if self.ranks:
                lines.append(f'[rank {rank}]')
            lines.extend(tb)
            first = first or exc
        return with_cell_traceback(first, lines)
