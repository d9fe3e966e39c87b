"""The interp kernel: notebook cells run in parallel, with the results of running them in order.

An ipykernel `IPythonKernel` whose execute_requests do not wait for each other
(ipykernel serialises them with a lock in ``shell_main``).  Each request runs
as its own asyncio task, in its own context (so its parent header routes its
output), and goes through:

1. parse and analyse the cell (IPython syntax transformed by IPython itself);
2. choose where it runs: a subinterpreter worker, or the host interpreter when
   it uses IPython syntax or cannot be analysed (a barrier), or imports a
   module that refuses subinterpreters (probed once per module), or reads a
   value that cannot leave the host;
3. record it in the `Dataflow` in submission order, wait for the earlier cells
   whose values it reads, and take *their* versions of those values;
4. run it, publishing its output live to its own cell, and reply.
"""

import asyncio
import dataclasses
import re
import signal
import time
import types
from contextvars import copy_context

from ipykernel.ipkernel import IPythonKernel
from traitlets import Integer

from .._core import transfer
from .._core.refusal import refuses_subinterpreters
from ..dataflow import analysis
from ..dataflow.cells import MISSING, Aborted, Dataflow, Unmovable, global_names
from ..errors import DependencyFailed, TransferError
from ..pool import Pool
from ..probe import probe_import

__all__ = ['InterpKernel']

# %interp reports read no variables: they need not wait for the cells they report on.
_REPORT = re.compile(r'\s*%interp\s+(status|timeline)\s*$')


