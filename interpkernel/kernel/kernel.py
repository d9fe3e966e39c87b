"""The interp kernel: notebook cells run in parallel, with the results of running them in order.

An ipykernel `IPythonKernel` whose execute_requests do not wait for each other
(ipykernel serialises them with a lock in ``shell_main``).  Each request runs
as its own asyncio task, in its own context (so its parent header routes its
output).  This module is the protocol glue: it parses each cell (IPython's
transformer first, then `dataflow.analysis`), decides whether it must run in
the host interpreter (IPython syntax, a barrier, a module that refuses
subinterpreters), and hands it to the `dataflow.scheduler.Scheduler`, which
orders it, places it where its data lives and runs it.
"""

import ast
import asyncio
import concurrent.futures
import contextlib
import contextvars
import itertools
import linecache
import logging
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections import deque
from contextvars import copy_context
from typing import NamedTuple

import IPython
from IPython.core.formatters import DisplayFormatter
from ipykernel.ipkernel import IPythonKernel
from traitlets import Dict, Integer, Type

from .. import __version__, cluster, load_ipython_extension, probe, tracebacks
from .._core import execution, output, transfer, values, versioned
from .._core.protocol import AutoreloadSettings
from .._core.refusal import refuses_subinterpreters
from ..dataflow import analysis
from ..dataflow.effects import state_name
from ..dataflow.scheduler import Scheduler
from ..engine import HOST
from ..errors import EngineLost
from ..host import HostEngine
from ..log import log as package_log
from ..magics.cluster import ClusterCells
from ..pool import SubinterpreterEngine
from ..probe import fails_in_workers, probe_import
from . import _ipykernel
from .shell import CellCompiler, HistoryUpToNow, InterpShell, ResetMagics
from .streams import CellStreams
from .timed import timed_code

__all__ = ['InterpKernel']

# %interp reports read no variables: they need not wait for the cells they report on.
_REPORT = re.compile(r'\s*%interp\s+(status|timeline)\s*$')
# Names IPython keeps in the user namespace itself.
_IPYTHON_OWN = frozenset({'In', 'Out', '_ih', '_oh', '_dh', 'get_ipython', 'exit', 'quit'})
_COMPLETION_LIMIT = 50 << 20   # bytes a completion may bring into the host
_FINISHED_KEPT = 1000           # finished cells %interp status and timeline still show
# The states a cell had better change in the host (see _host_preferred).
_PROCESS_OUTPUT = state_name('output')
_COUNTS_BEFORE_RUNNING = IPython.version_info[0] >= 9    # IPython 8 counts a cell after it
_IMPORT_PATH = state_name('sys.path')


