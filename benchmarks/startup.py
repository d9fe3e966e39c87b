"""Row 3: a pool of 2 workers ready from nothing.

interpkernel: ``Pool(2)`` and ``wait_ready()``, then trivial cells until each
of the 2 workers has answered one (the time to ``wait_ready`` alone is shown
too).  Anchors: ``ProcessPoolExecutor(2)`` (multiprocessing's default start
method) until each of its 2 processes has answered a trivial task, and the
start of the shared ipyparallel cluster (measured once: it takes seconds).
Closing a pool is not timed.  No interpkernel pool is alive while the process
pools fork (see `benchmarks.cpu`).
"""

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

from interpkernel import Pool

from ._stats import attempt, median
from ._table import Row, describe, fmt_time, ratios

NAME = 'startup'
SIZE = 2
GOAL = 50e-3


def _until_each_answers(ask):
    """Ask SIZE trivial tasks at once until SIZE distinct workers have answered."""
    seen = set()
    while len(seen) < SIZE:
        seen.update(ask())


def _interpkernel_trial():
    """(seconds to wait_ready, seconds until each worker answered a cell)."""
    start = time.perf_counter()
    with Pool(SIZE) as pool:
        pool.wait_ready()
        ready = time.perf_counter() - start

        def ask():
            futures = [pool.submit('pass') for _ in range(SIZE)]
            for future in futures:
                future.result()
            return [future.worker for future in futures]

        _until_each_answers(ask)
        return ready, time.perf_counter() - start


def _processes_trial():
    start = time.perf_counter()
    with ProcessPoolExecutor(SIZE) as processes:
        _until_each_answers(lambda: [f.result() for f in
                                     [processes.submit(os.getpid) for _ in range(SIZE)]])
        return time.perf_counter() - start


def rows(ctx):
    trials = [_interpkernel_trial() for _ in range(ctx.reps(10, 3))]
    ready = median(t[0] for t in trials)
    answered = median(t[1] for t in trials)
    processes = median(_processes_trial() for _ in range(ctx.reps(10, 3)))
    ipp = attempt(ctx.cluster.start_time)
    method = multiprocessing.get_start_method()
    anchors = '; '.join([
        f'ProcessPoolExecutor({SIZE}) ({method}) {fmt_time(processes)}',
        describe(f'ipyparallel Cluster(n={ctx.cluster.n}) start + connect (1 run, '
                 'incl. its default 1 s controller-engines delay)', ipp, fmt_time)])
    return [Row(
        figure=f'3. pool of {SIZE} ready from nothing, until each worker answered a trivial cell',
        value=f'{fmt_time(answered)} (wait_ready alone {fmt_time(ready)})',
        anchors=anchors,
        ratios=ratios(('processes/ik', processes, answered), ('ipp/ik', ipp.value, answered)),
        goal=f'<= {fmt_time(GOAL)}', met=answered <= GOAL)]
