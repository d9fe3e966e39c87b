"""The records that cross between the host and a worker interpreter.

Only plain tuples of shareable values cross the interpreter boundary, so each
record is a NamedTuple sent as ``(kind, tuple(record))`` and rebuilt on the
other side with `receive`.  Tasks go host -> worker on the worker's task
queue; each task's report comes back as the ``done`` event of its ``seq``.

Keys of versions are ``(name, seq)``: the value `name` had after the cell
numbered `seq` (the dataflow's numbering).
"""

from typing import NamedTuple

__all__ = ['CellTask', 'AutoreloadSettings', 'VersionedTask', 'ExportTask', 'DropTask', 'WarmTask', 'CellReport',
           'VersionedReport', 'ExportReport', 'ErrorFrame', 'ErrorLink', 'send', 'receive']


class CellTask(NamedTuple):
    """Run a cell with values sent in and named outputs sent back (the `Pool` API)."""
    seq: int
    label: str
    source: str
    inputs: tuple           # ((name, payload), ...)
    outputs: tuple          # names to send back
    strict_outputs: bool    # every output must exist and move, or the cell fails
    fresh_namespace: bool   # a new namespace, or the worker's own ``__main__``
    notebook: bool          # notebook functions look their globals up in the cell's namespace


class AutoreloadSettings(NamedTuple):
    """IPython's ``%autoreload`` as the host has it: a worker reloads the modules
    whose files changed before each cell, as IPython does before each host cell."""
    check_all: bool         # every module (``%autoreload 2``), or only `modules` (``1``)
    modules: tuple          # names ``%aimport`` marked for reloading
    skip_modules: tuple     # names ``%aimport -name`` excluded


class VersionedTask(NamedTuple):
    """Run a kernel cell in the worker's ``__main__``, its values kept here by version.

    The namespace holds exactly the names the cell may read: those in `bind`
    (versions already here) and `load` (moved in now, kept under their key);
    any other name is unbound, so a read the dataflow did not foresee fails
    loudly instead of seeing a stale value.
    """
    seq: int
    version: int            # the dataflow's number for this cell: its versions' keys
    label: str
    source: str
    bind: tuple             # ((name, key), ...)
    # ((name, key, payload, or (SAME_OBJECT, earlier name), or (TOGETHER, payload, i)), ...)
    load: tuple
    states: tuple           # ((state name, restore source, payload), ...) to set first
    capture: tuple          # ((state name, source binding `state`), ...) to read after
    result_name: str        # keep the shown result as this name ('_5'), or '' not to
    check: bool             # fingerprint the mutable versions here before and after
    # Standard-library modules to import before the cell, in place of a probe in the
    # host: one that refuses subinterpreters ends the task (`VersionedReport.refused`).
    imports: tuple = ()
    # The fields of the `AutoreloadSettings` to follow, or () (records cross as plain tuples).
    autoreload: tuple = ()
    # Names to keep a new version of even if they still hold what they held: the
    # cell may have stored their objects into others, or others into them, or
    # changed them in place where the run-time check's fingerprint does not look.
    relinked: tuple = ()
    # The ``__future__`` compiler flags earlier cells turned on (``annotations``).
    compile_flags: int = 0
    # The file name the cell's code is compiled under, as ipykernel names it
    # (see `execution.execute`); '' for ``<cell LABEL>``.
    code_name: str = ''
    # The `CellSource` fields of cells before, which the worker may not have: a function
    # of theirs that moved here shows its lines (warnings, printed tracebacks).
    sources: tuple = ()
    # How deep the cell's frame is in the process it stands in for (a kernel cell:
    # ipykernel's), so that recursion runs out at the same depth; 0 for wherever.
    frame_depth: int = 0
    # The line of the cell's ``%time`` (or ``%%time``) whose code `source` is, which
    # the worker times and reports as IPython's magic does; 0: `source` is the cell's.
    timed_at: int = 0
    # Keys among `bind` of versions no other cell will read, of names the cell may
    # rebind or delete: the store lets go of them while the cell runs, so that
    # the namespace alone holds them and a ``del r`` frees the object (runs its
    # ``__del__``, closes its file) in the cell, as in order.  A name still bound
    # after the cell is kept as a new version.
    release: tuple = ()