class InterpKernel(IPythonKernel):
    """Python 3 (interp): independent cells run at once, on different cores."""

    implementation = 'interpkernel'
    implementation_version = __version__
    banner = ('interpkernel: cells run in parallel subinterpreters, with the results of '
              'running them in order')
    shell_class = Type(InterpShell)
    compiler_class = Type(CellCompiler)

    workers = Integer(None, allow_none=True, help="""
        Subinterpreter workers for cells (default: the CPU cores this process may
        use).""").tag(config=True)
    spare_workers = Integer(None, allow_none=True, help="""
        Extra workers a cell may run in while cells in other workers are blocked
        in a wait (time.sleep, a channel) and use no core; each is started when
        first needed and stopped once idle (default: as many as `workers`).""").tag(config=True)
    max_workers = Integer(None, allow_none=True, help="""
        The most workers, and the most spare workers, the kernel accepts (default:
        4 per core, at least 64): a guard against a typo starting thousands of
        interpreters.""").tag(config=True)
    cluster = Dict(default_value=None, allow_none=True, help="""
        An ipyparallel cluster whose engines run the cells that cannot run in a
        subinterpreter but need no more than a process (those using numpy, pandas
        ...), in parallel, instead of the host.  {'n': 4} starts a local cluster
        of 4 engines with the kernel (other keys: 'profile', 'timeout' and
        ipyparallel.Cluster's settings); {'url_file': F}, {'cluster_id': ID} or
        {'connect': True, 'profile': P} attaches to a running one.  Cells that
        would go there while it starts wait for it.  Needs
        `pip install interpkernel[cluster]`.""").tag(config=True)

    def __init__(self, **kwargs):
        _ipykernel.check()
        super().__init__(**kwargs)
        self._engine = None
        self._scheduler = None
        self._tasks = set()
        self._turns = _Turns()       # execute_requests submit their cells in turn
        self._executing = 0          # execute_requests not replied to yet
        self._interrupts = 0         # SIGINTs so far
        self._epochs = {}            # msg_id -> _interrupts when its request came in
        self._host_notes = set()
        self._parents = {}          # cell seq -> parent header, while it runs
        self._host_results = {}     # execution count -> IPython's ExecutionResult
        self._requests = {}         # execution count -> its `_Request`, until it has run
        self._running_programs = set()   # execution counts of cells in the host to run one
        # File names of the code whose lines workers were given (or need not be): the
        # cells', and what host cells compiled (see _share_host_code).
        self._code_files_seen = set()
        self._cell_files = None          # the directory ipykernel names cells' code in
        self._replying = {}         # msg_id -> its cell, until finish_metadata reports it
        self._finished = deque(maxlen=_FINISHED_KEPT)   # report rows of finished cells
        self._last_error = None     # (execution count, exception) of the latest failed cell
        self._cluster = None        # the ClusterCells attached to the dataflow, if any
        self._cluster_starting = None   # future of the configured cluster, until attached
        signal.signal(signal.SIGINT, self._on_sigint)
        _log_to_the_kernels_stderr()
        self.shell.loop_runner = _CellsLoop()
        self._host_count = None     # the execution count of the host cell running, if any
        self.shell.events.register('pre_execute', self._count_as_ipython)

    @property
    def scheduler(self):
        if self._scheduler is None:
            self._start_scheduler()
        return self._scheduler

    def _start_scheduler(self):
        output.quiet_progress_bars()    # workers take their warning filters from here
        namespace = self.shell.user_ns
        # Requests run concurrently, each in a copy of the context; host cells
        # share one, as cells of a sequential session do.
        host = HostEngine(namespace, self._run_host_cell, self._keeps, format_result=False,
                          context=contextvars.Context(), defer=_call_soon)
        for name, value in namespace.items():   # what the host held before any cell
            if not self._keeps(name) and not name.startswith('_'):
                host.store.put((name, 0), value)
        self._engine = SubinterpreterEngine(
            self.workers, self.spare_workers, max_size=self.max_workers,
            raise_limit='raise InterpKernel.max_workers (--InterpKernel.max_workers=N)')
        if self.cluster is not None:
            # It starts alongside the workers; cells go there once it is in.
            self._cluster_starting = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix='interpkernel-cluster').submit(_open_cluster, self.cluster)
        self._scheduler = Scheduler(self._engine, host, initial=self._initial,
                                    host_only_type=self._host_only_type,
                                    cluster_takes=_cluster_takes, on_refusal=_refused_in_a_worker,
                                    history=self._history, on_note=self._note,
                                    host_needed=self._shows_otherwise,
                                    host_preferred=self._host_preferred,
                                    frame_depth=_ipykernel.CELL_FRAME_DEPTH,
                                    autoreload=self._autoreload_settings,
                                    on_finished=lambda cell: self._finished.append(
                                        _report_row(cell)))

    def _autoreload_settings(self):
        """What IPython's ``%autoreload`` asks of worker cells now, or None if it is off."""
        magics = self.shell.magics_manager.registry.get('AutoreloadMagics')
        reloader = getattr(magics, '_reloader', None)   # where the extension keeps them
        if reloader is None or not reloader.enabled:
            return None
        return AutoreloadSettings(bool(reloader.check_all), tuple(reloader.modules),
                                  tuple(reloader.skip_modules))

    def _shows_otherwise(self, cell):
        """Why `cell` must run in the host: IPython's ``ast_node_interactivity``
        (as the cells before it left it) shows other results of it than its last
        expression, all a worker shows; else None."""
        mode = self.shell.ast_node_interactivity
        if mode != 'last_expr' and _shown_otherwise(cell.source, mode):
            return (f'InteractiveShell.ast_node_interactivity is {mode!r}: IPython shows '
                    f'its results')
        return None

    def _host_preferred(self, cell):
        """Why `cell` had better run in the host, else None:

        - it writes to the process's file descriptors 1 and 2 (a program it
          runs, os.write), which ipykernel's capture, in the host, passes on to
          the cell running there, in order with its prints;
        - it changes the import path: the kernel finds out in the host whether
          a later cell's imports load in a worker.

        (Changing in place, or reading, a value that must stay in its worker, it
        runs there: what a program prints may then show in another cell.)
        """
        if _PROCESS_OUTPUT in cell.resolved.writes_state:
            self._running_programs.add(cell.count)
            return ('it may write to the standard output of the process (a program it '
                    'runs), which the host passes on')
        if _IMPORT_PATH in cell.resolved.writes_state:
            return ('it changes sys.path, where the kernel looks for what later cells '
                    'import')
        return None

    def _keeps(self, name):
        return versioned.is_dunder(name) or name in _IPYTHON_OWN

    def _initial(self, name):
        store = self.scheduler.host.store
        return values.describe(store.get((name, 0))) if (name, 0) in store else None

    @staticmethod
    def _host_only_type(module):
        top = module.partition('.')[0]
        if top.isidentifier() and top not in ('builtins', '__main__') and \
                refuses_subinterpreters(probe_import(top)):
            return f'it is a {top} object, and {top} refuses subinterpreters'
        return None

    def _history(self, name, count):
        """IPython's input history names, as cell `count` sees them: ``In`` and
        ``_ih`` the code run (magics turned into calls), ``_i``, ``_i5`` ... the
        code as typed."""
        history = self.shell.history_manager
        if name in ('In', '_ih'):
            return True, list(history.input_hist_parsed[:count + 1])
        inputs = history.input_hist_raw
        back = {'_i': 1, '_ii': 2, '_iii': 3}.get(name)
        if back is not None:
            index = count - back
            return True, inputs[index] if 0 < index < len(inputs) else ''
        number = int(name[2:])
        return (True, inputs[number]) if 0 < number <= count else (False, None)

    def start(self):
        super().start()
        # input() and getpass in host cells ask the frontend, as in ipykernel.
        _ipykernel.forward_input(self)
        try:
            self.scheduler   # workers boot in the background now, so the first cells find them ready
        except ValueError as exc:   # a worker count out of range: each cell says so
            self.log.error('%s', exc)
        # So does the interpreter the first cell's imports are probed in.
        threading.Thread(target=probe.prepare, name='interpkernel-probe', daemon=True).start()
        threading.Thread(target=tracebacks.warm_up, name='interpkernel-tracebacks',
                         daemon=True).start()
        # %interp status / timeline show this kernel's workers and dataflow.
        # Registered directly, not through the extension manager: a notebook's own
        # `%load_ext interpkernel` then loads quietly, as on ipykernel.
        load_ipython_extension(self.shell)
        self.shell.magics_manager.registry['InterpMagics'].attach_kernel(
            lambda: self._engine.workers, self._dataflow_cells, self._use_cluster)
        self.shell.register_magics(ResetMagics(self.shell, self._results_shown),
                                   HistoryUpToNow(self.shell))
        self.shell.Completer.custom_matchers.append(self._complete_names)
        # Of a formatter of its own: IPython makes the shell's formatters when first
        # used, with the %config given by then (`%config PlainTextFormatter.max_seq_length
        # = 5` in a first cell applies, as on ipykernel).
        self._display_defaults = _display_settings(DisplayFormatter(parent=self.shell))

    def _results_shown(self):
        """The counts of the results in ``Out`` for the host cell running now."""
        return self.scheduler.results_shown_before(self.shell.displayhook.count)

    def _dataflow_cells(self):
        """Each cell as %interp reports it (see InterpMagics.attach_kernel): the last
        finished ones (the graph forgets a cell once nothing depends on it), then
        those still going."""
        return [*self._finished, *(_report_row(c) for c in self.scheduler.graph.cells.values()
                                   if not c.done)]

    # -- concurrency --

    async def shell_main(self, subshell_id, msg):
        if subshell_id is None and len(msg) > 1 and self._is_execute_request(msg):
            task = asyncio.create_task(_ipykernel.dispatch_concurrently(self, msg),
                                       context=copy_context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        await super().shell_main(subshell_id, msg)

    def _is_execute_request(self, msg):
        try:
            return _ipykernel.message_type(self, msg) == 'execute_request'
        except (ValueError, TypeError, KeyError, IndexError):
            # Unsigned, wrongly signed, malformed, or a replay that came right behind its
            # original (before that one's signature was recorded): dispatch_shell logs
            # and drops it, as ipykernel does, instead of an exception escaping here.
            return False

    async def execute_request(self, stream, ident, parent):
        _with_required(parent, 'code')    # ipykernel drops a request without code, unanswered
        # dispatch_shell(concurrent=True) leaves the status to us: one busy and
        # one idle per request, for clients that wait for their own idle.
        self._epochs[parent['header']['msg_id']] = self._interrupts
        _ipykernel.publish_status(self, 'busy', parent)
        self._executing += 1
        try:
            await super().execute_request(stream, ident, parent)
        finally:
            self._epochs.pop(parent['header']['msg_id'], None)
            self._executing -= 1
            _ipykernel.publish_status(self, 'idle', parent)
            if self._executing:
                # Frontends show the last status they saw, whatever its parent:
                # while other cells run, the kernel is still busy.
                _ipykernel.publish_status(self, 'busy', None)

    def _on_sigint(self, signum, frame):
        """The kernel's interrupt: every running cell stops, every waiting one is aborted,
        and so is every request that came in before it and is not a cell yet."""
        self._interrupts += 1
        if self._scheduler is not None:
            self._scheduler.interrupt()
        if self._scheduler is not None and self._scheduler.host.status(HOST).busy:
            raise KeyboardInterrupt

    def do_shutdown(self, restart):
        if self._cluster_starting is not None:
            self._attach_started_cluster()     # to stop it below
        if self._cluster is not None:
            self._cluster.close()       # stops the cluster if it was started for this kernel
            self._cluster = None
        if self._engine is not None:
            self._engine.close()
            self._engine = self._scheduler = None
        return super().do_shutdown(restart)

    # -- one cell --

    async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                         allow_stdin=False, *, cell_meta=None, cell_id=None):
        return await self._execute_cell(code, silent, store_history, user_expressions,
                                        allow_stdin)

    def _abort_queues(self, subshell_id=None):
        if subshell_id is None and _ipykernel.aborting_begun():
            return      # begun before the reply went out (see _ipykernel.begin_aborting)
        super()._abort_queues(subshell_id)

    async def _execute_cell(self, code, silent, store_history, user_expressions,
                            allow_stdin=False):
        parent = self.get_parent('shell')
        count = self.shell.execution_count
        problem = _request_problem(code, user_expressions)
        if problem is not None:
            if not silent and parent['content'].get('stop_on_error', True):
                # Before the reply, as for a failed cell: a request sent once the
                # reply is out is not caught by the abort that follows it.
                _ipykernel.begin_aborting(self)
            return self._error_reply(problem, count, parent)
        if not code or code.isspace():
            # IPython runs nothing and numbers nothing; ipykernel replies with the
            # number before. (Expressions asked for are evaluated as for any cell.)
            if not user_expressions:
                return {'status': 'ok', 'execution_count': count - 1, 'payload': [],
                        'user_expressions': {}}
            store_history = False
        numbered = store_history and not silent
        if numbered:   # now: ipykernel announced the cell under this number as it arrived
            self.shell.execution_count += 1
        turn = self._turns.join()     # now too, so that turns follow the order of arrival
        try:
            await turn.begin()
            if turn.aborted:
                return {'status': 'aborted'}
            reply = await self._execute_in_turn(code, silent, numbered, user_expressions,
                                                allow_stdin, count, parent, turn)
            if reply['status'] == 'error' and not silent and \
                    parent['content'].get('stop_on_error', True):
                # The requests come in after it that are not cells yet (the
                # scheduler aborts those that are) are aborted too, as ipykernel does.
                self._turns.abort_after(turn)
                _ipykernel.begin_aborting(self)
                # The requests after it announced themselves (execute_input) as they
                # came in; those messages go out before this reply, so that a frontend
                # that clears the cells after a failed one does not see them numbered
                # after it cleared them (the IOPub thread lags behind under load).
                _ipykernel.flush_iopub(self)
            return reply
        finally:
            turn.end()

    async def _execute_in_turn(self, code, silent, numbered, user_expressions, allow_stdin,
                               count, parent, turn):
        # Everything up to scheduler.submit runs in this request's turn, so
        # cells are recorded in the order their requests arrived.
        shell = self.shell
        try:
            source = shell.transform_cell(code)
        except SyntaxError:
            source = code
        if numbered:
            shell.history_manager.store_inputs(count, source, code)
        label = f'In[{count}]'
        # A cell that is one %time is a cell of its code, timed where it runs.
        timed = None if silent else timed_code(shell, source)
        uses_ipython = timed is None and _uses_ipython(code, source)
        try:
            effects = analysis.analyse(source if timed is None else timed.body,
                                       f'<cell {label}>', self._scheduler.compile_flags
                                       if self._scheduler is not None else 0)
        except SyntaxError:
            effects = None
        if effects is None:
            # IPython reports it exactly as ipykernel would (outside the except
            # clause, so that no "during handling" chain shows); nothing runs.
            return self._reply(self._run_in_host(code, count, silent), count, user_expressions)
        host = self._host_reason(uses_ipython, effects, silent)
        any_process_will_do, first_imports = False, ()
        if host is None:
            host, any_process_will_do, first_imports = await _import_placement(effects)
        if self._cluster_starting is not None and self._cluster_starting.done():
            self._attach_started_cluster(parent)
        barrier = effects.barrier
        if host is not None and (silent or uses_ipython) and not _REPORT.match(code):
            barrier = barrier or host   # it may touch any name
        try:
            scheduler = self.scheduler
        except ValueError as exc:   # InterpKernel.workers ... out of range: no worker can start
            return self._error_reply(exc, count, parent)
        filename = None
        if host is None:
            # Named as ipykernel names a cell's code (warnings show that name) and
            # put in linecache: the host shows a worker cell's failure, as IPython
            # shows its own (``Cell In[3], line 2``).
            filename = self.shell.compile.cache(source, count, raw_code=code)
            self._code_files_seen.add(filename)    # the scheduler sends its lines itself
        cell = None
        self._requests[count] = _Request(code, allow_stdin)   # until it has run, anywhere
        try:
            hook = self.shell.displayhook      # its limit as the cells before left it
            scheduler.set_output_cache_size(hook.cache_size if hook.do_full_cache else 0)
            cell = scheduler.submit(count, label, code if host else source, effects,
                                    filename=filename, host=host, barrier=barrier,
                                    any_process_will_do=any_process_will_do,
                                    first_imports=first_imports, timed=timed)
            if turn.aborted or self._epochs.get(parent['header']['msg_id'],
                                                self._interrupts) != self._interrupts:
                cell.abort()    # an earlier cell failed, or an interrupt came, since it arrived
            turn.end()
            self._parents[cell.seq] = parent
            if self._cluster_starting is not None and \
                    (any_process_will_do or uses_ipython):
                # Cells that may use it (magics: %interp cluster ...) wait for it.
                await self._cluster_started(parent)
            held = []   # the worker's result, shown once the cell has ended
            streams = self._cell_streams(parent)

            async def show_result(cell, outcome):
                # Before the cell counts as finished: a later %precision or %tb waits for it.
                if outcome.status == 'error':
                    self._remember_error(count, cell.where, outcome.error)
                streams.flush()     # what it printed, before its result and reply
                if cell.result_name in cell.versions:    # before the result, as IPython
                    await self._cull_output_history(cell, streams)
                if held:
                    await self._show_result(cell, held.pop(), parent, count)

            try:
                outcome = await scheduler.run(cell, self._publisher(parent, count, held,
                                                                    streams), show_result)
            finally:
                streams.flush()
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise
        except BaseException as exc:
            self.log.exception('%s failed in the kernel itself', label)
            return self._error_reply(exc, count, parent)
        finally:
            self._requests.pop(count, None)
            self._running_programs.discard(count)
            if cell is not None:
                self._parents.pop(cell.seq, None)
                if cell.done:
                    self._replying[parent['header']['msg_id']] = cell
        if outcome.status == 'aborted':
            # As ipykernel: an aborted cell has no execution count to show.
            return {'status': 'aborted'}
        if cell.where == HOST:
            self._note_host(cell)
            reply = self._reply(self._host_results.pop(count, None), count, user_expressions,
                                outcome)
        elif outcome.status == 'error':
            if filename is not None:
                # A later cell with the same code took its name meanwhile: the
                # traceback names this cell, as ipykernel's would.
                self.shell.compile.cache(source, count, raw_code=code)
            reply = self._error_reply(outcome.error, count, parent)
        else:
            reply = {'status': 'ok', 'execution_count': count, 'payload': [],
                     'user_expressions': {}}
        if reply['status'] == 'error' and parent['content'].get('stop_on_error', True):
            scheduler.abort_after(cell)
        if reply['status'] == 'ok' and user_expressions:
            reply['user_expressions'] = await self._user_expressions(cell, user_expressions)
        return reply

    def finish_metadata(self, parent, metadata, reply_content):
        """Add the cell's dataflow under ``interp``: where it ran, what it waited for, when."""
        metadata = super().finish_metadata(parent, metadata, reply_content)
        cell = self._replying.pop(parent['header']['msg_id'], None)
        if cell is not None:
            metadata['interp'] = {
                'cell': cell.label, 'state': cell.state,
                'ran_on': cell.where or ('host' if cell.host else None),
                'waited_for': [[other.label, why] for other, why in cell.waited_for],
                'host_reason': cell.host or (cell.host_preferred if cell.where == HOST else None),
                'queued': cell.queued, 'started': cell.started, 'ended': cell.ended}
        return metadata

    def _host_reason(self, uses_ipython, effects, silent):
        """Why the cell must run in the host itself, or None."""
        if silent:
            return 'it is a silent request'
        if uses_ipython:
            return 'it uses IPython syntax (magics or shell commands)'
        return effects.barrier

    # -- the cluster --

    async def _cluster_started(self, parent):
        """Wait, without holding up the kernel, for the cluster of `c.InterpKernel.cluster`
        to start; then attach it (see `_attach_started_cluster`)."""
        starting = self._cluster_starting
        await asyncio.wait([asyncio.wrap_future(starting)])
        if self._cluster_starting is starting:     # not attached by another cell meanwhile
            self._attach_started_cluster(parent)

    def _attach_started_cluster(self, parent=None):
        """Attach the cluster of `c.InterpKernel.cluster` (waiting for its start to end); if
        it could not start, say so in the kernel's log and in `parent`'s output."""
        starting, self._cluster_starting = self._cluster_starting, None
        try:
            cells = starting.result()
        except Exception as exc:   # noqa: BLE001 - any failure to start is told, not raised
            text = (f'the cluster of c.InterpKernel.cluster did not start ({_one_line(exc)}); '
                    f'cells that refuse subinterpreters run in the host')
            self.log.error('%s', text)
            if parent is not None:
                self._send_iopub('stream', {'name': 'stderr', 'text': f'[interp] {text}\n'},
                                 parent)
            return
        self._use_cluster(cells)
        self.shell.magics_manager.registry['InterpMagics'].adopt_cluster(cells)
        self.log.info('%s', cells.describe())

    def _use_cluster(self, cells):
        """`cells` (`ClusterCells`) was attached: cells that need a process may run on its
        engines from now on; or (None) the attached one is about to stop: what only its
        engines hold comes into the host first."""
        if cells is None:
            lost = self._scheduler.detach_cluster() if self._scheduler is not None else []
            if lost:
                print(f'[interp] {", ".join(lost)} could not come from the cluster and '
                      f'{"is" if len(lost) == 1 else "are"} lost (see the kernel log)')
            self._cluster = None
        else:
            self.scheduler.attach_cluster(cells.engine)
            self._cluster = cells

    async def _user_expressions(self, cell, expressions):
        """Evaluate user_expressions in the host, with the values they name fetched."""
        for name in _identifiers(' '.join(expressions.values())):
            await self._fetch(name)
        return self.shell.user_expressions(expressions)

    # -- the host interpreter --

    def _run_host_cell(self, source, label, namespace, flags, code_name, timed_at):
        """The host engine's way to run a cell: IPython's own ``run_cell``, its
        compiler given the ``__future__`` flags cells run anywhere turned on
        (and naming the code `code_name` itself).  (`timed_at` is 0: the host
        runs a ``%time`` cell whole, and IPython times it.)"""
        self.shell.compile.flags |= flags
        count = int(label[3:-1])
        request = self._requests.get(count)
        _ipykernel.allow_stdin(self, request is not None and request.allow_stdin)
        # The cell as it came (a cell the scheduler sent here later has its
        # transformed source): IPython names its code, as warnings show, by it.
        source = request.code if request is not None else source
        # What comes to file descriptors 1 and 2 meanwhile is this cell's output, and
        # shows before its result and its reply, as on ipykernel.
        streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, _ipykernel.OutStream)]
        runs_programs = count in self._running_programs

        def wait_for_process_output():
            for stream in streams:
                stream.wait_for_process_output(settle=runs_programs)

        self.shell.displayhook.before_result = wait_for_process_output
        try:
            with contextlib.ExitStack() as passing:
                for stream in streams:
                    passing.enter_context(stream.passing_process_output(settle=runs_programs))
                result = self._run_in_host(source, count, False)
        finally:
            self.shell.displayhook.before_result = None
        self._share_host_code()
        if self.shell.displayhook.take_flushed():
            self.scheduler.output_history_cleared(count)
        self._host_results[count] = result
        error = result.error_before_exec or result.error_in_exec
        shown = (result.result,) if result.result is not None and error is None else None
        return shown, error

    def _share_host_code(self):
        """Give the workers the lines of the code host cells compiled (a cell, or one
        a magic ran itself): a function defined there that moves to a worker shows
        them there (in warnings, a printed traceback, inspect.getsource)."""
        compiler = self.shell.compile
        if self._cell_files is None:
            self._cell_files = os.path.dirname(compiler.get_code_name('', '', 0)) + os.sep
        for filename, entry in list(linecache.cache.items()):
            if filename.startswith(self._cell_files) and filename not in self._code_files_seen \
                    and len(entry) == 4:
                self._code_files_seen.add(filename)
                named = compiler.format_code_name(filename)
                self.scheduler.share_source(filename, named[1] if named else filename,
                                            ''.join(entry[2]))

    def _run_in_host(self, code, count, silent):
        shell = self.shell
        try:
            transformed = shell.transform_cell(code)
        except Exception:   # noqa: BLE001 - run_cell reports it, as on ipykernel
            transformed = None
        if transformed is not None:
            # ipykernel asks this before run_cell asks it again: each compiles the
            # cell under '<>', so its SyntaxWarnings show twice as '<>:LINE: ...'.
            shell.should_run_async(code, transformed_cell=transformed,
                                   preprocessing_exc_tuple=None)
        following = shell.execution_count
        shell.execution_count = shell.displayhook.count = self._host_count = count
        # What IPython looks for a closing `;` in: the cell as transformed (its
        # leading indent taken off, magics made calls), as history keeps it.
        shell.displayhook.source = transformed if transformed is not None else code
        try:
            # As deep in the stack as ipykernel runs it (the host engine runs a cell
            # from the bottom): recursion in the cell runs out where it does there.
            return execution.call_at_depth(_ipykernel.RUN_CELL_DEPTH, shell.run_cell, code,
                                           store_history=False, silent=silent)
        finally:
            shell.displayhook.count = shell.displayhook.source = self._host_count = None
            shell.execution_count = max(following, shell.execution_count)

    def _count_as_ipython(self):
        """Once IPython has taken a host cell's number (it names its code ``In[n]``
        with it), count it as IPython's run_cell does: IPython 9 counts a cell
        before running it (``get_ipython().execution_count`` is then n + 1, and a
        ``run_cell`` of the cell's own names its code after that)."""
        if self._host_count is not None and _COUNTS_BEFORE_RUNNING:
            self.shell.execution_count = self._host_count + 1

    def _reply(self, result, count, user_expressions, outcome=None):
        # What the cell asked the frontend for (the pager of `obj?`, set_next_input ...).
        payload = self.shell.payload_manager.read_payload()
        self.shell.payload_manager.clear_payload()
        if result is None:    # it never ran: the scheduler refused it
            return self._error_reply(outcome.error if outcome else {}, count,
                                     self.get_parent('shell'))
        if result.success:
            return {'status': 'ok', 'execution_count': count, 'payload': payload,
                    'user_expressions': {}}
        error = result.error_before_exec or result.error_in_exec
        return {'status': 'error', 'execution_count': count, 'ename': type(error).__name__,
                'evalue': str(error), 'traceback': _ipykernel.last_traceback(self.shell)}

    def _note_host(self, cell):
        """Say once per reason (in the kernel's log) which cells run in the host.

        Not as cell output: a notebook must show what it shows on ipykernel.
        """
        reason = cell.host
        if reason is None or reason in self._host_notes:
            return
        self._host_notes.add(reason)
        self.log.info('%s runs in the host interpreter, not a subinterpreter: %s '
                      '(said once per reason)', cell.label, reason)

    def _note(self, cell, text):
        """Tell the user about a cell, in its own output (or the log once it is gone)."""
        self.log.warning('%s', text)
        parent = self._parents.get(cell.seq)
        if parent is not None:
            self._send_iopub('stream', {'name': 'stderr', 'text': f'[interp] {text}\n'}, parent)

    # -- values the host needs --

    async def _fetch(self, name):
        """Bring the latest version of `name` into the host namespace, if it can come."""
        if self._scheduler is None:
            return    # no cell ran yet (or the workers could not start): nothing to bring
        writer = self._scheduler.graph.latest_writer(name)
        if writer is None or not writer.done or name not in writer.versions:
            return
        version = writer.versions[name]
        if version.size <= _COMPLETION_LIMIT:
            found = await self._in_host(version)
            if found:
                self.shell.user_ns[name] = found[0]

    async def _in_host(self, version):
        """``(value,)`` of `version`, brought into the host if it is not there; () if it
        cannot come."""
        scheduler = self.scheduler
        if HOST in version.homes:
            return (scheduler.host.store.get(version.key),)
        if version.unmovable or not version.homes:
            return ()
        source = sorted(version.homes)[0]
        try:
            report = await asyncio.wrap_future(
                scheduler.engine(source).export(source, [version.key]))
        except EngineLost:
            return ()
        if not report.values:
            return ()
        value = transfer.decode(report.values[0][1], self.shell.user_ns)
        scheduler.host.store.put(version.key, value)
        version.homes.add(HOST)
        return (value,)

    async def _cull_output_history(self, cell, streams):
        """As IPython's display hook does before it stores a result: once ``Out``
        holds ``cache_size`` results, the oldest go (IPython's own `cull_cache`
        decides which, and its warning is shown in `cell`)."""
        hook, user_ns = self.shell.displayhook, self.shell.user_ns
        if not hook.do_full_cache:
            return
        shown = await self.scheduler.results_before_settled(cell, hook.cache_size)
        if len(shown) < hook.cache_size:
            return
        held, counted = user_ns.get('_oh'), dict.fromkeys(shown)
        user_ns['_oh'] = counted

        def show_warning(message, category, filename, lineno, file=None, line=None):
            streams.write('stderr', warnings.formatwarning(message, category, filename,
                                                           lineno, line))

        # Python's filters decide whether its warning shows (once, by default), as
        # on ipykernel; shown, it goes to this cell's output.
        saved, warnings.showwarning = warnings.showwarning, show_warning
        try:
            hook.cull_cache()
        finally:
            user_ns['_oh'], warnings.showwarning = held, saved
        streams.flush()
        self.scheduler.cull_results(cell, [count for count in shown if count not in counted])

    def _remember_error(self, count, where, error):
        """Leave the error of the latest cell, in submission order, that failed in
        ``sys.last_exc`` (and ``last_type``, ``last_value``, ``last_traceback``), as
        running in order does: ``%tb`` shows it, and cells reading it run here.
        A worker's error is there as a stand-in (`tracebacks.stand_in`)."""
        if where == HOST:
            exception = getattr(sys, 'last_exc', None)    # IPython's, as it showed it
        else:
            exception = tracebacks.stand_in(error.get('interp_chain', ()) if error else ())
        if exception is None:
            return
        if self._last_error is not None and self._last_error[0] > count:
            count, exception = self._last_error     # a later cell's came first
        self._last_error = (count, exception)
        sys.last_exc = sys.last_value = exception
        sys.last_type, sys.last_traceback = type(exception), exception.__traceback__

    async def _show_result(self, cell, shown, parent, count):
        """Publish `cell`'s result: `shown`, the worker's formatting, unless the host's
        display settings differ from a fresh shell's (``%precision``, a registered
        formatter); then as the host's IPython formats it, if the value can come here."""
        version = cell.versions.get(cell.result_name) if cell.result_name else None
        custom = _display_settings(self.shell.display_formatter) != self._display_defaults
        found = await self._in_host(version) if custom and version is not None else ()
        # Notebook code shows itself where it was made: here its globals may be missing.
        if found and not _holds_notebook_objects(found[0]):
            data, metadata = self.shell.display_formatter.format(found[0])
            shown = {'execution_count': count, 'data': data, 'metadata': metadata}
        if 'text/plain' in shown['data']:   # for %history -o, as IPython's display hook logs it
            self.shell.history_manager.output_hist_reprs[count] = shown['data']['text/plain']
        self._send_iopub('execute_result', shown, parent)

    def _complete_names(self, completer, text):
        """Names cells made in workers, for IPython's completer (which sees the host only)."""
        if not text or '.' in text or self._scheduler is None:
            return []
        return sorted(name for name in self._scheduler.graph.names()
                      if name.startswith(text) and not name.startswith('<'))

    async def complete_request(self, stream, ident, parent):
        _with_required(parent, 'code', 'cursor_pos')
        await super().complete_request(stream, ident, parent)

    async def inspect_request(self, stream, ident, parent):
        _with_required(parent, 'code', 'cursor_pos')
        await super().inspect_request(stream, ident, parent)

    async def is_complete_request(self, stream, ident, parent):
        _with_required(parent, 'code')
        await super().is_complete_request(stream, ident, parent)

    async def do_history(self, hist_access_type=None, output=False, raw=False, session=0,
                         start=0, stop=None, n=None, pattern=None, unique=False):
        problem = _history_problem(hist_access_type, session=session, start=start, stop=stop,
                                   n=n, pattern=pattern)
        if problem is not None:
            return _error_content(problem)
        return super().do_history(hist_access_type, output, raw, session, start, stop, n,
                                  pattern, unique)

    async def do_complete(self, code, cursor_pos):
        problem = _cursor_problem(code, cursor_pos)
        if problem is not None:
            return _error_content(problem)
        for name in _identifiers(code[:cursor_pos])[-3:]:
            await self._fetch(name)
        return super().do_complete(code, cursor_pos)

    async def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        problem = _cursor_problem(code, cursor_pos)
        if problem is None and detail_level not in (0, 1):
            problem = ValueError(f'detail_level must be 0 or 1, got {detail_level!r:.40}')
        if problem is not None:
            return _error_content(problem)
        for name in _identifiers(code[:cursor_pos + 1])[-3:]:
            await self._fetch(name)
        return super().do_inspect(code, cursor_pos, detail_level, omit_sections)

    def do_is_complete(self, code):
        if not isinstance(code, str):
            return _error_content(TypeError(
                f'the code of an is_complete_request must be a string, got {_kind(code)}'))
        return super().do_is_complete(code)

    # -- output --

    def _publisher(self, parent, count, held, streams):
        """Send a worker's events to the cell's frontend, from any thread: its text
        through `streams` (`CellStreams`), its result into `held`, for
        `_show_result` (on the kernel's loop, where the shell's display settings
        can be read safely).
        """
        def publish(event):
            if event.msg_type == 'error':
                return   # published with the reply
            content = dict(event.content)
            if event.msg_type == 'stream':
                streams.write(content['name'], content['text'])
                if content.get('flushed'):   # the cell flushed it: sent now, as ipykernel does
                    streams.flush(content['name'])
            elif event.msg_type == 'execute_result':
                content['execution_count'] = count
                held.append(content)
            else:
                streams.flush(then=lambda: self._send_iopub(event.msg_type, content, parent))
        return publish

    def _cell_streams(self, parent):
        return CellStreams(lambda name, text: self._send_iopub(
            'stream', {'name': name, 'text': text}, parent), asyncio.get_running_loop())

    def _send_iopub(self, msg_type, content, parent):
        self.session.send(self.iopub_socket, msg_type, content, parent=parent,
                          ident=self._topic(msg_type))

    def _error_reply(self, error, count, parent):
        if isinstance(error, dict):
            content = dict(error)
            # A worker's failure, shown as IPython shows its own (the plain text otherwise).
            chain = content.pop('interp_chain', ())
            try:
                shown = tracebacks.structured_traceback(self.shell, chain)
            except Exception:   # noqa: BLE001 - the reply must go out; the plain text still says it
                self.log.exception('could not format the traceback of In[%s] with IPython', count)
                shown = None
            if shown is not None:
                content['traceback'] = shown
        else:
            content = _error_content(error)
        self._send_iopub('error', content, parent)
        return dict(content, status='error', execution_count=count)


