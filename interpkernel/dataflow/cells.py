"""Which earlier cells a cell waits for, and which values it reads.

The kernel's promise: every cell sees the values that running the notebook top
to bottom would give it.  Each cell is recorded in submission order with its
`analysis.CellEffects`; a read binds to the latest earlier-submitted cell that
writes (or deletes) that name, and the value read is that cell's own output —
a version — not whatever the namespace holds when the reader runs.  A barrier
cell (effects unknown statically) waits for every earlier cell, and every later
cell waits for it.

Functions defined in a notebook look their globals up when called, so a cell
that receives a function also reads the globals the function uses
(`global_names`): the kernel asks for their values too.
"""

import asyncio
import itertools
import time
import types

__all__ = ['Dataflow', 'CellRecord', 'Aborted', 'Unmovable', 'global_names', 'MISSING']

MISSING = object()   # the name is not defined (never written, or deleted)


class Aborted(Exception):
    """The cell was aborted (interrupt, or an earlier failure) before it started."""


class Unmovable(LookupError):
    """The value was made in a worker and could not leave it (args: type name, reason)."""


class CellRecord:
    """One submitted cell: its effects, what it waits for, and what it produced.

    Attributes:
        seq: submission order.  count: its execution count.
        state: 'waiting', 'running', 'done', 'failed' or 'aborted'.
        outputs: name -> value it wrote (once done).  deleted: names it deleted.
        where: the worker it ran on.
        host: why it runs in the host interpreter, or None (a worker).
    """

    def __init__(self, seq, count, effects, host):
        self.seq, self.count, self.effects, self.host = seq, count, effects, host
        self.state = 'waiting'
        self.outputs, self.deleted = {}, set()
        self.unmovable = {}           # name -> (type name, why its value stayed in the worker)
        self.future = None            # its CellFuture, once it is sent to a worker
        self.where = None
        self.queued = time.perf_counter()
        self.started = self.ended = None
        loop = asyncio.get_running_loop()
        self.finished = loop.create_future()
        self._aborted = loop.create_future()
        self.waited_for = []          # records this cell waited on, for reports

    def abort(self):
        """Stop waiting: `wait_for` raises Aborted (only before the cell starts)."""
        if not self._aborted.done():
            self._aborted.set_result(None)

    async def wait_for(self, cells):
        """Wait until every one of `cells` finished; raise Aborted if aborted first."""
        pending = {cell.finished for cell in cells}
        while pending:
            if self._aborted.done():
                raise Aborted
            done, pending = await asyncio.wait(pending | {self._aborted},
                                               return_when=asyncio.FIRST_COMPLETED)
            pending.discard(self._aborted)
        if self._aborted.done():
            raise Aborted

    def writes(self, name):
        """Does this cell (as far as is known now) write or delete `name`?"""
        if self.state == 'aborted':
            return False   # it never ran
        if self.finished.done() and self.state == 'done':
            return name in self.outputs or name in self.deleted or name in self.unmovable
        return name in self.effects.writes or name in self.effects.deletes

    def finish(self, state):
        self.state = state
        self.ended = self.ended or time.perf_counter()
        if not self.finished.done():
            self.finished.set_result(state)

    def __repr__(self):
        return f'<cell [{self.count}] {self.state}>'


