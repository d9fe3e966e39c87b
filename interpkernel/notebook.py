"""Running a whole notebook the way JupyterLab's "Run All" does.

"Run All" sends every code cell's execute_request at once and lets the kernel
order them; `Kernel.run_all` does the same over the Jupyter protocol, with a
real kernel started by jupyter_client, and collects each cell's outputs (in
nbformat's shape) and timings.  On ipykernel the cells run one after another;
on the interp kernel independent cells run at the same time, and each reply
says where its cell ran and what it waited for.  `Kernel.ask` evaluates
expressions in the kernel without adding a cell to the notebook.
"""

import datetime
import queue
import re
import tempfile
import time
from dataclasses import dataclass, field

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

from .kernel.install import KERNEL_NAME, kernel_spec

__all__ = ['CellRun', 'CellDataflow', 'Kernel', 'KernelSpecs', 'run_all', 'comparable',
           'kernel_names']

SETTLE = 5.0           # seconds an interrupted run gets to report its cells' ends
_STARTUP_TIMEOUT = 60  # seconds a kernel gets to answer its first kernel_info_request
TIMELINE = "get_ipython().run_line_magic('interp', 'timeline')"


@dataclass
class CellRun:
    """One code cell of a run: its outputs, reply, and when it was busy (epoch seconds)."""
    source: str
    outputs: list = field(default_factory=list)
    reply: dict | None = None
    metadata: dict = field(default_factory=dict)   # the reply's
    busy: float | None = None
    idle: float | None = None
    clear_pending: bool = False   # clear_output(wait=True): clear at the next output

    @property
    def dataflow(self):
        """Its `CellDataflow` if the interp kernel ran it, else None."""
        interp = self.metadata.get('interp')
        return None if interp is None else CellDataflow.from_reply(interp)

    @property
    def count(self):
        """Its execution count, or None (no reply, or none given)."""
        return (self.reply or {}).get('execution_count')

    @property
    def status(self):
        """'ok', 'error', 'aborted', or 'unfinished' (no reply yet)."""
        return (self.reply or {}).get('status', 'unfinished')


@dataclass(frozen=True)
class CellDataflow:
    """Where an interp kernel cell ran and what it waited for, as the kernel reports it.

    Attributes:
        ran_on: the worker (``#0`` ...) or ``host``.
        waited_for: (label, why) per cell it waited for: ``('In[1]', 'reads work')``.
        note: why it ran in the host, and what else the kernel said of it, or ''.
        started, ended: when it ran, in seconds on the kernel's clock (None if it did not).
    """
    ran_on: str
    waited_for: tuple
    note: str
    started: float | None
    ended: float | None

    @classmethod
    def from_reply(cls, interp):
        """From the ``interp`` metadata of the interp kernel's execute_reply."""
        note = f"in the host: {interp['host_reason']}" if interp['host_reason'] else ''
        return cls(interp['ran_on'] or '-', tuple(map(tuple, interp['waited_for'])), note,
                   interp['started'], interp['ended'])

    @property
    def ran(self):
        """Seconds it ran, or None."""
        return None if self.started is None or self.ended is None else self.ended - self.started


class KernelSpecs(KernelSpecManager):
    """Jupyter's kernelspecs, and the interp kernel of this Python if none is installed."""

    def get_kernel_spec(self, kernel_name):
        try:
            return super().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            if kernel_name != KERNEL_NAME:
                raise
            return KernelSpec(resource_dir='', **kernel_spec())


def kernel_names():
    """The kernels `Kernel` can start, sorted."""
    return sorted({*KernelSpecManager().find_kernel_specs(), KERNEL_NAME})