class _Turns:
    """Execute requests submit their cells one at a time, in the order they arrived,
    and the event loop runs what it has queued between two of them: under Run All,
    a worker's report of a finished cell waits behind one request's analysis, not
    behind those of every request still coming in."""

    def __init__(self):
        self._last = None     # the turn joined last
        self._waiting = {}    # turns joined that have not ended, by serial
        self._serials = itertools.count()

    def join(self):
        """The next turn (call it as the request arrives, before any await)."""
        turn = _Turn(next(self._serials), self._last, self._waiting)
        self._last = self._waiting[turn.serial] = turn
        return turn

    def abort_after(self, turn):
        """Abort the turns joined after `turn` that have not ended."""
        for serial, waiting in self._waiting.items():
            if serial > turn.serial:
                waiting.aborted = True


class _Turn:
    def __init__(self, serial, previous, waiting):
        self.serial, self._waiting = serial, waiting
        self._previous = previous.ended if previous is not None else None
        self.ended = asyncio.get_running_loop().create_future()
        self.aborted = False

    async def begin(self):
        """Wait for the turn: after what the event loop has queued, and after the
        turn before has ended (however it ended)."""
        await asyncio.sleep(0)
        if self._previous is not None:
            # wait(), not await: this request cancelled must not cancel the turn before.
            await asyncio.wait((self._previous,))

    def end(self):
        self._waiting.pop(self.serial, None)
        if not self.ended.done():
            self.ended.set_result(None)