class InterpKernel(IPythonKernel):
    """Python 3 (subinterpreters): independent cells run at once, on different cores."""

    implementation = 'interpkernel'
    implementation_version = '0.1.0'
    banner = ('interpkernel: cells run in parallel subinterpreters, with the results of '
              'running them in order')

    workers = Integer(None, allow_none=True, help="""
        Subinterpreter workers for cells (default: the CPU cores this process may
        use).""").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dataflow = Dataflow(self.shell.user_ns)
        self._pool = None
        self._tasks = set()
        self._host_busy = False
        self._host_notes = set()
        signal.signal(signal.SIGINT, self._on_sigint)

    @property
    def pool(self):
        if self._pool is None:
            self._pool = Pool(self.workers)
        return self._pool

    def start(self):
        super().start()
        # Workers boot in the background now, so the first cells find them ready.
        pool = self.pool
        # %interp status / timeline show this kernel's workers and dataflow.
        self.shell.extension_manager.load_extension('interpkernel')
        self.shell.magics_manager.registry['InterpMagics'].attach_kernel(
            pool, self._dataflow_cells)

    def _dataflow_cells(self):
        """Each cell as %interp reports it (see InterpMagics.attach_kernel)."""
        return [(f'In[{r.count}]', r.state, r.where or ('host' if r.host else ''),
                 r.queued, r.started, r.ended,
                 [f'In[{d.count}]' for d in r.waited_for], r.host or '')
                for r in self.dataflow.cells]

    # -- concurrency --

    async def shell_main(self, subshell_id, msg):
        if subshell_id is None and len(msg) > 1 and self._msg_type(msg) == 'execute_request':
            task = asyncio.create_task(self.dispatch_shell(msg, concurrent=True),
                                       context=copy_context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        await super().shell_main(subshell_id, msg)

    def _msg_type(self, msg):
        _, frames = self.session.feed_identities(msg, copy=False)
        return self.session.deserialize(frames, content=False, copy=False)['header']['msg_type']

    async def execute_request(self, stream, ident, parent):
        # dispatch_shell(concurrent=True) leaves the status to us: one per cell.
        self._publish_status('busy', 'shell', parent=parent)
        try:
            await super().execute_request(stream, ident, parent)
        finally:
            self._publish_status('idle', 'shell', parent=parent)

    def _on_sigint(self, signum, frame):
        """The kernel's interrupt: every running cell stops, every waiting one is aborted."""
        for record in self.dataflow.cells:
            if record.state == 'waiting':
                record.abort()
            elif record.future is not None:
                record.future.interrupt()   # cancels it if still queued in the pool
        if self._host_busy:
            raise KeyboardInterrupt

    def do_shutdown(self, restart):
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        return super().do_shutdown(restart)

    # -- one cell --

    async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                         allow_stdin=False, *, cell_meta=None, cell_id=None):
        shell = self.shell
        parent = self.get_parent('shell')
        # Everything up to dataflow.add runs without awaiting, so cells are
        # recorded (and numbered) in the order their requests arrived.
        count = shell.execution_count
        try:
            source = shell.transform_cell(code)
        except SyntaxError:
            source = code
        if store_history and not silent:
            shell.history_manager.store_inputs(count, source, code)
            shell.execution_count += 1
        try:
            effects = analysis.analyse(source, f'<cell In[{count}]>')
        except SyntaxError:
            # IPython reports it exactly as ipykernel would; nothing runs.
            return self._reply(self._run_in_host(code, count, silent), count, user_expressions)
        host = self._host_reason(code, source, effects, silent)
        if silent or _uses_ipython(code, source) and not _REPORT.match(code):
            # It may touch any name: a barrier.
            effects = dataclasses.replace(effects, barrier=effects.barrier or host)
        record = self.dataflow.add(count, effects, host=host)
        try:
            return await self._execute(record, code, source, silent, user_expressions, parent)
        except BaseException as exc:
            # Whatever went wrong, the cell must end: later cells wait on it.
            if not record.finished.done():
                record.finish('failed')
            if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
                raise
            self.log.exception('In[%s] failed in the kernel itself', count)
            return self._error_reply(exc, count, parent)

    async def _execute(self, record, code, source, silent, user_expressions, parent):
        count = record.count
        try:
            inputs = await self._inputs(record)
        except Aborted:
            record.finish('aborted')
            return {'status': 'aborted', 'execution_count': count}
        except (DependencyFailed, TransferError) as exc:
            record.finish('failed')
            return self._error_reply(exc, count, parent)
        if record.host is None:
            record.host = self._host_only_input(inputs)
        if record.host is None:
            reply = await self._run_in_worker(record, source, inputs, parent)
            if reply is not None:
                return self._finish(record, reply, user_expressions)
        self._note_host(record)
        record.state, record.started, record.where = 'running', time.perf_counter(), 'host'
        namespace = self.shell.user_ns
        before = _identities(namespace) if record.effects.barrier else None
        for name, value in inputs.items():
            namespace[name] = value
        result = self._run_in_host(code, count, silent)
        _collect_host_outputs(record, namespace, before)
        # Names it only read go back to their latest version (a later cell's, maybe).
        for name in inputs.keys() - record.outputs.keys():
            latest = self.dataflow.latest_value(name)
            if latest is not MISSING:
                namespace[name] = latest
        return self._finish(record, self._reply(result, count, user_expressions),
                            user_expressions, host=True)

    def _host_reason(self, code, source, effects, silent):
        if silent:
            return 'it is a silent request'
        if _uses_ipython(code, source):
            return 'it uses IPython syntax (magics or shell commands)'
        if effects.barrier is not None:
            return effects.barrier
        for module in effects.imports:
            if refuses_subinterpreters(probe_import(module)):
                return f'it imports {module}, which refuses subinterpreters'
        return None

    async def _inputs(self, record):
        """Wait for the cells `record` reads from; return its input values."""
        names = set(record.effects.reads)
        hidden = self.shell.user_ns_hidden
        while True:
            waiting = [d for d in self.dataflow.dependencies(record, names)
                       if not d.finished.done()]
            record.waited_for.extend(d for d in waiting if d not in record.waited_for)
            if waiting:
                await record.wait_for(waiting)
            values = {}
            for name in names:
                try:
                    value = self.dataflow.value(record, name)
                except Unmovable as stayed:
                    raise TransferError(name, *stayed.args, 'out of the worker') from None
                except LookupError as failed:
                    raise DependencyFailed(name, failed.args[0].count) from None
                if value is not MISSING and name not in hidden:
                    values[name] = value
            # A function reads its globals when called: those are inputs too.
            more = set().union(*(global_names(v) for v in values.values()
                                 if type(v) is types.FunctionType and v.__module__ == '__main__'))
            if more <= names:
                return values
            names |= more

    @staticmethod
    def _host_only_input(inputs):
        """Why an input keeps the cell in the host (its type's module refuses
        subinterpreters), or None."""
        for name, value in inputs.items():
            owner = value.__name__ if isinstance(value, types.ModuleType) else type(value).__module__
            module = str(owner).partition('.')[0]
            if module.isidentifier() and module not in ('builtins', '__main__'):
                if refuses_subinterpreters(probe_import(module)):
                    return f'it reads {name}, a {module} object, which cannot leave the host'
        return None

    async def _run_in_worker(self, record, source, inputs, parent):
        """Run on a worker; None if the cell must run in the host instead."""
        publish = self._publisher(parent, record.count)
        try:
            # Deleted names are asked for too: absent at the end means deleted
            # (a `del` under an `if` may not have happened).
            wanted = list(dict.fromkeys((*record.effects.writes, *record.effects.deletes)))
            future = self.pool.submit(source, inputs, wanted,
                                      label=f'In[{record.count}]', on_event=publish,
                                      strict_outputs=False, rebind_globals=True)
        except TransferError as exc:
            # A value made in the host that cannot move: the cell runs there.
            record.host = f'it reads {exc.name}, which cannot leave the host'
            return None
        record.state, record.started, record.future = 'running', future.timings.queued, future
        try:
            values = await asyncio.wrap_future(future)
        except TransferError as exc:
            if exc.direction == 'into the worker' and 'subinterpreter' in exc.reason:
                # Its inputs could not even be unpacked there: no code of the
                # cell ran, so it runs in the host instead (not twice).
                record.host = f'it reads {exc.name}, which cannot leave the host'
                return None
            return self._error_reply(exc, record.count, parent, future.error)
        except BaseException as exc:
            _note_timings(record, future)
            return self._error_reply(exc, record.count, parent, future.error)
        _note_timings(record, future)
        namespace = self.shell.user_ns
        record.outputs = {n: transfer.rebind_globals(v, namespace) for n, v in values.items()}
        record.deleted = {n for n in record.effects.deletes if n not in values}
        record.unmovable = {name: (type_name, reason)
                            for name, type_name, reason in future.skipped_outputs}
        return {'status': 'ok', 'execution_count': record.count}

    def _finish(self, record, reply, user_expressions, host=False):
        """Apply a finished cell's values to the namespace and complete its reply."""
        if reply['status'] != 'ok':
            record.finish('failed')
            if self.get_parent('shell')['content'].get('stop_on_error', True):
                for later in self.dataflow.abort_after(record):
                    later.abort()
            return reply
        record.finish('done')
        self.dataflow.forget_older_versions(record)
        namespace = self.shell.user_ns
        if not host:
            for name, value in record.outputs.items():
                if self.dataflow.is_latest_writer(record, name):
                    namespace[name] = value
            for name in record.deleted:
                if self.dataflow.is_latest_writer(record, name):
                    namespace.pop(name, None)
        reply.setdefault('user_expressions', self.shell.user_expressions(user_expressions or {}))
        reply.setdefault('payload', [])
        return reply

    # -- the host interpreter --

    def _run_in_host(self, code, count, silent):
        shell = self.shell
        following = shell.execution_count
        shell.execution_count = count
        self._host_busy = True
        try:
            return shell.run_cell(code, store_history=False, silent=silent)
        finally:
            self._host_busy = False
            shell.execution_count = max(following, shell.execution_count)

    def _reply(self, result, count, user_expressions):
        # What the cell asked the frontend for (the pager of `obj?`, set_next_input ...).
        payload = self.shell.payload_manager.read_payload()
        self.shell.payload_manager.clear_payload()
        if result.success:
            return {'status': 'ok', 'execution_count': count, 'payload': payload}
        error = result.error_before_exec or result.error_in_exec
        return {'status': 'error', 'execution_count': count, 'ename': type(error).__name__,
                'evalue': str(error), 'traceback': self.shell._last_traceback or []}

    def _note_host(self, record):
        """Say once per reason (in the kernel's log) which cells run in the host.

        Not as cell output: a notebook must show what it shows on ipykernel.
        """
        reason = record.host
        if reason is None or reason in self._host_notes:
            return
        self._host_notes.add(reason)
        self.log.warning('In[%s] runs in the host interpreter, not a subinterpreter: %s '
                         '(said once per reason)', record.count, reason)

    # -- output --

    def _publisher(self, parent, count):
        """Send a worker's events to the cell's frontend, from any thread."""
        def publish(event):
            if event.msg_type == 'error':
                return   # published with the reply, unless the cell moves to the host
            content = dict(event.content)
            if event.msg_type == 'execute_result':
                content['execution_count'] = count
            self.session.send(self.iopub_socket, event.msg_type, content, parent=parent,
                              ident=self._topic(event.msg_type))
        return publish

    def _error_reply(self, exc, count, parent, content=None):
        content = content or _error_content(exc)
        self.session.send(self.iopub_socket, 'error', content, parent=parent,
                          ident=self._topic('error'))
        return dict(content, status='error', execution_count=count)


def _note_timings(record, future):
    timings = future.timings
    record.where, record.started, record.ended = timings.worker, timings.started, timings.finished


def _uses_ipython(code, source):
    """Did IPython's transformers turn `code` into calls on the shell?"""
    return 'get_ipython()' in source and 'get_ipython()' not in code


def _error_content(exc):
    return {'ename': type(exc).__name__, 'evalue': str(exc),
            'traceback': [f'{type(exc).__name__}: {exc}']}


def _identities(namespace):
    return {name: id(value) for name, value in namespace.items()}


def _collect_host_outputs(record, namespace, before):
    """What a host cell wrote: its static writes, or (barrier) what changed."""
    if before is None:
        names = record.effects.writes
        record.deleted = {n for n in record.effects.deletes if n not in namespace}
    else:
        names = [n for n, value in namespace.items() if before.get(n) != id(value)]
        record.deleted = set(before) - set(namespace)
    record.outputs = {n: namespace[n] for n in names if n in namespace}