class Kernel:
    """A kernel started for one run by jupyter_client; close it (or use ``with``).

    Args:
        name: the kernel's name (see `kernel_names`); the interp kernel needs
            no installed kernelspec.
        cwd: the kernel's working directory, as Jupyter does it: the notebook's
            folder (default: this process's).

    Raises NoSuchKernel if there is no kernel called `name`, RuntimeError if
    it does not start.
    """

    def __init__(self, name, cwd=None):
        self.name = name
        self.manager = KernelManager(kernel_name=name, kernel_spec_manager=KernelSpecs())
        self._log = tempfile.TemporaryFile('w+')   # the kernel's own stdout and stderr
        try:
            self.manager.start_kernel(stdout=self._log, stderr=self._log, cwd=cwd)
        except BaseException:
            self._log.close()
            raise
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=_STARTUP_TIMEOUT)
            info = self.client.kernel_info(reply=True, timeout=_STARTUP_TIMEOUT)
        except (RuntimeError, TimeoutError) as exc:
            tail = ' / '.join(self.log_tail())
            self.close()
            raise RuntimeError(f'the kernel {name!r} did not start ({exc}): {tail}') from None
        except BaseException:
            self.close()
            raise
        self.implementation = info['content'].get('implementation', '')

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        self._log.close()

    @property
    def is_interp(self):
        """Is it the interp kernel (whatever its kernelspec is called)?"""
        return self.implementation == 'interpkernel'

    def log_tail(self, lines=5):
        """The last `lines` lines the kernel process wrote."""
        self._log.seek(0)
        return self._log.read().splitlines()[-lines:]

    def submit(self, notebook, stop_on_error=True):
        """Send every code cell at once, as "Run All"; return msg_id -> CellRun.

        As in JupyterLab, an error aborts the cells after it unless the failing
        cell is tagged ``raises-exception`` (or stop_on_error is False).
        """
        runs = {}
        for cell in notebook.cells:
            if cell.cell_type == 'code':
                allowed = 'raises-exception' in cell.metadata.get('tags', [])
                # No one answers input() here: it fails, as under nbclient.
                msg_id = self.client.execute(cell.source, allow_stdin=False,
                                             stop_on_error=stop_on_error and not allowed)
                runs[msg_id] = CellRun(cell.source)
        return runs

    def collect(self, runs, timeout, on_done=None):
        """Record messages until every cell in `runs` replied and went idle.

        Calls ``on_done(run)`` as each cell ends.  Raises TimeoutError if they
        have not after `timeout` s, RuntimeError if the kernel died.
        """
        deadline = time.monotonic() + timeout
        pending_replies, pending_idle = set(runs), set(runs)
        while pending_replies or pending_idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f'{len(pending_replies)} cells did not finish in time')
            if not self.manager.is_alive():
                raise RuntimeError(f'the kernel {self.name!r} died: '
                                   + ' / '.join(self.log_tail()))
            try:
                reply = self.client.get_shell_msg(timeout=0.01)
            except queue.Empty:
                pass
            else:
                msg_id = reply['parent_header'].get('msg_id')
                if msg_id in runs:
                    runs[msg_id].reply, runs[msg_id].metadata = reply['content'], reply['metadata']
                    pending_replies.discard(msg_id)
                    if msg_id not in pending_idle and on_done:
                        on_done(runs[msg_id])
            while True:
                try:
                    message = self.client.get_iopub_msg(timeout=0.01)
                except queue.Empty:
                    break
                msg_id = message['parent_header'].get('msg_id')
                if msg_id in runs and _record(runs, runs[msg_id], message):
                    pending_idle.discard(msg_id)
                    if msg_id not in pending_replies and on_done:
                        on_done(runs[msg_id])

    def run_all(self, notebook, *, timeout=120, stop_on_error=True):
        """Submit every code cell of `notebook` at once; return a CellRun per code cell.

        With stop_on_error=False no error aborts the cells after it.  Raises
        TimeoutError if the cells have not all replied within `timeout` s.
        """
        runs = self.submit(notebook, stop_on_error)
        self.collect(runs, timeout)
        return list(runs.values())

    def interrupt(self):
        """Interrupt the kernel, as JupyterLab's stop button does."""
        self.manager.interrupt_kernel()

    def ask(self, expressions):
        """Evaluate `expressions` (name -> Python expression) in the kernel, in a silent request.

        Returns name -> the value's mimebundle, for the expressions that did
        not fail.  Nothing is added to the notebook or its history.
        """
        reply = self.client.execute('', silent=True, store_history=False,
                                    user_expressions=expressions, reply=True,
                                    timeout=_STARTUP_TIMEOUT)['content']
        return {name: result['data'] for name, result in reply.get('user_expressions', {}).items()
                if result.get('status') == 'ok'}


def run_all(notebook, kernel_name, *, timeout=120, stop_on_error=True, cwd=None):
    """Start `kernel_name` (in directory `cwd`), run every code cell of `notebook`
    at once, stop it.

    See `Kernel.run_all`.
    """
    with Kernel(kernel_name, cwd=cwd) as kernel:
        return kernel.run_all(notebook, timeout=timeout, stop_on_error=stop_on_error)


# ipykernel names a cell's code (its warnings show that name) with its process id.
_CELL_FILE_PROCESS = re.compile(r'(?<=ipykernel_)\d+(?=[/\\])')


def comparable(outputs):
    """Outputs as comparable tuples: streams merged, errors by name and value,
    the process id in cells' file names (``/tmp/ipykernel_<pid>/...``) left out."""
    result = []
    for output in outputs:
        kind = output['output_type']
        if kind == 'stream':
            text = _CELL_FILE_PROCESS.sub('<pid>', output['text'])
            if result and result[-1][:2] == ('stream', output['name']):
                result[-1] = ('stream', output['name'], result[-1][2] + text)
            else:
                result.append(('stream', output['name'], text))
        elif kind == 'error':
            result.append(('error', output['ename'], output['evalue']))
        else:
            result.append((kind, dict(output['data'])))
    return result


def _record(runs, run, message):
    """Apply one iopub message to its cell; True when the cell went idle."""
    msg_type, content = message['msg_type'], message['content']
    if msg_type == 'status':
        sent = _seconds(message['header']['date'])   # the kernel's clock, not our polling's
        if content['execution_state'] == 'busy' and run.busy is None:
            run.busy = sent
        elif content['execution_state'] == 'idle':
            run.idle = sent
            return True
    elif msg_type == 'clear_output':
        if content.get('wait'):     # as frontends do: clear when the next output comes
            run.clear_pending = True
        else:
            run.outputs.clear()
    elif msg_type == 'update_display_data':
        display_id = content.get('transient', {}).get('display_id')
        for other in runs.values():
            for output in other.outputs:
                if output.get('metadata', {}).get('_display_id') == display_id:
                    output['data'], output['metadata'] = content['data'], dict(
                        content['metadata'], _display_id=display_id)
    elif msg_type in ('stream', 'display_data', 'execute_result', 'error'):
        if run.clear_pending:
            run.outputs.clear()
            run.clear_pending = False
        output = nbformat.v4.output_from_msg(message)
        display_id = content.get('transient', {}).get('display_id')
        if display_id:
            output['metadata']['_display_id'] = display_id
        run.outputs.append(output)
    return False


def _seconds(date):
    """A message's date as a POSIX time.  jupyter_client gives a datetime, but a
    string once ipyparallel's client was imported in this process (it turns
    jupyter_client's date parsing off for everyone)."""
    if isinstance(date, str):
        date = datetime.datetime.fromisoformat(date)
    return date.timestamp()
