"""Row 7: resident memory of an idle worker.

interpkernel: in a fresh Python process (so that earlier benchmarks do not
pollute it) that has imported interpkernel, VmRSS before and after
``Pool(N).wait_ready()``, divided by N.  Anchor: in another fresh process,
the VmRSS (and Pss, which shares out the pages it still shares with its
parent) of one idle ``ProcessPoolExecutor`` worker started (default method:
fork) from that bare parent.  ``python -m benchmarks.memory interpkernel``
(or ``processpool``) prints one such measurement, in bytes, as JSON.
"""

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ._stats import median
from ._table import Row, ratios

NAME = 'memory'
WORKERS = 8
GOAL = 8 << 20
MiB = 1 << 20


def _status_kib(pid, field, file='status'):
    """A 'Field:  123 kB' line of /proc/<pid>/<file>, in bytes."""
    for line in Path(f'/proc/{pid}/{file}').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) * 1024
    raise KeyError(f'{field} not in /proc/{pid}/{file}')


def _probe_interpkernel():
    from interpkernel import Pool
    before = _status_kib('self', 'VmRSS')
    with Pool(WORKERS) as pool:
        pool.wait_ready()
        after = _status_kib('self', 'VmRSS')
    return {'per_worker': (after - before) / WORKERS}


def _probe_processpool():
    with ProcessPoolExecutor(1) as processes:
        pid = processes.submit(os.getpid).result()
        return {'rss': _status_kib(pid, 'VmRSS'),
                'pss': _status_kib(pid, 'Pss', 'smaps_rollup')}


PROBES = {'interpkernel': _probe_interpkernel, 'processpool': _probe_processpool}


def _measure(probe):
    """Run `probe` in a fresh interpreter process; its dict of byte counts."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, '-m', 'benchmarks.memory', probe], cwd=root,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _medians(probe, times):
    """The median of each byte count of `probe` over `times` fresh processes."""
    samples = [_measure(probe) for _ in range(times)]
    return {key: median(sample[key] for sample in samples) for key in samples[0]}


def rows(ctx):
    times = ctx.reps(3, 1)
    per_worker = _medians('interpkernel', times)['per_worker']
    processpool = _medians('processpool', times)
    rss, pss = processpool['rss'], processpool['pss']
    return [Row(
        figure=f'7. memory per idle worker (VmRSS growth of a fresh process / {WORKERS} workers)',
        value=f'{per_worker / MiB:.1f} MiB',
        anchors=f'idle ProcessPoolExecutor worker ({multiprocessing.get_start_method()} '
                f'of a bare parent): '
                f'VmRSS {rss / MiB:.1f} MiB, Pss {pss / MiB:.1f} MiB',
        ratios=ratios(('RSS/ik', rss, per_worker), ('Pss/ik', pss, per_worker)),
        goal=f'<= {GOAL / MiB:.0f} MiB', met=per_worker <= GOAL)]


if __name__ == '__main__':
    print(json.dumps(PROBES[sys.argv[1]]()))
