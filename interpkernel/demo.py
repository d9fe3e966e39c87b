"""The demo `python -m interpkernel demo` runs: k CPU-bound cells on k cores.

It runs the same pure-Python cell k times one after another in this
interpreter, then k times at once on a pool of k subinterpreter workers, and
prints each cell's timeline and the measured speed-up.
"""

import os
import time

from .pool import Pool

CELL = '''\
total = 0
for i in range(n):
    total += i * i % 7
'''


def _sequential(k, work):
    namespace = {'n': work}
    started = time.perf_counter()
    for _ in range(k):
        exec(CELL, namespace)
    return time.perf_counter() - started


def main(k=None, work=3_000_000, out=print):
    """Print the demo's report; return 0 (the process exit status)."""
    k = k or getattr(os, 'process_cpu_count', os.cpu_count)() or 1
    out(f'{k} cells of pure-Python work ({work:,} loop iterations each), '
        f'on a machine with {os.cpu_count()} cores')
    sequential = _sequential(k, work)
    out(f'  one after another in one interpreter: {sequential:6.3f} s')
    with Pool(k) as pool:
        pool.wait_ready()
        pool.run(CELL, {'n': 1}, ['total'])   # warm every import path once
        started = time.perf_counter()
        futures = [pool.submit(CELL, {'n': work}, ['total'], label=f'demo-{i}') for i in range(k)]
        totals = [f.result()['total'] for f in futures]
        parallel = time.perf_counter() - started
    out(f'  at once on {k} subinterpreters:       {parallel:6.3f} s')
    for future in futures:
        t = future.timings
        out(f'    cell {future.label} on worker {t.worker}: '
            f'start +{(t.started - started) * 1000:5.1f} ms, ran {t.ran:.3f} s')
    if len(set(totals)) != 1:
        raise RuntimeError(f'the cells computed different totals: {totals}')
    out(f'  speed-up: {sequential / parallel:.2f}x on {k} cores '
        f'(ideal {k}.00x; every cell computed total = {totals[0]})')
    return 0
