"""Running kernel cells in dataflow order, where their data is.

`Scheduler.submit` records a cell (in submission order) and `Scheduler.run`
takes it to its end:

1. wait for the cells it depends on (`Graph.waiting_on`), refine what it
   does with what its inputs really are (`effects.resolve`), and bind each
   name it reads to its version;
2. place it: in the host if it must run there; else where its inputs live,
   weighing the bytes that would move against the time the busy worker
   holding them still needs; values that cannot move, and values it changes
   in place that other names share, pin it to their home;
3. move what it needs that is elsewhere (encoded once, then kept for other
   readers) and the interpreter state it reads (random's generator ...);
4. run it, keep every version it made where it made it, and compare what
   it really changed with what was foreseen: a difference is corrected for
   the cells that have not read the value yet, and reported on those that
   already did;
5. forget the versions no cell can read any more.

No ipykernel here: the kernel gives the scheduler its engines and callbacks.
"""

import asyncio
import bisect
import dataclasses
import functools
import os
import pickle
import re
import sys
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from .. import errors
from .._core import transfer
from .._core.protocol import SAME_OBJECT, TOGETHER, CellSource, VersionedTask
from .._core.values import ValueInfo
from ..engine import HOST
from ..log import log
from . import knowledge
from .analysis import IDENTITY, CellEffects, ClassSummary
from .effects import (Known, Summaries, fills_its_cache, in_cell, is_module_attributes,
                      is_shared_state, known_after, resolve, spoken, state_name)
from .graph import EMPTY_UNDER, UNDERS, Aborted, Cell, Graph, Version, changed_unnamed

__all__ = ['Scheduler', 'Outcome']

_BANDWIDTH = 150e6       # bytes per second a value moves at (pickle, copy, unpickle)
_MOVE_OVERHEAD = 0.0005  # seconds per value moved
_MIN_WAIT = 0.01         # seconds a busy worker is assumed to need still, at least
SPARE_RETRY_AFTER = 30   # seconds no spare worker starts after one could not
# The types of weak references, and of containers holding all they hold weakly
# (a WeakKeyDictionary's values and a finalizer's arguments are held strongly).
_WEAK_HOLDERS = frozenset({('weakref', 'ReferenceType'), ('weakref', 'ProxyType'),
                           ('weakref', 'CallableProxyType'), ('weakref', 'WeakMethod'),
                           ('_weakrefset', 'WeakSet'), ('weakref', 'WeakValueDictionary')})
_HISTORY = re.compile(r'_i+|_i\d+|In|_ih')
_RESULT = re.compile(r'_\d+')
_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
# A notebook class defining one of these makes objects that stay where they are
# made: a copy would run its __del__ once more (`transfer.Finalized`), and copying
# one runs its __getattribute__, which may print or count, outside any cell.
_STAYING_INSTANCES = frozenset({'__del__', '__getattribute__'})


@dataclass
class Outcome:
    """How a cell ended, for the kernel's reply.

    Attributes:
        status: 'ok', 'error' or 'aborted'.
        error: the Jupyter ``error`` content when it failed.
        exception: the exception itself when the failure is the scheduler's
            own (a value that cannot move ...), else None.
    """
    status: str
    error: dict | None = None
    exception: BaseException | None = None
    notes: list = field(default_factory=list)


class _StateVersion(Version):
    """A version of interpreter state (``'<random>'``): a payload, installed per home."""


