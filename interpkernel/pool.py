"""`Pool`: subinterpreter workers, each with its own GIL on its own OS thread.

The host side of the runtime, and its public face.  Anonymous workers share
one queue of cells, so a cell goes to whichever is free, and give each cell a
fresh namespace.  Named workers are created on first use and keep their
namespace (their ``__main__``) from cell to cell.  How each worker is driven
lives in `interpkernel.interpreters`.
"""

import atexit
import functools
import itertools
import keyword
import os
import queue
import threading
import time
import weakref

from ._core import execution, protocol, transfer
from .engine import Engine, HomeStatus
from .errors import ForkWhileWorkersRun, PoolClosed, UnknownWorkerError, WorkerBusyError
from .futures import CellFuture
from .interpreters import JOIN_TIMEOUT, Pump, WorkerHandle, WorkerStatus
from .log import log

__all__ = ['Pool', 'SubinterpreterEngine', 'WorkerStatus', 'default_max_size']


def _default_size():
    count = getattr(os, 'process_cpu_count', os.cpu_count)()
    return count or 1


def default_max_size():
    """The most workers a pool starts unless told otherwise: 4 per core, at least 64."""
    return max(64, 4 * _default_size())


def _check_size(size, max_size, what='pool size', raise_limit=None):
    """Refuse a worker count that is not a positive int, or above `max_size`
    (`raise_limit`: how the caller's user raises it, if not with ``max_size=``)."""
    if type(size) is not int or size < 1:
        raise ValueError(f'{what} must be a positive int, got {size!r}')
    if size > max_size:
        raise ValueError(f'{what} {size} is more than max_size ({max_size}); ask for fewer '
                         f'workers, or {raise_limit or f"pass max_size={size}"} (each worker '
                         f'is an interpreter with its own thread and ~7 MiB)')


def _check_names(kind, names):
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f'{kind} names must be Python identifiers (not keywords), '
                             f'got {name!r}')


_pools = weakref.WeakSet()


@atexit.register
def _close_pools_at_exit():
    for pool in list(_pools):
        pool.close()


def _guard(fork):
    """`fork`, refusing while workers live: CPython aborts the child of a process
    running subinterpreters ("PyThreadState_Get" fatal error), so a
    multiprocessing Pool would respawn its dying children forever."""
    @functools.wraps(fork)
    def guarded(*args):
        if _pools:
            raise ForkWhileWorkersRun()
        return fork(*args)
    return guarded


# The main interpreter's os module; a worker's has its own, where CPython refuses fork.
os.fork, os.forkpty = _guard(os.fork), _guard(os.forkpty)


