"""Showing a worker cell's events in the IPython cell that ran the magic.

In an IPython kernel the output of a cell is routed by the parent header kept
in context variables.  `CellOutput` captures the running cell's context when it
is created and replays every event inside it, so output reaches that cell from
any thread, even after the magic returned (``--bg``).  In a terminal IPython
the same calls simply write to the terminal.
"""

import contextvars
import sys
import threading

from IPython.core.display_functions import publish_display_data
from IPython.display import clear_output

__all__ = ['CellOutput', 'ResultBundle', 'with_cell_traceback']


class CellOutput:
    """Replays events into the IPython cell that created it.

    Args:
        prefix: put before every line of streamed text (SPMD ranks use
            ``[rank N] ``), or ''.
    """

    def __init__(self, prefix=''):
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._prefix = prefix
        self._at_line_start = {'stdout': True, 'stderr': True}

    def run(self, function, *args, **kwargs):
        """Call `function(*args, **kwargs)` as if inside the cell (any thread)."""
        with self._lock:
            return self._context.run(function, *args, **kwargs)

    def show(self, event):
        """Show one `interpkernel.Event` (execute_result and error are the caller's)."""
        self.run(self._show, event)

    def _show(self, event):
        content = event.content
        if event.msg_type == 'stream':
            stream = sys.stderr if content['name'] == 'stderr' else sys.stdout
            stream.write(self._prefixed(content['name'], content['text']))
            stream.flush()
        elif event.msg_type in ('display_data', 'update_display_data'):
            publish_display_data(content['data'], content.get('metadata'),
                                 transient=content.get('transient') or None,
                                 update=event.msg_type == 'update_display_data')
        elif event.msg_type == 'clear_output':
            clear_output(wait=content.get('wait', False))

    def _prefixed(self, name, text):
        if not self._prefix:
            return text
        lines = text.splitlines(keepends=True)
        out = []
        for line in lines:
            out.append(self._prefix + line if self._at_line_start[name] else line)
            self._at_line_start[name] = line.endswith('\n')
        return ''.join(out)


class ResultBundle:
    """A worker cell's last value as IPython shows it: its mimebundle.

    The value itself stayed in the worker; IPython displays this object as
    ``Out[n]`` with exactly the representations the worker computed.
    """

    def __init__(self, content):
        self.data = dict(content['data'])
        self.metadata = dict(content.get('metadata') or {})

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.data, self.metadata

    def __repr__(self):
        return self.data.get('text/plain', '<result>')


def with_cell_traceback(exc, lines):
    """Make IPython show `lines` (the worker's traceback) for `exc`, and return it."""
    exc._render_traceback_ = lambda: list(lines)
    return exc
