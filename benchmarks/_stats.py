"""Statistics over repeated trials, and trials that may fail without stopping the run."""

import statistics
import time
from typing import Any, NamedTuple

__all__ = ['median', 'percentile', 'timed', 'repeat', 'Outcome', 'attempt']


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


class Outcome(NamedTuple):
    """What a measurement gave: its value, or why it failed (then value is None)."""
    value: Any
    error: str | None = None


def attempt(measure):
    """Run ``measure()``; a failure becomes an Outcome carrying its reason."""
    try:
        return Outcome(measure())
    except Exception as exc:
        return Outcome(None, f'{type(exc).__name__}: {exc}'.strip())
