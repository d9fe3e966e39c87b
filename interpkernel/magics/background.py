"""``--bg`` cells: a live status line, output streaming in, outputs landing when done."""

import threading
import time

from IPython.display import display

__all__ = ['BackgroundCell']


class BackgroundCell:
    """One ``%%interp --bg`` run, seen from the notebook.

    Shows a status line in its cell (queued -> running with elapsed time ->
    done / failed / interrupted), updated in place in notebooks every
    `interval` seconds.  When every future is done it calls ``finish(self)``
    inside the cell's output context, so outputs land in the namespace and
    errors show in the right cell.

    Args:
        run: the magic's run of the cell (has ``label``, ``futures``,
            ``worker_names()``, ``state()``, ``interrupt()``).
        output: the `CellOutput` of the cell.
        finish: called once with this object when all futures are done.
        interval: seconds between status updates, or None for none (terminal).
    """

    def __init__(self, run, output, finish, interval):
        self.run, self.output = run, output
        self._finish = finish
        self._done = threading.Event()
        self._remaining = len(run.futures)
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._handle = output.run(display, _StatusLine(self), display_id=True)
        if interval:
            threading.Thread(target=self._tick, args=(interval,), daemon=True,
                             name=f'interpkernel-status-{run.label}').start()
        for future in run.futures:
            future.add_done_callback(self._one_done)

    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        return self._done.wait(timeout)

    def elapsed(self):
        return time.perf_counter() - self._started

    def _tick(self, interval):
        while not self._done.wait(interval):
            self._update()

    def _update(self):
        self.output.run(self._handle.update, _StatusLine(self))

    def _one_done(self, future):
        with self._lock:
            self._remaining -= 1
            last = self._remaining == 0
        if not last:
            return
        try:
            self.output.run(self._finish, self)
        finally:
            self._done.set()
            self._update()


class _StatusLine:
    """The status line's content, computed when it is displayed."""

    def __init__(self, cell):
        run = cell.run
        state = run.state()
        where = ', '.join(run.worker_names()) or 'the next free worker'
        if state in ('queued', 'running'):
            timing = f' {cell.elapsed():.1f} s'
        else:
            timing = f' after {cell.elapsed():.1f} s'
        self.text = f'[interp] {run.label} on {where}: {state}{timing}'
        self.state = state

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        colour = {'done': '#4c9a2a', 'failed': '#c0392b', 'interrupted': '#e67e22'}.get(
            self.state, '#2e86de')
        return f'<code style="color:{colour}">{self.text}</code>'
