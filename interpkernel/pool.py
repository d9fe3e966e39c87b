"""`Pool`: subinterpreter workers, each with its own GIL on its own OS thread.

Host side of the runtime.  Each worker is one interpreter driven by one host
thread: the thread takes the next cell, hands it to the interpreter on the
worker's task queue and runs it there (``_xi.run`` switches that thread into
the interpreter, so the host's GIL is free meanwhile).  Live events come back
on the worker's events queue and ring its doorbell; one pump thread per pool
answers the doorbells and delivers events to the right `CellFuture`.  After a
cell ends its own thread drains what is left, so every event reaches the
future before the future completes.

Anonymous workers share one queue of cells, so a cell goes to whichever is
free, and give each cell a fresh namespace.  Named workers are created on first
use and keep their namespace (their ``__main__``) from cell to cell.
"""

import atexit
import itertools
import os
import pickle
import queue
import select
import sys
import threading
import time
import warnings
import weakref
from typing import NamedTuple

from . import _xi, execution, transfer, worker as worker_module
from .errors import (ExecutionFailed, PoolClosed, UnknownWorkerError, WorkerBusyError,
                     WorkerLost)
from .futures import CellFuture, log
from .transport import Doorbell, MessagePipe

__all__ = ['Pool', 'WorkerStatus']

_BOOT = ("__import__('sys').path[:] = _interpkernel_path\n"
         "__import__('interpkernel.worker').worker.boot(_interpkernel_boot)\n"
         "del _interpkernel_path, _interpkernel_boot\n")
_RUN_NEXT = "__import__('interpkernel.worker').worker.run_next()"
_SHUTDOWN = "__import__('interpkernel.worker').worker.shutdown()"
_JOIN_TIMEOUT = 10.0   # seconds close() waits for a worker whose cell ignores interrupts


class WorkerStatus(NamedTuple):
    """A worker as `Pool.workers` reports it."""
    name: str
    named: bool
    state: str            # 'starting', 'idle', 'running', 'closed' or 'broken'
    cell: str | None      # label of the running cell
    elapsed: float | None  # seconds the running cell has run
    cells_run: int


class _Worker:
    """Host-side handle on one worker interpreter and the thread that drives it."""

    def __init__(self, name, named, cells, pump, on_exit):
        self.name, self.named = name, named
        self._on_exit = on_exit
        self.state = 'starting'
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
        self._thread = threading.Thread(target=self._main, daemon=True,
                                        name=f'interpkernel-worker-{name}')
        self._thread.start()

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
            raise RuntimeError(f'worker {self.name!r} failed to start:\n{failure}')
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
            if future.set_running_or_notify_cancel():
                self._run(future)
            self.current = None
        self.state = 'closed'
        try:
            self._teardown()
        finally:
            self._on_exit(self)

    def _fail_queued(self, exc):
        while True:
            try:
                future = self._cells.get_nowait()
            except queue.Empty:
                return
            if future is not None and future.set_running_or_notify_cancel():
                future.set_exception(exc)

    # -- running a cell --

    def _run(self, future):
        self.state = 'running'
        future._worker, future._started = self.name, time.perf_counter()
        self._futures[future.seq] = future
        try:
            self._tasks.put(future._task)
            failure = _xi.run(self._iid, _RUN_NEXT)
            self.drain()
            done = self._done.pop(future.seq, None)
            if failure is not None or done is None:
                detail = failure.strip().splitlines()[-1] if failure else 'no result came back'
                self._replace()
                future.set_exception(WorkerLost(self.name, detail))
            else:
                _complete(future, done)
        except BaseException as exc:  # a runtime fault: the future must not hang
            if not future.done():
                future.set_exception(exc)
            log.exception('worker %r failed to run cell %s', self.name, future.label)
        finally:
            future._task = future._inputs = None
            self.state = 'idle'
            self.cells_run += 1

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
                future = self._futures.get(seq)
                if future is None:
                    continue  # output of a cell whose future nobody holds any more
                if msg_type == 'stream':
                    name, text = content
                    future._deliver('stream', {'name': name, 'text': text})
                else:
                    future._deliver(msg_type, pickle.loads(content))

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

    def stop(self):
        self._cells.put(None)

    def join(self, timeout):
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self, now):
        future = self.current
        started = future._started if future is not None else None
        return WorkerStatus(self.name, self.named, self.state,
                            future.label if future is not None else None,
                            None if started is None else now - started, self.cells_run)


