"""`Engine`: where kernel cells run and their values live.

An engine offers *homes*: places with a persistent namespace and a store of
versioned values (`_core.values.Store`).  A home runs one task at a time, in
the order given.  The dataflow's scheduler decides which cell runs in which
home and which values move; an engine only does what it is told:

- `run` a `VersionedTask` in a home: its future resolves to the
  `VersionedReport` (a failed cell is a report, not an exception); output
  events reach ``on_event`` live;
- `export` versions from a home (encoded payloads, to load elsewhere);
- `drop` versions no cell can read any more.

Implemented by `pool.SubinterpreterEngine` (one home per worker interpreter),
`host.HostEngine` (the host interpreter itself: one home, ``'host'``) and
`cluster.ClusterEngine` (one home per ipyparallel engine process).
"""

import abc
from typing import NamedTuple

__all__ = ['Engine', 'HomeStatus', 'HOST']

HOST = 'host'   # the home of values made in the host interpreter


class HomeStatus(NamedTuple):
    """Whether a home is running something, and since when (``perf_counter``).

    Engines that keep them also say the label of the cell running (`running`)
    and how many cells the home has run (`cells_run`).
    """
    busy: bool
    since: float | None
    running: str | None = None
    cells_run: int = 0


class Engine(abc.ABC):
    """Homes that run cells and keep values (see the module docstring)."""

    @property
    @abc.abstractmethod
    def homes(self):
        """The names of this engine's homes, in a stable order."""

    @property
    def spare_homes(self):
        """Homes for cells that may run while cells in `homes` are blocked (waiting,
        using no core): the scheduler uses one only then (none by default)."""
        return ()

    def blocked(self, home):
        """Is the cell running in `home` blocked in a wait, using no core?"""
        return False

    def watch_blocking(self, callback):
        """Call ``callback(home)`` (from any thread) when `blocked(home)` may have changed.

        An engine whose homes never report blocking never calls it.
        """

    def retire(self, home):
        """Stop the spare home `home`, which holds no value any cell still needs;
        a later `run` there starts it afresh."""
        raise ValueError(f'{home!r} is not a spare home')

    @abc.abstractmethod
    def status(self, home):
        """The `HomeStatus` of `home`."""

    @abc.abstractmethod
    def run(self, home, make_task, *, label, on_event=None):
        """Queue a cell in `home`; return its `CellFuture`.

        Args:
            make_task: ``make_task(seq)`` -> the `VersionedTask` to run, given
                the engine's number for it.
            label: how the cell is named in tracebacks and reports.
            on_event: called with each output `Event` as it happens.
        """

    @abc.abstractmethod
    def export(self, home, keys, together=False):
        """Encode the versions `keys` held in `home` (`together`: as one tuple, whose
        copy shares objects as they do): a future of `ExportReport`."""

    @abc.abstractmethod
    def drop(self, home, keys):
        """Forget the versions `keys` in `home` (returns at once)."""

    @abc.abstractmethod
    def interrupt(self, home=None):
        """Raise KeyboardInterrupt in what `home` (None: every home) runs now."""

    @abc.abstractmethod
    def close(self):
        """Stop every home; cells not started are cancelled.  Idempotent."""