class Dataflow:
    """The cells of one kernel session, in submission order."""

    def __init__(self, namespace):
        self._seq = itertools.count(1)
        self.cells = []
        self.namespace = namespace   # values no recorded cell wrote (the kernel's user_ns)
        self._original = {}          # name -> its value before the first cell that writes it

    def add(self, count, effects, *, host=False):
        """Record a new cell (call in submission order); return its CellRecord."""
        record = CellRecord(next(self._seq), count, effects, host)
        for name in (*effects.writes, *effects.deletes):
            # What cells before any writer of the name must see, even once a
            # later cell has changed it in the namespace.
            self._original.setdefault(name, self.namespace.get(name, MISSING))
        self.cells.append(record)
        return record

    def latest_value(self, name):
        """The value of `name` after every finished cell, in submission order."""
        for cell in reversed(self.cells):
            if cell.state == 'done' and cell.writes(name):
                if name in cell.deleted or name in cell.unmovable:
                    return MISSING
                return cell.outputs.get(name, MISSING)
        return self._original.get(name, self.namespace.get(name, MISSING))

    def earlier(self, record):
        return [c for c in self.cells if c.seq < record.seq]

    def writer_before(self, record, name):
        """The latest cell submitted before `record` that writes `name`, or None.

        A barrier cell counts as a possible writer of every name until it
        finishes; then its real outputs decide.  Calling a function of a
        module (``time.sleep(1)``, ``np.zeros(3)``) is not writing the module.
        """
        for cell in reversed(self.earlier(record)):
            if cell.effects.barrier is not None and not cell.finished.done():
                return cell
            if cell.writes(name):
                if name in cell.effects.mutates and self._is_module(cell, name):
                    continue
                return cell
        return None

    def _is_module(self, record, name):
        """Is `name` a module when `record` runs (imported by the cell that last bound it)?"""
        for cell in reversed(self.earlier(record)):
            if cell.effects.barrier is not None:
                return False
            if name in cell.effects.writes and name not in cell.effects.mutates:
                return name in cell.effects.modules
        return isinstance(self.namespace.get(name), types.ModuleType)

    def dependencies(self, record, names):
        """The unfinished-or-finished cells `record` must wait for to read `names`."""
        if record.effects.barrier is not None:
            return self.earlier(record)
        needed = []
        for name in names:
            writer = self.writer_before(record, name)
            if writer is not None and writer not in needed:
                needed.append(writer)
        for cell in self.earlier(record):   # every later cell waits for a barrier
            if cell.effects.barrier is not None and cell not in needed:
                needed.append(cell)
        return needed

    def value(self, record, name):
        """The value of `name` as `record` must see it, once its writers finished.

        Returns MISSING if no earlier cell defines it and the namespace does not.
        Raises Unmovable if the value could not leave the worker that made it,
        and LookupError naming the writer if that cell did not succeed (a
        failed cell that only changed the value in place hands on the version
        before it, as its changes were lost with it).
        """
        namespace = self.namespace
        writer = self.writer_before(record, name)
        if writer is None:
            return self._original.get(name, namespace.get(name, MISSING))
        if writer.state != 'done':
            if writer.state == 'failed' and name in writer.effects.mutates:
                return self.value(writer, name)
            raise LookupError(writer)
        if name in writer.deleted:
            return MISSING
        if name in writer.unmovable:
            raise Unmovable(*writer.unmovable[name])
        if name in writer.outputs:
            return writer.outputs[name]
        return namespace.get(name, MISSING)   # e.g. a barrier host cell that kept it

    def is_latest_writer(self, record, name):
        """True if no cell submitted after `record` has already written `name` successfully."""
        return not any(c.seq > record.seq and c.state == 'done' and c.writes(name)
                       for c in self.cells)

    def forget_older_versions(self, record):
        """Drop the versions that `record` (just finished) replaced, once no cell can read them.

        An older version stays readable while a cell submitted between it and
        `record` is unfinished; later cells bind to `record` or after it.
        """
        replaced = record.outputs.keys() | record.deleted
        for cell in reversed(self.earlier(record)):
            if not cell.finished.done():
                return
            for name in replaced:
                cell.outputs.pop(name, None)

    def abort_after(self, failed):
        """Cells submitted after `failed` that have not started: their records."""
        return [c for c in self.cells if c.seq > failed.seq and c.state == 'waiting']


_GLOBAL_OPS = frozenset({'LOAD_GLOBAL', 'STORE_GLOBAL', 'DELETE_GLOBAL', 'LOAD_NAME'})


def global_names(function):
    """Global names a function defined in a notebook may use when called."""
    import dis
    names = set()
    stack = [function.__code__]
    while stack:
        code = stack.pop()
        names.update(i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_OPS)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return names