class CellSource(NamedTuple):
    """A kernel cell's code, as linecache and tracebacks need it."""
    filename: str
    label: str
    source: str


# In a `VersionedTask`'s load: this name holds the very object an earlier name of
# the load does (``b = a`` where they were made), which the copy keeps.
SAME_OBJECT = 'same object as'
# ... or item i of a tuple of values encoded together (an `ExportTask` with
# `together`), whose objects their copies share as the originals do
# (``b = {'k': a}``).
TOGETHER = 'encoded together with'


class ExportTask(NamedTuple):
    """Encode versions held here, to move them elsewhere: each on its own, or
    `together`, as one tuple (`ExportReport.values` then has one item, keyed by
    `keys`)."""
    seq: int
    keys: tuple
    together: bool = False


class DropTask(NamedTuple):
    """Forget versions no cell can read any more."""
    seq: int
    keys: tuple


class WarmTask(NamedTuple):
    """Import now what cells will need (IPython's formatters, cloudpickle), while idle."""
    seq: int


class CellReport(NamedTuple):
    """How a `CellTask` ended; result, error and exception are pickled or None."""
    outputs: tuple
    skipped: tuple          # ((name, type name, reason), ...) outputs that could not move
    result: bytes | None
    error: bytes | None
    exception: bytes | None
    started: float
    finished: float


class VersionedReport(NamedTuple):
    """How a `VersionedTask` ended, and what it changed.

    Attributes:
        written: ``((name, key, ValueInfo tuple, payload or None), ...)``:
            versions the cell made (bound, rebound, or changed in place), kept
            here; small ones also encoded, to move without asking again.
        deleted: names bound before the cell and unbound after.
        changed: keys of versions whose objects the cell changed in place.
        states: ``((state name, payload or None, error or ''), ...)`` captured.
        failed_loads: ``((name, type name, reason), ...)`` inputs that could
            not be unpacked here (nothing of the cell ran).
        refused: ``(module, reason)`` of a module of the task's `imports`
            that refuses subinterpreters, or None (nothing of the cell ran).
    """
    result: bytes | None
    error: bytes | None
    exception: bytes | None
    started: float
    finished: float
    written: tuple
    deleted: tuple
    changed: tuple
    states: tuple
    failed_loads: tuple
    refused: tuple | None = None


class ExportReport(NamedTuple):
    """Encoded versions, and those that could not be encoded."""
    values: tuple           # ((key, payload), ...)
    failures: tuple         # ((key, type name, reason), ...)


class ErrorFrame(NamedTuple):
    """One frame of a failed cell's traceback, as the host needs it to format it."""
    filename: str
    lineno: int             # the line its traceback entry names (``tb_lineno``)
    reached: int            # the line the frame reached last (``f_lineno``; after
                            # an ``except`` that raised anew, the raise)
    firstlineno: int        # where its function starts (IPython finds the class by it)
    name: str               # the function's qualified name (``<module>`` for a cell)
    args: tuple             # its parameters' names, as `inspect.getargs` gives them
    varargs: str | None
    varkw: str | None


class ErrorLink(NamedTuple):
    """One exception of a failed cell's chain (the raised one first).

    ``raised_from`` says how the next link relates to this one: ``'cause'``
    (``raise ... from``), ``'context'`` (raised while handling it) or ``''``
    (the chain ends here).  Carried in the error content under ``interp_chain``
    so the host can show the failure with IPython's own formatter.
    """
    type_name: str
    module: str
    message: str
    notes: tuple
    frames: tuple           # ErrorFrame, outermost first
    raised_from: str
    syntax_error: bool      # IPython formats these from attributes a copy lacks


_RECORDS = {record.__name__: record for record in (
    CellTask, VersionedTask, ExportTask, DropTask, WarmTask, CellReport, VersionedReport,
    ExportReport)}


def send(record):
    """The shareable form of `record`."""
    return (type(record).__name__, tuple(record))


def receive(sent):
    """The record `send` turned into `sent`."""
    kind, fields = sent
    return _RECORDS[kind]._make(fields)