def _complete(future, done):
    """Resolve `future` from the worker's done message."""
    outputs, skipped, result, error, exception, started, finished = done
    future._started, future._finished = started, finished
    future.skipped_outputs = skipped
    if error is not None:
        future.error = pickle.loads(error)
        future._deliver('error', future.error)
        remote = ExecutionFailed('\n'.join(future.error['traceback']))
        try:
            exc = pickle.loads(exception) if exception is not None else remote
        except Exception:
            exc = remote
        if exc is not remote:
            exc.__cause__ = remote
        future.set_exception(exc)
        return
    try:
        values = transfer.decode_values(outputs, direction='out of the worker')
    except Exception as exc:
        future.set_exception(exc)
        return
    if result is not None:
        future.execute_result = pickle.loads(result)
        future._deliver('execute_result', future.execute_result)
    future.set_result(values)


class _Pump(threading.Thread):
    """Answers the workers' doorbells and delivers their events, live."""

    def __init__(self):
        super().__init__(daemon=True, name='interpkernel-pump')
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
            self._removals.append(removed)
        self._bell.ring()
        if threading.current_thread() is not self and self.is_alive():
            removed.wait()

    def stop(self):
        self._stopping = True
        self._bell.ring()
        self.join()
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


def _default_size():
    count = getattr(os, 'process_cpu_count', os.cpu_count)()
    return count or 1


def _check_names(kind, names):
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f'{kind} names must be Python identifiers, got {name!r}')


_pools = weakref.WeakSet()


@atexit.register
def _close_pools_at_exit():
    for pool in list(_pools):
        pool.close()


def _warn_before_fork():
    if _pools:
        warnings.warn('forking while interpkernel workers run: CPython aborts the child '
                      '("PyThreadState_Get" fatal error); close the Pool first, or use '
                      "multiprocessing's 'forkserver' or 'spawn' start method",
                      RuntimeWarning, stacklevel=2)


os.register_at_fork(before=_warn_before_fork)


