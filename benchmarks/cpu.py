"""Row 1: k independent CPU-bound pure-Python jobs on k cores.

Each job is `job` (a loop summing i*i, calibrated to ~0.3 s single-threaded).
The figure is the speed-up of running k jobs at once over running them one
after another in the host, for interpkernel (k anonymous workers) and for the
anchors: a ThreadPoolExecutor, a ProcessPoolExecutor and ipyparallel (one job
per engine, sent as the same cell source as interpkernel's).  Pools, processes
and the cluster are started and warmed before timing.  The methods take turns
in every round (`interleaved`).

The process pool forks its workers before the interpkernel pool exists: on
CPython 3.13 a fork while subinterpreters exist kills the child (CPython
gh-101437), and 'fork' is multiprocessing's default start method on Linux.
"""

import inspect
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from interpkernel import Pool

from ._stats import Outcome, attempt, interleaved, median, timed
from ._table import Row, describe, fmt_ratio, fmt_time, ratios

NAME = 'cpu'
JOB_SECONDS = 0.3


def job(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


JOB_CELL = inspect.getsource(job) + 'result = job(n)\n'


def _calibrate():
    """The n for which job(n) takes about JOB_SECONDS here."""
    probe = 300_000
    best = min(timed(lambda: job(probe)) for _ in range(3))
    return int(probe * JOB_SECONDS / best)


def _check(results, expected):
    if list(results) != expected:
        raise AssertionError(f'wrong job results: {results!r}')


def _interpkernel(pool, k, n):
    futures = [pool.submit(JOB_CELL, {'n': n}, ['result']) for _ in range(k)]
    return [f.result()['result'] for f in futures]


def _ipyparallel_runner(cluster, n):
    """A function running one job on each engine (the cell interpkernel runs)."""
    view = cluster.client()[:]
    view.push({'n': n}, block=True)
    return lambda: view.execute(JOB_CELL, block=True)


def rows(ctx):
    k = os.process_cpu_count() or 1
    n = _calibrate()
    expected = [job(n)] * k
    with ProcessPoolExecutor(k) as processes, ThreadPoolExecutor(k) as threads:
        list(processes.map(job, [1] * k))   # forks every worker now, before the Pool
        with Pool(k) as pool:
            pool.wait_ready()
            methods = {
                'serial': lambda: _check([job(n) for _ in range(k)], expected),
                'interpkernel': lambda: _check(_interpkernel(pool, k, n), expected),
                'threads': lambda: _check(threads.map(job, [n] * k), expected),
                'processes': lambda: _check(processes.map(job, [n] * k), expected),
            }
            ipp = attempt(lambda: _ipyparallel_runner(ctx.cluster, n))
            if ipp.error is None:
                methods['ipyparallel'] = ipp.value
            interleaved(methods, 1)   # warm-up
            times = interleaved(methods, ctx.reps(9, 3))
    serial = median(times['serial'])
    speedup = {name: serial / median(t) for name, t in times.items()}
    ipp_speedup = Outcome(speedup.get('ipyparallel'), ipp.error)
    anchors = '; '.join([
        f'serial in host {fmt_time(serial)}',
        f'threads {fmt_ratio(speedup["threads"])}',
        f'ProcessPoolExecutor {fmt_ratio(speedup["processes"])}',
        describe('ipyparallel', ipp_speedup, fmt_ratio)])
    ours = speedup['interpkernel']
    goal = 0.95 * k
    return [Row(
        figure=f'1. speed-up of k={k} CPU-bound jobs ({fmt_time(serial / k)} each) on k cores '
               'over running them one after another in the host',
        value=f'{fmt_ratio(ours)} ({fmt_time(median(times["interpkernel"]))})',
        anchors=anchors,
        ratios=ratios(('ik/threads', ours, speedup['threads']),
                      ('ik/processes', ours, speedup['processes']),
                      ('ik/ipp', ours, ipp_speedup.value)),
        goal=f'>= {goal:.2f}x (0.95 k)', met=ours >= goal)]