def _with_required(parent, *keys):
    """Set the `keys` a request's content lacks to None (JSON's null): the handler
    then replies that they are wrong, where ipykernel's raises KeyError and
    sends no reply."""
    content = parent.get('content')
    if isinstance(content, dict) and not all(key in content for key in keys):
        parent['content'] = {**dict.fromkeys(keys), **content}


def _kind(value):
    return 'null' if value is None else type(value).__name__


def _request_problem(code, user_expressions):
    """The TypeError an execute_request's content deserves, or None."""
    if not isinstance(code, str):
        return TypeError(f'the code of an execute_request must be a string, got {_kind(code)}')
    if user_expressions is not None and not (
            isinstance(user_expressions, dict) and
            all(isinstance(e, str) for e in user_expressions.values())):
        return TypeError(f'user_expressions must be a dict of names to expression strings, got '
                         f'{user_expressions!r:.60}; nothing ran')
    return None


# Modules whose cells and values may go to a cluster engine instead of the host:
# what they do stays in the engine's process (matplotlib's figures, by contrast,
# show through the host's IPython).
CLUSTER_MODULES = frozenset({'numpy', 'scipy', 'pandas'})


class _CellsLoop:
    """IPython's loop runner for host cells with top-level ``await``.

    A host cell runs from a callback of the kernel's event loop, where IPython's
    own runner fails ("This event loop is already running"). The cell's code
    runs instead on an event loop of the cells' own, kept from cell to cell as a
    kernel's one loop is (a queue or a task a cell leaves bound to it works in
    the next), with the kernel's loop set aside meanwhile.  An interrupt cancels
    what the cell awaited: its code does not go on in a later cell.
    """

    def __init__(self):
        self._loop = None

    def __call__(self, coroutine):
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        # asyncio's functions for loop implementations (events.__all__): the
        # kernel's loop is running in this thread, and another cannot run until
        # it is set aside.
        outer = asyncio._get_running_loop()
        asyncio._set_running_loop(None)
        try:
            task = self._loop.create_task(coroutine)
            try:
                return self._loop.run_until_complete(task)
            except BaseException:
                if not task.done():
                    task.cancel()
                    self._loop.run_until_complete(asyncio.wait([task]))
                raise
        finally:
            asyncio._set_running_loop(outer)