class Scheduler:
    """Runs cells on the host, subinterpreter and cluster engines, in dataflow order.

    A cell that cannot run in a subinterpreter runs in the host, or, if it only
    needs a process of its own (it uses numpy ...) and a cluster is attached
    (`attach_cluster`), on one of the cluster's engines; values of modules
    that refuse subinterpreters move between those and never into a worker.

    Args:
        workers: the subinterpreter `Engine`.
        host: the host `Engine` (home ``'host'``).
        initial: ``initial(name)`` -> `ValueInfo` of a value the host held
            before any cell wrote `name`, or None; `host.store` holds it under
            ``(name, 0)``.
        host_only_type: ``host_only_type(module)`` -> why values of that
            module's types cannot enter a worker, or None.
        cluster_takes: ``cluster_takes(module)`` -> may such values, and cells
            that import the module, go to a cluster engine (numpy: yes;
            matplotlib, whose figures show through the host: no)?
        history: ``history(name, count)`` -> (True, value) for IPython's input
            history names (``In``, ``_i``, ``_i3`` ...) as cell `count` sees
            them, else (False, None).
        on_note: ``on_note(cell, text)``: something the user must hear about a
            cell (a value read before a change the analysis missed).
        on_finished: ``on_finished(cell)``: a cell has reached its end (done,
            failed or aborted); called before the graph may forget it.
        autoreload: ``autoreload()`` -> the `AutoreloadSettings` cells outside
            the host follow (IPython's ``%autoreload`` in the host), or None.
        host_needed: ``host_needed(cell)`` -> why `cell` must run in the host as
            things stand once the cells before it have run (how IPython shows
            results then), or None.
        host_preferred: ``host_preferred(cell)`` -> why `cell` had better run in
            the host, where it runs if what it reads can go there, or None.
        on_refusal: ``on_refusal(module, reason)`` -> why the cell must leave
            the workers: a module its worker imported before it (its
            `first_imports`) refuses subinterpreters.
        frame_depth: how deep a cell's code runs in the process the cells stand
            in for (a kernel's: ipykernel's), where an engine runs it shallower;
            0 for wherever it lands.
    """

    def __init__(self, workers, host, *, initial, host_only_type, history, on_note,
                 on_finished=None, cluster_takes=lambda module: False,
                 on_refusal=lambda module, reason: f'it imports {module}: {reason}',
                 host_needed=lambda cell: None, host_preferred=lambda cell: None,
                 autoreload=lambda: None, frame_depth=0):
        self.workers, self.host = workers, host
        self._frame_depth = frame_depth
        self._host_needed = host_needed
        self._host_preferred = host_preferred
        self._autoreload = autoreload
        self.cluster = None        # the cluster `Engine` attached, if any
        self._cluster_homes = frozenset()   # every home it had when attached
        self.graph = Graph(self._initial_info)
        self.summaries = Summaries()
        self._initial = initial
        self._host_only_type = host_only_type
        self._cluster_takes = cluster_takes
        self._on_refusal = on_refusal
        self._history = history
        self._on_note = on_note
        self._on_finished = on_finished
        self._installed = {}       # (home, state name) -> the _StateVersion installed there
        self._busy = {}            # home -> when the kernel cell it runs now was given it
        self._ready = {}           # allowed homes -> the cells placed and waiting for
                                   # one of them, in seq order
        self._wake_ups = {}        # ready cell -> the future that wakes it
        self._spares_started = set()   # spare homes started and not retired since
        self._no_spares_until = 0.0    # time.monotonic() before which no spare starts
        self._loop = None          # the loop cells run on (blocking news comes from threads)
        workers.watch_blocking(self._blocking_changed)
        self._running = set()      # cells running now
        self._interrupts = 0       # calls of interrupt() so far
        self._recent = []          # _Read of finished cells `_check_foreseen` may need
        # Versions a finished cell replaced that cells not finished may still read
        # (or have bound, or at hand): `_collect` looks at them again.
        self._read_by_unfinished = set()
        self._initial_states = {}
        self._holding = {}         # (home, id of the object) -> versions made holding it
        self._holding_size = 0     # versions indexed there (at most)
        self._holding_made = 0     # versions ever indexed there
        self._holding_limit = 64   # the size at which to drop those no longer kept
        self._unmovable_home = None    # where values that cannot move are made
        # Modules whose attributes a cell rebound (``os.getcwd = fake``): any later
        # cell may use them through other code (shelve calls os.getcwd), so every
        # later cell reads them (`_patched_before`, by seq; only once there are any).
        self._patched = frozenset()
        self._compile_flags = 0      # the __future__ flags cells so far turned on
        self._patched_before = {}
        # The code of the cells with a file name that define functions or classes, and
        # of host cells (`share_source`), in submission order, and how many of them
        # each home was sent: a function that moves shows its lines there (warnings,
        # tracebacks a cell prints, inspect.getsource).
        self._sources = []           # CellSource
        self._sources_sent = {}      # home -> how many of _sources

    def _initial_info(self, name):
        if name in UNDERS or name in ('Out', '_oh') or _HISTORY.fullmatch(name) or \
                _RESULT.fullmatch(name) or name.startswith('<'):
            return None
        return self._initial(name)

    def engine(self, home):
        if home == HOST:
            return self.host
        return self.cluster if home in self._cluster_homes else self.workers

    def _process_homes(self):
        """The homes that are processes of their own: the host, and the cluster's engines
        still running."""
        return {HOST, *self.cluster.homes} if self.cluster is not None else {HOST}

    # -- the cluster --

    def attach_cluster(self, engine):
        """From now on, cells that only need a process of their own may run on `engine`'s
        homes (a `ClusterEngine`), and the values they make live there."""
        if self.cluster is not None:
            raise errors.ClusterError('a cluster is attached already; stop it first')
        overlap = set(engine.homes) & {HOST, *self.workers.homes, *self.workers.spare_homes}
        if overlap:
            raise ValueError(f'cluster homes {sorted(overlap)} clash with the kernel\'s own')
        self.cluster, self._cluster_homes = engine, frozenset(engine.homes)
        self._signal_homes_changed()

    def detach_cluster(self, timeout=60):
        """Stop placing cells on the attached cluster, first bringing into the host every
        value that only its engines hold and that can still be read.  Call it when no
        cell runs there.

        Returns the names of the values that could not come (they do not pickle,
        their engine is gone, or it did not answer within `timeout` s): a cell
        reading one later fails with a `TransferError` that says so.
        """
        engine = self.cluster
        if engine is None:
            return []
        lost = []
        for version in self.graph.versions():
            if version.gone or not version.homes or not version.homes <= self._cluster_homes \
                    or isinstance(version, _StateVersion):
                continue
            if version.writer is not None and self.graph.still_read(version) is None:
                continue
            if version.payload is None:
                source = sorted(version.homes)[0]
                try:
                    report = engine.export(source, [version.key]).result(timeout)
                except (errors.InterpkernelError, TimeoutError) as exc:   # gone, or stuck
                    log.warning('%s stays behind on the cluster: %s', version, exc)
                    report = None
                if report is None or not report.values:
                    lost.append(version.name)
                    continue
                version.payload = report.values[0][1]
            if not self._into_host(version):
                lost.append(version.name)
        for home in self._cluster_homes:
            self._forget_home(home)
        self.cluster, self._cluster_homes = None, frozenset()
        return sorted(set(lost))

    # -- submitting --

    def submit(self, count, label, source, effects, *, filename, host=None, barrier=None,
               any_process_will_do=False, first_imports=(), timed=None):
        """Record a cell, in submission order; return its `Cell` (run it with `run`).

        `host` says why it cannot run in a subinterpreter; `any_process_will_do`,
        that a cluster engine may run it instead of the host; `first_imports`,
        the modules a worker imports before it, sending it to the host or a
        cluster engine if one refuses subinterpreters; `timed`, the `TimedCode`
        of a cell that is one ``%time`` (`effects` are its body's).
        """
        if filename is not None:
            self.summaries.add(filename, effects)
            if effects.functions:
                self._sources.append(CellSource(filename, label, source))
        seq = self.graph.next_seq()
        cell = Cell(seq, count, label, source, effects, None, host=host, barrier=barrier,
                    filename=filename, any_process_will_do=any_process_will_do,
                    first_imports=first_imports, compile_flags=self._compile_flags,
                    timed=timed)
        self._compile_flags |= effects.future_flags
        if self._patched:
            self._patched_before[seq] = self._patched
        try:
            cell.resolved = self._resolve(cell)
        except Exception as exc:   # noqa: BLE001 - a fault of ours: run it as ipykernel would
            self._in_order(cell, exc)
        self._patched |= {state for state in cell.resolved.writes_state
                          if is_module_attributes(state)}
        _mark_host_only(cell)
        self.graph.add(cell)
        return cell

    def share_source(self, filename, label, source):
        """Send the lines of code compiled under `filename` elsewhere (a host cell's)
        to the workers too, with the cells' own."""
        self._sources.append(CellSource(filename, label, source))

    def _resolve(self, cell):
        previous = cell.resolved
        resolved = resolve(cell.effects, self._lookup(cell), self.summaries,
                           previous.unrefined if previous is not None else None)
        if previous is not None and resolved is previous.unrefined and \
                previous.shares_as_of == self._holding_made:
            return previous       # nothing it depends on is known any better
        unrefined = resolved
        resolved = dataclasses.replace(resolved, reads=set(resolved.reads),
                                       mutates=set(resolved.mutates),
                                       reads_state=resolved.reads_state |
                                       self._patched_before.get(cell.seq, frozenset()))
        resolved.unrefined, resolved.shares_as_of = unrefined, self._holding_made
        # What the cell changes of what earlier cells made (it reads it first),
        # and whatever else earlier cells made share those objects.
        effects = cell.effects
        incoming = {n for n in resolved.mutates if n not in effects.binds or n in effects.reads}
        # Names later cells made out of them (``c = a``), or instances of a class
        # changed in place (``f = Foo()``, then ``Foo.bump = ...``), change too.
        # Kept per name for the cells after this one, which find them here.
        # (Not those known to hold what cannot change: ``r1 = rng.step()``.)
        def may_change(other):
            return not self.graph.known_before(cell, other).immutable

        resolved.shares = {
            name: self._shared_with(cell, {name}, may_change) |
            {other for other, _ in self._made_from_later(cell, name, instances=True)}
            for name in incoming}
        shared = set().union(*resolved.shares.values())
        resolved.mutates |= shared
        resolved.reads |= incoming | shared
        return resolved

    def _in_order(self, cell, exc):
        """The analysis of `cell` failed with `exc` (a fault of the kernel's): it runs
        as a barrier in the host, as ipykernel would run it."""
        log.exception('the analysis of %s failed; it runs in order, in the host', cell.label,
                      exc_info=exc)
        why = f'the kernel could not analyse it ({type(exc).__name__})'
        cell.effects = CellEffects((), (), (), barrier=why)
        cell.host, cell.barrier, cell.resolved = cell.host or why, why, None
        cell.any_process_will_do, cell.first_imports = False, ()
        cell.resolved = self._resolve(cell)

    def _lookup(self, cell):
        return in_cell(cell.effects, cell.filename, lambda name: self.graph.known_before(cell, name))

    def _shared_with(self, cell, names, holds_objects=lambda name: True):
        """Names whose objects earlier cells made part of (or out of) those `names`
        (only those for which `holds_objects(name)` is true, and only through them)."""
        shared, stack = set(), list(names)
        while stack:
            name = stack.pop()
            writer = self.graph.writer_before(cell, name)
            if writer is None or writer.ordered_after_all:
                continue
            for other in _shared_by(writer, name) - shared - set(names):
                if holds_objects(other):
                    shared.add(other)
                    stack.append(other)
            version = writer.versions.get(name) if writer.done else None
            if version is not None and version.info is not None:
                for other_name, other in self._same_object(version):
                    if other_name not in shared and other_name not in names:
                        shared.add(other_name)
                        stack.append(other_name)
        return shared

    def _same_object(self, version):
        """(name, version) of the latest versions in the same home holding the same object."""
        kept = self._kept_holding((version.home, version.info.identity))
        return [(other.name, other) for other in kept if other is not version and not other.gone]

    def _kept_holding(self, key):
        """The versions indexed under `key` that are still kept (the others are dropped)."""
        kept = [other for other in self._holding.get(key, ()) if self._still_kept(other)]
        if kept:
            self._holding[key] = kept
        else:
            self._holding.pop(key, None)
        return kept

    def _still_kept(self, version):
        """Is `version` still what its writer, a cell the graph keeps, left in its name?"""
        writer = version.writer
        return self.graph.cells.get(writer.seq) is writer and \
            writer.versions.get(version.name) is version

    def _index_holding(self, version):
        """Index `version` by the object it holds, for `_same_object`; drop the
        versions no longer kept once the index has doubled (amortized, so that a long
        session's index stays the size of what it keeps).  Not an immutable object:
        names holding one share nothing a cell could change (every ``_5`` holding
        the int 2 would otherwise be one group, walked name by name)."""
        if version.info.immutable:
            return
        self._holding.setdefault((version.home, version.info.identity), []).append(version)
        self._holding_size += 1
        self._holding_made += 1
        if self._holding_size > self._holding_limit:
            for key in list(self._holding):
                self._kept_holding(key)
            self._holding_size = sum(map(len, self._holding.values()))
            self._holding_limit = 2 * self._holding_size + 64

    # -- running --

    async def run(self, cell, on_event=None, on_result=None):
        """Take `cell` to its end; return its `Outcome`.

        `on_result`: ``await on_result(cell, outcome)`` once it has run, before it counts
        as finished: a cell after it that waits for it (a barrier, which may
        change how IPython shows results) also waits for that.
        """
        self._loop = asyncio.get_running_loop()
        try:
            await self._settle(cell)
            return await self._place_and_run(cell, on_event, on_result)
        except Aborted:
            cell.finish('aborted')
            return Outcome('aborted')
        finally:
            if not cell.done:
                cell.finish('failed')
            if self._on_finished is not None:
                self._on_finished(cell)
            self._refine_readers(cell)
            self._collect(cell)
            if self._spares_started:
                self._retire_idle_spares()

    async def _settle(self, cell):
        """Wait for what `cell` depends on, refining what it does as those cells finish."""
        while True:
            self._refine(cell)
            pending = self.graph.waiting_on(cell)
            if not pending:
                return
            for other, why in pending:
                if all(other is not seen for seen, _ in cell.waited_for):
                    cell.waited_for.append((other, why))
            others = [other for other, _ in pending]
            if cell.ordered_after_all or cell.resolved.reads_anything is not None:
                # It waits for every earlier cell whatever they turn out to do:
                # waking for the latest is enough (fewer wake-ups in long runs).
                others = [max(others, key=lambda other: other.seq)]
            await cell.wait_for_change(others)

    def _refine_readers(self, cell):
        """Refine, now, the waiting cells that read what `cell` made.

        Each would refine itself once it wakes; until then a cell placed in the
        meantime would be ordered by what they did as first resolved (``c.add(1)``
        changing only ``c``, before ``c`` was known to be an instance of a class
        whose instances share a list), and could run before them.
        """
        names = [*cell.versions, *cell.deleted]
        # And those reading a name holding an object it made a name for (``x`` shown:
        # ``x[0] = 2`` changes ``_2`` too, which a cell reading Out must wait for).
        for version in list(cell.versions.values()):
            if version.info is not None and not version.info.immutable:
                names += [name for name, _ in self._same_object(version)]
        for reader in self.graph.waiting_readers_after(cell, names):
            self._refine(reader)

    def _refine(self, cell):
        """Resolve `cell`'s effects again with what is known now; tell waiters if they changed."""
        before = cell.resolved
        try:
            cell.resolved = self._resolve(cell)
        except Exception as exc:   # noqa: BLE001 - a fault of ours: run it as ipykernel would
            self._in_order(cell, exc)
        _mark_host_only(cell)
        if cell.resolved != before:
            self.graph.index(cell)
            cell.notify()

    async def _place_and_run(self, cell, on_event, on_result):
        while True:
            await self._settle(cell)
            if cell.host is None and (reason := self._host_needed(cell)) is not None:
                cell.host, cell.any_process_will_do = reason, False
            if cell.host is None:
                cell.host_preferred = self._host_preferred(cell)
            try:
                inputs = self._bind(cell)
                # What it reads stays alive while it waits (and `_loads` adds the
                # values at hand in its home).
                cell.bound = {n: v for n, v in inputs.items() if isinstance(v, Version)}
                home = await self._choose_home(cell, inputs)
            except LookupError as missing:
                return self._fail(cell, errors.InterpkernelError(
                    f'{cell.label} reads {missing.args[0].key[0]!r} as an earlier cell left it, '
                    f'but a later cell changed it in place before {cell.label} could run; '
                    f'run {cell.label} again'))
            except errors.TransferError as exc:
                return self._fail(cell, exc)
            try:
                loads = await self._loads(cell, inputs, home)
            except _Unmovable:
                self._release(home)
                continue          # a value turned out not to move: place the cell again
            except errors.EngineLost as lost:
                self._release(home)
                self._forget_home(lost.name)   # what only it held cannot come any more
                continue
            except (errors.TransferError, errors.ClusterError, errors.PoolClosed) as exc:
                self._release(home)
                if isinstance(exc, errors.TransferError) and self._rebound(cell, inputs):
                    continue      # what it read was changed in place meanwhile (below)
                return self._fail(cell, exc)
            if self._rebound(cell, inputs):
                # While it waited for a home, a change nobody foresaw came to light.
                self._release(home)
                continue
            try:
                report = await self._execute(cell, inputs, loads, home, on_event)
            except errors.EngineLost as exc:
                self._forget_home(home)
                return self._fail(cell, exc)
            except (errors.ClusterError, errors.PoolClosed) as exc:   # the cluster stopped
                return self._fail(cell, exc)
            except errors.WorkerStartError as exc:
                self._forget_home(home)      # nothing ran there, nothing was loaded
                if home not in self.workers.spare_homes:
                    return self._fail(cell, exc)
                # A spare is an extra: the cell waits for a worker that runs.
                log.warning('%s; no spare worker starts for %s s', exc, SPARE_RETRY_AFTER)
                self._no_spares_until = time.monotonic() + SPARE_RETRY_AFTER
                cell.wait_again()
                continue
            finally:
                self._release(home)
            self._arrived(loads, home, report)
            if report.refused is not None:    # nothing of the cell ran: place it again
                module, reason = report.refused
                cell.host = self._on_refusal(module, reason)
                cell.any_process_will_do = self._cluster_takes(module)
                cell.first_imports = ()
                cell.wait_again()
                continue
            if report.failed_loads:    # nothing of the cell ran: place it again
                for name, type_name, reason in report.failed_loads:
                    version = cell.bound.get(name) or cell.at_hand.get(name) or inputs.get(name)
                    if not isinstance(version, Version):
                        # IPython's history, gathered afresh for each cell: no home to forget.
                        return self._fail(cell, errors.TransferError(name, type_name, reason))
                    version.homes.discard(home)
                    if type_name != 'missing':
                        version.unmovable = reason
                cell.wait_again()
                continue
            outcome = self._finish(cell, home, report)
            if on_result is not None:
                await on_result(cell, outcome)
            cell.finish('failed' if outcome.status == 'error' else 'done')
            return outcome

    # -- binding --

    def _rebound(self, cell, inputs):
        """Would `cell` now wait, or read other versions than `inputs`?  A cell that
        finished meanwhile may have changed in place what it reads, which the
        analysis did not foresee: the versions it had bound are then gone."""
        try:
            return bool(self.graph.waiting_on(cell)) or self._bind(cell) != inputs
        except LookupError:     # one of them is gone: binding again says so
            return True

    def _bind(self, cell):
        """name -> the `Version` (or, for IPython's history, the value) `cell` reads.

        What it may delete is bound too: a worker reports as deleted the names
        bound at the start that are gone at the end (a ``del`` that did not run
        leaves its name there).  So is what it may change in place without
        naming it (`changed_unnamed`: a function's default it fills).
        """
        graph, resolved = self.graph, cell.resolved
        names = set(resolved.reads) | set(resolved.deletes) | changed_unnamed(resolved)
        inputs = {}
        if cell.ordered_after_all:
            # What it may read besides, but not values that cannot leave their home
            # (a generator, a filled cache): two in different homes would make it
            # fail.  Those at hand where it runs it sees (`_loads`); should it read
            # another after all, it gets a NameError.
            for name in self._every_name(cell) - names:
                if name in UNDERS or name in ('Out', '_oh') or _HISTORY.fullmatch(name):
                    names.add(name)     # IPython's own: below
                    continue
                version = graph.version_before(cell, name)
                if version is not None and not _stays_home(version):
                    inputs[name] = version
        unders = graph.unders(cell) if names & set(UNDERS) else {}
        for name in names:
            if name in UNDERS:
                version = unders[name]
                if version is EMPTY_UNDER:
                    version = _Given(name, EMPTY_UNDER)
            elif name in ('Out', '_oh'):
                version = _Composite(name, graph.results_before(cell))
            elif _HISTORY.fullmatch(name):
                found, value = self._history(name, cell.count)
                version = _Given(name, value) if found else None
            else:
                version = graph.version_before(cell, name)
            if version is not None:
                inputs[name] = version
        return inputs

    def _every_name(self, cell):
        """Every name some earlier cell defined (what a barrier may read), but
        shown results (``_5``) it does not name: one per result in ``Out``, up to
        a thousand, each to bring into the host for every barrier (``%who``)."""
        names = set()
        for earlier in self.graph.earlier(cell):
            names |= {n for n in earlier.versions
                      if not n.startswith('<') and not _RESULT.fullmatch(n)}
        # The host's values from before any cell (IPython's ``open``, a startup
        # file's): in its store, as a host cell that read none unbinds them.
        names |= {name for name, seq in list(self.host.store.versions) if seq == 0
                  and not name.startswith('_') and self._initial_info(name) is not None}
        return names

    # -- placing --

    async def _choose_home(self, cell, inputs):
        """Where `cell` runs: waits for a home to be free; earlier ready cells choose first."""
        allowed, why = self._allowed_homes(cell, inputs)
        if not allowed:
            raise errors.TransferError(*why)
        cell.allowed = allowed
        waiting = self._ready.setdefault(frozenset(allowed), [])
        bisect.insort(waiting, cell, key=lambda c: c.seq)
        loop = asyncio.get_running_loop()
        try:
            while True:
                # Made before looking: a change after the look sets it, and so
                # wakes this cell.
                wake = self._wake_ups[cell] = loop.create_future()
                recheck = None
                if self._first_with_a_free_home() in (cell, None):
                    home, recheck = self._best_home(cell, inputs, allowed)
                    if home is not None:
                        self._busy[home] = time.perf_counter()
                        if home in self.workers.spare_homes:
                            self._spares_started.add(home)
                        return home
                # Woken when it is the earliest ready cell with a free home, or
                # when waiting has grown dearer than moving.
                await cell.wait_for_signal(wake, recheck)
        finally:
            waiting.remove(cell)
            if not waiting:
                del self._ready[frozenset(allowed)]
            self._wake_ups.pop(cell, None)
            self._signal_homes_changed()

    def _first_with_a_free_home(self):
        """The earliest ready cell that one of the free homes would take, or None."""
        return min((cells[0] for allowed, cells in self._ready.items()
                    if self._has_free_home(allowed)), key=lambda c: c.seq, default=None)

    def _signal_homes_changed(self):
        """Wake the one ready cell that may take a home now: the earliest with a free one.

        (Waking every ready cell on every change, each looking at all the
        others, made a long Run All quadratic.)
        """
        first = self._first_with_a_free_home()
        wake = self._wake_ups.get(first)
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _has_free_home(self, allowed):
        return any(self._takeable(home) for home in allowed)

    def _takeable(self, home):
        """Free, and (but for the host) a core to run on: fewer worker cells are
        running, not blocked in a wait, than the engine has cores."""
        if home in self._busy:
            return False
        if home == HOST or home in self._cluster_homes:
            return True          # a process of its own
        if home not in self._spares_started and home in self.workers.spare_homes and \
                time.monotonic() < self._no_spares_until:
            return False
        active = sum(1 for busy in self._busy if busy != HOST and busy not in self._cluster_homes
                     and not self.workers.blocked(busy))
        return active < len(self.workers.homes)

    def _blocking_changed(self, home):
        """A worker's cell began or ended a wait (called from the engine's thread)."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._signal_homes_changed)
        except RuntimeError:   # that loop is closed: no cell waits for a home on it
            pass

    def _retire_idle_spares(self):
        """Stop the spare homes that run nothing; the values only they hold move to
        the host first if they are encoded already, else the spare stays."""
        for home in list(self._spares_started):
            if home in self._busy:
                continue
            sole = [v for v in self.graph.versions() if v.homes == {home} and not v.gone]
            if any(version.payload is None for version in sole) or \
                    not all(self._into_host(version) for version in sole):
                continue
            self._forget_home(home)
            self.workers.retire(home)

    def _forget_home(self, home):
        """No value or state is in `home` any more (its worker stopped, or never started)."""
        self._sources_sent.pop(home, None)
        if self._unmovable_home == home:
            self._unmovable_home = None
        for version in self.graph.versions():
            version.homes.discard(home)
        for key in [key for key in self._installed if key[0] == home]:
            del self._installed[key]
        self._spares_started.discard(home)

    def _into_host(self, version):
        """Keep a copy of an encoded `version` in the host; False if it cannot load there."""
        try:
            value = transfer.decode(version.payload, self.host.namespace)
        except Exception:   # noqa: BLE001 - e.g. a module refusing the host too: it stays put
            return False
        self.host.store.put(version.key, value)
        version.homes.add(HOST)
        return True

    def _allowed_homes(self, cell, inputs):
        """(homes the cell may run in, why none if none): what cannot move pins it.

        A cell runs in a worker if it may, else on a cluster engine (if one is
        attached), else in the host.  One that had better run in the host
        (`Cell.host_preferred`) runs there if what it reads can go there.
        """
        if cell.host is None and cell.host_preferred is not None:
            allowed, why = self._homes_for(cell, inputs, cell.host_preferred)
            if allowed:
                note = f'in the host: {cell.host_preferred}'
                if note not in cell.notes:
                    cell.notes.append(note)
                return allowed, why
        return self._homes_for(cell, inputs, cell.host)

    def _homes_for(self, cell, inputs, host):
        """`_allowed_homes` for `cell`, which must run in the host if `host` says why."""
        if host is not None:
            homes = self._process_homes() if cell.any_process_will_do else {HOST}
            allowed, pins = set(homes), [(None, None, host, homes)]
        else:
            allowed = {*self._process_homes(), *self.workers.homes, *self.workers.spare_homes}
            pins = []
        preferred = set(allowed)
        for name, version in inputs.items():
            # ``Out`` holds every result shown before: any of them may pin it.
            parts = version.results.values() if isinstance(version, _Composite) else \
                [version] if isinstance(version, Version) else []
            for part in parts:
                pin = self._pin(cell, name, part, inputs)
                if pin is not None:
                    reason, homes, best = pin
                    pins.append((name, part, reason, homes))
                    allowed &= homes
                    preferred &= best or homes
        if preferred - {HOST}:
            allowed = preferred
        for state in self._states_of(cell):
            version = self._state_version(cell, state)
            if version.writer is not None and version.payload is None:
                pins.append((state, version, 'it cannot be copied between interpreters',
                             {version.home}))
                allowed &= {version.home}
        made = self._unmovable_made(cell)
        if made and not pins:
            if self._unmovable_home not in allowed:
                # Chosen once, kept for all of them: the host when it may, for any
                # later cell can run there, one that plots or reads an array too
                # (Run All's later cells may not have arrived yet).
                self._unmovable_home = HOST if HOST in allowed else self.workers.homes[0]
            allowed &= {self._unmovable_home}
            why = (f'in the host: it makes {", ".join(sorted(map(spoken, made)))}, which '
                   f'cannot move, and any later cell may read it there')
            if self._unmovable_home == HOST and why not in cell.notes:
                cell.notes.append(why)
        # Where the objects it changes in place or keeps a reference to are, if it may
        # (and makes no value that cannot move, which has a home of its own): on a
        # copy, other names, instances and containers that share them in order
        # would not see the change, or would not be the same object.
        for name, version in inputs.items() if not made else ():
            if isinstance(version, Version) and version.home in allowed and \
                    self._keeps_the_object(cell, name, version):
                allowed = {version.home}
        away = allowed - {HOST}
        if away:
            # A worker if it may, else a cluster engine: the host runs only what must.
            return (away - self._cluster_homes) or away, ()
        if allowed:
            return allowed, ()
        pinned = [pin for pin in pins if pin[0] is not None]
        first = pinned[0]
        if pins[0][0] is None:    # the cell itself must run in the host
            return set(), (first[0], _type_of(first[1]),
                           f'it must stay in {self._where(first[3])} ({first[2]}), while '
                           f'{cell.label} must run in {self._where(pins[0][3])} ({host})',
                           'into the host')
        second = pinned[-1]
        return set(), (first[0], _type_of(first[1]),
                       f'it must stay in {self._where(first[3])} ({first[2]}), while '
                       f'{second[0]!r} must stay in {self._where(second[3])} ({second[2]}), '
                       f'and {cell.label} reads both', 'into one interpreter')

    def _where(self, homes):
        """'the host', 'worker #0, #1', 'cluster engine e0' ... for a message."""
        parts = ['the host'] if HOST in homes else []
        engines = sorted(homes & self._cluster_homes)
        if engines:
            parts.append('cluster engine ' + ', '.join(engines))
        workers = sorted(homes - self._cluster_homes - {HOST})
        if workers:
            parts.append('worker ' + ', '.join(workers))
        return ' or '.join(parts)

    def _unmovable_made(self, cell):
        """The names the cell will leave holding values that cannot move (a generator,
        a lock, a file, a function's full cache).

        Such values are all made in one place, so that a later cell reading
        several of them finds them there.
        """
        effects = cell.effects
        lookup = self._lookup(cell)
        # Calling a function with a cache fills it: a full cache cannot move.
        made = {name for name in cell.resolved.mutates if fills_its_cache(lookup(name))}
        # A module's own state (random's, changed by an unknown call) is not copied,
        # nor its attributes once a cell rebinds one (``os.getcwd = fake``), nor what
        # the instances of a notebook class share (``tricks = []``), which every
        # later cell reads: in the host, where any of them can run.
        made |= {state for state in cell.resolved.writes_state
                 if state.startswith('<module ') or is_module_attributes(state)
                 or is_shared_state(state)}
        for name in effects.binds:
            if effects.literal_types.get(name) == ('builtins', 'generator'):
                made.add(name)
                continue
            path = effects.constructed.get(name)
            if not path:
                continue
            known = lookup(path[0])
            if known.kind == 'function':
                summary = self.summaries.get(known.code[0]) if known.code else None
                if getattr(summary, 'generator', False):
                    made.add(name)
            elif known.kind == 'module' and knowledge.makes_unmovable(known.module,
                                                                      '.'.join(path[1:])):
                made.add(name)
            elif known.kind == 'callable' and knowledge.makes_unmovable(known.module,
                                                                        known.qualname):
                made.add(name)
            elif known.kind == 'class' and any(
                    isinstance(summary, ClassSummary) and not summary.methods.keys().isdisjoint(
                        _STAYING_INSTANCES) for summary in map(self.summaries.get, known.code)):
                made.add(name)
        return made

    def _pin(self, cell, name, version, inputs):
        """(why `version` keeps `cell` where it is, the homes it may run in, the
        best of them or None), or None."""
        reason = None
        homes = set(version.homes) or {version.home}
        if version.unmovable:
            reason = version.unmovable
        elif version.info is not None and not version.info.movable:
            reason = f'a {version.info.type_qualname} cannot leave its interpreter'
        elif version.known.kind in ('value', 'instance', 'module') and \
                version.home in self._process_homes() | self._cluster_homes:
            # numpy's arrays, or numpy itself
            module = version.info.type_module if version.info is not None and \
                version.known.kind != 'module' else version.known.module
            reason = self._host_only_type(module)
            if reason and self._cluster_takes(module) and name not in cell.resolved.mutates:
                # Read only: it moves between processes (the host, cluster engines),
                # never into a worker; where it goes is a matter of cost.  Changed in
                # place, it stays where other names may share it.
                return reason, self._process_homes(), None
        if reason:
            return reason, homes, None
        if name in cell.resolved.certain and version.home is not None:
            holds_objects = functools.partial(self._may_share_objects, cell)
            sharers = self._shared_with(cell, {name}, holds_objects) | \
                {other for other, _ in self._made_from_later(cell, name)
                 if other in inputs and holds_objects(other)}
            if sharers - inputs.keys():
                # Best where those it reads are one object (a copy elsewhere would
                # not change with it), if other pins leave such a home.  If it is
                # given them all, they move together wherever it runs.
                read = [inputs[n] for n in sharers if isinstance(inputs.get(n), Version)]
                return ('the cell changes it in place, and other names share it there',
                        homes, read and _home_of_one_object([version, *read]))
        return None

    def _may_share_objects(self, cell, name):
        """Could `name`, as `cell` would see it, hold objects a change in place reaches?

        Not if it is undefined (a builtin: ``defaultdict(list)``), a module or a
        library's callable a call went through (``collections.Counter()``,
        ``random.Random(5)``), or a value that cannot change (``text`` of
        ``text.split()``, the int a method returned): the analysis links them to
        what the call made, but none holds a part of it.
        """
        try:
            version = self.graph.version_before(cell, name)
        except LookupError:    # changed in place since, and no copy left: it may
            return True
        if version is None:
            return False
        known = version.known
        if known.kind in ('module', 'callable') or known.immutable:
            return False
        return version.info is None or not version.info.immutable

    def _holds_weakly(self, cell, name):
        """Is `name`, as `cell` would see it, a weak reference or a container holding
        its items weakly (what it refers to may be freed)?"""
        try:
            version = self.graph.version_before(cell, name)
        except LookupError:
            return False
        info = version.info if version is not None else None
        return info is not None and (info.type_module, info.type_qualname) in _WEAK_HOLDERS

    def _keeps_the_object(self, cell, name, version):
        """Must `cell` have the very object `version` holds, not a copy: it may
        change it in place, bind another name to it (``b = a``), make an
        instance of it (a notebook class, which a later cell may change), or
        take its ``id()`` or compare it with ``is``?"""
        info = version.info
        if version.home is None or info is None or info.installed:
            return False
        if name in _identified(cell.effects):
            return True     # a copy of (2000, 2000) holds two ints
        if info.immutable:
            return False
        if self._host_only_type(info.type_module) is not None:
            return False    # numpy's arrays: where they go is `_pin`'s (processes only)
        return name in cell.resolved.mutates or bool(_made_out_of(cell.effects, name)) or \
            (info.is_class and bool(_instances_of(cell.effects, name)))

    def _made_from_later(self, cell, name, instances=False):
        """(name, the cell that made it) for each name a cell after the one that
        bound `name` made out of it (``b = a``), or with `instances` made an
        instance of it (``f = Foo()``, which changes when the class does), that
        still holds what that cell made, unless that is known not to change
        (``r1 = rng.step()``).  Cells since may have changed either in place
        (``Timer.set_tz(...)``, ``f.run()``): it is the same object still."""
        binder = self.graph.binder_before(cell, name)
        made = set()
        is_class = instances and binder is not None and isinstance(
            binder.effects.functions.get(binder.effects.definitions.get(name)), ClassSummary)
        for reader in self.graph.readers_before(cell, name):
            if binder is not None and reader.seq <= binder.seq:
                continue
            targets = _made_out_of(reader.effects, name)
            if is_class:
                targets |= _instances_of(reader.effects, name)
            made |= {(target, reader) for target in targets
                     if self.graph.binder_before(cell, target) is reader
                     and not self.graph.known_before(cell, target).immutable}
        return made

    def _check_copies_left_behind(self, cell, home, report):
        """Say so when `cell` changed an object in place that a name made elsewhere, from
        a copy, shares when the cells run in order: that name did not change with it
        (unless `cell` binds it anew)."""
        for name in sorted({key[0] for key in report.changed}):
            for other, maker in sorted(self._made_from_later(cell, name), key=lambda m: m[0]):
                version = maker.versions.get(other)
                if version is not None and version.home != home and \
                        other not in cell.resolved.binds:
                    self._on_note(cell, (
                        f'{cell.label} changed `{name}` in place; `{other}` ({maker.label} made '
                        f'it from a copy of `{name}` in another interpreter) did not change '
                        f'with it, though running the cells in order it may share its object, '
                        f'so cells reading `{other}` may show something different'))

    def _explain_missing_name(self, cell, home, error):
        """Say why, when `cell` failed with a NameError for a name an earlier cell
        made where `cell` could not have it: a value that cannot move (a cell the
        analysis cannot read, as ``%time n = len(big)``, is given what can move)."""
        found = _NAME_ERROR.fullmatch(error.get('evalue', '')) \
            if error.get('ename') == 'NameError' else None
        if found is None:
            return
        name = found.group(1)
        writer = self.graph.writer_before(cell, name)
        version = writer.versions.get(name) if writer is not None and writer.done else None
        if version is not None and home not in version.homes and version.unmovable:
            self._on_note(cell, f'`{name}` cannot move into {self._where({home})}, where '
                                f'{cell.label} ran: it must stay in '
                                f'{self._where(version.homes)} ({version.unmovable})')

    def _best_home(self, cell, inputs, allowed):
        """(the free home that costs least, or None; seconds after which to choose again).

        A home costs the time to move the inputs it lacks, plus, if busy, the
        time its running cell is expected to need still (as long as it has run).
        """
        now = time.perf_counter()
        costs = []
        for home in sorted(allowed):
            moved = [v for v in inputs.values() if isinstance(v, Version)
                     and home not in v.homes]
            cost = sum(v.size for v in moved) / _BANDWIDTH + _MOVE_OVERHEAD * len(moved)
            # A value not encoded yet must wait for a home holding it to be free.
            cost += max((min((now - self._busy.get(h, now) for h in v.homes), default=0)
                         for v in moved if v.payload is None), default=0)
            busy = not self._takeable(home)
            if busy:
                cost += max(now - self._busy.get(home, now), _MIN_WAIT)
            costs.append((cost, busy, home))
        costs.sort(key=lambda c: (c[0], c[2]))
        best_cost, busy, home = costs[0]
        if not busy:
            return home, None
        free = [cost for cost, busy, _ in costs if not busy]
        return None, (free[0] - best_cost + _MIN_WAIT) if free else None

    def _release(self, home):
        self._busy.pop(home, None)
        self._signal_homes_changed()

    # -- moving --

    async def _loads(self, cell, inputs, home):
        """The `_Loads` for running `cell` in `home`.

        Besides its inputs, the cell sees every value it would see in order
        that is at hand in `home`: a read the analysis missed then works if it
        can, and fails with a NameError (never a stale value) if it cannot.
        Nothing is counted as in `home` until its task has taken it there
        (`_arrived`): a cell placed again before it runs sends it again.
        """
        present = self.graph.present(cell, home, inputs,
                                     anywhere=cell.resolved.reads_anything is not None)
        cell.at_hand = {n: v for n, v in present.items() if n not in cell.bound}
        bind = [(name, version.key) for name, version in present.items() if home in version.homes]
        moving = {name: version for name, version in present.items() if home not in version.homes}
        regrouped = self._apart_here(cell, inputs, home)
        load = []
        for name, version in inputs.items():
            if isinstance(version, _Given):
                load.append((name, None, transfer.encode(version.value, notebook=True)))
            elif isinstance(version, _Composite):
                load.append((name, None, await self._compose(version)))
            elif home in version.homes and name not in regrouped:
                bind.append((name, version.key))
            else:
                moving[name] = version
        copied = []
        for group in self._sharing_groups(cell, moving):
            together = await self._payload_together(group) if len(group) > 1 else None
            if together is not None:
                load += [(name, version.key, (TOGETHER, together, index))
                         for index, (name, version) in enumerate(group)]
            else:
                copied += [(name, version, version.payload if name in present
                            else await self._payload(version, home)) for name, version in group]
        load += _one_copy_per_object(copied)
        states, capture, installed = [], [], []
        for state in self._states_of(cell):
            kind = knowledge.STATES.get(state[1:-1])
            if kind is None or kind.process_wide or kind.capture is None:
                continue
            needed = self._state_version(cell, state)
            if self._installed.get((home, state)) is not needed:
                payload = needed.payload if needed.writer is not None else \
                    await self._initial_state(kind)
                if payload is not None:
                    states.append((kind.name, _restore_source(kind), payload))
                    installed.append(((home, state), needed))
            if state in cell.resolved.writes_state or cell.barrier is not None:
                capture.append((kind.name, _capture_source(kind)))
        if home in self._cluster_homes:
            # An engine is a process of its own: it works in the kernel's directory
            # (the notebook's, or where %cd went), as the cell would in order.
            states.append(('cwd', 'import os\nos.chdir(state)\n', transfer.encode(os.getcwd())))
        # What the cell may rebind or delete, its namespace alone holds while it
        # runs: freed there, its object is finalized in the cell (``del r`` prints
        # what ``R.__del__`` prints), as in order.
        released = []
        for name in cell.resolved.binds | cell.resolved.deletes:
            version = inputs.get(name, present.get(name))
            if isinstance(version, Version) and self._frees(cell, name, version, home):
                released.append(version)
        return _Loads(tuple(bind), tuple(load), tuple(states), tuple(capture),
                      tuple(moving.values()), tuple(installed), tuple(released))

    def _frees(self, cell, name, version, home):
        """May `cell`, which may rebind or delete `name`, free the object of `version`
        it has in `home` (`VersionedTask.release`)?  Not if another name may hold
        that object or part of it, nor, for the object `home` held before the
        cell (not a copy made for it), if another cell may still read it there."""
        if version.writer is None or version.info is None or self._aliased(cell, version):
            return False

        def holds_objects(other):
            # A weak reference to it, or a weak container, does not keep it alive.
            return self._may_share_objects(cell, other) and not self._holds_weakly(cell, other)
        if self._shared_with(cell, {name}, holds_objects) or any(
                holds_objects(other) for other, _ in self._made_from_later(cell, name)):
            return False
        return home not in version.homes or self.graph.read_only_by(version, cell)

    def _aliased(self, cell, version):
        """Does another name hold the object of `version` as `cell` would see it
        (or may it, a cell that could rebind it not having finished)?"""
        for name, other in self._same_object(version):
            writer = self.graph.writer_before(cell, name)
            if writer is not None and not writer.done:
                return True
            try:
                if self.graph.version_before(cell, name) is other:
                    return True
            except LookupError:     # changed in place since, no copy left: it may
                return True
        return False

    def _sharing_groups(self, cell, moving):
        """`moving` (name -> version) in groups of ``(name, version)``: versions whose
        objects may be shared (``b = {'k': a}``, or one object), which must move
        together for their copies to share them too."""
        group_of = {name: [name] for name in moving}
        for name in moving if len(moving) > 1 else ():   # (most cells move one value)
            for other in self._shared_with(cell, {name}) & moving.keys():
                if group_of[other] is not group_of[name]:
                    merged = group_of[name] + group_of[other]
                    for member in merged:
                        group_of[member] = merged
        groups = {id(group): group for group in group_of.values()}.values()
        return [[(name, moving[name]) for name in group] for group in groups]

    def _apart_here(self, cell, inputs, home):
        """The inputs `cell` changes in place, with those sharing their objects, that
        are in `home` as copies made apart (which would not change together): they
        are copied again, together."""
        apart = set()
        for name in cell.resolved.mutates & inputs.keys() if len(inputs) > 1 else ():
            group = {name} | (self._shared_with(cell, {name}) & inputs.keys())
            versions = [inputs[n] for n in group if isinstance(inputs[n], Version)]
            if len(versions) > 1 and all(home in version.homes for version in versions) and \
                    home not in _home_of_one_object(versions):
                apart |= group
        return apart

    async def _payload_together(self, group):
        """One encoding of the values of `group` (``(name, version)``) as a tuple, made in a
        home holding them all; None if there is none, or one of them cannot move."""
        versions = [version for _, version in group]
        holding = set.intersection(*(set(version.homes) for version in versions))
        sources = sorted((h for h in holding if h != HOST or all(
            version.key in self.host.store for version in versions)),
            key=lambda h: (h in self._busy, h != HOST, h))
        if not sources:
            return None
        report = await asyncio.wrap_future(self.engine(sources[0]).export(
            sources[0], [version.key for version in versions], together=True))
        return report.values[0][1] if report.values and not report.failures else None

    def _arrived(self, loads, home, report):
        """Count what a task took to `home` as there, once the home has reported:
        the values it loaded, and, if the cell ran, the states it restored."""
        if report.failed_loads:
            return        # (those it did load are sent again: it is told nothing)
        for version in loads.arriving:
            version.homes.add(home)
        if report.refused is None:
            self._installed.update(loads.installed)
            for version in loads.released:    # what it left there is a version of its own
                version.homes.discard(home)

    async def _payload(self, version, home):
        """The encoded value, made once (in a home that holds it) and kept."""
        if version.payload is not None:
            return version.payload
        # (The host may be a home only as the cell it is given to begins: see `_compose`.)
        sources = sorted((h for h in version.homes if h != HOST or version.key in self.host.store),
                         key=lambda h: (h in self._busy, h != HOST, h))
        if not sources:
            raise errors.TransferError(version.key[0], _type_of(version),
                                       'no interpreter holds it any more', 'to another worker')
        source = sources[0]
        report = await asyncio.wrap_future(self.engine(source).export(source, [version.key]))
        if report.failures:
            _, type_name, reason = report.failures[0]
            version.unmovable = reason
            raise _Unmovable(version)
        version.payload = report.values[0][1]
        return version.payload

    async def _compose(self, composite):
        """IPython's ``Out``: every result shown before, gathered in the host."""
        values = {}
        for count, version in composite.results.items():
            # The store, not `homes`: a result the same cell is given (``_2``) counts
            # as in the host already, though it lands there only as the cell begins.
            if version.key not in self.host.store:
                payload = await self._payload(version, HOST)
                self.host.store.put(version.key, transfer.decode(payload, self.host.namespace))
                version.homes.add(HOST)
            values[count] = self.host.store.get(version.key)
        return transfer.encode(values, notebook=True)

    def _states_of(self, cell):
        """The states `cell` may read or change: for a barrier (``%time``, ``exec``),
        whose code no analysis sees, also every state a copy can be made of that
        a cell changed, or whose modules the host has imported (one no cell
        imported is as Python starts: copying it would import numpy for nothing)."""
        resolved = cell.resolved
        every = {state_name(k.name) for k in knowledge.STATES.values() if k.every_cell_reads}
        if cell.barrier is not None:
            every |= {state_name(k.name) for k in knowledge.STATES.values()
                      if k.capture is not None and not k.process_wide and (
                          all(module in sys.modules for module in k.imports) or
                          self._state_version(cell, state_name(k.name)).writer is not None)}
        return sorted(resolved.reads_state | resolved.writes_state | every)

    def _state_version(self, cell, state):
        writer = self.graph.writer_before(cell, state)
        if writer is not None and state in writer.versions:
            return writer.versions[state]
        version = self._initial_states.get(state)
        if version is None:
            version = self._initial_states[state] = _StateVersion(state, None, Known('state'))
        return version

    async def _initial_state(self, kind):
        """The state as the host had it at start (workers begin from the host's)."""
        version = self._initial_states[state_name(kind.name)]
        if version.payload is None:
            scope = {}
            try:
                exec(_capture_source(kind), scope)
                version.payload = transfer.encode(scope['state'])
            except Exception:   # noqa: BLE001 - a state the host cannot copy stays as it is
                return None
        return version.payload

    # -- executing --

    async def _execute(self, cell, inputs, loads, home, on_event):
        if cell.aborted:      # interrupted while its values were being fetched
            raise Aborted
        interrupts = self._interrupts
        bind, load, states, capture = loads.bind, loads.load, loads.states, loads.capture
        cell.state, cell.where, cell.started = 'running', home, time.perf_counter()
        # A cell running code no analysis sees may change what it has at hand too.
        checked = [*cell.bound.values(), *(cell.at_hand.values()
                                           if cell.resolved.reads_anything is not None else ())]
        check = any(version.checked for version in checked)

        imports = () if home == HOST or home in self._cluster_homes else cell.first_imports
        # The host's IPython reloads changed modules there itself.
        autoreload = tuple(self._autoreload() or ()) if home != HOST else ()

        sources = ()
        if home != HOST:    # where the cells' lines are in linecache already
            sources = tuple(map(tuple, self._sources[self._sources_sent.get(home, 0):]))
            self._sources_sent[home] = len(self._sources)

        # What it may change in place gets a new version even if the fingerprint
        # sees no change: a fingerprint samples long containers and cannot see into
        # some objects (a StringIO's text); copies of the old one elsewhere must not
        # pass for what the cell left.
        # (Not IPython's ``_``, ``__`` ..., which follow the order of shown results.)
        relinked = tuple(sorted({*cell.resolved.links, *(
            name for name in cell.resolved.mutates if name in inputs and name not in UNDERS
            and not _RESULT.fullmatch(name))}))

        # The host runs a ``%time`` cell whole (its IPython times it); elsewhere, the
        # body runs, timed there.
        source, timed_at = cell.source, 0
        if cell.timed is not None and home != HOST:
            source, timed_at = cell.timed.body, cell.timed.line

        def make_task(seq):
            return VersionedTask(seq, cell.seq, cell.label, source, bind, load, states,
                                 capture, cell.result_name or '', check, imports, autoreload,
                                 relinked, cell.compile_flags, cell.filename or '', sources,
                                 self._frame_depth, timed_at,
                                 tuple(version.key for version in loads.released))

        future = self.engine(home).run(home, make_task, label=cell.label, on_event=on_event)
        cell.future = future
        if self._interrupts != interrupts:    # one landed before the future was at hand
            future.interrupt()
        self._running.add(cell)
        try:
            report = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if future.cancelled():
                # Interrupted while queued in its worker: nothing of it ran.
                raise Aborted from None
            raise
        finally:
            self._running.discard(cell)
            cell.future = None     # it holds the cell's outputs; only an interrupt needs it
        cell.started, cell.ended = future.timings.started, future.timings.finished
        return report

    def _finish(self, cell, home, report):
        """Keep what the cell made; reconcile it with what was foreseen; its `Outcome`."""
        for name, key, info, payload in report.written:
            info = ValueInfo.received(info)
            known = known_after(cell.effects, name, info)
            version = cell.versions[name] = Version(name, cell, known, home, info)
            version.payload = payload
            self._index_holding(version)
        cell.deleted = set(report.deleted) | cell.flushed_results
        for name, payload, error in report.states:
            state = state_name(name)
            if payload is not None and state not in cell.resolved.writes_state and \
                    payload == self._state_version(cell, state).payload:
                continue     # a barrier that left it as it was
            if payload is not None:
                version = _StateVersion(state, cell, Known('state'), home)
                version.payload = payload
                cell.versions[state] = version
                self._installed[(home, state)] = version
            elif error:
                cell.notes.append(f'could not copy {name}: {error}')
        for state in cell.resolved.writes_state - set(cell.versions):
            kind = knowledge.STATES.get(state[1:-1])
            if kind is not None and kind.process_wide and home not in self._cluster_homes:
                continue     # the host and its workers share it
            # A state no copy was made of (a module's own, numpy's after an unknown
            # call): its readers must run where it was changed.
            cell.versions[state] = _StateVersion(state, cell, Known('state'), home)
        for key in report.changed:
            changed = self._version_by_key(cell, key)
            if changed is not None:
                # Not that version any more: kept there, the store's key for it
                # would hold the object after its names let go of it.
                self._forget_at(changed, {home})
                if not changed.homes and changed.payload is None:
                    changed.gone = True
        self._forget_copies_of_instances(cell, home, report)
        self.graph.record_writes(cell, [*cell.versions, *cell.deleted])
        self._check_foreseen(cell, report)
        self._check_copies_left_behind(cell, home, report)
        if report.error is not None:
            error = pickle.loads(report.error)
            self._explain_missing_name(cell, home, error)
            return Outcome('error', error)
        return Outcome('ok')

    def _forget_copies_of_instances(self, cell, home, report):
        """A notebook class changed in place (``Foo.bump = ...``): its instances'
        encodings and copies, made before, carry the class as it was.  Only their
        objects in `home` stay; a reader elsewhere gets a fresh copy."""
        classes = set()
        for key in report.changed:
            version = self._version_by_key(cell, key)
            if version is not None and version.info is not None and version.info.is_class:
                classes.add(key[0])
        instances = {other for name in classes
                     for other, _ in self._made_from_later(cell, name, instances=True)}
        for name in instances - classes:
            version = cell.bound.get(name)
            if isinstance(version, Version) and version.home == home:
                version.payload = None
                self._forget_at(version, version.homes - {home})

    def _forget_at(self, version, homes):
        """`version` is no longer kept in `homes`: they drop it."""
        for home in homes & version.homes:
            self.engine(home).drop(home, [version.key])
        version.homes -= homes

    def _version_by_key(self, cell, key):
        name, seq = key
        if seq == 0:
            return self.graph.initial(name)
        writer = self.graph.cells.get(seq)
        return writer.versions.get(name) if writer is not None else None

    def _check_foreseen(self, cell, report):
        """Compare what `cell` changed with what the dataflow expected; never stay silent."""
        if cell.ordered_after_all:
            self._remember_finished(cell)
            return
        resolved = cell.resolved
        foreseen = set(resolved.binds) | set(resolved.mutates) | set(resolved.deletes) | \
            resolved.writes_state | {cell.result_name}
        changed_names = {key[0] for key in report.changed}
        missed = [n for n in (*cell.versions, *cell.deleted) if n not in foreseen
                  and not n.startswith('<')]
        missed += [n for n in changed_names if n not in resolved.mutates and n not in missed]
        readers = [*(_Read.of(c) for c in self._running if c is not cell), *self._recent] \
            if missed else []
        self._remember_finished(cell)
        for name in missed:
            cell.notes.append(f'changed {name}, which the analysis did not foresee')
            for other, bound in readers:
                if name not in bound:
                    continue
                later_saw_old = other.seq > cell.seq and other.started is not None and \
                    other.started < (cell.ended or time.perf_counter()) and \
                    bound[name] < cell.seq
                earlier_saw_new = other.seq < cell.seq and name in changed_names and \
                    other.started is not None and cell.started is not None and \
                    other.started >= cell.started
                if not (later_saw_old or earlier_saw_new):
                    continue
                if other.state == 'running':
                    self._on_note(other, (
                        f'{other.label} read `{name}` while {cell.label} changed it in a way '
                        f'the kernel did not foresee, so {other.label} may show something '
                        f'different from running the cells in order; run {other.label} again'))
                else:    # its reply is sent: said where it is still seen
                    self._on_note(cell, (
                        f'{cell.label} changed `{name}` in a way the kernel did not foresee, '
                        f'after {other.label} had read it, so {other.label} may show '
                        f'something different from running the cells in order; run '
                        f'{other.label} again'))

    def _remember_finished(self, cell):
        """Keep what finished cells read while a cell that overlapped them, or one
        submitted before them, has not finished: a change of one of those that the
        analysis did not foresee may be one they should have seen."""
        self._recent.append(_Read.of(cell))
        earliest = min((c.started for c in self._running if c.started is not None), default=None)
        first_unfinished = self.graph.first_unfinished(exclude=cell)
        self._recent = [read for read in self._recent if read.cell.ended is not None and (
            earliest is not None and read.cell.ended >= earliest or
            first_unfinished is not None and read.cell.seq > first_unfinished.seq)]

    def _fail(self, cell, exc):
        cell.finish('failed')
        content = {'ename': type(exc).__name__, 'evalue': str(exc),
                   'traceback': [f'{type(exc).__name__}: {exc}']}
        return Outcome('error', content, exc)

    def results_shown_before(self, count):
        """The execution counts of the results in ``Out`` for the host cell of
        execution count `count`, running now (none if no such cell runs)."""
        cell = self._running_host_cell(count)
        return self.results_before(cell) if cell is not None else []

    @property
    def compile_flags(self):
        """The ``__future__`` compiler flags the cells submitted so far turned on."""
        return self._compile_flags

    def results_before(self, cell):
        """The execution counts of the results in ``Out`` for `cell`, in order."""
        return sorted(self.graph.results_before(cell))

    def set_output_cache_size(self, size):
        """IPython's output history holds at most `size` results (0: no limit)."""
        self.graph.output_cache_size = size

    async def results_before_settled(self, cell, at_least):
        """`results_before(cell)`, once the unfinished cells before it that may show
        a result cannot change whether it holds `at_least` (else once they finished)."""
        if self.graph.result_cells() < at_least:    # far from it: nothing to count
            return []
        while True:
            shown = self.results_before(cell)
            pending = self.graph.results_pending_before(cell)
            if len(shown) + len(pending) < at_least or not pending:
                return shown
            await cell.wait_for_change(pending)

    def cull_results(self, cell, counts):
        """`cell`, which has run, culled the results of execution counts `counts`
        from IPython's output history (full): they are gone from ``Out`` and their
        ``_5``, and their versions are dropped once `cell` ends."""
        self.graph.cull_results(cell, [f'_{count}' for count in counts])

    def output_history_cleared(self, count):
        """The host cell of execution count `count`, running now, cleared IPython's
        output history (``%reset``, ``%reset out``)."""
        cell = self._running_host_cell(count)
        if cell is not None:
            self.graph.flush_results(cell)

    def _running_host_cell(self, count):
        return next((c for c in self.graph.cells.values()
                     if c.count == count and c.state == 'running' and c.where == HOST), None)

    # -- forgetting --

    def _collect(self, cell):
        """Drop the versions that `cell` finishing made unreadable.

        The candidates are what it read, what it made (a later cell may have
        replaced it already), what it replaced, and what only unfinished cells
        could still read when an earlier cell finished (`_read_by_unfinished`).
        Not what it had at hand: that is a version of every name its home holds,
        and one of them a finished cell replaced is among the last group.
        """
        cell.at_hand = {}       # what it had at hand mattered only until it ran
        self.graph.finished(cell)
        candidates = [*cell.bound.values(), *cell.versions.values(), *self._read_by_unfinished]
        for name in (*cell.versions, *cell.deleted):
            previous = self.graph.writer_before(cell, name)
            version = previous.versions.get(name) if previous is not None else \
                self.graph.initial(name)
            if version is not None:
                candidates.append(version)
        self._read_by_unfinished = set()
        for version in candidates:
            # (One no home holds any more, a cell freed where it was, has only its
            # writer to forget: kept, that cell and its records would stay.)
            if not isinstance(version, Version) or version.writer is None or version.gone:
                continue
            readers = self.graph.still_read(version)
            if readers == 'unfinished cells':
                self._read_by_unfinished.add(version)
            elif readers is None:
                for home in version.homes:
                    self.engine(home).drop(home, [version.key])
                version.homes.clear()
                version.payload = None
                version.gone = True
                self.graph.forget(version.writer)
        self.graph.forget(cell)

    # -- interrupting --

    def interrupt(self):
        """Abort every waiting cell and interrupt every running one."""
        self._interrupts += 1
        for cell in list(self.graph.cells.values()):
            if cell.state == 'waiting':
                cell.abort()
            elif cell.state == 'running' and cell.future is not None:
                cell.future.interrupt()

    def abort_after(self, failed):
        """Abort the cells submitted after `failed` that have not started."""
        for cell in self.graph.later(failed):
            if cell.state == 'waiting':
                cell.abort()


