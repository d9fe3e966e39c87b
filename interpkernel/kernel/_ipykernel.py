"""The parts of ipykernel 7.4 the interp kernel relies on beyond its public API.

Everything here touches ipykernel or IPython internals, so it lives in one
place (as `_core._xi` does for the interpreter layer), and `check` fails
loudly, naming what changed, if an ipykernel release moves them:

- ``Kernel.shell_main`` serialises requests under an asyncio lock;
  ``dispatch_shell(msg, concurrent=True)`` runs one without it and leaves its
  busy/idle status to the caller (``_publish_status``);
- a shell's ``_last_traceback`` holds the formatted traceback of the last
  error, which the execute_reply carries (ipykernel reads it the same way);
- the display hook's ``update_user_ns`` sets ``_``, ``__``, ``___``, ``_N``
  and ``Out`` after each shown result, and its ``prompt_count`` numbers the
  result, and ``quiet`` looks for a ``;`` in the last cell submitted:
  `shell.InterpShell` overrides all three;
- an ``OutStream`` keeps what was written in ``_buffers`` until its IO thread
  sends it, with ``_flush_pending`` (and ``_subprocess_flush_pending``) set
  meanwhile: `OutStream` reads them to skip a flush with nothing to send;
- an ``OutStream`` that watches its file descriptor (1 or 2) reads it from the
  pipe ``_fid`` in a thread of its own, which writes what it reads with the
  stream's global parent header (the ``parent_header`` setter sets it):
  `OutStream.passing_process_output` points it at the host cell running,
  `OutStream.wait_for_process_output` waits for the pipe to empty;
- ``IPythonKernel._forward_input`` points ``input`` and ``getpass`` at the
  kernel's ``raw_input``/``getpass``, which ask the request's frontend, or
  raise StdinNotImplementedError, as the kernel's ``_allow_stdin`` says;
  ipykernel sets it around each cell, `allow_stdin` sets it here for each host
  cell (cells of several requests are in flight at once);
- the kernel's ``iopub_thread`` (an ``IOPubThread``) sends what is published in
  the order its ``schedule`` queue says: `flush_iopub` waits for what was
  queued before;
- ``Kernel._abort_queues(subshell_id)``, called once a failed request's reply
  is out, aborts the requests queued until a "stop aborting" message it
  posts comes through: `begin_aborting` calls it before the reply instead
  (see there);
- the stack under a cell's code (`CELL_FRAME_DEPTH`);
- IPython's formatters make their printers when first read, from
  ``IPython.lib.pretty``'s tables (``_type_pprinters`` ...), the text
  formatter's float printers in ``_type_printers_default`` (`custom_printers`).
"""

import contextlib
import contextvars
import fcntl
import inspect
import struct
import termios
import threading
import time

from ipykernel import iostream
from ipykernel.displayhook import ZMQShellDisplayHook
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelbase import Kernel
from ipykernel.zmqshell import ZMQInteractiveShell
from IPython.core.formatters import PlainTextFormatter
from IPython.lib import pretty

__all__ = ['CELL_FRAME_DEPTH', 'RUN_CELL_DEPTH', 'check', 'custom_printers',
           'dispatch_concurrently', 'message_type', 'publish_status', 'last_traceback',
           'OutStream', 'begin_aborting', 'aborting_begun', 'flush_iopub', 'forward_input',
           'allow_stdin']

# How deep in ipykernel's main thread (``python -m ipykernel_launcher``) its shell's
# run_cell runs: under it runpy's 2 frames, the launcher's module, launch_instance,
# the app's start, tornado's and asyncio's loop (4), shell_main, dispatch_shell,
# execute_request twice and do_execute.  The host runs it as deep.
RUN_CELL_DEPTH = 15
# How deep a cell's code runs there: IPython's 7 frames from run_cell to the code
# lie between.  Workers run a cell this deep.  So recursion runs out where it does
# on ipykernel (a test checks both against a real ipykernel).
CELL_FRAME_DEPTH = RUN_CELL_DEPTH + 7

# Set in the context of a request that called `begin_aborting`.
_aborting_begun = contextvars.ContextVar('interpkernel_aborting_begun', default=False)


def message_type(kernel, msg):
    """The msg_type of a raw shell message, without deserialising its content."""
    _, frames = kernel.session.feed_identities(msg, copy=False)
    return kernel.session.deserialize(frames, content=False, copy=False)['header']['msg_type']


