"""Host-side handles on worker interpreters.

Each `WorkerHandle` is one interpreter driven by one host thread: the thread
takes the next cell, hands it to the interpreter on the worker's task queue and
runs it there (``_xi.run`` switches that thread into the interpreter, so the
host's GIL is free meanwhile).  Live events come back on the worker's events
queue and ring its doorbell; one `Pump` thread per pool answers the doorbells
and delivers events to the right `CellFuture`.  After a cell ends its own
thread drains what is left, so every event reaches the future before the
future completes.
"""

import pickle
import queue
import select
import sys
import threading
import time
import weakref
from typing import NamedTuple

from ._core import _xi, protocol, transfer, worker as worker_module
from ._core.transport import Doorbell, MessagePipe
from .errors import ExecutionFailed, WorkerLost, WorkerStartError
from .log import log

__all__ = ['WorkerHandle', 'WorkerStatus', 'Pump', 'cancel_all', 'daemon', 'remote_exception',
           'JOIN_TIMEOUT']

_BOOT = ("__import__('sys').path[:] = _interpkernel_path\n"
         "__import__('interpkernel._core.worker')._core.worker.boot(_interpkernel_boot)\n"
         "del _interpkernel_path, _interpkernel_boot\n")
_RUN_NEXT = "__import__('interpkernel._core.worker')._core.worker.run_next()"
_SHUTDOWN = "__import__('interpkernel._core.worker')._core.worker.shutdown()"
JOIN_TIMEOUT = 10.0   # seconds close() waits for a worker whose cell ignores interrupts


class WorkerStatus(NamedTuple):
    """A worker as `Pool.workers` reports it."""
    name: str
    named: bool
    state: str            # 'starting', 'idle', 'running', 'closed' or 'broken'
    cell: str | None      # label of the running cell
    elapsed: float | None  # seconds the running cell has run
    cells_run: int