class _Loads(NamedTuple):
    """What a cell's task takes to its home (`Scheduler._loads`).

    `bind`, `load`, `states`, `capture` go into its `VersionedTask`; `arriving`
    are the versions it copies there, `installed` ``((home, state), version)``
    the states it restores there, and `released` the versions whose objects
    there the task's namespace alone holds (`VersionedTask.release`).
    """
    bind: tuple
    load: tuple
    states: tuple
    capture: tuple
    arriving: tuple
    installed: tuple
    released: tuple         # versions the cell's namespace alone holds in the home


class _Read(NamedTuple):
    """What a cell read: name -> the seq of the writer of the version it bound."""
    cell: Cell
    bound: dict

    @classmethod
    def of(cls, cell):
        return cls(cell, {name: version.key[1] for name, version in cell.bound.items()})


class _Unmovable(Exception):
    """A value could not be encoded; the cell must be placed again."""


@dataclass
class _Given:
    """A value the kernel gives a cell directly (IPython's input history)."""
    name: str
    value: object


@dataclass
class _Composite:
    """IPython's ``Out``, gathered from the results shown before a cell."""
    name: str
    results: dict


def _stays_home(version):
    """Is `version` known not to move from where it is?"""
    return version is not None and bool(
        version.unmovable or version.info is not None and not version.info.movable)


