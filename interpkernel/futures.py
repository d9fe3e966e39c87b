"""`CellFuture`: one submitted cell, its live events, its result and its timings."""

import concurrent.futures
import pickle
import threading
import time
from typing import NamedTuple

from .log import log

__all__ = ['CellFuture', 'Event', 'Timings']



class Event(NamedTuple):
    """Something a cell showed, shaped as a Jupyter iopub message.

    ``msg_type`` is ``stream``, ``display_data``, ``update_display_data``,
    ``clear_output``, ``execute_result`` or ``error``; ``content`` follows the
    Jupyter message spec for that type (without ``execution_count``).  A
    ``stream`` event whose cell then flushed that stream itself also has
    ``'flushed': True``.
    """
    msg_type: str
    content: dict


class Timings(NamedTuple):
    """When a cell was queued, started and finished (``time.perf_counter()``), and where."""
    queued: float
    started: float | None
    finished: float | None
    worker: str | None

    @property
    def waited(self):
        """Seconds between submission and start (None until it starts)."""
        return None if self.started is None else self.started - self.queued

    @property
    def ran(self):
        """Seconds the cell ran (None until it ends)."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


class CellFuture(concurrent.futures.Future):
    """The future of a submitted cell.

    ``result()`` returns a dict of the requested output values, or raises the
    cell's exception (chained from an `ExecutionFailed` carrying the traceback
    as the worker formatted it).  While the cell runs, its events arrive in
    ``events`` and at every listener added with `add_event_listener` (the
    constructor's `on_event` is the first).

    Attributes:
        seq: the pool-wide number of this submission.
        label: the cell's name in tracebacks (``<cell LABEL>``).
        events: list of `Event`, in the order the cell produced them.
        execute_result: the last expression's mimebundle content, or None.
        error: the Jupyter ``error`` content if the cell failed, else None.
        skipped_outputs: (name, type name, reason) of outputs that stayed in the worker
            (only with ``strict_outputs=False``).
        value: ``(object,)`` of the last expression for cells run in this
            interpreter (the host engine), else None.
    """

    def __init__(self, seq, label, interrupter, task=None, keep_alive=None, on_event=None):
        super().__init__()
        self.seq, self.label = seq, label
        self.task = task            # the protocol record a worker runs, until it has run
        self._keep_alive = keep_alive   # what encoded buffers and handles in `task` point into
        self.events = []
        self.execute_result = None
        self.error = None
        self.skipped_outputs = ()
        self.value = None
        self._listeners = [on_event] if on_event is not None else []
        self._events_lock = threading.Lock()
        self._interrupter = interrupter
        self._queued = time.perf_counter()
        self._started = self._finished = None
        self._worker = None

    def __repr__(self):
        state = 'done' if self.done() else 'running' if self.running() else 'pending'
        return f'<CellFuture {self.label} {state} on {self._worker}>'

    @property
    def timings(self):
        return Timings(self._queued, self._started, self._finished, self._worker)

    @property
    def worker(self):
        """The name of the worker that runs (or ran) the cell, once it started."""
        return self._worker

    def add_event_listener(self, listener):
        """Call ``listener(event)`` for each event, past ones first, then live.

        Listeners run on the pool's threads: keep them short, and do not wait
        on the pool from one.
        """
        with self._events_lock:
            past = list(self.events)
            self._listeners.append(listener)
        for event in past:
            self._call(listener, event)

    def interrupt(self):
        """Cancel the cell if it has not started; raise KeyboardInterrupt in it if it runs."""
        if not self.cancel() and self.running():
            self._interrupter(self)

    # -- called by the runtime that runs the cell --

    def start(self, worker):
        """The cell is handed to `worker` now (before it is marked running)."""
        self._worker = worker
        self._started = time.perf_counter()

    def set_times(self, started, finished):
        """When the cell's code really started and finished (``perf_counter``)."""
        self._started, self._finished = started, finished

    def set_report(self, report):
        """Resolve to a kernel cell's `VersionedReport` (a failed cell too): its times,
        its `error`, and its shown result as `execute_result` and an event first."""
        self.set_times(report.started, report.finished)
        if report.error is not None:
            self.error = pickle.loads(report.error)
        if report.result is not None:
            self.execute_result = pickle.loads(report.result)
            self.deliver('execute_result', self.execute_result)
        self.set_result(report)

    def release_task(self):
        """Drop the task and the inputs it points into, once a worker has run it."""
        self.task = self._keep_alive = None

    def deliver(self, msg_type, content):
        event = Event(msg_type, content)
        with self._events_lock:
            self.events.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            self._call(listener, event)

    @staticmethod
    def _call(listener, event):
        try:
            listener(event)
        except Exception:
            log.exception('event listener %r failed on %s', listener, event.msg_type)
