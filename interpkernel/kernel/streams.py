"""A worker cell's printed text, sent to the frontend as ipykernel sends a cell's.

ipykernel keeps a buffer per stream and sends each within its
``flush_interval`` (0.2 s) of the first text in it, and all of both, stdout
first, before anything displayed and at the end of the cell.  So a quick
cell that prints, warns and prints again shows its two prints, then the
warning.  Worker events come in the order the cell wrote them; `CellStreams`
regroups them the same way, so that a notebook shows the same outputs on
either kernel.
"""

import threading

from ipykernel.iostream import OutStream

__all__ = ['CellStreams']

_ORDER = ('stdout', 'stderr')


class CellStreams:
    """The stdout and stderr buffers of one cell.

    Args:
        send: ``send(name, text)`` publishes one ``stream`` message.
        loop: the kernel's event loop, where the timed flushes run.
        interval: seconds text waits at most (ipykernel's ``flush_interval``).
    """

    def __init__(self, send, loop, interval=OutStream.flush_interval):
        self._send, self._loop, self._interval = send, loop, interval
        self._lock = threading.Lock()
        self._buffers = {name: [] for name in _ORDER}

    def write(self, name, text):
        """Buffer `text` for stream `name` (from any thread)."""
        with self._lock:
            buffer = self._buffers.setdefault(name, [])
            first = not buffer
            buffer.append(text)
        if first:
            self._loop.call_soon_threadsafe(self._loop.call_later, self._interval,
                                            self.flush, name)

    def flush(self, *names, then=None):
        """Send what the streams `names` hold (default: stdout, then stderr), and
        then call `then` (the next message), with no other flush in between."""
        with self._lock:      # held while sending: a timed flush cannot overtake
            for name in names or tuple(self._buffers):
                texts, self._buffers[name] = self._buffers[name], []
                if texts:
                    self._send(name, ''.join(texts))
            if then is not None:
                then()