def _shared_by(writer, name):
    """The names `writer`, the last cell to write `name`, may have made share
    objects with it: by binding (``b = a``, ``d['k'] = q``), by a call storing
    one into the other (``L.append(q)``), or as it found them when it changed it
    or another name sharing objects with it (``v[0] = 1``, `v` a view of `name`
    and of `b`: changing `name` changes `b`)."""
    related = set(writer.resolved.links.get(name, ())) | writer.resolved.shares.get(name, set())
    for changed, sharing in writer.resolved.shares.items():
        if name in sharing:
            related |= {changed, *sharing}
    related.discard(name)
    for target, sources in writer.effects.aliases:
        if target == name:
            related |= sources
        elif name in sources:
            related.add(target)
    return related


def _mark_host_only(cell):
    """A cell that calls what only the host can do (input(), help() ...) runs there."""
    if cell.resolved.host_only:
        if cell.host is None:
            cell.host = f'it calls {cell.resolved.host_only[0]}'
        cell.any_process_will_do = False


def _type_of(version):
    if version.info is not None:
        module, qualname = version.info.type_module, version.info.type_qualname
        return qualname if module in ('builtins', '__main__') else f'{module}.{qualname}'
    return 'value'


def _made_out_of(effects, name):
    """The names a cell bound to what may be `name`'s object or part of it (``b = a``)."""
    return {target for target, sources in effects.aliases if name in sources and target != name}


