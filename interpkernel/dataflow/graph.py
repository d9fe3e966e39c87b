"""The cells of a kernel session, the versions of values they make, and who waits for whom.

The promise: every cell sees the values running the notebook top to bottom
would give it.  Each cell is recorded in submission order.  A read binds to
the *version* made by the latest earlier cell that may write the name; a
cell that changes a value in place also waits for the earlier cells that
read the version it changes.  Versions are kept (by the engines, where they
were made) until no cell can read them any more.

"May write" is conservative until a cell is *refined*: once every cell it
depends on has finished, its calls are resolved against what its inputs
really are (`effects.resolve` with run-time knowledge).  A cell whose effects
cannot be known (a barrier) or not yet (it calls something not known) is
ordered after every earlier cell and before every later one.  When a cell
finishes, what it really changed decides.

Names: ordinary names, plus pseudo-variables for state (``'<random>'``,
see `effects.state_name`) and IPython's shown results (``'_5'``).
``_``, ``__`` and ``___`` follow IPython's rules over the cells before
(`Graph.unders`).
"""

import asyncio
import itertools
import time
import types
from typing import NamedTuple

from ..engine import HOST
from . import knowledge
from .analysis import CellEffects
from .effects import (MISSING, Known, Resolved, known_builtin, known_from_info, spoken,
                      state_name, static_known)

__all__ = ['Graph', 'Cell', 'TimedCode', 'Version', 'Aborted', 'UNDERS', 'changed_unnamed']

UNDERS = ('_', '__', '___')

# States one per process (the working directory, the frontend's prompts): a cell
# reads them while it runs, not from a copy bound for it.
_PROCESS_WIDE = frozenset(state_name(kind.name) for kind in knowledge.STATES.values()
                          if kind.process_wide)

EMPTY_UNDER = ''    # what IPython's _, __ and ___ hold before any result

# What is left of a finished cell kept only for its shown result
# (`Cell.keep_only`); shared, as nothing changes a finished cell's effects.
_RESULT_ONLY = CellEffects(reads=(), binds=(), deletes=(), shows_result=True)
_NOTHING = Resolved()
_NO_VERSIONS = types.MappingProxyType({})
_NO_NAMES = frozenset()
# States of a finished cell whose versions and deletions are what it wrote
# (an aborted cell wrote nothing).
_FINISHED_WRITING = frozenset({'done', 'failed'})


def changed_unnamed(resolved):
    """The names whose objects a cell may change in place without reading them by
    name (a notebook function's default, a global it fills): they are bound in
    for its run too, so that wherever it runs the object it changes is theirs,
    shared with the names that hold it, and the run-time check sees it."""
    return {name for name in resolved.mutates
            if name not in resolved.reads and name not in resolved.binds
            and not name.startswith('<') and name not in UNDERS}


class Aborted(Exception):
    """The cell was aborted (interrupt, or an earlier failure) before it started."""


class Version:
    """One value a name had: what `writer` left it as (None: before any cell).

    Attributes:
        key: ``(name, writer's seq)``, how engines keep it.
        known: what it is (`effects.Known`), from the writer's syntax until
            the writer has run, then from the value itself.
        info: the `ValueInfo` its home reported, once made.
        home: where it was made; `homes`: where a copy of it is kept.
        payload: its encoding, kept once made, for further readers.
        unmovable: why it cannot leave its home, once known.
        gone: its object was changed in place since; no copy of it is left.
    """

    def __init__(self, name, writer, known, home=None, info=None):
        self.name, self.writer = name, writer
        self.key = (name, writer.seq if writer is not None else 0)
        self.known, self.info = known, info
        self.home = home
        self.homes = {home} if home is not None else set()
        self.payload = None
        self.unmovable = None
        self.gone = False

    @property
    def size(self):
        return self.info.size if self.info is not None else 0

    @property
    def checked(self):
        """Might a cell reading it change, in place, a value the run-time check sees?
        Not if it is immutable, or an installed library's module, class or function
        (`ValueInfo.installed`)."""
        return self.info is None or not (self.info.immutable or self.info.installed)

    def __repr__(self):
        return f'<version {self.key[0]}@{self.key[1]} in {sorted(self.homes)}>'


