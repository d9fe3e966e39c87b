"""``%%interp --engine cluster``: magic cells on the engines of an ipyparallel cluster.

`ClusterCells` holds the `ClusterEngine` that ``%interp cluster start`` (or
``connect``) attached, and runs cells there as workers run them: the inputs
are encoded here and loaded with the cell (`VersionedTask.load`); once it
ran, the outputs are taken from its report (small values come encoded with
it) or exported from the engine's store, and decoded here.

A named cell's place (``%%interp --engine cluster NAME``) is an engine chosen
on first use, and the values it holds there: the next cell with that name
sees them (bound by their keys), as a named worker keeps its namespace.  Its
cells run one after the other, each task made when the previous one has
reported, so that it binds what that one left.  An anonymous cell runs on an
idle engine with only its inputs, and what it made there is dropped after.
"""

import collections
import itertools
import pickle
import sys
import threading
import time

from IPython.display import display

from .. import cluster
from .._core import transfer
from .._core.protocol import VersionedTask
from ..errors import MissingOutputError, TransferError
from ..futures import CellFuture
from ..interpreters import WorkerStatus, remote_exception

__all__ = ['ClusterCells', 'Progress', 'engines']

INTO, OUT_OF = 'into the cluster engine', 'out of the cluster engine'


class _Place:
    """Where a named cell runs: its engine, the keys of its values there, its cells."""

    def __init__(self, home):
        self.home = home
        self.held = {}                       # name -> key of the version in the engine
        self.waiting = collections.deque()   # _Cell not sent: one cell at a time
        self.busy = False


class _Cell:
    """One cell on its way: the magics' future, and what it needs once it ran."""

    def __init__(self, seq, label, place, source, load, outputs, strict, name):
        self.future = CellFuture(seq, label, self._interrupt)
        self.place, self.source = place, source
        self.load, self.outputs, self.strict, self.name = load, outputs, strict, name
        self.sent = None      # the engine's future, once sent
        self.version = None

    def _interrupt(self, future):
        if self.sent is not None:
            self.sent.interrupt()


