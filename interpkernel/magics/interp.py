"""The ``%%interp`` cell magic and the ``%interp`` line magic."""

import shlex
import time
from collections import deque

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import (MagicArgumentParser, argument, magic_arguments,
                                          parse_argstring)
from traitlets import Float, Integer

from ..dataflow import analysis
from ..dataflow.effects import Summaries, in_cell, known_builtin, known_from_value, resolve
from ..channels import Channel
from ..errors import InterpkernelError, TransferError, WorkerBusyError
from ..host import WORKER_NAME as HOST, HostEngine
from ..pool import Pool
from .background import BackgroundCell
from .render import CellOutput, with_cell_traceback
from .reports import StatusTable, Timeline
from .run import SETTLE, CellRun

__all__ = ['InterpMagics']

SUBCOMMANDS = ('status', 'wait', 'interrupt', 'close', 'reset', 'pool', 'timeline', 'channel')


def _names(value, option):
    """Parse a comma-separated list of identifiers given to `option` ('' for none)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '\'"':
        value = value[1:-1]    # IPython's argument splitting keeps the quotes
    names = [n.strip() for n in value.split(',') if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise UsageError(f'{option} takes comma-separated Python names, got {", ".join(map(repr, bad))}')
    return names


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
        Seconds between updates of a --bg cell's status line in notebooks.""").tag(config=True)
    history = Integer(200, help="""
        How many recent cells ``%interp timeline`` remembers.""").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._pool = None
        self._kernel_workers = None
        self._dataflow_cells = None
        self._host = HostEngine()
        self._summaries = Summaries()
        self._background = []
        self._recent = deque(maxlen=self.history)

    @property
    def pool(self):
        if self._pool is None:
            self._pool = Pool(self.pool_size)
        return self._pool

    def close(self):
        """Close the pool (on unload and at reset)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def attach_kernel(self, workers, dataflow_cells):
        """Show the interp kernel's workers and dataflow in status and timeline.

        Args:
            workers: callable returning the kernel's `WorkerStatus` list.
            dataflow_cells: callable returning, per kernel cell, (label, state,
                ran on, queued, started, finished, waited for, note).
        """
        self._kernel_workers = workers
        self._dataflow_cells = dataflow_cells

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
              in this cell; outputs land when it is done (see %%interp wait)""")
    @argument('-n', dest='ranks', type=int, default=None, metavar='N',
              help="""run the cell on N workers at once (SPMD), with `rank` and `size`
              defined; --out gathers a list ordered by rank""")
    @argument('--all', action='store_true',
              help='SPMD on as many workers as the pool has (like -n POOL_SIZE)')
    @argument('--timeout', type=float, default=None, metavar='SECONDS',
              help='interrupt the cell after SECONDS')
    @argument('--engine', choices=('sub', 'host'), default='sub',
              help="""'sub': a subinterpreter (default); 'host': this interpreter, for
              modules that refuse subinterpreters (numpy, pandas ...)""")
    @cell_magic('interp')
    def interp(self, line, cell):
        """Run the cell in a subinterpreter worker, on a core of its own.

        Variables go in and out by themselves: the names the cell reads that
        are defined here are sent in, and the names it assigns (``def``,
        ``class`` and ``import`` included) come back when it finishes.

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
        """
        args = parse_argstring(self.interp, line)
        label = f'In[{self.shell.execution_count}]'
        run = self._start(args, cell, label)
        self._recent.append(run)
        if args.block is False:
            interval = self.status_interval if getattr(self.shell, 'kernel', None) else None
            self._background.append(BackgroundCell(run, CellOutput(), self._finish_background,
                                                   interval))
            return None
        run.wait()
        return run.finish(self.shell.user_ns)

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
        if args.timeout is not None and not args.timeout > 0:
            raise UsageError(f'--timeout must be a positive number of seconds, got {args.timeout:g}')
        if args.name is not None and not args.name.isidentifier():
            raise UsageError(f'the worker name must be a Python identifier, got {args.name!r}')
        if args.engine == 'host':
            return self._start_host(args, cell, label, ranks)
        source = self._python_source(cell)
        effects = analysis.analyse(source, f'<cell {label}>')
        resolved = self._resolve(effects, label)
        namespace = self.shell.user_ns
        inputs = self._inputs(args, resolved, namespace)
        strict = args.outputs is not None
        outputs = _names(args.outputs, '--out') if strict else \
            sorted(n for n in {*resolved.binds, *resolved.mutates} if n.isidentifier())
        deletes = () if strict else tuple(resolved.deletes)
        try:
            if not ranks:
                futures = [self.pool.submit(source, inputs, outputs, worker=args.name,
                                            label=label, strict_outputs=strict, notebook=True)]
            else:
                if not strict:
                    outputs = []   # SPMD brings back only what --out names
                futures = [self.pool.submit(source, {**inputs, 'rank': rank, 'size': ranks},
                                            outputs, worker=f'rank{rank}',
                                            label=f'{label}[rank {rank}]', notebook=True)
                           for rank in range(ranks)]
        except TransferError as exc:
            raise _one_line(exc) from None
        requested = [f'rank{rank}' for rank in range(ranks)] if ranks else [args.name]
        run = CellRun(label, futures, requested, outputs, deletes, ranks, strict, args.timeout)
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
        return CellRun(label, [future], [HOST], (), (), 0, False, args.timeout)

    def _ranks(self, args):
        if args.all and args.ranks is not None:
            raise UsageError('use either -n N or --all, not both')
        if args.all:
            return self.pool.size
        if args.ranks is None:
            return 0
        if args.ranks < 1:
            raise UsageError(f'-n must be at least 1, got {args.ranks}')
        if args.name is not None:
            raise UsageError('-n/--all runs on workers rank0, rank1 ...: leave out NAME')
        return args.ranks

    def _python_source(self, cell):
        """The cell as plain Python; IPython-only syntax needs the host's shell."""
        transformed = self.shell.transform_cell(cell)
        for number, (before, after) in enumerate(
                zip(cell.splitlines(), transformed.splitlines()), start=1):
            if before != after:
                raise UsageError(
                    f'line {number} uses IPython syntax ({before.strip()!r}), which a '
                    f'worker cannot run; move it to a normal cell or use --engine host')
        return cell

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
            hidden = self.shell.user_ns_hidden
            names = sorted(n for n in resolved.reads if n in namespace and n not in hidden)
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
            %interp timeline             a Gantt chart of recent cells, one lane per worker
            %interp channel NAME [--capacity N]   create a Channel called NAME here

        Examples
        --------
        ::

            In [1]: %interp channel results --capacity 10

            In [2]: %interp status
            Out[2]:
            worker  state  cell  elapsed  cells run
            #0      idle                  3
        """
        words = shlex.split(line)
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
        waiting = [b for b in self._background if not b.done()
                   and (not args.names or set(args.names) & set(b.run.worker_names()))]
        if not waiting:
            which = f' on {", ".join(args.names)}' if args.names else ''
            raise UsageError(f'nothing to wait for: no --bg cell is running{which}')
        try:
            for background in waiting:
                while not background.wait(0.1):
                    pass
        except KeyboardInterrupt:
            for background in waiting:
                background.run.interrupt()
            for background in waiting:
                background.wait(SETTLE)
            raise
        self._background = [b for b in self._background if not b.done()]

    def _interp_interrupt(self, rest):
        args = self._parse('interrupt', rest, (('name',), {'nargs': '?', 'default': None}))
        if args.name is None:
            if self._pool is not None:
                self._pool.interrupt()
            for background in self._background:
                if HOST in background.run.worker_names():
                    background.run.interrupt()
            return
        try:
            self.pool.interrupt(args.name)
        except InterpkernelError as exc:
            raise UsageError(str(exc)) from None

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
        self.close()
        self._background = []
        print('[interp] every worker closed; a fresh pool starts with the next cell')

    def _interp_pool(self, rest):
        args = self._parse('pool', rest, (('size',), {'type': int}))
        if args.size < 1:
            raise UsageError(f'the pool needs at least 1 worker, got {args.size}')
        self.pool_size = args.size
        if self._pool is not None:
            self._pool.resize(args.size)

    def _interp_timeline(self, rest):
        self._parse('timeline', rest)
        cells = []
        for run in self._recent:
            state = run.state()
            for future in run.futures:
                t = future.timings
                cells.append((future.label, state, t.worker, t.queued, t.started,
                              t.finished if future.done() else None))
        cells += [cell[:6] for cell in self._kernel_cells() if cell[3] is not None]
        if not cells:
            raise UsageError('no %%interp cell has run yet: the timeline is empty')
        return Timeline(cells, time.perf_counter())

    def _interp_channel(self, rest):
        args = self._parse('channel', rest, (('name',), {}),
                           (('--capacity',), {'type': int, 'default': 0}))
        if not args.name.isidentifier():
            raise UsageError(f'the channel name must be a Python identifier, got {args.name!r}')
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
        return []

    def _worker_names(self):
        if self._pool is None:
            return []
        return [w.name for w in self._pool.workers if w.named]