def _call_soon(function):
    """The host engine's cells run from the loop's bottom, as ipykernel's do."""
    asyncio.get_running_loop().call_soon(function)


def _cluster_takes(module):
    return module.partition('.')[0] in CLUSTER_MODULES


class _Request(NamedTuple):
    """What an execute_request gave, that running its cell in the host needs."""
    code: str                      # the cell as it came, before IPython's transforms
    allow_stdin: bool


class _ImportPlacement(NamedTuple):
    """What a cell's imports say of where it may run."""
    host: str | None               # why it cannot run in a worker, or None
    any_process_will_do: bool      # a cluster engine may run it instead of the host
    first_imports: tuple           # standard-library modules a worker imports before it


async def _import_placement(effects):
    """The `_ImportPlacement` of a cell: a module refusing subinterpreters, or failing
    in a worker, keeps it out of them (a cluster engine may run it if every such
    module is one of `CLUSTER_MODULES`); standard-library modules are imported by
    its worker before it instead of probed here."""
    reasons, anywhere, first = [], True, []
    for module in (*effects.imports, *effects.submodules):
        if probe.importable_first(module):
            first.append(module)
            continue
        reason = await _fails_in_workers(module)
        if reason is not None:
            refuses = refuses_subinterpreters(reason)
            reasons.append(_refuses(module) if refuses
                           else f'it imports {module}, which cannot be imported in a worker '
                                f'({reason})')
            anywhere = anywhere and refuses and _cluster_takes(module)
    if reasons:
        return _ImportPlacement(reasons[0], anywhere, ())
    return _ImportPlacement(None, False, tuple(first))


