"""``--bg`` cells: a live status line, output streaming in, outputs landing when done."""

import threading
import time

from IPython.display import display

__all__ = ['BackgroundCell']


class BackgroundCell:
    """One ``%%interp --bg`` run, seen from the notebook.

    Shows a status line in its cell (queued -> running with elapsed time ->
    done / failed / interrupted), checked every `interval` seconds: a notebook
    updates it in place; a terminal, which cannot, prints a new line when the
    state changes.  When every future is done it calls ``finish(self)``
    inside the cell's output context, so outputs land in the namespace and
    errors show in the right cell.

    Args:
        run: the magic's run of the cell (has ``label``, ``futures``,
            ``worker_names()``, ``state()``, ``interrupt()``).
        output: the `CellOutput` of the cell.
        finish: called once with this object when all futures are done.
        interval: seconds between status checks.
        in_place: update the line in place (notebooks), else print changes (terminals).
    """

    def __init__(self, run, output, finish, interval, in_place):
        self.run, self.output = run, output
        self._finish = finish
        self._in_place = in_place
        self._done = threading.Event()
        self._remaining = len(run.futures)
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._shown = _StatusLine(self)
        self._handle = output.run(display, self._shown, display_id=True)
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
            if self._remaining:     # else the last future is finishing: it updates the line
                self._update()

    def _update(self):
        with self._lock:
            line = _StatusLine(self)
            if self._in_place:
                self.output.run(self._handle.update, line)
            elif line.state != self._shown.state:
                self.output.run(display, line)
            self._shown = line

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