class ClusterCells:
    """Runs magic cells on `engine` (see the module docstring).

    Args:
        engine: the `ClusterEngine`; `close` closes it.
        started: True if this session started the cluster (`close` stops it),
            False if it attached to a running one.
        ready_in: seconds it took to start or attach.
    """

    def __init__(self, engine, *, started, ready_in):
        self.engine, self.started, self.ready_in = engine, started, ready_in
        self._places = {}          # name -> _Place
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._unfinished = collections.defaultdict(list)   # home -> _Cell sent, not done
        self._next_home = itertools.cycle(engine.homes)

    @classmethod
    def start(cls, n, *, timeout, in_place, **options):
        """Start a local cluster of `n` engines, showing their registration as it goes.

        Raises:
            ClusterError: ipyparallel is missing, or the engines did not
                register within `timeout` seconds.
        """
        progress = Progress(f'starting a cluster of {engines(n)}', in_place)
        began = time.perf_counter()
        try:
            engine = cluster.ClusterEngine.start(
                n, timeout=timeout, on_progress=lambda done, total: progress.show(
                    f'{done}/{total} engines registered ({time.perf_counter() - began:.1f} s)'),
                **options)
        finally:
            progress.end()
        return cls(engine, started=True, ready_in=time.perf_counter() - began)

    @classmethod
    def connect(cls, url_file, *, profile, cluster_id, timeout):
        """Attach to a running cluster (see `ClusterEngine.connect`)."""
        began = time.perf_counter()
        engine = cluster.ClusterEngine.connect(url_file, profile=profile, cluster_id=cluster_id,
                                               timeout=timeout)
        return cls(engine, started=False, ready_in=time.perf_counter() - began)

    @property
    def homes(self):
        return self.engine.homes

    def submit(self, source, inputs, outputs, *, label, name=None, home=None, strict=False):
        """Run `source` on the cluster; its `CellFuture` resolves to the outputs.

        Args:
            inputs: ``{name: value}`` to send in (encoded now).
            outputs: the names to bring back (those the cell left unset are
                left out, unless `strict`).
            name: the place to run in (keeping its values), or None for an
                idle engine and nothing kept.
            home: the engine for a new place (SPMD ranks), else one is chosen.
            strict: every output must be set and move, or the cell fails.

        Raises:
            TransferError: an input cannot be encoded (nothing was sent).
        """
        # Each is decoded on its own there (`cluster_home`).
        encoded = transfer.encode_values(inputs, notebook=True, direction=INTO, together=False)
        with self._lock:
            if name is None:
                place = _Place(home or self._idle_home())
            else:
                place = self._places.get(name)
                if place is None:
                    place = self._places[name] = _Place(home or self._least_used_home())
        cell = _Cell(next(self._seq), label, place, source, encoded, tuple(outputs), strict,
                     name)
        with self._lock:
            if place.busy:
                place.waiting.append(cell)
                return cell.future
            place.busy = True
        self._send(cell)
        return cell.future

    def _idle_home(self):
        for _ in self.homes:
            home = next(self._next_home)
            if not self.engine.status(home).busy:
                return home
        return next(self._next_home)

    def _least_used_home(self):
        used = collections.Counter(place.home for place in self._places.values())
        return min(self.homes, key=lambda home: used[home])

    def _send(self, cell):
        """Hand `cell` to the engine, or skip it if it was cancelled while waiting."""
        place, future = cell.place, cell.future
        if not future.set_running_or_notify_cancel():
            self._release(place)
            return
        # Named cells show (and `%interp wait` finds them) by their name.
        future.start(place.home if cell.name is None else cell.name)
        held = dict(place.held) if cell.name is not None else {}
        loaded = {name for name, _ in cell.load}

        def make_task(seq):
            # Negative: apart from the versions the interp kernel's dataflow keeps
            # on the same engines (its cells count up from 1).
            cell.version = -seq
            bind = tuple((name, key) for name, key in held.items() if name not in loaded)
            load = tuple((name, (name, -seq), payload) for name, payload in cell.load)
            return VersionedTask(seq, -seq, future.label, cell.source, bind, load, (), (), '',
                                 False)

        try:
            cell.sent = self.engine.run(place.home, make_task, label=future.label,
                                        on_event=lambda event: future.deliver(*event))
        except Exception as exc:      # the engine is closed: the cell fails, the next too
            self._fail(cell, exc)
            return
        with self._lock:
            self._unfinished[place.home].append(cell)
        cell.sent.add_done_callback(lambda sent: self._ran(cell, held))

    def _release(self, place):
        """`place`'s cell reported: send its next one."""
        with self._lock:
            following = place.waiting.popleft() if place.waiting else None
            place.busy = following is not None
        if following is not None:
            self._send(following)

    # -- what comes back (on the ipyparallel client's thread) --

    def _ran(self, cell, held):
        place, future, sent = cell.place, cell.future, cell.sent
        with self._lock:
            self._unfinished[place.home].remove(cell)
        if sent.cancelled():       # interrupted while queued in the engine
            return self._fail(cell, KeyboardInterrupt(f'{future.label} was interrupted '
                                                      f'before it started'))
        if sent.exception() is not None:     # EngineLost, ClusterError
            return self._fail(cell, sent.exception())
        report = sent.result()
        future.set_times(report.started, report.finished)
        mine = {(name, cell.version) for name, _ in cell.load}
        if report.failed_loads:    # nothing ran
            self._drop(place.home, mine)
            name, type_name, reason = report.failed_loads[0]
            return self._fail(cell, TransferError(name, type_name, reason, INTO))
        written = {name: (key, payload) for name, key, _, payload in report.written}
        now = {**held, **{key[0]: key for key in mine}}
        now.update((name, key) for name, (key, _) in written.items())
        for name in report.deleted:
            now.pop(name, None)
        if cell.name is not None:
            # Versions the place no longer binds are forgotten, once exported.
            gone = (set(held.values()) | mine) - set(now.values())
            place.held = now
        else:
            gone = mine | {key for key, _ in written.values()}
        if report.error is not None:
            future.error = pickle.loads(report.error)
            self._drop(place.home, gone)
            return self._fail(cell, remote_exception(future.error, report.exception))
        if report.result is not None:
            future.execute_result = pickle.loads(report.result)
        missing = [name for name in cell.outputs if name not in now]
        if missing and cell.strict:
            self._drop(place.home, gone)
            return self._fail(cell, MissingOutputError(missing))
        ready = {name: written[name][1] for name in cell.outputs
                 if name in written and written[name][1] is not None}
        asked = {now[name]: name for name in cell.outputs if name in now and name not in ready}
        if asked:
            exported = self.engine.export(place.home, list(asked))
            exported.add_done_callback(lambda done: self._exported(cell, ready, asked, done))
        else:
            self._land(cell, ready, ())
        self._drop(place.home, gone)
        self._release(place)

    def _exported(self, cell, ready, asked, done):
        if done.exception() is not None:
            cell.future.set_exception(done.exception())
            return
        report = done.result()
        ready = {**ready, **{asked[key]: payload for key, payload in report.values}}
        self._land(cell, ready, [(asked[key], type_name, reason)
                                 for key, type_name, reason in report.failures])

    def _land(self, cell, payloads, failures):
        """Decode the outputs and resolve the cell's future with them."""
        future = cell.future
        if failures and cell.strict:
            future.set_exception(TransferError(*failures[0], OUT_OF))
            return
        future.skipped_outputs = tuple(failures)
        try:
            values = transfer.decode_values(
                [(name, payloads[name]) for name in cell.outputs if name in payloads],
                direction=OUT_OF)
        except TransferError as exc:
            future.set_exception(exc)
            return
        future.set_result(values)

    def _drop(self, home, keys):
        if keys:
            self.engine.drop(home, keys)

    def _fail(self, cell, exc):
        cell.future.set_exception(exc)
        self._release(cell.place)

    # -- for %interp status and stop --

    def workers(self):
        """A `WorkerStatus` per engine still running, named ``cluster e0`` ...: the cells
        of this magic and of the interp kernel's dataflow that run (or ran) there."""
        rows = []
        now = time.perf_counter()
        with self._lock:
            unfinished = {home: list(cells) for home, cells in self._unfinished.items()}
        for home in self.homes:
            status = self.engine.status(home)
            labels = [cell.future.label for cell in unfinished.get(home, ())]
            if status.running is not None and status.running not in labels:
                labels.append(status.running)
            rows.append(WorkerStatus(f'cluster {home}', False,
                                     'running' if status.busy else 'idle',
                                     ', '.join(labels) or None,
                                     max(0.0, now - status.since) if status.busy else None,
                                     status.cells_run))
        return rows

    def describe(self):
        """One line: how many engines, how they came, which names run where."""
        how = 'started here' if self.started else 'attached'
        names = ', '.join(f'{name} on {place.home}' for name, place in self._places.items())
        return (f'cluster of {engines(len(self.homes))} ({how}, ready in {self.ready_in:.1f} s): '
                f'{", ".join(self.homes)}' + (f'; named cells: {names}' if names else ''))

    def close(self):
        """Stop the cluster if it was started here, else detach from it."""
        self.engine.close()


def engines(n):
    """``'1 engine'``, ``'2 engines'``."""
    return f'{n} engine' if n == 1 else f'{n} engines'


class Progress:
    """A status line that changes in place: a display updated in a notebook, a
    line rewritten with ``\\r`` in a terminal."""

    def __init__(self, what, in_place):
        self._what, self._in_place = what, in_place
        self._handle = None
        self._width = 0

    def show(self, state):
        text = f'[interp] {self._what}: {state}'
        if self._in_place:
            if self._handle is None:
                self._handle = display(_Line(text), display_id=True)
            else:
                self._handle.update(_Line(text))
            return
        sys.stdout.write('\r' + text.ljust(self._width))
        sys.stdout.flush()
        self._width = len(text)

    def end(self):
        """Leave the line as it stands (a terminal moves to the next line)."""
        if self._width and not self._in_place:
            sys.stdout.write('\n')
            sys.stdout.flush()


class _Line:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text