def dispatch_concurrently(kernel, msg):
    """The coroutine handling `msg` without waiting for the requests before it."""
    return kernel.dispatch_shell(msg, concurrent=True)


def publish_status(kernel, state, parent):
    """Publish busy or idle for one request (concurrent dispatch leaves it to us);
    with no `parent`, for the kernel as a whole."""
    if parent:
        kernel._publish_status(state, 'shell', parent=parent)
    else:
        kernel.session.send(kernel.iopub_socket, 'status', {'execution_state': state},
                            parent=None, ident=kernel._topic('status'))


def flush_iopub(kernel, timeout=1.0):
    """Wait (at most `timeout` s) until the IOPub thread has sent the messages
    published so far."""
    thread = kernel.iopub_thread
    if thread is None or thread.thread is None or not thread.thread.is_alive():
        return
    sent = threading.Event()
    thread.schedule(sent.set)
    sent.wait(timeout)


def begin_aborting(kernel):
    """Abort the requests queued behind the failed one being answered, from now
    until the kernel has read those already sent: call before its reply goes out.

    ipykernel starts this only after sending the reply.  A client that sends its
    next request as soon as it reads the reply (nbclient, a test) could then
    see it aborted, when the kernel's threads ran in that order; started before
    the reply, the window closes before the client can send anything new.
    The request's own later call is then skipped (`aborting_begun`).
    """
    _aborting_begun.set(True)
    Kernel._abort_queues(kernel, None)


def aborting_begun():
    """Did the request being handled (its context) call `begin_aborting`?"""
    return _aborting_begun.get()


def forward_input(kernel):
    """From now on, ``input()`` and ``getpass.getpass()`` in the host ask the frontend
    of the request whose cell calls them (see `allow_stdin`)."""
    IPythonKernel._forward_input(kernel, False)


def allow_stdin(kernel, allowed):
    """Whether the request whose cell runs in the host next lets it ask for input."""
    kernel._allow_stdin = bool(allowed)


def custom_printers(formatter, trait):
    """(key, printer) of `formatter`'s `trait` (a dict of printers) that are not
    IPython's defaults: none while the formatter has not made them (reading them
    would make them now, and the text formatter's then lack numpy's float64
    printer if numpy is imported later)."""
    if not formatter.trait_has_value(trait):
        return []
    defaults = {'type_printers': pretty._type_pprinters,
                'deferred_printers': pretty._deferred_type_pprinters,
                'singleton_printers': pretty._singleton_pprinters}[trait]
    return [(key, printer) for key, printer in getattr(formatter, trait).items()
            if defaults.get(key) is not printer and not _float_printer(printer)]


def _float_printer(printer):
    """The text formatter's own printer of floats (and numpy's float64), which
    follows its float_precision (compared apart)."""
    return getattr(printer, '__qualname__', '').startswith(
        f'{PlainTextFormatter.__qualname__}._type_printers_default.')


def last_traceback(shell):
    """The formatted traceback of the last error the shell showed."""
    return getattr(shell, '_last_traceback', None) or []


class OutStream(iostream.OutStream):
    """ipykernel's stdout/stderr, whose flush returns at once when nothing waits to be sent.

    ipykernel flushes both streams twice per execute_request, and each flush
    blocks the kernel's loop until the IO thread answers (about 1 ms).  Worker
    cells never write to these streams, so with many cells in flight those
    empty flushes held up every other request.
    """

    def flush(self):
        if self._flush_pending or self._subprocess_flush_pending or self._buffers:
            super().flush()

    _behind_programs = None   # the thread whose writes come after what programs wrote
    _written_behind = 0.0     # when it last wrote (time.monotonic())

    @contextlib.contextmanager
    def passing_process_output(self, settle):
        """While the block runs, send what comes to this stream's file descriptor (a
        program's output) to the cell the calling thread writes for, as ipykernel
        sends it to the cell it runs; at its end, wait until it is passed on.
        With `settle` (a cell that runs programs), what the thread writes waits
        for what came before it there."""
        self.parent_header = self.parent_header   # the thread's, made the global one too
        if settle:
            self._behind_programs = threading.get_ident()
        try:
            yield
        finally:
            self._behind_programs = None
            self.wait_for_process_output(settle)

    def write(self, string):
        if self._behind_programs == threading.get_ident():
            # Settled only after a pause long enough to run a program: a loop that
            # prints line after line waits once, not a millisecond per line.
            now = time.monotonic()
            self.wait_for_process_output(settle=now - self._written_behind > _PROGRAM_TIME)
            self._written_behind = time.monotonic()
        return super().write(string)

    def wait_for_process_output(self, settle, timeout=1.0):
        """Wait (at most `timeout` s) until the watcher has passed on what was written
        to this stream's file descriptor so far; with `settle`, also what it may
        have read last and not written yet (a millisecond more)."""
        if self._fid is None:    # not watched: it goes where the descriptor goes
            return
        deadline = time.monotonic() + timeout
        while _unread(self._fid) and time.monotonic() < deadline:
            time.sleep(0.001)
        if settle:    # the GIL given up, it writes that now
            time.sleep(0.001)