async def _fails_in_workers(module):
    if probe.answered(module):   # a dictionary look-up
        return fails_in_workers(module)
    # A probe imports the module in a scratch interpreter (~0.1 s for numpy, more
    # for matplotlib): in a thread, while the event loop takes worker reports.
    return await asyncio.to_thread(fails_in_workers, module)


def _refuses(module):
    return f'it imports {module}, which refuses subinterpreters'


def _refused_in_a_worker(module, reason):
    """A worker found `module` refusing subinterpreters: later cells know it from the
    probe's record; this one must leave the workers."""
    probe.remember(module, reason)
    return _refuses(module)


def _open_cluster(config):
    """Start, or attach to, the cluster `config` (``c.InterpKernel.cluster``) describes:
    its `ClusterCells`."""
    options = dict(config)
    connect = options.pop('connect', False)
    timeout = options.pop('timeout', None)
    began = time.perf_counter()
    attaching = connect or 'url_file' in options or 'cluster_id' in options
    if attaching:
        unknown = sorted(set(options) - {'url_file', 'profile', 'cluster_id'})
        if unknown:
            raise ValueError(f'c.InterpKernel.cluster: {unknown} do not apply to attaching to '
                             f'a running cluster (give url_file, cluster_id or profile)')
        engine = cluster.ClusterEngine.connect(
            options.get('url_file'), profile=options.get('profile'),
            cluster_id=options.get('cluster_id'), timeout=10 if timeout is None else timeout)
    else:
        engine = cluster.ClusterEngine.start(options.pop('n', None),
                                             timeout=60 if timeout is None else timeout,
                                             **options)
    return ClusterCells(engine, started=not attaching, ready_in=time.perf_counter() - began)


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return f'{type(exc).__name__}: {text[0] if text else ""}'


