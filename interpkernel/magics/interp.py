"""The ``%%interp`` cell magic and the ``%interp`` line magic."""

import keyword
import os
import shlex
import threading
import time
from collections import deque

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import (MagicArgumentParser, argument, magic_arguments,
                                          parse_argstring)
from traitlets import Float, Integer, default

from ..dataflow import analysis
from ..dataflow.effects import Summaries, in_cell, known_builtin, known_from_value, resolve
from ..channels import Channel
from .. import cluster
from ..errors import ClusterError, InterpkernelError, TransferError, WorkerBusyError
from ..host import WORKER_NAME as HOST, HostEngine
from ..pool import Pool, default_max_size
from .background import BackgroundCell
from .cluster import ClusterCells, engines
from .render import CellOutput, with_cell_traceback
from .reports import StatusTable
from .run import SETTLE, CellRun
from .timeline import Timeline, TimelineCell, last_run

__all__ = ['InterpMagics']

SUBCOMMANDS = ('status', 'wait', 'interrupt', 'close', 'reset', 'pool', 'timeline', 'channel',
               'cluster')
CLUSTER_COMMANDS = ('start', 'connect', 'stop')

NO_CLUSTER = ('no cluster is attached: run %interp cluster start -n N first (or %interp '
              'cluster connect to use a running one)')


def _names(value, option):
    """Parse a comma-separated list of identifiers given to `option` ('' for none)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '\'"':
        value = value[1:-1]    # IPython's argument splitting keeps the quotes
    names = [n.strip() for n in value.split(',') if n.strip()]
    bad = [n for n in names if not _is_name(n)]
    if bad:
        raise UsageError(f'{option} takes comma-separated Python names (not keywords), '
                         f'got {", ".join(map(repr, bad))}')
    return names


def _is_name(text):
    """Can `text` be a variable's name (an identifier that is not a keyword)?"""
    return text.isidentifier() and not keyword.iskeyword(text)


def _check_name(text, what):
    if not _is_name(text):
        raise UsageError(f'{what} must be a Python identifier, not a keyword, got {text!r}')


def _check_timeout(seconds):
    """--timeout takes what a timer can wait: more than 0 seconds, finite."""
    if not 0 < seconds <= threading.TIMEOUT_MAX:
        raise UsageError(f'--timeout takes a positive number of seconds (at most '
                         f'{threading.TIMEOUT_MAX:.3g}), got {seconds:g}; leave it out for '
                         f'no time limit')


def _first_line(source):
    """A cell's first non-blank line, for the timeline's tooltips."""
    line = next((line.strip() for line in source.splitlines() if line.strip()), '')
    return line if len(line) <= 80 else line[:79] + '…'


def _split(line, parse):
    """`parse(line)`, a quote left open a usage error (shlex raises ValueError)."""
    try:
        return parse(line)
    except ValueError as exc:
        raise UsageError(f'{exc} in {line!r}') from None


def _one_line(exc):
    """Make IPython show an error of ours as its one-line message."""
    return with_cell_traceback(exc, [f'{type(exc).__name__}: {exc}'])


