"""What a cell shows, captured inside a worker interpreter.

- `Outbox` collects text written to ``sys.stdout``/``sys.stderr`` (by the cell
  or by threads it started), tags it with the cell it belongs to, and sends it
  as ``stream`` events: at once on flush, when 64 KiB pile up, and otherwise
  within `FLUSH_INTERVAL` (the worker's service thread calls `flush_due`).
- `install_display_hook` makes ``IPython.display.display`` (and
  ``update_display``, ``clear_output``) inside the worker publish
  ``display_data``/``update_display_data``/``clear_output`` events instead of
  printing, without importing IPython until the cell does.
- `format_result` turns a cell's last value into an ``execute_result``
  mimebundle with IPython's own formatters, the same bundle ipykernel shows.

Events are tuples ``(seq, msg_type, content)`` whose content follows the
Jupyter message spec; everything but ``stream`` content is pickled.
"""

import importlib.machinery
import io
import pickle
import sys
import threading
import time

__all__ = ['Outbox', 'CellStream', 'install_display_hook', 'format_result', 'FLUSH_INTERVAL',
           'quiet_progress_bars']

FLUSH_INTERVAL = 0.02     # seconds text may wait before it is sent
_FLUSH_SIZE = 65536       # characters that force a send at once


class Outbox:
    """The worker's single path for events to the host, in order.

    Args:
        emit: callable taking one event tuple (puts it on the events queue).
        wake: callable waking the service thread so it schedules a flush.
        current_seq: callable returning the seq of the cell that output
            written *now, on this thread* belongs to.
    """

    def __init__(self, emit, wake, current_seq):
        self._emit = emit
        self._wake = wake
        self._current_seq = current_seq
        self._lock = threading.Lock()
        self._pending = []          # [seq, name, [texts], flushed by the cell]
        self._pending_size = 0
        self.first_pending = None   # time.monotonic() of the oldest unsent text

    def write(self, name, text):
        seq = self._current_seq()
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if last is not None and last[0] == seq and last[1] == name and not last[3]:
                last[2].append(text)
            else:
                self._pending.append([seq, name, [text], False])
            self._pending_size += len(text)
            first = self.first_pending is None
            if first:
                self.first_pending = time.monotonic()
            if self._pending_size >= _FLUSH_SIZE:
                self._flush_locked()
                first = False
        if first:
            self._wake()

    def flush(self, name=None):
        """Send the text written so far; `name`: the cell flushed that stream itself
        (``sys.stderr.flush()``, logging after each record), and the host sends
        what it holds of it at once, as ipykernel sends a stream flushed."""
        with self._lock:
            if name is not None:
                for entry in reversed(self._pending):
                    if entry[1] == name:
                        entry[3] = True
                        break
            self._flush_locked()

    def flush_due(self):
        """Flush if the oldest text has waited `FLUSH_INTERVAL`; return seconds to wait otherwise."""
        with self._lock:
            if self.first_pending is None:
                return None
            left = self.first_pending + FLUSH_INTERVAL - time.monotonic()
            if left > 0:
                return left
            self._flush_locked()
            return None

    def _flush_locked(self):
        for seq, name, texts, flushed in self._pending:
            self._emit((seq, 'stream', (name, ''.join(texts), flushed)))
        self._pending.clear()
        self._pending_size = 0
        self.first_pending = None

    def publish(self, msg_type, content, seq=None):
        """Send a rich event, after any text written before it."""
        if seq is None:
            seq = self._current_seq()
        with self._lock:
            self._flush_locked()
            self._emit((seq, msg_type, pickle.dumps(content)))


class CellStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` inside a worker: text goes to the `Outbox`."""

    def __init__(self, name, outbox):
        super().__init__()
        self._stream_name = name
        self._outbox = outbox

    @property
    def name(self):
        return f'<{self._stream_name}>'

    @property
    def encoding(self):
        return 'utf-8'

    @property
    def errors(self):
        return 'strict'

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f'write() argument must be str, not {type(text).__name__}')
        if text:
            self._outbox.write(self._stream_name, text)
        return len(text)

    def flush(self):
        self._outbox.flush(self._stream_name)

    def fileno(self):
        raise io.UnsupportedOperation(f'{self.name} of a worker has no file descriptor')


# -- rich display ------------------------------------------------------------

_formatter = None


def quiet_progress_bars():
    """Keep tqdm from warning that it cannot start its monitor thread.

    Subinterpreters refuse daemon threads; tqdm then runs without its monitor
    (bars still update) but first prints a TqdmMonitorWarning that ipykernel
    never shows.  The interp kernel sets this in the host too, so that the
    warning filters workers copy from it keep it.
    """
    import warnings
    warnings.filterwarnings('ignore', message='tqdm:disabling monitor support')


def _display_formatter():
    global _formatter
    if _formatter is None:
        from IPython.core.formatters import DisplayFormatter
        _formatter = DisplayFormatter()
    return _formatter


class _FormatFailed(Exception):
    """A _repr_*_ method raised `error` while IPython formatted a result."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def format_result(value):
    """The ``execute_result`` content (data, metadata) for a cell's last value.

    Raises what a _repr_*_ method of `value` raises, its traceback starting
    at that method.
    """
    try:
        data, metadata = _display_formatter().format(value)
    except ImportError:  # IPython is not installed: plain text only
        data, metadata = {'text/plain': repr(value)}, {}
    except _FormatFailed as failed:
        error = failed.error
    else:
        return {'data': data, 'metadata': metadata}
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get('__name__', '').startswith('IPython.'):
        tb = tb.tb_next
    raise error.with_traceback(tb)


def _make_shell(outbox):
    """An InteractiveShell stand-in whose display publisher feeds `outbox`.

    ``IPython.display.display`` only publishes when an InteractiveShell
    instance exists, so the worker installs this light one (no history, no
    magics) as that instance.
    """
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class WorkerDisplayPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None,
                    update=False, **kwargs):
            content = {'data': data, 'metadata': metadata or {}, 'transient': transient or {}}
            outbox.publish('update_display_data' if update else 'display_data', content)

        def clear_output(self, wait=False):
            outbox.publish('clear_output', {'wait': bool(wait)})

    class WorkerShell(InteractiveShell):
        def __init__(self):
            # Skip InteractiveShell.__init__: history, magics and the rest
            # belong to the host's shell, not to a worker.
            super(InteractiveShell, self).__init__()
            self.display_formatter = _display_formatter()
            self.display_pub = WorkerDisplayPublisher()

        def showtraceback(self, exc_tuple=None, *args, **kwargs):
            # IPython's formatters call this when a _repr_*_ method raises.
            # As in ipykernel, that fails the cell (`format_result` raises it).
            raise _FormatFailed(exc_tuple[1] if exc_tuple else sys.exception())

    shell = WorkerShell()
    InteractiveShell._instance = WorkerShell._instance = shell
    return shell


class _ShellInstaller:
    """Installs the worker shell right after IPython's interactiveshell module loads."""

    _TARGET = 'IPython.core.interactiveshell'

    def __init__(self, outbox):
        self._outbox = outbox

    def find_spec(self, fullname, path, target=None):
        if fullname != self._TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader, outbox = spec.loader, self._outbox

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                sys.modules[module.__name__] = module
                _make_shell(outbox)

        spec.loader = Loader()
        return spec


def install_display_hook(outbox):
    """Make IPython's display functions publish to `outbox` in this interpreter."""
    if 'IPython.core.interactiveshell' in sys.modules:
        _make_shell(outbox)
    else:
        sys.meta_path.insert(0, _ShellInstaller(outbox))


def display(*objs, **kwargs):
    """IPython's ``display``, made a builtin in workers as IPython does in its shell."""
    from IPython.display import display as ipython_display
    return ipython_display(*objs, **kwargs)