class Pool:
    """A pool of subinterpreter workers that run cells in parallel.

    Args:
        size: the number of anonymous workers (default: the CPU cores this
            process may use).  Named workers come on top, one per name.

    Workers start in the background: the constructor returns at once, and
    cells submitted meanwhile wait for a worker to be ready.  Use the pool as
    a context manager, or call `close`, to end every thread and interpreter.
    """

    def __init__(self, size=None):
        if size is None:
            size = _default_size()
        if type(size) is not int or size < 1:
            raise ValueError(f'pool size must be a positive int, got {size!r}')
        self.size = size
        self._lock = threading.Lock()
        self._closed = False
        self._seq = itertools.count(1)
        self._anonymous_cells = queue.SimpleQueue()
        self._anonymous_names = (f'#{index}' for index in itertools.count())
        self._workers = {}
        self._pump = _Pump()
        self._pump.start()
        self._add_anonymous(size)
        _pools.add(self)

    def _add_anonymous(self, count):
        for _ in range(count):
            name = next(self._anonymous_names)
            self._workers[name] = _Worker(name, False, self._anonymous_cells, self._pump,
                                          self._forget)

    def _forget(self, worker):
        with self._lock:
            if self._workers.get(worker.name) is worker:
                del self._workers[worker.name]

    def resize(self, size):
        """Set the number of anonymous workers.

        Growing starts new workers at once; shrinking stops idle workers first
        and busy ones when their cell ends.  Named workers are not affected.
        """
        if type(size) is not int or size < 1:
            raise ValueError(f'pool size must be a positive int, got {size!r}')
        with self._lock:
            if self._closed:
                raise PoolClosed('the pool is closed; create a new Pool')
            change, self.size = size - self.size, size
            if change > 0:
                self._add_anonymous(change)
            for _ in range(-change):
                self._anonymous_cells.put(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = 'closed' if self._closed else f'{len(self._workers)} workers'
        return f'<interpkernel.Pool size={self.size} {state}>'

    def submit(self, source, inputs=None, outputs=(), *, worker=None, label=None,
               on_event=None, strict_outputs=True, rebind_globals=False):
        """Run the cell `source` and return its `CellFuture`.

        Args:
            source: the cell's code.  Its last expression, if any, becomes the
                future's ``execute_result`` (a trailing ``;`` hides it).
            inputs: dict of names to values to bind before the cell runs.
            outputs: names whose values the cell must return;
                ``future.result()`` is a dict of them.
            worker: a name for a persistent worker (created on first use,
                namespace kept between cells); None for any free anonymous
                worker with a fresh namespace.
            label: how tracebacks name the cell (default: its number).
            on_event: optional callable, called with each `Event`.
            strict_outputs: if false, outputs the cell did not set are left
                out of the result, and values that cannot move stay in the
                worker, listed in ``future.skipped_outputs`` as
                (name, type name, reason).
            rebind_globals: functions defined in a notebook that come in as
                inputs look their globals up in the cell's namespace, as if
                they had been defined there (the kernel's sequential semantics).

        Raises:
            SyntaxError: the cell does not parse; nothing was sent.
            TransferError: an input cannot move to a worker; nothing was sent.
            PoolClosed: the pool is closed.
        """
        if not isinstance(source, str):
            raise TypeError(f'source must be a str of Python code, got {type(source).__name__}')
        inputs = {} if inputs is None else inputs
        if not isinstance(inputs, dict):
            raise TypeError(f'inputs must be a dict of names to values, got {type(inputs).__name__}')
        if isinstance(outputs, str):
            raise TypeError(f'outputs must be a list of names, got the string {outputs!r}')
        outputs = tuple(outputs)
        _check_names('input', inputs)
        _check_names('output', outputs)
        if worker is not None and (not isinstance(worker, str) or not worker
                                   or worker.startswith('#')):
            raise ValueError(f"worker must be None or a name not starting with '#', got {worker!r}")
        seq = next(self._seq)
        label = str(seq) if label is None else str(label)
        execution.check_syntax(source, label)
        encoded = transfer.encode_values(inputs, snapshot=False)
        future = CellFuture(seq, label, self._interrupt_future)
        # Until the cell is done the future holds the inputs themselves: encoded
        # buffers are views of them, and channels cross as handles on them.
        future._task = (seq, label, source, encoded, outputs, bool(strict_outputs),
                        worker is None, bool(rebind_globals))
        future._inputs = inputs
        if on_event is not None:
            future.add_event_listener(on_event)
        with self._lock:
            if self._closed:
                raise PoolClosed('the pool is closed; create a new Pool')
            if worker is None:
                self._anonymous_cells.put(future)
            else:
                target = self._named(worker)
                target.queued.append(future)
                target._cells.put(future)
        return future

    def run(self, source, inputs=None, outputs=(), **options):
        """Submit a cell and wait for it: its dict of outputs (see `submit`)."""
        return self.submit(source, inputs, outputs, **options).result()

    def _named(self, name):
        found = self._workers.get(name)
        if found is None:
            found = self._workers[name] = _Worker(name, True, queue.SimpleQueue(), self._pump,
                                                  self._forget)
        return found

    def _get(self, name):
        found = self._workers.get(name)
        if found is None or not found.named:
            raise UnknownWorkerError(name, [w.name for w in self._workers.values() if w.named])
        return found

    @property
    def workers(self):
        """The `WorkerStatus` of every worker, anonymous ones first."""
        now = time.perf_counter()
        with self._lock:
            return [w.status(now) for w in self._workers.values()]

    def wait_ready(self, timeout=None):
        """Block until every worker has started; raise the first start failure."""
        for w in list(self._workers.values()):
            w.ready.wait(timeout)
            if w.start_error is not None:
                raise w.start_error

    def interrupt(self, worker=None):
        """Raise KeyboardInterrupt in the cell running on `worker` (None: on every worker)."""
        if worker is None:
            targets = list(self._workers.values())
        else:
            targets = [self._get(worker)]
        for w in targets:
            w.interrupt()

    def _interrupt_future(self, future):
        w = self._workers.get(future.worker)
        if w is not None:
            w.interrupt(future.seq)

    def close_worker(self, name, *, force=False):
        """Close the named worker; with `force`, interrupt its running cell first.

        Cells queued for it are cancelled.

        Raises:
            UnknownWorkerError: no worker has that name.
            WorkerBusyError: it runs or has queued a cell and `force` is false.
        """
        with self._lock:
            w = self._get(name)
            if (w.current is not None or w.queued) and not force:
                busy_with = w.current if w.current is not None else w.queued[0]
                raise WorkerBusyError(name, busy_with.label)
            del self._workers[name]
        _cancel_all(w._cells)
        w.interrupt()
        w.stop()
        w.join(_JOIN_TIMEOUT)

    def close(self, *, cancel_pending=True):
        """End every worker thread and interpreter; idempotent.

        Cells not yet started are cancelled (or, with ``cancel_pending=False``,
        run first); running cells are interrupted.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers.values())
        if cancel_pending:
            for w in workers:
                _cancel_all(w._cells)
            for w in workers:
                w.interrupt()
        for w in workers:
            w.stop()
        stuck = [w.name for w in workers if not w.join(_JOIN_TIMEOUT)]
        if stuck:
            log.warning('workers %s did not stop within %s s; leaving them', stuck, _JOIN_TIMEOUT)
        self._pump.stop()
        _pools.discard(self)


def _cancel_all(cells):
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