class WorkerHandle:
    """Host-side handle on one worker interpreter and the thread that drives it."""

    def __init__(self, name, named, cells, pump, on_exit, on_blocking=None):
        self.name, self.named = name, named
        self._on_exit = on_exit
        self._on_blocking = on_blocking
        self.state = 'starting'
        self.blocked = False           # its cell waits (sleep, a channel ...) and uses no core
        self.cells_run = 0
        self.current = None
        self.queued = []               # futures waiting in a named worker's own queue
        self._cells = cells            # queue.SimpleQueue of CellFuture/None
        self._pump = pump
        self._lock = threading.Lock()  # serialises draining the events queue
        self._futures = weakref.WeakValueDictionary()
        self._done = {}
        self.ready = threading.Event()
        self.start_error = None
        self._thread = threading.Thread(target=self._main, daemon=daemon(),
                                        name=f'interpkernel-worker-{name}')
        try:
            self._thread.start()
        except RuntimeError as exc:      # "can't start new thread": out of memory or threads
            raise WorkerStartError(name, exc) from exc

    # -- lifecycle --

    def _boot(self):
        self._tasks = _xi.Queue()
        self._events = _xi.Queue()
        self.doorbell = Doorbell()
        self._interrupts = MessagePipe()
        self._iid = _xi.create()
        config = pickle.dumps((self.name, self._tasks, self._events, self.doorbell,
                               self._interrupts))
        _xi.set_main(self._iid, {'_interpkernel_path': tuple(sys.path),
                                 '_interpkernel_boot': config})
        failure = _xi.run(self._iid, _BOOT)
        if failure is not None:
            _xi.destroy(self._iid)
            raise WorkerStartError(self.name, failure.strip().splitlines()[-1]) from \
                ExecutionFailed(failure)
        self._pump.add(self)

    def _teardown(self):
        """Stop the interpreter's service thread, destroy it, release the pipes."""
        self._pump.remove(self)
        failure = _xi.run(self._iid, _SHUTDOWN)
        if failure is not None:
            # The runtime inside is broken: stop its service thread directly,
            # or destroying the interpreter would wait for that thread forever.
            log.warning('worker %r did not shut down cleanly:\n%s', self.name, failure)
            self._interrupts.send(worker_module.interrupt_message(worker_module.STOP))
        try:
            _xi.destroy(self._iid)
        finally:
            self.drain()
            for handle in (self.doorbell, self._interrupts):
                handle.close()

    def _main(self):
        try:
            self._boot()
        except BaseException as exc:
            if not isinstance(exc, WorkerStartError):
                failure = exc
                exc = WorkerStartError(self.name, f'{type(failure).__name__}: {failure}')
                exc.__cause__ = failure
            self.start_error = exc
            self.state = 'broken'
            self.ready.set()
            self._fail_queued(exc)
            return
        self.state = 'idle'
        self.ready.set()
        while True:
            future = self._cells.get()
            if future is None:
                break
            if self.named:
                self.queued.remove(future)
            # Current before running: whoever sees it running can interrupt it.
            self.current = future
            future.start(self.name)
            if future.set_running_or_notify_cancel():
                self._run(future)
            self.current = None
        self.state = 'closed'
        try:
            self._teardown()
        finally:
            self._on_exit(self)

    def _fail_queued(self, exc):
        """Fail the cells waiting in this worker's queue (the pool cannot run them)."""
        stops = 0
        while True:
            try:
                future = self._cells.get_nowait()
            except queue.Empty:
                break
            if future is None:
                stops += 1     # meant for another worker sharing the queue: keep it
            elif future.set_running_or_notify_cancel():
                future.set_exception(exc)
        for _ in range(stops):
            self._cells.put(None)

    # -- running a cell --

    def _run(self, future):
        self.state = 'running'
        self._futures[future.seq] = future
        try:
            self._tasks.put(protocol.send(future.task))
            failure = _xi.run(self._iid, _RUN_NEXT)
            self.drain()
            done = self._done.pop(future.seq, None)
            if failure is not None or done is None:
                detail = failure.strip().splitlines()[-1] if failure else 'no result came back'
                self._replace()
                future.set_exception(WorkerLost(self.name, detail))
            else:
                _complete(future, protocol.receive(done))
        except BaseException as exc:  # a runtime fault: the future must not hang
            if not future.done():
                future.set_exception(exc)
            log.exception('worker %r failed to run cell %s', self.name, future.label)
        finally:
            future.release_task()
            self.state = 'idle'
            self.cells_run += 1
            self._set_blocked(False)   # also if the cell ended mid-wait (a lost worker)

    def _set_blocked(self, blocked):
        if blocked != self.blocked:
            self.blocked = blocked
            if self._on_blocking is not None:
                self._on_blocking(self.name)

    def _replace(self):
        """Swap a broken interpreter for a fresh one (its namespace is lost)."""
        try:
            self._teardown()
        except Exception:
            log.exception('could not destroy the broken interpreter of worker %r', self.name)
        self._boot()

    def drain(self):
        """Deliver every queued event to its future, in order (any thread)."""
        with self._lock:
            while True:
                try:
                    seq, msg_type, content = self._events.get()
                except _xi.QueueEmpty:
                    return
                if msg_type == 'done':
                    self._done[seq] = content
                    continue
                if msg_type == 'blocked':
                    self._set_blocked(content)
                    continue
                future = self._futures.get(seq)
                if future is None:
                    continue  # output of a cell whose future nobody holds any more
                if msg_type == 'stream':
                    name, text, flushed = content
                    future.deliver('stream', {'name': name, 'text': text, 'flushed': flushed}
                                   if flushed else {'name': name, 'text': text})
                    continue
                try:
                    content = pickle.loads(content)
                except Exception:   # e.g. metadata naming a class only the worker has
                    log.exception('cell %s sent a %s the host cannot read; dropped',
                                  future.label, msg_type)
                    continue
                future.deliver(msg_type, content)

    def interrupt(self, seq=None):
        """Raise KeyboardInterrupt in cell `seq` (None: the current one) if it runs here.

        A cell handed to the interpreter but not yet begun is interrupted as it begins.
        """
        current = self.current
        if seq is None:
            if current is None:
                return
            seq = current.seq
        if self.state in ('idle', 'running'):
            self._interrupts.send(worker_module.interrupt_message(seq))

    def enqueue(self, future):
        """Queue `future` for this worker alone (a named worker's own queue)."""
        self.queued.append(future)
        self._cells.put(future)
        if self.start_error is not None:   # it never started: nothing will take the cell
            self._fail_queued(self.start_error)

    def cancel_queued(self):
        """Cancel the cells waiting in this worker's queue that have not started."""
        cancel_all(self._cells)

    def stop(self):
        self._cells.put(None)

    def join(self, timeout):
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self, now):
        future = self.current
        started = future.timings.started if future is not None else None
        return WorkerStatus(self.name, self.named, self.state,
                            future.label if future is not None else None,
                            None if started is None else now - started, self.cells_run)