def _identified(effects):
    """The names whose objects' ``id()`` the cell takes, or compares with ``is``, at
    top level: a copy's differs (a copy of ``[n, n]`` holds two ints)."""
    return {name for call in effects.calls if call.callee == ('id',) and call.args
            for name in call.args[0]} | \
        {name for call in effects.calls if call.callee == (IDENTITY,)
         for flow in call.args for name in flow}


def _instances_of(effects, name):
    """The names a cell bound to an instance made by calling `name` (``f = Foo()``)."""
    return {target for target, path in effects.constructed.items() if path and path[0] == name}


def _one_copy_per_object(copied):
    """``(name, key, payload)`` to load for each ``(name, version, payload)``: a name
    holding the object an earlier one holds where both were made (``b = a``) is
    loaded as that one's (`SAME_OBJECT`), so that the copy stays one object."""
    first, load = {}, []
    for name, version, payload in copied:
        info = version.info
        if payload is not None and info is not None and not info.immutable and \
                version.home is not None:
            same = first.setdefault((version.home, info.identity), name)
            if same != name:
                payload = (SAME_OBJECT, same)
        load.append((name, version.key, payload))
    return load


def _home_of_one_object(versions):
    """The home where `versions` (names sharing one object) are that one object: where
    the newest of them was made from the others, if they are all there; else no home.

    (Elsewhere a name may hold a copy: changing it in place would miss the others.)
    """
    newest = max(versions, key=lambda version: version.key[1])
    if newest.home is None or any(newest.home not in version.homes for version in versions):
        return set()
    return {newest.home}


def _restore_source(kind):
    imports = ''.join(f'import {module}\n' for module in kind.imports)
    return imports + kind.restore


def _capture_source(kind):
    imports = ''.join(f'import {module}\n' for module in kind.imports)
    return f'{imports}state = {kind.capture}\n'
