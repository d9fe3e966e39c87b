"""Rows 9-10: the interp kernel against ipykernel, both started with jupyter_client.

Row 9: a notebook of k independent CPU-bound cells and one cell joining their
results, sent at once as JupyterLab's "Run All" does (`interpkernel.notebook.
run_all`): on ipykernel the cells run one after another, on the interp kernel
side by side.  Time from the first cell's busy to the last cell's idle; the
joined output must be the same.  Row 10: the round trip of a trivial cell
(``x = 1``: execute_request to execute_reply), p50, on each kernel.
"""

import os
import queue
import tempfile
import time

import nbformat
from jupyter_client.manager import start_new_kernel

from interpkernel.kernel.install import KERNEL_NAME, install
from interpkernel.notebook import run_all

from ._stats import percentile
from ._table import Row, fmt_latency, fmt_ratio, fmt_time

NAME = 'kernel'
WORK = 'total_{i} = 0\nfor n in range(3_000_000):\n    total_{i} += n % 7'


def _notebook(k):
    cells = [WORK.format(i=i) for i in range(k)]
    cells.append('print(' + ' + '.join(f'total_{i}' for i in range(k)) + ')')
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def _run_all_seconds(kernel_name, k):
    runs = run_all(_notebook(k), kernel_name)
    output = runs[-1].outputs[0]['text']
    return max(r.idle for r in runs) - min(r.busy for r in runs), output


def _round_trips(kernel_name, runs):
    manager, client = start_new_kernel(kernel_name=kernel_name)
    try:
        times = []
        for _ in range(20 + runs):
            start = time.perf_counter()
            msg_id = client.execute('x = 1')
            while True:
                try:
                    reply = client.get_shell_msg(timeout=10)
                except queue.Empty:
                    raise TimeoutError('no execute_reply within 10 s') from None
                if reply['parent_header'].get('msg_id') == msg_id:
                    break
            times.append(time.perf_counter() - start)
        return times[20:]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def rows(ctx):
    k = os.process_cpu_count() or 1
    with tempfile.TemporaryDirectory() as prefix:
        install(prefix=prefix)
        saved = os.environ.get('JUPYTER_PATH')
        os.environ['JUPYTER_PATH'] = os.path.join(prefix, 'share', 'jupyter')
        try:
            repeats = ctx.reps(3, 1)
            sequential = [_run_all_seconds('python3', k) for _ in range(repeats)]
            parallel = [_run_all_seconds(KERNEL_NAME, k) for _ in range(repeats)]
            trips = ctx.reps(300, 50)
            ipy_trips, interp_trips = _round_trips('python3', trips), _round_trips(KERNEL_NAME, trips)
        finally:
            if saved is None:
                os.environ.pop('JUPYTER_PATH', None)
            else:
                os.environ['JUPYTER_PATH'] = saved
    seq = percentile([s for s, _ in sequential], 50)
    par = percentile([s for s, _ in parallel], 50)
    same = {out for _, out in sequential} == {out for _, out in parallel}
    added = percentile(interp_trips, 50) - percentile(ipy_trips, 50)
    return [
        Row(figure=f'9. notebook of k={k} independent CPU-bound cells + a joining cell, '
                   f'Run All (first busy to last idle)',
            value=f'{fmt_time(par)} ({fmt_ratio(seq / par)} faster; outputs '
                  f'{"identical" if same else "DIFFERENT"})',
            anchors=f'ipykernel (one after another) {fmt_time(seq)}',
            ratios=f'speed-up {fmt_ratio(seq / par)}',
            goal=f'>= {0.9 * k:.1f}x (0.9 k), identical outputs',
            met=same and seq / par >= 0.9 * k),
        Row(figure='10. trivial cell round trip (`x = 1`, execute_request -> execute_reply)',
            value=fmt_latency(interp_trips),
            anchors=f'ipykernel {fmt_latency(ipy_trips)}',
            ratios=f'added p50 {added * 1e3:+.2f} ms',
            goal='within 1 ms of ipykernel', met=added <= 1e-3),
    ]