_daemons = None


def daemon():
    """Whether the runtime's threads can be daemon threads here: not in a
    subinterpreter (a cell of the interp kernel making a Pool), where they are
    plain threads that `close` ends."""
    global _daemons
    if _daemons is None:
        try:
            threading.Thread(daemon=True)
            _daemons = True
        except RuntimeError:
            _daemons = False
    return _daemons


def _complete(future, report):
    """Resolve `future` from the worker's report.

    A `CellTask` resolves to its dict of outputs, or raises the cell's
    exception; a `VersionedTask` resolves to its report whether the cell
    failed or not (the kernel reports the failure); an export or a drop to
    its `ExportReport`.
    """
    if isinstance(report, protocol.ExportReport):
        future.set_result(report)
        return
    if isinstance(report, protocol.VersionedReport):
        future.set_report(report)
        return
    future.set_times(report.started, report.finished)
    if report.error is not None:
        future.error = pickle.loads(report.error)
    future.skipped_outputs = report.skipped
    if report.error is not None:
        future.deliver('error', future.error)
        future.set_exception(remote_exception(future.error, report.exception))
        return
    try:
        values = transfer.decode_values(report.outputs, direction='out of the worker')
    except Exception as exc:
        future.set_exception(exc)
        return
    if report.result is not None:
        future.execute_result = pickle.loads(report.result)
        future.deliver('execute_result', future.execute_result)
    future.set_result(values)


def remote_exception(error, pickled):
    """The cell's own exception, chained from the traceback the worker printed."""
    remote = ExecutionFailed('\n'.join(error['traceback']))
    try:
        exc = pickle.loads(pickled) if pickled is not None else remote
    except Exception:   # noqa: BLE001 - a class only the worker has: the text must do
        exc = remote
    if exc is not remote:
        exc.__cause__ = remote
    return exc


class Pump(threading.Thread):
    """Answers the workers' doorbells and delivers their events, live."""

    def __init__(self):
        super().__init__(daemon=daemon(), name='interpkernel-pump')
        self._bell = Doorbell()
        self._workers = {}
        self._removals = []       # Events set once the pump no longer polls a removed worker
        self._lock = threading.Lock()
        self._stopping = False

    def add(self, worker):
        with self._lock:
            self._workers[worker.doorbell.fileno()] = worker
        self._bell.ring()

    def remove(self, worker):
        """Stop polling `worker`; returns once the pump no longer uses its doorbell."""
        removed = threading.Event()
        with self._lock:
            self._workers.pop(worker.doorbell.fileno(), None)
            stopping = self._stopping
            if not stopping:
                self._removals.append(removed)
                self._bell.ring()
        if threading.current_thread() is self:
            return
        if stopping:
            # A worker closed after its pool (force-closed while busy): the pump
            # is ending, or has, and then polls nothing; its bell may be closed.
            if self.ident is not None:
                self.join()
        elif self.is_alive():
            removed.wait()

    def stop(self):
        with self._lock:
            self._stopping = True
            self._bell.ring()
        self.join()
        with self._lock:
            self._bell.close()

    def run(self):
        while not self._stopping:
            with self._lock:
                workers = dict(self._workers)
                removals, self._removals = self._removals, []
            for removed in removals:
                removed.set()
            poller = select.poll()
            poller.register(self._bell.fileno(), select.POLLIN)
            for fd in workers:
                poller.register(fd, select.POLLIN)
            for fd, _ in poller.poll():
                if fd == self._bell.fileno():
                    self._bell.answer()
                    continue
                worker = workers[fd]
                worker.doorbell.answer()
                worker.drain()
        with self._lock:
            for removed in self._removals:
                removed.set()


def cancel_all(cells):
    """Cancel every not yet started future in `cells` (a SimpleQueue); keep the rest."""
    kept = []
    while True:
        try:
            future = cells.get_nowait()
        except queue.Empty:
            break
        if future is None or not future.cancel():
            kept.append(future)
    for item in kept:
        cells.put(item)