class TimedCode(NamedTuple):
    """The code a cell runs under IPython's ``%time`` or ``%%time``, which is all
    the cell is: a worker runs `body` and times it itself (see
    `execution.execute_timed`); the host runs the cell whole."""
    body: str
    line: int          # the cell's line of the magic (its transformed source's)


class Cell:
    """One submitted cell: its effects, what it waits for, and what it made.

    Attributes:
        seq: submission order.  count: its execution count.
        state: 'waiting', 'running', 'done', 'failed' or 'aborted'.
        resolved: its `effects.Resolved`, refined as the cells it depends on finish.
        host: why it cannot run in a subinterpreter, or None.
        any_process_will_do: a cluster engine may run it instead of the host
            (``host`` says why it needs a process of its own, not why it
            needs the host's).
        barrier: why it is ordered after and before every cell, or None.
        bound: name -> the `Version` it read.  versions: name -> the
            `Version` it made.  deleted: names it deleted.
        where: the home it ran in.  waited_for: (cell, why) it waited for.
        compile_flags: the ``__future__`` flags earlier cells turned on.
        timed: its `TimedCode` if it is one ``%time`` or ``%%time`` (its
            effects are its body's), else None.
    """

    def __init__(self, seq, count, label, source, effects, resolved, *, host=None, barrier=None,
                 filename=None, any_process_will_do=False, first_imports=(), compile_flags=0,
                 timed=None):
        self.seq, self.count, self.label, self.source = seq, count, label, source
        self.timed = timed
        self.compile_flags = compile_flags
        self.effects, self.resolved = effects, resolved
        self.host, self.barrier = host, barrier
        self.any_process_will_do = any_process_will_do and host is not None
        # Why it had better run in the host, if it may (what it reads can go there).
        self.host_preferred = None
        # Modules a worker imports before it runs (see Scheduler.submit).
        self.first_imports = tuple(first_imports)
        self.filename = filename
        # IPython's name for what it shows (``_5``), if it may show something
        self.result_name = f'_{count}' if effects.shows_result else None
        # The results shown before it, if it cleared IPython's output history (``%reset``)
        self.flushed_results = _NO_NAMES
        self.state = 'waiting'
        self.bound, self.versions, self.deleted = {}, {}, set()
        # Versions of other names its home gives it too (what it would see in
        # order, at hand there): kept alive like `bound`, but not what it reads.
        self.at_hand = {}
        self.where = None
        self.allowed = ()             # the homes it may run in, once placed
        self.future = None            # its CellFuture, once it runs
        self.queued = time.perf_counter()
        self.started = self.ended = None
        self.waited_for = []
        self.notes = []
        loop = asyncio.get_running_loop()
        self._changed = loop.create_future()
        self._aborted = loop.create_future()    # None once kept only for its result

    def __repr__(self):
        return f'<cell {self.label} {self.state}>'

    @property
    def done(self):
        return self.state in ('done', 'failed', 'aborted')

    @property
    def ordered_after_all(self):
        """Is it ordered after every earlier cell and before every later one (for now)?

        A barrier always is; a cell that calls something not known yet is,
        until that is known (`Scheduler` refines it as its inputs finish).
        """
        return self.barrier is not None or (not self.done and self.resolved.unknown is not None)

    def may_write(self, name):
        """Might this cell change `name` (as far as is known now)?"""
        if self.state == 'aborted':
            return False
        if self.done:
            return name in self.versions or name in self.deleted
        if self.ordered_after_all or self.resolved.reads_anything is not None:
            return True
        resolved = self.resolved
        return (name in resolved.binds or name in resolved.mutates or name in resolved.deletes
                or name in resolved.writes_state or name == self.result_name)

    def may_bind(self, name):
        """Might this cell bind `name` to another object or delete it, rather than
        only change its object in place?  (A change the run-time check found
        that the analysis did not foresee counts as one in place.)"""
        if not self.may_write(name):
            return False
        if name in self.deleted or self.ordered_after_all or \
                self.resolved.reads_anything is not None:
            return True
        resolved = self.resolved
        return name in resolved.binds or name in resolved.deletes or name == self.result_name

    def may_read(self, name):
        if self.state == 'aborted':
            return False
        if self.state == 'running' and name in _PROCESS_WIDE and name in self.resolved.reads_state:
            return True     # never bound for its run: it reads it as it runs
        if self.done or self.state == 'running':
            return name in self.bound
        if self.ordered_after_all:
            return True
        resolved = self.resolved
        return name in resolved.reads or name in resolved.mutates or \
            name in resolved.reads_state or name in resolved.writes_state

    def wait_again(self):
        """It ran nowhere after all (a value did not load, a module refused the
        worker, the worker did not start): back to waiting, to be placed again."""
        self.state, self.where, self.started, self.future = 'waiting', None, None, None

    def keep_only(self, names):
        """Let go of what a finished cell no longer needs once only the versions it
        made of `names` (its shown result, ``_``...) can still be read: a long
        session keeps one such cell per shown result, as IPython keeps ``Out``."""
        self.versions = {n: v for n, v in self.versions.items() if n in names}
        self.deleted = frozenset(n for n in self.deleted if n in names) or _NO_NAMES
        self.effects, self.resolved = _RESULT_ONLY, _NOTHING
        self.bound = self.at_hand = _NO_VERSIONS
        self.allowed, self.waited_for = (), []
        self.source, self._aborted = '', None    # it ran (so was not aborted)

    # -- waiting --

    def notify(self):
        """Wake the cells waiting on this one: its effects or state changed."""
        if not self._changed.done():
            self._changed.set_result(None)
        self._changed = asyncio.get_running_loop().create_future()

    def finish(self, state):
        self.state = state
        self.ended = self.ended or time.perf_counter()
        # Wake its waiters; a finished cell changes no more, so no new future.
        if not self._changed.done():
            self._changed.set_result(None)

    @property
    def aborted(self):
        """Was it aborted (before it started)?"""
        return self._aborted is not None and self._aborted.done()

    def abort(self):
        """Stop waiting: `wait_for_change` raises Aborted (only before the cell starts)."""
        if not self._aborted.done():
            self._aborted.set_result(None)

    async def wait_for_signal(self, signal, timeout=None):
        """Wait until the future `signal` is done or `timeout` passes; Aborted if aborted."""
        if self._aborted.done():
            raise Aborted
        await asyncio.wait({signal, self._aborted}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if self._aborted.done():
            raise Aborted

    async def wait_for_change(self, cells):
        """Wait until one of `cells` changes (refined or finished); Aborted if aborted first."""
        if self._aborted.done():
            raise Aborted
        waits = {cell._changed for cell in cells} | {self._aborted}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if self._aborted.done():
            raise Aborted


class Graph:
    """Cells in submission order, indexed by the names they may read and write.

    Args:
        initial: ``initial(name)`` -> the value's `ValueInfo` if `name` is
            defined in the host before any cell wrote it, else None.
    """

    def __init__(self, initial):
        self._seq = itertools.count(1)
        self.cells = {}                # seq -> Cell, in order (finished ones forgotten in time)
        self._unfinished = {}          # seq -> Cell: those of `cells` not known to be done
        self._writers = {}             # name -> cells that may write it, in order
        self._readers = {}             # name -> cells that may read it, in order
        self._everything = []          # cells ordered after and before every cell, in order
        self._reads_anything = []      # cells that may read names no analysis can list
        self._results = []             # cells that may show a result or set _, __, ___
        self._result_names = set()     # '_5' for each cell that may show a result
        self._culled = {}              # '_5' -> seq of the cell that culled it from Out
        # IPython's output history holds at most this many results (0: no limit);
        # a cell whose result finds it full culls the oldest (`cull_results`).
        self.output_cache_size = 0
        self._plain_names = {}         # the names in _writers but '<state>', _, _5 ...,
                                       # in the order of _writers
        self._initial_info = initial
        self._initial = {}             # name -> Version before any cell

    def next_seq(self):
        return next(self._seq)

    def add(self, cell):
        """Record a new cell (call in submission order)."""
        self.cells[cell.seq] = self._unfinished[cell.seq] = cell
        if cell.result_name:
            self._result_names.add(cell.result_name)
        self.index(cell)
        if cell.effects.shows_result or any(n in cell.resolved.binds or n in cell.resolved.deletes
                                            for n in UNDERS):
            self._results.append(cell)

    def index(self, cell):
        """(Re)index `cell` under the names it may read and write now."""
        if cell.ordered_after_all and cell not in self._everything:
            self._everything.append(cell)
        if cell.resolved.reads_anything is not None and cell not in self._reads_anything:
            self._reads_anything.append(cell)
        resolved = cell.resolved
        for name in (*resolved.binds, *resolved.mutates, *resolved.deletes,
                     *resolved.writes_state, *filter(None, [cell.result_name])):
            self._add_writer(name, cell)
        for name in (*resolved.reads, *resolved.mutates, *resolved.reads_state,
                     *resolved.writes_state):
            _insert(self._readers.setdefault(name, []), cell)

    def record_writes(self, cell, names):
        """Index names a finished cell really wrote (some the analysis did not foresee)."""
        for name in names:
            self._add_writer(name, cell)

    def _add_writer(self, name, cell):
        writers = self._writers.get(name)
        if writers is None:
            writers = self._writers[name] = []
            if not (name.startswith('<') or name in UNDERS or name in self._result_names):
                self._plain_names[name] = None
        _insert(writers, cell)

    # -- what a cell sees --

    def writer_before(self, cell, name):
        """The latest cell submitted before `cell` that may write `name`, or None."""
        return self._writer_before(cell, name, self._ordered_after_all_before(cell))

    def binder_before(self, cell, name):
        """The latest cell submitted before `cell` that may bind `name` to another
        object or delete it, or None: the cells between only change its object."""
        return self._writer_before(cell, name, self._ordered_after_all_before(cell),
                                   binds_only=True)

    def _ordered_after_all_before(self, cell):
        """The latest cell ordered after every earlier one submitted before `cell`, or None."""
        for candidate in reversed(self._everything):
            if candidate.seq < cell.seq:
                return candidate
        return None

    def _writer_before(self, cell, name, ordered_after_all, binds_only=False):
        writes = Cell.may_bind if binds_only else Cell.may_write
        best = None
        for candidate in reversed(self._writers.get(name, ())):
            if candidate.seq < cell.seq and writes(candidate, name):
                best = candidate
                break
        if ordered_after_all is not None and (best is None or ordered_after_all.seq > best.seq) \
                and writes(ordered_after_all, name):
            return ordered_after_all
        return best

    def version_before(self, cell, name):
        """The `Version` of `name` that `cell` reads (once its writers finished), or None if undefined.

        Raises LookupError if that version was changed in place since and no copy is left.
        """
        writer = self.writer_before(cell, name)
        if writer is None:
            return self.initial(name)
        if name in writer.deleted:
            return None
        version = writer.versions[name]
        if version.gone and not version.homes:
            raise LookupError(version)
        return version

    def present(self, cell, home, exclude, anywhere=False):
        """name -> `Version`: the values `cell` would see that `home` already holds
        (with `anywhere`, also those elsewhere that are encoded already).

        Only versions whose writers have finished: a value the dataflow did not
        foresee the cell reading is then found if it is at hand, and is never
        an older version than running in order would give.  Shown results
        (``_5``) only with `anywhere`: one named in the cell is read, and there
        is one per cell that showed a result, so looking at each cost every
        cell more as the session grew.
        """
        found = {}
        names = self._writers if anywhere else self._plain_names
        # Looked up once, not per name: what every name's writer is compared with.
        ordered_after_all = self._ordered_after_all_before(cell)
        after_all_seq = ordered_after_all.seq if ordered_after_all is not None else 0
        for name in names:
            if name in exclude or name.startswith('<') or name in UNDERS:
                continue
            # The name's latest writer, if it finished before `cell` and wrote or
            # deleted the name, is what `_writer_before` finds first: taken at
            # once, as it is for nearly every name (this loop is per name defined).
            latest = self._writers[name][-1]
            if latest.seq < cell.seq and after_all_seq < latest.seq and \
                    latest.state in _FINISHED_WRITING and \
                    (name in latest.versions or name in latest.deleted):
                writer = latest
            else:
                writer = self._writer_before(cell, name, ordered_after_all)
            if writer is None or not writer.done or name in writer.deleted:
                continue
            version = writer.versions.get(name)
            if version is not None and not version.gone and \
                    (home in version.homes or anywhere and version.payload is not None
                     and not version.unmovable):   # it failed to load there: not again
                found[name] = version
        for name, version in self._initial.items():
            if version is not None and name not in found and name not in exclude and \
                    home in version.homes and self.writer_before(cell, name) is None:
                found[name] = version
        return found

    def versions(self):
        """Every version still recorded: made by a cell not forgotten, or from before any cell."""
        for cell in self.cells.values():
            yield from cell.versions.values()
        yield from (version for version in self._initial.values() if version is not None)

    def initial(self, name):
        """The host's value of `name` from before any cell, as a `Version`, or None."""
        if name not in self._initial:
            info = self._initial_info(name)
            self._initial[name] = None if info is None else \
                Version(name, None, known_from_info(info), HOST, info)
        return self._initial[name]

    def known_before(self, cell, name):
        """What `name` holds for `cell`, as far as is known now (`effects.Known`)."""
        writer = self.writer_before(cell, name)
        if writer is None:
            version = self.initial(name)
            return version.known if version is not None else known_builtin(name)
        if writer.done:
            version = None if name in writer.deleted else writer.versions[name]
            return version.known if version is not None else MISSING
        known = static_known(writer.effects, writer.filename, name)
        if known.kind == 'unknown' and name in writer.effects.constructed:
            return self._defaultdict_made(writer, name) or known
        return known

    def _defaultdict_made(self, writer, name):
        """The ``defaultdict`` of a notebook function or class that `writer`, not run
        yet, binds `name` to (``d = defaultdict(default_value)``), as a `Known` whose
        code is the factory's: looking a missing key up in it runs that code, whose
        writes a later cell must wait for.  None for anything else it makes."""
        path = writer.effects.constructed[name]
        maker = self.known_before(writer, path[0])
        if maker.kind == 'callable':
            made = (maker.module, maker.qualname)
        elif maker.kind == 'module':
            made = (maker.module, '.'.join(path[1:]))
        else:
            return None
        if made != ('collections', 'defaultdict'):
            return None
        calls = [call for call in writer.effects.calls if call.callee == path and call.args]
        if len(calls) != 1 or len(calls[0].args[0]) != 1:
            return None
        [factory_name] = calls[0].args[0]
        factory = self.known_before(writer, factory_name) if factory_name not in \
            writer.effects.binds else static_known(writer.effects, writer.filename, factory_name)
        if factory.kind not in ('function', 'class') or not factory.code:
            return None
        return Known('value', 'collections', 'defaultdict', factory.code)

    # -- who waits for whom --

    def waiting_on(self, cell):
        """The unfinished cells `cell` must wait for now, each with why."""
        if cell.ordered_after_all:
            return [(c, 'it runs after every earlier cell') for c in self.earlier(cell)
                    if not c.done]
        resolved = cell.resolved
        if resolved.reads_anything is not None:
            return [(c, f'{resolved.reads_anything}, so it may read anything it made')
                    for c in self.earlier(cell) if not c.done]
        needed = {}
        for earlier in self._everything:
            if earlier.seq < cell.seq and not earlier.done and earlier.ordered_after_all:
                needed.setdefault(earlier, 'it runs after every earlier cell')
        for earlier in self._reads_anything:
            # Code no analysis sees may change whatever it can reach, not only read it.
            if earlier.seq < cell.seq and not earlier.done and \
                    earlier.resolved.reads_anything is not None:
                needed.setdefault(earlier, f'{earlier.label} may change anything it reaches '
                                           f'({earlier.resolved.reads_anything})')
        reads = set(resolved.reads) | resolved.reads_state | resolved.writes_state
        if reads & {*UNDERS, 'Out', '_oh'}:
            # They hold the objects shown, as later cells left them (``x``, then
            # ``x.append(2)``: ``Out[1]`` is ``[1, 2]``).
            for name in self._result_names:
                writer = self.writer_before(cell, name)
                if writer is not None and not writer.done:
                    needed.setdefault(writer, f'reads {spoken(name)} through Out')
        for name in reads:
            if name in UNDERS:
                for earlier in self._results:
                    if earlier.seq < cell.seq and not earlier.done:
                        needed.setdefault(earlier, f'reads {spoken(name)}')
                continue
            if name == 'Out' or name in self._result_names and self._may_cull_before(cell):
                # A full Out loses its oldest results to the cells that show the next.
                for earlier in self.results_pending_before(cell):
                    needed.setdefault(earlier, f'reads {spoken(name)}')
                continue
            writer = self.writer_before(cell, name)
            if writer is not None and not writer.done:
                needed.setdefault(writer, f'reads {spoken(name)}')
        # What it may delete is bound in for the run (see Scheduler._bind).
        for name in set(resolved.deletes) - reads:
            writer = self.writer_before(cell, name)
            if writer is not None and not writer.done:
                needed.setdefault(writer, f'may delete {spoken(name)}')
        for name in changed_unnamed(resolved) - reads:
            writer = self.writer_before(cell, name)
            if writer is not None and not writer.done:
                needed.setdefault(writer, f'may change {spoken(name)} in place')
        # Changing an object in place waits for the earlier cells reading it
        # (an object the cell made itself, no one else can read).
        changed_in_place = (set(resolved.mutates) & set(resolved.reads)) | resolved.writes_state
        for name in changed_in_place:
            writer = self.writer_before(cell, name)
            after = writer.seq if writer is not None else 0
            for reader in self._readers.get(name, ()):
                if after < reader.seq < cell.seq and not reader.done and reader.may_read(name):
                    needed.setdefault(reader, f'changes {spoken(name)}, which it reads')
        if changed_in_place:
            for earlier in self._reads_anything:
                if earlier.seq < cell.seq and not earlier.done and \
                        earlier.resolved.reads_anything is not None:
                    needed.setdefault(earlier, 'changes what it may read')
        return list(needed.items())

    def readers_before(self, cell, name):
        """The cells submitted before `cell` that may read `name` (and are still indexed)."""
        return [reader for reader in self._readers.get(name, ()) if reader.seq < cell.seq]

    def waiting_readers_after(self, cell, names):
        """The cells submitted after `cell`, not started yet, that may read any of
        `names`, in submission order."""
        found = {reader.seq: reader for name in names for reader in self._readers.get(name, ())
                 if reader.seq > cell.seq and reader.state == 'waiting'}
        return [found[seq] for seq in sorted(found)]

    def earlier(self, cell):
        return [c for c in self.cells.values() if c.seq < cell.seq]

    def later(self, cell):
        return [c for c in self.cells.values() if c.seq > cell.seq]

    # -- IPython's _, __ and ___ --

    def unders(self, cell):
        """The versions ``_``, ``__`` and ``___`` have for `cell` (None: undefined;
        `EMPTY_UNDER`: IPython's ``''``).

        They start as ``''``.  IPython moves each shown result into ``_`` (and
        the older ones to ``__`` and ``___``), unless the user assigned one of
        them; clearing the output history empties them (``%reset out`` then
        sets them to ``''``, as the user would).  The cells before `cell` must
        have finished.
        """
        user = [EMPTY_UNDER] * 3        # what the namespace holds (a Version)
        hook = [EMPTY_UNDER] * 3        # what IPython's display hook last stored
        for earlier in self._results:
            if earlier.seq >= cell.seq or earlier.state == 'aborted':
                continue
            if earlier.flushed_results:
                user, hook = [None, None, None], [None, None, None]
            for index, name in enumerate(UNDERS):
                if name in earlier.versions:
                    user[index] = earlier.versions[name]
                elif name in earlier.deleted:
                    user[index] = None
            result = earlier.versions.get(earlier.result_name) if earlier.result_name else None
            if result is None:
                continue
            update = all(u is None or u is h for u, h in zip(user, hook))
            hook = [result, hook[0], hook[1]]
            if update:
                user = list(hook)
        return {name: self._as_left(cell, version) for name, version in zip(UNDERS, user)}

    def _as_left(self, cell, version):
        """A shown result's `version`, as the cells before `cell` left its object
        (a later cell changing it in place made a newer one); else `version`."""
        if isinstance(version, Version) and version.name in self._result_names:
            try:
                return self.version_before(cell, version.name) or version
            except LookupError:     # changed in place, and no copy left: the one kept
                return version
        return version

    def results_before(self, cell):
        """``{count: Version}`` of the results shown before `cell` (IPython's ``Out``),
        since the output history was last cleared."""
        cleared = max((c.seq for c in self._results if c.flushed_results and c.seq < cell.seq),
                      default=-1)
        return {c.count: self._as_left(cell, c.versions[c.result_name]) for c in self._results
                if cleared < c.seq < cell.seq and c.result_name in c.versions
                and self._culled.get(c.result_name, cell.seq) >= cell.seq}

    def result_cells(self):
        """How many cells kept may show a result (at most the results ``Out`` holds)."""
        return len(self._results)

    def results_pending_before(self, cell):
        """The cells before `cell`, not finished, that may yet show a result."""
        return [c for c in self._results if c.seq < cell.seq and not c.done and c.result_name]

    def _may_cull_before(self, cell):
        """May a cell before `cell` find IPython's output history full?"""
        return bool(self.output_cache_size) and self.output_cache_size <= sum(
            1 for c in self._results if c.seq < cell.seq and c.result_name)

    def cull_results(self, cell, names):
        """`cell`, which has run, culled the results `names` (``_5``) from IPython's
        output history, full (its ``cache_size``): as if it had deleted them."""
        cell.deleted = set(cell.deleted) | set(names)
        for name in names:
            self._culled[name] = cell.seq
            self._add_writer(name, cell)

    def flush_results(self, cell):
        """`cell`, running, cleared IPython's output history (``%reset``): the results
        shown before it are gone from ``Out``, ``_`` and their ``_5``, as if it had
        deleted them."""
        cell.flushed_results = frozenset(c.result_name for c in self._results
                                         if c.seq < cell.seq and c.result_name)
        for name in cell.flushed_results:
            self._add_writer(name, cell)
        _insert(self._results, cell)

    # -- forgetting --

    def still_read(self, version):
        """Who can still read `version`: ``'later cells'`` (it is the value cells after
        its writer see), ``'unfinished cells'`` (a finished cell replaced it, but
        cells not finished may still read it, or have it bound or at hand) or None
        (no cell, now or later: it can be dropped)."""
        if version.gone:
            return None
        name, seq = version.key
        replacer = self._replacer(name, seq)
        if replacer is None:
            return 'later cells'
        if self._read_before(name, seq, replacer) or any(
                held.get(name) is version for cell in self._unfinished.values() if not cell.done
                for held in (cell.bound, cell.at_hand)):
            return 'unfinished cells'
        return None

    def read_only_by(self, version, cell):
        """Is `cell` the only cell left that may read `version`, the one it binds?
        (Every cell between the version's writer and `cell` that may read its name
        has finished, and no other unfinished cell holds it bound or at hand.)"""
        name, seq = version.key
        return version.writer is not None and not version.gone and \
            not self._read_before(name, seq, cell) and not any(
                held.get(name) is version for other in self._unfinished.values()
                if other is not cell and not other.done for held in (other.bound, other.at_hand))

    def first_unfinished(self, exclude=None):
        """The first cell submitted (other than `exclude`) that has not finished, or None."""
        return next((c for c in self._unfinished.values() if not c.done and c is not exclude),
                    None)

    def finished(self, cell):
        """`cell` is done: no longer one of those whose bound values are held."""
        self._unfinished.pop(cell.seq, None)

    def _replaced(self, name, seq):
        """Has a finished cell after `seq` replaced what `seq` left in `name`, for good?"""
        replacer = self._replacer(name, seq)
        return replacer is not None and not self._read_before(name, seq, replacer)

    def _replacer(self, name, seq):
        """The first finished cell after `seq` that wrote `name`, or None."""
        for writer in self._writers.get(name, ()):
            if writer.seq > seq and writer.done and writer.may_write(name):
                return writer
        return None

    def _read_before(self, name, seq, replacer):
        """May a cell between `seq` and `replacer` that has not finished read `name`?
        A running reader counts: it may yet be placed again and bind anew."""
        return any(seq < reader.seq < replacer.seq and not reader.done and reader.may_read(name)
                   for reader in self._readers.get(name, ()))

    def forget(self, cell):
        """Drop a finished cell from the indexes once no cell can depend on what it did.

        A cell whose shown result (``_5``) or ``_``, ``__``, ``___`` can still
        be read stays indexed under those names only, and keeps little else
        (`Cell.keep_only`).  Returns True if it was dropped.
        """
        if not cell.done or any(c.seq < cell.seq and not c.done for c in self._everything):
            return False
        # Its shown result stays its entry in Out when a later cell changes the
        # object in place (that cell then holds the newer version, `_as_left`).
        readable = {name for name in (*cell.versions, *cell.deleted)
                    if name == cell.result_name and name not in self._culled or
                    not self._replaced(name, cell.seq)}
        if readable - {cell.result_name}:
            return False
        kept = readable | {name for name in UNDERS if name in cell.versions or
                           name in cell.deleted}
        for names in (self._writers, self._readers):
            for name in [*cell.versions, *cell.deleted, *cell.bound, *cell.resolved.reads,
                         *cell.resolved.binds, *cell.resolved.mutates, *cell.resolved.deletes,
                         *cell.resolved.reads_state, *cell.resolved.writes_state]:
                cells = names.get(name)
                if name in kept and names is self._writers or not cells or cell not in cells:
                    continue
                cells.remove(cell)
                if not cells:
                    del names[name]
                    if names is self._writers:   # its last reader going leaves it written
                        self._plain_names.pop(name, None)
        for cells in (self._everything, self._reads_anything):
            if cell in cells:
                cells.remove(cell)
        if readable:
            cell.keep_only(kept)
            return False
        if cell in self._results:     # no result, or culled from Out: _ skips it
            self._results.remove(cell)
            self._result_names.discard(cell.result_name)
        self.cells.pop(cell.seq, None)
        return True

    def names(self):
        """Every name some cell may have written."""
        return list(self._writers)

    def latest_writer(self, name):
        """The latest cell that may write `name`, or None."""
        for writer in reversed(self._writers.get(name, ())):
            if writer.may_write(name):
                return writer
        return None


def _insert(cells, cell):
    """Insert `cell` in seq order (cells arrive in order, so almost always at the end)."""
    if cell in cells:
        return
    index = len(cells)
    while index and cells[index - 1].seq > cell.seq:
        index -= 1
    cells.insert(index, cell)