@magics_class
class InterpMagics(Magics):
    """``%%interp`` runs a cell in a subinterpreter worker; ``%interp`` manages them."""

    pool_size = Integer(None, allow_none=True, help="""
        Anonymous workers in the pool (default: the CPU cores this process may use).
        ``%interp pool N`` changes it at run time.""").tag(config=True)
    status_interval = Float(1.0, help="""
        Seconds between checks of a --bg cell's state: notebooks update its status line
        in place, terminals print a new line when the state changed.""").tag(config=True)
    history = Integer(200, help="""
        How many recent cells ``%interp timeline`` remembers.""").tag(config=True)
    timeline_gap = Float(5.0, help="""
        Seconds of idle time (no cell waiting or running) that end a run: ``%interp
        timeline`` shows the cells since the last such gap (``--all``: the session)."""
                         ).tag(config=True)
    max_pool_size = Integer(help="""
        The most workers ``%interp pool N`` and ``-n N`` may ask for (default: 4 per
        core, and at least 64).  Each worker is an interpreter with its own thread and
        memory.""").tag(config=True)

    @default('max_pool_size')
    def _default_max_pool_size(self):
        return default_max_size()

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._pool = None
        self._cluster = None     # ClusterCells, once %interp cluster start/connect attached one
        self._kernel_workers = None
        self._dataflow_cells = None
        self._on_cluster = None     # the interp kernel's hook (see attach_kernel)
        self._host = HostEngine()
        self._summaries = Summaries()
        self._background = []
        self._recent = deque(maxlen=self.history)
        self._used_names = set()     # every worker a cell was sent to

    @property
    def pool(self):
        if self._pool is None:
            self._pool = Pool(self.pool_size, max_size=self.max_pool_size)
        return self._pool

    def close(self):
        """Close the pool, and stop (or detach from) the cluster (on unload)."""
        self._close_pool()
        if self._cluster is not None:
            self._tell_kernel(None)
            self._cluster.close()
            self._cluster = None

    def _close_pool(self):
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def attach_kernel(self, workers, dataflow_cells, on_cluster=None):
        """Show the interp kernel's workers and dataflow in status and timeline.

        Args:
            workers: callable returning the kernel's `WorkerStatus` list.
            dataflow_cells: callable returning, per kernel cell, (label, state,
                ran on, queued, started, finished, waited for, note).
            on_cluster: ``on_cluster(cells)`` once ``%interp cluster start`` or
                ``connect`` attached a cluster (`ClusterCells`), and
                ``on_cluster(None)`` before ``%interp cluster stop`` stops it.
        """
        self._kernel_workers = workers
        self._dataflow_cells = dataflow_cells
        self._on_cluster = on_cluster

    def adopt_cluster(self, cells):
        """Use `cells` (a `ClusterCells` the kernel attached at its start) for
        ``--engine cluster`` and ``%interp cluster``."""
        if self._cluster is not None:
            raise UsageError(f'a {self._cluster.describe()} is attached already')
        self._cluster = cells

    # -- %%interp --

    @magic_arguments()
    @argument('name', nargs='?', default=None,
              help="""a persistent worker to run in, created on first use, keeping its
              namespace between cells (default: any free worker, fresh namespace)""")
    @argument('--in', dest='inputs', metavar='NAMES', default=None,
              help="""comma-separated names to send in (default: the names the cell
              reads that are defined here)""")
    @argument('--out', dest='outputs', metavar='NAMES', default=None,
              help="""comma-separated names to bring back ('' for none; default: the
              names the cell assigns)""")
    @argument('-b', '--block', dest='block', action='store_true', default=None,
              help='wait for the cell, streaming its output (the default)')
    @argument('-a', '--noblock', '--bg', dest='block', action='store_false',
              help="""return at once: a status line and the cell's output keep updating
              in this cell; outputs land when it is done (see %%interp wait). The stop
              button and Ctrl-C leave it running: %%interp interrupt NAME stops it""")
    @argument('-n', dest='ranks', type=int, default=None, metavar='N',
              help="""run the cell on N workers at once (SPMD), with `rank` and `size`
              defined; --out gathers a list ordered by rank""")
    @argument('--all', action='store_true',
              help='SPMD on as many workers as the pool has (like -n POOL_SIZE)')
    @argument('--timeout', type=float, default=None, metavar='SECONDS',
              help='interrupt the cell after SECONDS')
    @argument('--engine', choices=('sub', 'host', 'cluster'), default='sub',
              help="""'sub': a subinterpreter (default); 'host': this interpreter, for
              modules that refuse subinterpreters (numpy, pandas ...); 'cluster': an
              engine process of the cluster that %%interp cluster start (or connect)
              attached: numpy in parallel, on as many cores as it has. NAME picks an
              engine (kept for that name); -n N / --all, N / all of its engines""")
    @cell_magic('interp')
    def interp(self, line, cell):
        """Run the cell in a subinterpreter worker, on a core of its own.

        Variables go in and out by themselves: the names the cell reads that
        are defined here are sent in, and the names it assigns (``def``,
        ``class`` and ``import`` included) come back when it finishes.

        The stop button (Ctrl-C in a terminal) interrupts a cell that blocks, and
        the cells ``%interp wait`` waits for; it leaves ``--bg`` cells running, as
        a shell leaves its background jobs: ``%interp interrupt [NAME]`` stops them.

        Examples
        --------
        ::

            In [1]: %load_ext interpkernel

            In [2]: %%interp
               ...: total = sum(i * i for i in range(10_000_000))

            In [3]: total
            Out[3]: 333333283333335000000

            In [4]: %%interp crunch --bg --timeout 60
               ...: result = slow_function(data)       # runs while you keep working

            In [5]: %interp wait crunch

            In [6]: %%interp -n 2 --out part
               ...: part = sum(range(rank, 10_000_000, size))

            In [7]: sum(part)
            Out[7]: 49999995000000

        ``--engine cluster`` runs the cell in an engine process of the
        ipyparallel cluster that ``%interp cluster start`` (or ``connect``)
        attached, the same way: numpy and the other modules that refuse
        subinterpreters work there, in parallel.  NAME is an engine chosen on
        first use that keeps the values the name's cells make; ``-n N`` and
        ``--all`` run on N or all engines::

            In [8]: %interp cluster start -n 2
            [interp] cluster of 2 engines ready in 2.3 s: e0, e1

            In [9]: %%interp --engine cluster
               ...: import numpy as np
               ...: squares = np.arange(5) ** 2

            In [10]: squares
            Out[10]: array([ 0,  1,  4,  9, 16])
        """
        args = _split(line, lambda line: parse_argstring(self.interp, line))
        run = self._start(args, cell, self._label())
        self._recent.append(run)
        self._used_names.update(run.worker_names())
        if args.block is False:
            self._background.append(BackgroundCell(run, CellOutput(), self._finish_background,
                                                   self.status_interval, self._in_notebook()))
            return None
        run.wait()
        return run.finish(self.shell.user_ns)

    def _label(self):
        """``In[n]`` of the cell running now, as its prompt shows it.

        IPython 9 counts a cell before running it (``execution_count`` is then
        the next prompt's), IPython 8 after it; the result IPython keeps for the
        running cell has its number either way (without one, nothing counted it yet).
        """
        running = getattr(self.shell.displayhook, 'exec_result', None)
        count = getattr(running, 'execution_count', None)
        return f'In[{self.shell.execution_count if count is None else count}]'

    def _finish_background(self, background):
        try:
            result = background.run.finish(self.shell.user_ns)
        except BaseException as exc:
            self.shell.showtraceback((type(exc), exc, None))
        else:
            if result is not None:
                from IPython.display import display
                display(result)

    def _start(self, args, cell, label):
        """Validate everything, then submit: a bad option or input sends nothing."""
        ranks = self._ranks(args)
        if args.timeout is not None:
            _check_timeout(args.timeout)
        if args.name is not None:
            _check_name(args.name, 'the worker name')
        if args.engine == 'host':
            return self._start_host(args, cell, label, ranks)
        cells = self._attached_cluster() if args.engine == 'cluster' else None
        source = self._python_source(cell)
        effects = analysis.analyse(source, f'<cell {label}>')
        # Its own functions, called in it or in later cells, are found by its file name.
        self._summaries.add(f'<cell {label}>', effects)
        resolved = self._resolve(effects, label)
        namespace = self.shell.user_ns
        inputs = self._inputs(args, resolved, namespace)
        strict = args.outputs is not None
        # A name the cell may delete comes back too if it is still there at the end
        # (the del may not have run, or the name was bound again after it).
        outputs = _names(args.outputs, '--out') if strict else \
            sorted(n for n in {*resolved.binds, *resolved.mutates, *resolved.deletes}
                   if n.isidentifier())
        deletes = () if strict else tuple(resolved.deletes)
        try:
            if not ranks:
                futures = [cells.submit(source, inputs, outputs, name=args.name, label=label,
                                        strict=strict) if cells else
                           self.pool.submit(source, inputs, outputs, worker=args.name,
                                            label=label, strict_outputs=strict, notebook=True)]
            else:
                if not strict:
                    outputs = []   # SPMD brings back only what --out names
                futures = [cells.submit(source, {**inputs, 'rank': rank, 'size': ranks},
                                        outputs, name=f'rank{rank}', home=cells.homes[rank],
                                        label=f'{label}[rank {rank}]') if cells else
                           self.pool.submit(source, {**inputs, 'rank': rank, 'size': ranks},
                                            outputs, worker=f'rank{rank}',
                                            label=f'{label}[rank {rank}]', notebook=True)
                           for rank in range(ranks)]
        except TransferError as exc:
            raise _one_line(exc) from None
        requested = [f'rank{rank}' for rank in range(ranks)] if ranks else [args.name]
        run = CellRun(label, cell, futures, requested, outputs, deletes, ranks, strict,
                      args.timeout)
        for rank, future in enumerate(futures):
            output = CellOutput(f'[rank {rank}] ' if ranks else '')
            future.add_event_listener(output.show)
        return run

    def _start_host(self, args, cell, label, ranks):
        if ranks or args.inputs is not None or args.outputs is not None or args.name:
            raise UsageError('--engine host runs the cell in this namespace: '
                             'NAME, -n/--all, --in and --out do not apply to it')
        source = self.shell.transform_cell(cell)
        background = args.block is False
        future = self._host.submit(source, self.shell.user_ns, label=label,
                                   background=background)
        return CellRun(label, cell, [future], [HOST], (), (), 0, False, args.timeout)

    def _ranks(self, args):
        if args.all and args.ranks is not None:
            raise UsageError('use either -n N or --all, not both')
        if args.engine == 'cluster':
            engines = len(self._attached_cluster().homes)
            if args.all:
                return engines
            if args.ranks is not None and args.ranks > engines:
                raise UsageError(f'-n {args.ranks} asks for more engines than the cluster has '
                                 f'({engines}); ask for fewer, or start a bigger cluster')
        if args.all:
            return self.pool.size
        if args.ranks is None:
            return 0
        if args.ranks < 1:
            raise UsageError(f'-n must be at least 1, got {args.ranks}')
        self._check_size(args.ranks, f'-n {args.ranks}')
        if args.name is not None:
            raise UsageError('-n/--all runs on workers rank0, rank1 ...: leave out NAME')
        return args.ranks

    def _attached_cluster(self):
        """The `ClusterCells` attached, else a one-line error saying what to do."""
        if self._cluster is None:
            try:
                cluster.check_installed()
            except ClusterError as exc:
                raise _one_line(exc) from None
            raise UsageError(NO_CLUSTER)
        return self._cluster

    def _python_source(self, cell):
        """The cell as plain Python, as IPython cleans it up (leading blank lines,
        a common indent and ``>>>`` prompts gone); IPython-only syntax (which
        IPython turns into calls on its shell) needs the host's shell."""
        if not cell.strip():
            raise UsageError('%%interp is a cell magic, but the cell body is empty. Did you '
                             'mean the line magic %interp (single %)?')
        transformed = self.shell.transform_cell(cell)
        if 'get_ipython()' in transformed and 'get_ipython()' not in cell:
            lines, after = cell.splitlines(), transformed.splitlines()
            dropped = len(lines) - len(after)      # the leading blank lines
            number = next(n for n, line in enumerate(after, start=1) if 'get_ipython()' in line)
            raise UsageError(
                f'line {number + dropped} uses IPython syntax '
                f'({lines[number + dropped - 1].strip()!r}), which a worker cannot run; '
                f'move it to a normal cell or use --engine host')
        return transformed

    def _resolve(self, effects, label):
        """What the cell reads and changes, its calls resolved with the values defined here."""
        namespace, hidden = self.shell.user_ns, self.shell.user_ns_hidden

        def defined_here(name):
            if name in namespace and name not in hidden:
                return known_from_value(namespace[name])
            return known_builtin(name)

        return resolve(effects, in_cell(effects, f'<cell {label}>', defined_here),
                       self._summaries)

    def _inputs(self, args, resolved, namespace):
        if args.inputs is not None:
            names = _names(args.inputs, '--in')
            missing = [n for n in names if n not in namespace]
            if missing:
                raise UsageError(f'--in names {", ".join(missing)}, not defined here; '
                                 f'define it first or leave it out')
        else:
            # What the cell may delete goes in too: a name gone from the worker at
            # the end was deleted (a del that did not run leaves it there).
            hidden = self.shell.user_ns_hidden
            names = sorted(n for n in {*resolved.reads, *resolved.deletes}
                           if n in namespace and n not in hidden)
        return {name: namespace[name] for name in names}

    # -- %interp --

    @line_magic('interp')
    def interp_line(self, line):
        """Manage the workers: ``%interp SUBCOMMAND [ARGS]``.

        Subcommands::

            %interp status               a table of workers: state, cell, elapsed, cells run
            %interp wait [NAME ...]      wait for --bg cells (Ctrl-C interrupts them)
            %interp interrupt [NAME]     interrupt the running cell of NAME (default: all)
            %interp close NAME [--force] close a named worker (--force: even if busy)
            %interp reset                close every worker; start a fresh pool
            %interp pool N               set the number of anonymous workers
            %interp timeline [-n N | --all]   a Gantt chart, one lane per worker, of the
                                         last run (the cells since an idle gap), the
                                         last N cells, or the whole session
            %interp channel NAME [--capacity N]   create a Channel called NAME here
            %interp cluster start [-n N] [--profile P] [--timeout S]
                                         start a local ipyparallel cluster of N engines
                                         for %%interp --engine cluster
            %interp cluster connect [--profile P | --url-file F | --cluster-id ID]
                                    [--timeout S]   attach to a running cluster
            %interp cluster stop         stop the cluster started here (or detach)
            %interp cluster              the cluster's engines and what runs there

        Examples
        --------
        ::

            In [1]: %interp channel results --capacity 10

            In [2]: %interp status
            Out[2]:
            worker  state  cell  elapsed  cells run
            #0      idle                  3
        """
        words = _split(line, shlex.split)
        if not words:
            raise UsageError(f'%interp needs a subcommand: {", ".join(SUBCOMMANDS)}')
        command, rest = words[0], words[1:]
        if command not in SUBCOMMANDS:
            raise UsageError(f'unknown %interp subcommand {command!r}; '
                             f'choose from {", ".join(SUBCOMMANDS)}')
        return getattr(self, f'_interp_{command}')(rest)

    @staticmethod
    def _parse(command, rest, *arguments):
        parser = MagicArgumentParser(prog=f'%interp {command}')
        for names, options in arguments:
            parser.add_argument(*names, **options)
        return parser.parse_argstring(shlex.join(rest))

    def _interp_status(self, rest):
        self._parse('status', rest)
        statuses = self._pool.workers if self._pool is not None else []
        if self._cluster is not None:
            statuses = statuses + self._cluster.workers()
        if self._kernel_workers is not None:
            statuses = self._kernel_workers() + statuses
        host_rows = [(HOST, b.run.state(), b.run.label, f'{b.elapsed():.1f} s', '')
                     for b in self._background
                     if not b.done() and HOST in b.run.worker_names()]
        cells = [(label, state, where, ', '.join(waited), note)
                 for label, state, where, *_, waited, note in self._kernel_cells()]
        return StatusTable.from_workers(statuses, host_rows, cells)

    def _kernel_cells(self):
        return self._dataflow_cells() if self._dataflow_cells is not None else []

    def _interp_wait(self, rest):
        args = self._parse('wait', rest, (('names',), {'nargs': '*', 'metavar': 'NAME'}))
        waiting = self._running(args.names)
        try:
            for background in waiting:
                while not background.wait(0.1):
                    pass
        except KeyboardInterrupt:
            for background in waiting:
                background.run.interrupt()
            for background in waiting:
                background.wait(SETTLE)
            cells = ', '.join(_where(b.run) for b in waiting)
            raise _one_line(KeyboardInterrupt(f'interrupted {cells}')) from None
        self._background = [b for b in self._background if not b.done()]

    def _interp_interrupt(self, rest):
        args = self._parse('interrupt', rest, (('name',), {'nargs': '?', 'default': None}))
        names = [] if args.name is None else [args.name]
        running = self._running(names)
        for background in running:
            background.run.interrupt()
        if running:
            print(f'[interp] interrupted {", ".join(_where(b.run) for b in running)}')
        else:
            print(f'[interp] nothing to interrupt: no cell is running'
                  f'{"".join(f" on {name}" for name in names)}')

    def _running(self, names):
        """The --bg cells not done yet on any of `names` (all if none), each name checked."""
        workers = self._pool.workers if self._pool is not None else []
        known = self._used_names.union(w.name for w in workers)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise UsageError(f'no %%interp cell ran on {", ".join(map(repr, unknown))}; '
                             f'%interp status lists the workers')
        return [b for b in self._background
                if not b.done() and (not names or set(names) & set(b.run.worker_names()))]

    def _interp_close(self, rest):
        args = self._parse('close', rest, (('name',), {}),
                           (('--force',), {'action': 'store_true'}))
        try:
            self.pool.close_worker(args.name, force=args.force)
        except WorkerBusyError as exc:
            raise UsageError(f'worker {exc.name!r} is busy with {exc.label}; wait for it, '
                             f'interrupt it, or use %interp close {exc.name} --force') from None
        except InterpkernelError as exc:
            raise UsageError(str(exc)) from None

    def _interp_reset(self, rest):
        self._parse('reset', rest)
        self._close_pool()
        self._background = []
        print('[interp] every worker closed; a fresh pool starts with the next cell')

    def _interp_pool(self, rest):
        args = self._parse('pool', rest, (('size',), {'type': int}))
        if args.size < 1:
            raise UsageError(f'the pool needs at least 1 worker, got {args.size}')
        self._check_size(args.size, f'%interp pool {args.size}')
        self.pool_size = args.size
        if self._pool is not None:
            self._pool.resize(args.size)

    def _check_size(self, size, asked):
        if size > self.max_pool_size:
            raise UsageError(f'{asked} asks for more workers than max_pool_size '
                             f'({self.max_pool_size}); ask for fewer, or raise the limit with '
                             f'%config InterpMagics.max_pool_size = {size}')

    def _interp_timeline(self, rest):
        args = self._parse('timeline', rest,
                           (('-n',), {'type': int, 'dest': 'last', 'metavar': 'N',
                                      'help': 'the last N cells'}),
                           (('--all',), {'action': 'store_true',
                                         'help': 'every cell of the session'}))
        now = time.perf_counter()
        cells = self._timeline_cells()
        if not cells:
            raise UsageError('no %%interp cell has run yet: the timeline is empty')
        if args.all and args.last is not None:
            raise UsageError('use either -n N or --all, not both')
        if args.all:
            return Timeline(cells, 'the whole session', now)
        if args.last is not None:
            if args.last < 1:
                raise UsageError(f'-n must be at least 1, got {args.last}')
            return Timeline(sorted(cells, key=lambda c: c.queued)[-args.last:],
                            f'the last {args.last} cells', now)
        return Timeline(last_run(cells, self.timeline_gap, now),
                        f'the last run (since {self.timeline_gap:g} s idle; '
                        f'-n N: the last N cells, --all: the session)', now)

    def _timeline_cells(self):
        """Every cell the timeline can show but the one asking for it."""
        cells = []
        for run in self._recent:
            for future in run.futures:
                t = future.timings
                cells.append(TimelineCell(future.label, run.state([future]), t.worker, t.queued,
                                          t.started, t.finished if future.done() else None,
                                          first_line=_first_line(run.source)))
        inputs = self.shell.history_manager.input_hist_raw
        for label, state, where, queued, started, ended, waited, note in self._kernel_cells():
            count = int(label[3:-1])
            source = inputs[count] if count < len(inputs) else ''
            cells.append(TimelineCell(label, state, where or None, queued, started, ended,
                                      tuple(waited), note, _first_line(source)))
        current = self._label()
        return [cell for cell in cells if (cell.label, cell.state) != (current, 'running')]

    def _interp_cluster(self, rest):
        if not rest:
            return self._cluster_status()
        command, rest = rest[0], rest[1:]
        if command not in CLUSTER_COMMANDS:
            raise UsageError(f'unknown %interp cluster subcommand {command!r}; choose from '
                             f'{", ".join(CLUSTER_COMMANDS)}, or none for its status')
        try:
            return getattr(self, f'_cluster_{command}')(rest)
        except ClusterError as exc:
            raise _one_line(exc) from None

    def _cluster_start(self, rest):
        args = self._parse('cluster start', rest,
                           (('-n',), {'type': int, 'default': None, 'metavar': 'N',
                                      'help': 'engines to start (default: one per core)'}),
                           (('--profile',), {'default': None,
                                             'help': 'the IPython profile to start it in'}),
                           (('--timeout',), {'type': float, 'default': 60.0,
                                             'metavar': 'SECONDS',
                                             'help': 'how long the engines have to register'}))
        if self._cluster is not None:
            raise UsageError(f'a {self._cluster.describe()} is attached already; '
                             f'%interp cluster stop it first')
        cluster.check_installed()
        n = (os.process_cpu_count() or 1) if args.n is None else args.n
        if n < 1:
            raise UsageError(f'-n must be at least 1, got {n}')
        _check_timeout(args.timeout)
        options = {} if args.profile is None else {'profile': args.profile}
        self._cluster = ClusterCells.start(n, timeout=args.timeout,
                                           in_place=self._in_notebook(), **options)
        self._tell_kernel(self._cluster)
        print(f'[interp] cluster of {engines(n)} ready in {self._cluster.ready_in:.1f} s: '
              f'{", ".join(self._cluster.homes)}')

    def _cluster_connect(self, rest):
        args = self._parse('cluster connect', rest,
                           (('--profile',), {'default': None}),
                           (('--url-file',), {'default': None, 'metavar': 'FILE',
                                              'help': "the cluster's ipcontroller-client.json"}),
                           (('--cluster-id',), {'default': None, 'metavar': 'ID'}),
                           (('--timeout',), {'type': float, 'default': 10.0,
                                             'metavar': 'SECONDS'}))
        if self._cluster is not None:
            raise UsageError(f'a {self._cluster.describe()} is attached already; '
                             f'%interp cluster stop it first')
        if args.url_file is not None and (args.profile or args.cluster_id):
            raise UsageError('--url-file names the cluster by itself: leave out --profile '
                             'and --cluster-id')
        _check_timeout(args.timeout)
        self._cluster = ClusterCells.connect(args.url_file, profile=args.profile,
                                             cluster_id=args.cluster_id, timeout=args.timeout)
        self._tell_kernel(self._cluster)
        print(f'[interp] attached to a cluster of {engines(len(self._cluster.homes))} in '
              f'{self._cluster.ready_in:.1f} s: {", ".join(self._cluster.homes)} '
              f'(%interp cluster stop detaches; the cluster keeps running)')

    def _cluster_stop(self, rest):
        self._parse('cluster stop', rest)
        if self._cluster is None:
            print('[interp] no cluster to stop: none is attached')
            return
        self._tell_kernel(None)
        attached, self._cluster = self._cluster, None
        attached.close()
        if attached.started:
            print(f'[interp] cluster of {engines(len(attached.homes))} stopped')
        else:
            print('[interp] detached from the cluster; it keeps running')

    def _tell_kernel(self, cells):
        if self._on_cluster is not None:
            self._on_cluster(cells)

    def _cluster_status(self):
        if self._cluster is None:
            print('[interp] no cluster attached: %interp cluster start -n N starts one, '
                  '%interp cluster connect attaches to a running one')
            return None
        print(f'[interp] {self._cluster.describe()}')
        return StatusTable.from_workers(self._cluster.workers())

    def _in_notebook(self):
        """Can displays be updated in place (a kernel), or only printed (a terminal)?"""
        return getattr(self.shell, 'kernel', None) is not None

    def _interp_channel(self, rest):
        args = self._parse('channel', rest, (('name',), {}),
                           (('--capacity',), {'type': int, 'default': 0}))
        _check_name(args.name, 'the channel name')
        try:
            self.shell.user_ns[args.name] = Channel(args.capacity)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    # -- completion --

    def complete(self, event):
        """Complete subcommands, then worker names (IPython's complete_command hook)."""
        words = event.line.split()
        if event.line.startswith('%%'):
            return self._worker_names() + ['--in', '--out', '--bg', '--timeout', '--engine',
                                           '-n', '--all']
        if len(words) <= 1 or (len(words) == 2 and not event.line.endswith(' ')):
            return list(SUBCOMMANDS)
        if words[1] in ('wait', 'interrupt', 'close'):
            return self._worker_names()
        if words[1] == 'cluster':
            return list(CLUSTER_COMMANDS)
        return []

    def _worker_names(self):
        if self._pool is None:
            return []
        return [w.name for w in self._pool.workers if w.named]


def _where(run):
    """A run's cell and the workers it runs on, as ``In[5] on crunch``."""
    return f'{run.label} on {", ".join(run.worker_names()) or "a worker"}'
