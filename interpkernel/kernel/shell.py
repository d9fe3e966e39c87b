"""The IPython shell the interp kernel runs host cells in.

Three things differ from ipykernel's shell:

- results: cells are numbered when they arrive, not when they run, and
  ``_``, ``__``, ``___``, ``_N`` and ``Out`` follow the order cells were
  submitted in (the dataflow keeps them), so the display hook numbers a
  result with the count the kernel gives it and leaves the namespace alone;
  it tells the kernel when ``%reset`` clears them, and `ResetMagics` counts
  them for ``%reset``'s message;
- shell commands (``!cmd``, ``!!cmd``, ``%sx``, ``%pip``): IPython runs them
  through pexpect, which forks this process, and a forked child of a process
  with subinterpreters aborts on CPython 3.13.  Here they run with
  `subprocess`, which starts the command without running Python in the child,
  on a terminal as pexpect gives it; output still streams live;
- history: cells are stored in it as they arrive, so under Run All it holds
  the cells after the one running; the magics reading it (`HistoryUpToNow`)
  read it as of their cell (`HistoryAsOfCell`).
"""

import codecs
import contextlib
import errno
import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.history import HistoryManager
from IPython.core.magics.code import CodeMagics
from IPython.core.magics.execution import ExecutionMagics
from IPython.core.magics.history import HistoryMagics
from IPython.core.magics.namespace import NamespaceMagics
from IPython.utils.text import LSString, SList
from ipykernel.compiler import XCachingCompiler
from ipykernel.displayhook import ZMQShellDisplayHook
from ipykernel.zmqshell import ZMQInteractiveShell
from traitlets import Type

from ..tracebacks import cell_code_name

__all__ = ['InterpShell', 'CellCompiler', 'ResetMagics']


class CellCompiler(XCachingCompiler):
    """ipykernel's compiler, which also names worker cells' code (``<cell In[3]>``)
    as IPython names its own in tracebacks: ``Cell In[3], line 2``."""

    def format_code_name(self, name):
        return cell_code_name(name) or super().format_code_name(name)


class InterpDisplayHook(ZMQShellDisplayHook):
    """Shows results as ipykernel does, for the host cell running now.

    The kernel sets ``count`` and ``source`` to that cell's execution count and
    code: IPython would number the result from the shell's count and look for
    a ``;`` in the last cell submitted, which with cells running out of order
    is often another cell.  ``before_result``, if set, is called before the
    cell's printed text is sent ahead of its result.
    """

    count = None
    source = None
    before_result = None
    _flushed = False

    def finish_displayhook(self):
        if self.before_result is not None:
            self.before_result()
        super().finish_displayhook()

    @property
    def prompt_count(self):
        return self.count if self.count is not None else super().prompt_count

    def quiet(self):
        if self.source is None:
            return super().quiet()
        return self.semicolon_at_end_of_expression(self.source)

    def update_user_ns(self, result):
        pass   # the dataflow keeps _, __, ___, _N and Out in submission order

    def flush(self):
        """Clear the output history (``%reset``); `take_flushed` then says so, once."""
        super().flush()
        self._flushed = True

    def take_flushed(self):
        """Was the output history cleared since the last call?"""
        flushed, self._flushed = self._flushed, False
        return flushed