class Pool:
    """A pool of subinterpreter workers that run cells in parallel.

    Args:
        size: the number of anonymous workers (default: the CPU cores this
            process may use).  Named workers come on top, one per name.
        max_size: the most anonymous workers `size` and `resize` may ask for
            (default: `default_max_size()`, 4 per core and at least 64).

    Workers start in the background: the constructor returns at once, and
    cells submitted meanwhile wait for a worker to be ready.  Use the pool as
    a context manager, or call `close`, to end every thread and interpreter.
    """

    def __init__(self, size=None, *, max_size=None):
        if size is None:
            size = _default_size()
        self.max_size = default_max_size() if max_size is None else max_size
        _check_size(self.max_size, 10**6, 'max_size')
        _check_size(size, self.max_size)
        self.size = size
        self._lock = threading.Lock()
        self._closed = False
        self._seq = itertools.count(1)
        self._anonymous_cells = queue.SimpleQueue()
        self._anonymous_names = (f'#{index}' for index in itertools.count())
        self._workers = {}
        self._pump = Pump()
        self._pump.start()
        self._add_anonymous(size)
        _pools.add(self)

    def _add_anonymous(self, count):
        for _ in range(count):
            name = next(self._anonymous_names)
            self._workers[name] = WorkerHandle(name, False, self._anonymous_cells, self._pump,
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
        _check_size(size, self.max_size)
        with self._lock:
            if self._closed:
                raise PoolClosed('the pool is closed; create a new Pool')
            for _ in range(size - self.size):
                self._add_anonymous(1)    # a WorkerStartError keeps the ones started
                self.size += 1
            for _ in range(self.size - size):
                self._anonymous_cells.put(None)
            self.size = size

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = 'closed' if self._closed else f'{len(self._workers)} workers'
        return f'<interpkernel.Pool size={self.size} {state}>'

    def submit(self, source, inputs=None, outputs=(), *, worker=None, label=None,
               on_event=None, strict_outputs=True, notebook=False):
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
            notebook: functions defined in a notebook (``__main__``) look their
                globals up where they land, as in sequential Python: inputs in
                the cell's namespace, outputs in this interpreter's ``__main__``
                (default: they carry copies of the globals they use).

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
        encoded = transfer.encode_values(inputs, snapshot=False, notebook=notebook)
        task = protocol.CellTask(seq, label, source, encoded, outputs, bool(strict_outputs),
                                 worker is None, bool(notebook))
        # Until the cell is done the future holds the inputs themselves: encoded
        # buffers are views of them, and channels cross as handles on them.
        future = CellFuture(seq, label, self._interrupt_future, task, inputs, on_event)
        with self._lock:
            if self._closed:
                raise PoolClosed('the pool is closed; create a new Pool')
            if worker is None:
                self._anonymous_cells.put(future)
            else:
                self._named(worker).enqueue(future)
        return future

    def run(self, source, inputs=None, outputs=(), **options):
        """Submit a cell and wait for it: its dict of outputs (see `submit`)."""
        return self.submit(source, inputs, outputs, **options).result()

    def _named(self, name):
        found = self._workers.get(name)
        if found is None:
            found = self._workers[name] = WorkerHandle(name, True, queue.SimpleQueue(), self._pump,
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
        """Block until every worker has started; raise the first start failure.

        Raises TimeoutError if they have not all started within `timeout` seconds.
        """
        _wait_ready(list(self._workers.values()), timeout)

    def interrupt(self, worker=None):
        """Raise KeyboardInterrupt in the cell running on `worker` (None: on every worker)."""
        if worker is None:
            targets = list(self._workers.values())
        else:
            targets = [self._get(worker)]
        for w in targets:
            w.interrupt()

    def _interrupt_future(self, future):
        _interrupt_future(self._workers, future)

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
        w.cancel_queued()
        w.interrupt()
        w.stop()
        w.join(JOIN_TIMEOUT)

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
        _stop_workers(workers, cancel_pending)
        self._pump.stop()
        _pools.discard(self)


def _interrupt_future(workers, future):
    """Interrupt `future`'s cell on the worker (in `workers`, by name) running it."""
    worker = workers.get(future.worker)
    if worker is not None:
        worker.interrupt(future.seq)


def _wait_ready(workers, timeout):
    deadline = None if timeout is None else time.monotonic() + timeout
    for w in workers:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not w.ready.wait(left):
            raise TimeoutError(f'worker {w.name!r} did not start within {timeout} s')
        if w.start_error is not None:
            raise w.start_error


def _stop_workers(workers, cancel_pending):
    """Cancel or keep queued cells, interrupt running ones, and end every worker."""
    if cancel_pending:
        for w in workers:
            w.cancel_queued()
        for w in workers:
            w.interrupt()
    for w in workers:
        w.stop()
    deadline = time.monotonic() + JOIN_TIMEOUT
    stuck = [w.name for w in workers if not w.join(max(0.0, deadline - time.monotonic()))]
    if stuck:
        log.warning('workers %s did not stop within %s s; leaving them', stuck, JOIN_TIMEOUT)


class SubinterpreterEngine(Engine):
    """The interp kernel's workers: one home per subinterpreter, each its own queue.

    Besides one home per core, it offers as many spare homes, started on first
    use: a cell may run in one while a worker's cell is blocked (in
    ``time.sleep``, a channel wait) and uses no core, as Go's runtime adds a
    thread for a goroutine blocked in a system call.

    Args:
        size: the number of workers (default: the CPU cores this process may use).
        spare: the number of spare homes (default: `size`).
        max_size: the most workers, and the most spare homes, it accepts
            (default: `default_max_size()`).
        raise_limit: how its user raises `max_size`, for the error (default:
            "pass max_size=N").
    """

    def __init__(self, size=None, spare=None, *, max_size=None, raise_limit=None):
        if size is None:
            size = _default_size()
        max_size = default_max_size() if max_size is None else max_size
        _check_size(max_size, 10**6, 'max_size')
        _check_size(size, max_size, 'the number of workers', raise_limit)
        spare = size if spare is None else spare
        if type(spare) is not int or spare < 0:
            raise ValueError(f'the number of spare workers must be an int >= 0, got {spare!r}')
        if spare:
            _check_size(spare, max_size, 'the number of spare workers', raise_limit)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._pump = Pump()
        self._pump.start()
        self._homes = tuple(f'#{index}' for index in range(size))
        self._spare_homes = tuple(f'#{index}' for index in range(size, size + spare))
        self._watchers = []
        self._retired = []     # spare workers told to stop, joined by close()
        self._workers = {home: self._start(home) for home in self._homes}
        _pools.add(self)
        # The first cell showing a result would import IPython's formatters
        # (~0.1 s): import them now, while the kernel starts.
        for home in self._homes:
            self._queue(home, protocol.WarmTask, 'warm up')

    def _start(self, home):
        return WorkerHandle(home, True, queue.SimpleQueue(), self._pump, lambda worker: None,
                            on_blocking=self._blocking_changed)

    @property
    def homes(self):
        return self._homes

    @property
    def spare_homes(self):
        return self._spare_homes

    @property
    def workers(self):
        """The `WorkerStatus` of every worker started (spare ones while they live)."""
        now = time.perf_counter()
        return [w.status(now) for w in list(self._workers.values())]

    def blocked(self, home):
        worker = self._workers.get(home)
        return worker is not None and worker.blocked

    def watch_blocking(self, callback):
        self._watchers.append(callback)

    def _blocking_changed(self, home):
        for callback in list(self._watchers):
            callback(home)

    def retire(self, home):
        if home not in self._spare_homes:
            raise ValueError(f'{home!r} is not a spare home')
        with self._lock:
            worker = self._workers.pop(home, None)
            if worker is not None:
                self._retired.append(worker)
        if worker is not None:
            worker.stop()      # it ends its interpreter on its own thread; close() joins it

    def wait_ready(self, timeout=None):
        """Block until every worker has started; raise the first start failure."""
        _wait_ready(list(self._workers.values()), timeout)

    def status(self, home):
        worker = self._workers.get(home)
        if worker is None:
            return HomeStatus(False, None)
        current = worker.current
        if current is None and not worker.queued:
            return HomeStatus(False, None)
        started = current.timings.started if current is not None else None
        return HomeStatus(True, started if started is not None else time.perf_counter())

    def _queue(self, home, make_task, label, on_event=None):
        seq = next(self._seq)
        future = CellFuture(seq, label, self._interrupt_future, make_task(seq),
                            on_event=on_event)
        with self._lock:
            if self._closed:
                raise PoolClosed('the kernel is shutting down')
            worker = self._workers.get(home)
            if worker is None and home not in self._spare_homes:
                raise KeyError(home)
            if worker is None or worker.start_error is not None:
                # A spare's first use, or another try for a worker that could not start.
                worker = self._workers[home] = self._start(home)
            worker.enqueue(future)
        return future

    def run(self, home, make_task, *, label, on_event=None):
        return self._queue(home, make_task, label, on_event)

    def export(self, home, keys, together=False):
        return self._queue(home, lambda seq: protocol.ExportTask(seq, tuple(keys), together),
                           f'export from {home}')

    def drop(self, home, keys):
        self._queue(home, lambda seq: protocol.DropTask(seq, tuple(keys)), f'drop in {home}')

    def interrupt(self, home=None):
        targets = list(self._workers.values()) if home is None else \
            [self._workers[home]] if home in self._workers else []
        for worker in targets:
            worker.interrupt()

    def _interrupt_future(self, future):
        _interrupt_future(self._workers, future)

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _stop_workers(list(self._workers.values()) + self._retired, cancel_pending=True)
        self._pump.stop()
        _pools.discard(self)
