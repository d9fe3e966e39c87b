"""Row 1: k independent CPU-bound pure-Python jobs on k cores.

Each job is `job` (a loop summing i*i, calibrated to ~0.3 s single-threaded).
The figure is the speed-up of running k jobs at once over running them one
after another in the host, for interpkernel (k anonymous workers) and for the
anchors: a ThreadPoolExecutor, a ProcessPoolExecutor and ipyparallel (one job
per engine, sent as the same cell source as interpkernel's).  Pools, processes
and the cluster are started and warmed before timing.  The methods take turns
in every round so that noise on the shared machine hits them alike.
"""

import inspect
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from interpkernel import Pool

from ._stats import attempt, median, timed
from ._table import Row, describe, fmt_ratio, fmt_time, ratio

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


def _rounds(methods, rounds):
    """Time every method once per round, in turn; the per-method lists of seconds."""
    times = {name: [] for name in methods}
    for _ in range(rounds):
        for name, run in methods.items():
            times[name].append(timed(run))
    return times


def rows(ctx):
    k = os.process_cpu_count() or 1
    n = _calibrate()
    expected = [job(n)] * k
    with ProcessPoolExecutor(k) as processes, ThreadPoolExecutor(k) as threads, \
            Pool(k) as pool:
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
        _rounds(methods, 1)   # warm-up
        times = _rounds(methods, ctx.reps(5, 2))
    serial = median(times['serial'])
    speedup = {name: serial / median(t) for name, t in times.items()}
    ipp_speedup = ipp._replace(value=speedup.get('ipyparallel'))
    anchors = '; '.join([
        f'serial in host {fmt_time(serial)}',
        f'threads {fmt_ratio(speedup["threads"])}',
        f'ProcessPoolExecutor {fmt_ratio(speedup["processes"])}',
        describe('ipyparallel', ipp_speedup, fmt_ratio)])
    ratios = ', '.join(filter(None, [
        ratio('ik/threads', speedup['interpkernel'], speedup['threads']),
        ratio('ik/processes', speedup['interpkernel'], speedup['processes']),
        ratio('ik/ipp', speedup['interpkernel'], ipp_speedup.value)]))
    goal = 0.95 * k
    return [Row(
        figure=f'1. speed-up of k={k} CPU-bound jobs ({fmt_time(serial / k)} each) on k cores '
               'over running them one after another in the host',
        value=f'{fmt_ratio(speedup["interpkernel"])} ({fmt_time(median(times["interpkernel"]))})',
        anchors=anchors, ratios=ratios, goal=f'>= {goal:.2f}x (0.95 k)',
        met=speedup['interpkernel'] >= goal)]