def _report_row(c):
    """A cell as %interp status and timeline show it."""
    return (c.label, c.state, c.where or ('host' if c.host else ''), c.queued, c.started,
            c.ended, _waits(c.waited_for),
            '; '.join(filter(None, [c.host and f'in the host: {c.host}', *c.notes])))


def _waits(waited_for, listed=3):
    """'In[n] (why)' for each cell waited for; more than `listed` cells waited for the
    same reason are one entry, 'In[a], In[b] ... In[z] (N cells: why)'."""
    by_reason = {}
    for other, why in waited_for:
        by_reason.setdefault(why, []).append(other.label)
    shown = []
    for why, labels in by_reason.items():
        if len(labels) <= listed:
            shown += [f'{label} ({why})' for label in labels]
        else:
            shown.append(f'{", ".join(labels[:listed - 1])} ... {labels[-1]} '
                         f'({len(labels)} cells: {why})')
    return shown


def _shown_otherwise(source, mode):
    """Would IPython, with ``ast_node_interactivity = mode``, show other results of
    `source` than the value of its last statement if that is an expression?

    Its modes: 'none'; 'last_expr'; 'last_expr_or_assign' (the value of a
    last ``x = ...`` too); 'last' and 'all', which run the last statement, or
    every one, as Python's interactive prompt does: each expression statement
    in it shows its value, nested in a loop or not.
    """
    try:
        body = analysis.parse(source).body
    except SyntaxError:
        return False
    if not body:
        return False
    last = body[-1]
    if mode == 'none':
        return isinstance(last, ast.Expr)
    if mode == 'last_expr_or_assign':
        targets = last.targets if isinstance(last, ast.Assign) else \
            [last.target] if isinstance(last, (ast.AugAssign, ast.AnnAssign)) else []
        return len(targets) == 1 and isinstance(targets[0], ast.Name)
    interactive = body if mode == 'all' else [last] if mode == 'last' else []
    return any(isinstance(inner, ast.Expr) for node in interactive if node is not last
               or not isinstance(node, ast.Expr) for inner in ast.walk(node))