class InterpShell(ZMQInteractiveShell):
    """ipykernel's shell with `InterpDisplayHook` and shell commands that do not fork."""

    displayhook_class = Type(InterpDisplayHook)

    def system_piped(self, cmd):
        """Run `cmd` in a shell, its output streamed to the cell as it comes."""
        _refuse_background(cmd)
        exit_code = _stream(self.var_expand(cmd, depth=1))
        self.user_ns['_exit_code'] = exit_code
        if self.system_raise_on_error and exit_code != 0:
            raise subprocess.CalledProcessError(exit_code, cmd)

    system = system_piped

    def init_history(self):
        """IPython's, with a history the magics read as of the cell running."""
        self.history_manager = HistoryAsOfCell(shell=self, parent=self)
        self.configurables.append(self.history_manager)

    def getoutput(self, cmd, split=True, depth=0):
        """The output of `cmd` (stdout and stderr), as IPython's ``!!`` gives it."""
        _refuse_background(cmd)
        done = subprocess.run(self.var_expand(cmd, depth=depth + 1), shell=True,
                              executable=_user_shell(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
        self.user_ns['_exit_code'] = done.returncode
        if self.system_raise_on_error and done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, cmd)
        text = done.stdout.decode(errors='replace')
        return SList(text.splitlines()) if split else LSString(text)


@magics_class
class ResetMagics(Magics):
    """IPython's ``%reset``, which counts the results worker cells showed too.

    `shown_results()` gives the execution counts of the results in ``Out``
    for the host cell running now (the dataflow keeps them, not ``_oh``).
    """

    def __init__(self, shell, shown_results):
        super().__init__(shell)
        self._ipython_reset = NamespaceMagics(shell).reset
        self._shown_results = shown_results

    @line_magic
    def reset(self, parameter_s=''):
        # IPython says "Flushing output cache (N entries)" from the length of
        # _oh: for that while, _oh holds the counts of the results shown.
        user_ns = self.shell.user_ns
        held = user_ns.get('_oh')
        counted = user_ns['_oh'] = dict.fromkeys(self._shown_results())
        try:
            return self._ipython_reset(parameter_s)
        finally:
            if user_ns.get('_oh') is counted:   # a full reset sets IPython's own back
                user_ns['_oh'] = held

    reset.__doc__ = NamespaceMagics.reset.__doc__


class HistoryAsOfCell(HistoryManager):
    """IPython's history, which the magics that read it (`HistoryUpToNow`) read as
    of the cell running: under Run All it holds the cells after it already."""

    _as_of = None     # while a magic reads it: (its cell's count, how many cells came after)

    @contextlib.contextmanager
    def as_of(self, count):
        """Within: the history of this session ends with cell `count`."""
        raw, parsed = self.input_hist_raw, self.input_hist_parsed
        # Nothing stores inputs while a host cell runs (the kernel's loop waits for it).
        self.input_hist_raw, self.input_hist_parsed = raw[:count + 1], parsed[:count + 1]
        self._as_of = (count, len(raw) - 1 - count)
        try:
            yield
        finally:
            self.input_hist_raw, self.input_hist_parsed = raw, parsed
            self._as_of = None

    def _before(self, entries, last):
        """`entries` (session, line, input) without this session's lines after `last`."""
        return [entry for entry in entries if entry[0] != self.session_number or entry[1] <= last]

    def get_tail(self, n=10, raw=True, output=False, include_latest=False):
        if self._as_of is None:
            return super().get_tail(n, raw, output, include_latest)
        count, after = self._as_of
        n = 10 if n is None else n
        last = count if include_latest else count - 1
        if n < 0:      # (IPython then fetches every line)
            return self._before(super().get_tail(n, raw, output, include_latest=True), last)
        # The database holds the later cells' lines too: fetch past them, then drop them.
        entries = list(super().get_tail(n + after + 1, raw, output, include_latest=True))
        return self._before(entries, last)[-n:] if n else []

    def search(self, pattern='*', raw=True, search_raw=True, output=False, n=None, unique=False):
        if self._as_of is None:
            return super().search(pattern, raw, search_raw, output, n, unique)
        found = self._before(super().search(pattern, raw, search_raw, output, None, unique),
                             self._as_of[0])
        return found[-n:] if n else found


def _as_of_now(magics, name):
    """IPython's line magic `name` of class `magics`, reading the history as of
    the cell running (`HistoryAsOfCell.as_of`)."""
    def magic(self, parameter_s=''):
        with self.shell.history_manager.as_of(self.shell.displayhook.prompt_count):
            return getattr(self.shell.magics_manager.registry[magics.__name__], name)(parameter_s)

    magic.__name__ = magic.__qualname__ = name
    magic.__doc__ = getattr(magics, name).__doc__
    return line_magic(magic)


@magics_class
class HistoryUpToNow(Magics):
    """IPython's magics that read the history (``%history``, ``%hist``, ``%save``,
    ``%macro``, ``%load``, ``%rerun``, ``%recall``), reading it up to the cell running."""

    history = _as_of_now(HistoryMagics, 'history')
    rerun = _as_of_now(HistoryMagics, 'rerun')
    recall = _as_of_now(HistoryMagics, 'recall')
    save = _as_of_now(CodeMagics, 'save')
    load = _as_of_now(CodeMagics, 'load')
    macro = _as_of_now(ExecutionMagics, 'macro')


def _user_shell():
    """The shell IPython runs commands with: the user's ``$SHELL`` (bash, often), else sh."""
    return shutil.which(os.environ.get('SHELL', 'sh')) or shutil.which('sh')


def _refuse_background(cmd):
    if cmd.rstrip().endswith('&'):
        raise OSError('Background processes not supported.')


def _stream(cmd):
    """Run `cmd`, copying its output to sys.stdout as it comes; its exit code.

    As under IPython's pexpect, the command's stdin, stdout and stderr are a
    terminal of 24 rows and 80 columns (``ls`` prints in columns, and lines
    end in ``\r\n``).  Ctrl-C (the kernel's interrupt) is passed on to it.
    """
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    try:
        process = subprocess.Popen(cmd, shell=True, executable=_user_shell(), stdin=terminal,
                                   stdout=terminal, stderr=terminal)
    except BaseException:
        os.close(main)
        raise
    finally:
        os.close(terminal)
    # A character may be split between two reads.
    decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
    try:
        while chunk := _read(main):
            sys.stdout.write(decoder.decode(chunk))
            sys.stdout.flush()
        sys.stdout.write(decoder.decode(b'', final=True))
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
    finally:
        os.close(main)
    return process.wait()


def _read(fd):
    """The next output of a terminal's other side; b'' once it is closed."""
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        if exc.errno == errno.EIO:      # Linux: every writer has closed it
            return b''
        raise
