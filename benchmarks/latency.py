"""Row 2: round trip of a trivial cell, submit to result.

interpkernel: ``pool.run("x = 1", outputs=['x'])`` on a warmed pool of 2,
timed from the host, many times; p50 (and p90) of the round trips.  Anchor:
ipyparallel ``execute("x = 1", block=True)`` on one engine (which, unlike
interpkernel's, brings no output back).
"""

from interpkernel import Pool

from ._stats import attempt, percentile, repeat
from ._table import Row, describe, fmt_latency, fmt_time, ratios

NAME = 'latency'
GOAL = 0.5e-3
CELL = 'x = 1'


def _interpkernel(runs):
    with Pool(2) as pool:
        pool.wait_ready()
        run = lambda: pool.run(CELL, outputs=['x'])
        repeat(run, 100)
        return repeat(run, runs)


def _ipyparallel(cluster, runs):
    view = cluster.client()[0]
    run = lambda: view.execute(CELL, block=True)
    repeat(run, 20)
    return repeat(run, runs)


def rows(ctx):
    times = _interpkernel(ctx.reps(2000, 300))
    ipp = attempt(lambda: _ipyparallel(ctx.cluster, ctx.reps(300, 50)))
    p50 = percentile(times, 50)
    return [Row(
        figure='2. trivial cell round trip, submit -> result (`x = 1`, output x)',
        value=fmt_latency(times),
        anchors=describe('ipyparallel execute on 1 engine', ipp, fmt_latency),
        ratios=ratios(('ipp/ik', ipp.apply(lambda t: percentile(t, 50)), p50)),
        goal=f'p50 <= {fmt_time(GOAL)}', met=p50 <= GOAL)]