def _display_settings(display_formatter):
    """What decides how a shell's `display_formatter` shows a result: each formatter's
    printers (by the type's module and name, wherever IPython keeps them) that are
    not IPython's own, and the text formatter's settings.

    IPython's own are left out, and a formatter's printers not read yet are not
    made here: the text formatter makes its defaults when they are first read, with a
    printer for numpy's float64 (which ``%precision`` then rounds) if numpy is
    imported by then, as on ipykernel."""
    settings = [display_formatter.active_types]
    for kind, formatter in sorted(display_formatter.formatters.items()):
        printers = {(getattr(t, '__module__', None), getattr(t, '__qualname__', repr(t))): f
                    for t, f in _ipykernel.custom_printers(formatter, 'type_printers')}
        printers.update(_ipykernel.custom_printers(formatter, 'deferred_printers'))
        singletons = _ipykernel.custom_printers(formatter, 'singleton_printers')
        settings.append((kind, formatter.enabled, printers,
                         {id(key): f for key, f in singletons}))
    text = display_formatter.formatters['text/plain']
    settings.append((text.pprint, text.float_precision, text.max_width, text.max_seq_length,
                     text.verbose, text.newline))
    return settings


def _holds_notebook_objects(value, limit=1000):
    """Is `value`, or an item of the containers in it (the first `limit` looked at),
    an object of a class or a function the notebook defined?"""
    pending, seen = [value], 0
    while pending and seen < limit:
        item = pending.pop()
        seen += 1
        kind = item if isinstance(item, type) else type(item)
        if kind.__module__ == '__main__' or getattr(item, '__module__', None) == '__main__':
            return True
        if isinstance(item, dict):
            pending.extend(itertools.islice(itertools.chain(item.keys(), item.values()), limit))
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(itertools.islice(item, limit))
    return False


def _log_to_the_kernels_stderr():
    """The runtime's warnings (a worker that could not start ...) go to the kernel's
    own stderr, as ipykernel's do: unhandled, they would reach ``sys.stderr``,
    which sends to whichever cell writes now."""
    if not package_log.handlers:
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(logging.Formatter('[interpkernel] %(levelname)s | %(message)s'))
        package_log.addHandler(handler)
        package_log.propagate = False


def _uses_ipython(code, source):
    """Did IPython's transformers turn `code` into calls on the shell?"""
    return 'get_ipython()' in source and 'get_ipython()' not in code


def _identifiers(text):
    return re.findall(r'[A-Za-z_]\w*', text)


def _cursor_problem(code, cursor_pos):
    """What is wrong with a completion or inspection request (ipykernel sends no
    reply at all for these), or None."""
    if not isinstance(code, str):
        return TypeError(f'code must be a string, got {_kind(code)}')
    if type(cursor_pos) is not int or not 0 <= cursor_pos <= len(code):
        return ValueError(f'cursor_pos must be an int from 0 to {len(code)} (the length of '
                          f'the code), got {cursor_pos!r:.40}')
    return None


def _history_problem(access, **fields):
    """What is wrong with a history request's fields (IPython would raise, or
    take the history database for corrupt and move it aside), or None."""
    if access not in ('range', 'tail', 'search'):
        return ValueError(f"hist_access_type must be 'range', 'tail' or 'search', "
                          f'got {access!r:.40}')
    for name, value in fields.items():
        wanted = str if name == 'pattern' else int
        nullable = name in ('stop', 'n', 'pattern')
        if not (type(value) is wanted or value is None and nullable):
            kind = 'a string' if wanted is str else 'an int'
            return TypeError(f'{name} must be {kind}{" or null" if nullable else ""}, '
                             f'got {value!r:.40}')
    return None


def _error_content(exc):
    """The content of an error reply to a request that ran nothing."""
    return {'status': 'error', 'ename': type(exc).__name__, 'evalue': str(exc),
            'traceback': [f'{type(exc).__name__}: {exc}']}