_PROGRAM_TIME = 0.001   # seconds: less than any program takes to start and end


def _unread(fd):
    """How many bytes wait in pipe `fd`."""
    return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0\0\0\0'))[0]


def check():
    """Raise RuntimeError naming what moved if ipykernel no longer offers the above."""
    problems = []
    dispatch = inspect.signature(Kernel.dispatch_shell)
    if 'concurrent' not in dispatch.parameters:
        problems.append('Kernel.dispatch_shell has no concurrent= parameter')
    shell_main = inspect.signature(Kernel.shell_main)
    if list(shell_main.parameters)[1:] != ['subshell_id', 'msg']:
        problems.append(f'Kernel.shell_main takes {list(shell_main.parameters)[1:]}')
    publish = getattr(Kernel, '_publish_status', None)
    if not callable(publish):
        problems.append('Kernel._publish_status is gone')
    elif list(inspect.signature(publish).parameters)[1:4] != ['status', 'channel', 'parent']:
        problems.append(f'Kernel._publish_status takes {list(inspect.signature(publish).parameters)[1:]}')
    hook = ZMQShellDisplayHook.__mro__[1]
    if not {'update_user_ns', 'prompt_count', 'quiet', 'semicolon_at_end_of_expression'} <= \
            set(vars(hook)):
        problems.append("IPython's DisplayHook lacks update_user_ns, prompt_count or quiet")
    if '_showtraceback' not in vars(ZMQInteractiveShell):
        problems.append('ZMQInteractiveShell no longer formats tracebacks in _showtraceback')
    forward = getattr(IPythonKernel, '_forward_input', None)
    if not callable(forward) or '_allow_stdin' not in Kernel.raw_input.__code__.co_names:
        problems.append('IPythonKernel._forward_input is gone, or raw_input no longer reads '
                        '_allow_stdin')
    abort = getattr(Kernel, '_abort_queues', None)
    if not callable(abort) or list(inspect.signature(abort).parameters)[1:] != ['subshell_id']:
        problems.append('Kernel._abort_queues(subshell_id) is gone')
    if not callable(getattr(iostream.IOPubThread, 'schedule', None)):
        problems.append('IOPubThread.schedule is gone')
    names = set(iostream.OutStream.__init__.__code__.co_names)
    if not {'_flush_pending', '_subprocess_flush_pending', '_buffers', '_fid'} <= names:
        problems.append('OutStream no longer keeps _buffers, _flush_pending, '
                        '_subprocess_flush_pending and _fid')
    watcher = getattr(iostream.OutStream, '_watch_pipe_fd', None)
    if watcher is None or not {'_fid', 'write'} <= set(watcher.__code__.co_names):
        problems.append("OutStream._watch_pipe_fd no longer passes on its pipe's output with "
                        'write()')
    if not all(isinstance(getattr(pretty, table, None), dict) for table in (
            '_type_pprinters', '_deferred_type_pprinters', '_singleton_pprinters')) or \
            '_type_printers_default' not in vars(PlainTextFormatter):
        problems.append("IPython's formatters no longer make their printers from "
                        "IPython.lib.pretty's tables in _type_printers_default")
    if problems:
        raise RuntimeError('interpkernel needs ipykernel 7.4 internals that changed: '
                           + '; '.join(problems) + '; pin ipykernel>=7.4,<8')
