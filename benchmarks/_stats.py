"""Statistics over repeated trials, and trials that may fail without stopping the run."""

import statistics
import time
from typing import Any, NamedTuple

__all__ = ['median', 'percentile', 'timed', 'repeat', 'interleaved', 'Outcome', 'attempt']


def median(values):
    return statistics.median(values)


def percentile(values, q):
    """The q-th percentile (0-100) of `values`, linearly interpolated."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(func):
    """Seconds that calling ``func()`` took."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def repeat(func, times):
    """Seconds of each of `times` calls of ``func()``."""
    return [timed(func) for _ in range(times)]


def interleaved(methods, rounds):
    """Time each of `methods` (name -> function) once per round, taking turns,
    so that noise on a shared machine hits them alike; name -> list of seconds."""
    times = {name: [] for name in methods}
    for _ in range(rounds):
        for name, run in methods.items():
            times[name].append(timed(run))
    return times


class Outcome(NamedTuple):
    """What a measurement gave: its value, or why it failed (then value is None)."""
    value: Any
    error: str | None = None

    def apply(self, func):
        """func(value), or None if the measurement failed."""
        return None if self.error is not None else func(self.value)


def attempt(measure):
    """Run ``measure()``; a failure becomes an Outcome carrying its reason."""
    try:
        return Outcome(measure())
    except Exception as exc:
        return Outcome(None, f'{type(exc).__name__}: {exc}'.strip())
