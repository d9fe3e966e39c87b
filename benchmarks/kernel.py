"""Rows 9-12: the interp kernel against ipykernel, both started with jupyter_client.

Every notebook is sent as JupyterLab's "Run All" sends it (every cell at once)
and timed from the first cell's busy to the last cell's idle; trials of the
two kernels take turns (interleaved), and the figures are medians.

- Row 9: k independent CPU-bound cells and a cell joining their results,
  on a freshly started kernel ("Restart and Run All") and on a warm one.
- Row 9c: two CPU-bound cells, two cells sleeping 1 s in steps, and a join
  (a worker blocked in time.sleep uses no core: a spare worker runs a cell).
- Row 9d: a row-9 cell's code in a bare subinterpreter (CPython's, no
  interpkernel code in it) against the main interpreter: what CPython itself
  leaves of the speed-up rows 9a and 9b look for.
- Row 10: round trips of a trivial cell, and of a cell reading one small value;
  10d, the latter once the session has defined many names (its cost must not
  grow with them).
- Row 11: a notebook whose first cell builds a 5-million-element list and a
  1-million-entry dict, and whose later cells compute small things from them.
- Row 11b: a chain of cells, each making an object of a notebook class from
  the one before (``x_i = x_{i-1} + 1``, ``__add__`` returning a new object).
- Row 12: every real notebook in tests/notebooks/real, each on fresh kernels:
  the total, the worst ratio, and whether any is slower than ipykernel by more
  than the interp kernel takes to start.
"""

import os
import queue
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from interpkernel._core import _xi
from interpkernel.kernel.install import KERNEL_NAME, install

from ._stats import interleaved, median, percentile
from ._table import Row, fmt_latency, fmt_ratio, fmt_time

NAME = 'kernel'
KERNELS = ('python3', KERNEL_NAME)
WORK = 'total_{i} = 0\nfor n in range(3_000_000):\n    total_{i} += n % 7'
SLEEPS = 'import time\nfor tick_{i} in range(10):\n    time.sleep(0.1)\nwaited_{i} = tick_{i} + 1'
SLEEPERS = [WORK.format(i=0), SLEEPS.format(i=0), WORK.format(i=1), SLEEPS.format(i=1),
            'print(total_0 + total_1, waited_0 + waited_1)']
SHARED = ['data = list(range(5_000_000))\nindex = {i: i * 2 for i in range(1_000_000)}',
          's = sum(data)', 'm = max(data)', 'c = len(index)', 't = sum(index.values())',
          'evens = sum(1 for x in data if x % 2 == 0)', 'print(s, m, c, t, evens)']
CHAIN_LENGTH = 150
CHAIN = ['class Step:\n    def __init__(self, value):\n        self.value = value\n'
         '    def __add__(self, n):\n        return Step(self.value + n)\n'
         '    def __repr__(self):\n        return f"Step({self.value})"\nx0 = Step(0)',
         *[f'x{i} = x{i - 1} + 1' for i in range(1, CHAIN_LENGTH)],
         f'print(x{CHAIN_LENGTH - 1})']
REAL = Path(__file__).resolve().parent.parent / 'tests' / 'notebooks' / 'real'


@contextmanager
def _kernel(name, cwd=None):
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name=name, cwd=cwd)
    try:
        yield client, time.perf_counter() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _run_all(client, cells, timeout=600):
    """Send every cell at once; (seconds from first busy to last idle, outputs per cell)."""
    ids = [client.execute(cell) for cell in cells]
    pending, busy, idle, texts = set(ids), {}, {}, {msg_id: [] for msg_id in ids}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f'{len(pending)} cells did not finish within {timeout} s')
        try:
            message = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        msg_id = message['parent_header'].get('msg_id')
        if msg_id not in texts:
            continue
        content = message['content']
        if message['msg_type'] == 'status':
            (busy if content['execution_state'] == 'busy' else idle)[msg_id] = time.perf_counter()
            if content['execution_state'] == 'idle':
                pending.discard(msg_id)
        elif message['msg_type'] == 'stream':
            texts[msg_id].append(content['text'])
        elif message['msg_type'] in ('execute_result', 'display_data'):
            texts[msg_id].append(content['data'].get('text/plain', ''))
        elif message['msg_type'] == 'error':
            texts[msg_id].append(f"{content['ename']}: {content['evalue']}")
    while True:   # the replies, so that the next run starts clean
        try:
            client.get_shell_msg(timeout=0.2)
        except queue.Empty:
            break
    return max(idle.values()) - min(busy.values()), [''.join(texts[i]) for i in ids]


def _fresh(name, cells, cwd=None):
    with _kernel(name, cwd) as (client, startup):
        seconds, outputs = _run_all(client, cells)
    return seconds, outputs, startup


def _warm(name, cells):
    with _kernel(name) as (client, _):
        _run_all(client, cells)
        return _run_all(client, cells)


def _interleaved(run, rounds):
    """kernel name -> list of what `run(name)` gave, the two kernels taking turns."""
    results = {name: [] for name in KERNELS}
    for _ in range(rounds):
        for name in KERNELS:
            results[name].append(run(name))
    return results


def _round_trip(client, code):
    """(seconds from execute_request to its execute_reply, the reply)."""
    start = time.perf_counter()
    msg_id = client.execute(code)
    while True:
        try:
            reply = client.get_shell_msg(timeout=10)
        except queue.Empty:
            raise TimeoutError('no execute_reply within 10 s') from None
        if reply['parent_header'].get('msg_id') == msg_id:
            return time.perf_counter() - start, reply


def _round_trips(kernel_name, runs, code, setup=None):
    with _kernel(kernel_name) as (client, _):
        if setup:
            _run_all(client, [setup])
        return [_round_trip(client, code)[0] for _ in range(20 + runs)][20:]


NAMES_DEFINED = 3000
MANY_NAMES = 'x = 41\n' + '\n'.join(f'v_{i} = {i}' for i in range(NAMES_DEFINED))

FAILING = 'def f():\n    return undefined_name\nf()'


def _first_failure(name):
    """Seconds from execute_request to execute_reply of the first failing cell of a
    fresh kernel (after one trivial cell)."""
    with _kernel(name) as (client, _):
        _run_all(client, ['x = 1'])
        seconds, reply = _round_trip(client, FAILING)
        if reply['content']['status'] != 'error':
            raise RuntimeError(f'the failing cell did not fail on {name}')
        return seconds


def _cpu_notebook(k):
    return [WORK.format(i=i) for i in range(k)] + \
        ['print(' + ' + '.join(f'total_{i}' for i in range(k)) + ')']


def _speedup_row(figure, runs, goal, why):
    """A Run All speed-up row: the median interp time against ipykernel's, the
    goal met if the speed-up reaches `goal` and the outputs are the same."""
    seq, par = (median([r[0] for r in runs[n]]) for n in KERNELS)
    same = {tuple(r[1]) for r in runs['python3']} == {tuple(r[1]) for r in runs[KERNEL_NAME]}
    return Row(figure=f'{figure}, {len(runs["python3"])} interleaved trials',
               value=f'{fmt_time(par)} ({fmt_ratio(seq / par)} faster; outputs '
                     f'{"identical" if same else "DIFFERENT"})',
               anchors=f'ipykernel (one after another) {fmt_time(seq)}',
               ratios=f'speed-up {fmt_ratio(seq / par)}',
               goal=f'>= {goal:.1f}x ({why}), identical outputs',
               met=same and seq / par >= goal)


def _cpu_row(label, runs, k):
    return _speedup_row(f'9{label}. notebook of k={k} independent CPU-bound cells + a joining '
                        f'cell, Run All (first busy to last idle)', runs, 0.9 * k, '0.9 k')


def _bare_interpreter_row(ctx, k):
    """Row 9d: the code of a row-9 cell, a loop at module level, run by CPython
    in a bare subinterpreter and in the main interpreter, taking turns."""
    source = WORK.format(i=0)
    code = compile(source, '<row 9>', 'exec')
    iid = _xi.create()
    try:
        _xi.run(iid, source)   # warm-up
        times = interleaved({'main': lambda: exec(code, {'__name__': '__main__'}),
                             'sub': lambda: _xi.run(iid, source)},
                            ctx.reps(9, 3))
    finally:
        _xi.destroy(iid)
    main, sub = median(times['main']), median(times['sub'])
    return Row(figure=f'9d. a row-9 cell\'s code (a loop at module level) in a bare CPython '
                      f'subinterpreter, no interpkernel code in it, {len(times["sub"])} '
                      f'interleaved trials',
               value=fmt_time(sub), anchors=f'the main interpreter {fmt_time(main)}',
               ratios=f'subinterpreter/main {sub / main:.2f}: the best speed-up it leaves '
                      f'rows 9a/9b is {fmt_ratio(k * main / sub)}',
               goal='(context for 9a and 9b)', met=None)


def _corpus_rows(ctx):
    notebooks = sorted(REAL.glob('*.ipynb'))
    rounds = ctx.reps(3, 1)
    per_notebook, startups, differ = [], {n: [] for n in KERNELS}, []
    for path in notebooks:
        cells = [c.source for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == 'code']
        runs = _interleaved(lambda name: _fresh(name, cells, cwd=str(path.parent)), rounds)
        times = {n: median([r[0] for r in runs[n]]) for n in KERNELS}
        for name in KERNELS:
            startups[name] += [r[2] for r in runs[name]]
        if runs['python3'][0][1] != runs[KERNEL_NAME][0][1]:
            differ.append(path.stem)
        per_notebook.append((path.stem, times['python3'], times[KERNEL_NAME]))
    startup = median(startups[KERNEL_NAME])
    total_ipy = sum(t for _, t, _ in per_notebook)
    total_interp = sum(t for _, _, t in per_notebook)
    worst = max(per_notebook, key=lambda row: row[2] / row[1])
    slower = [stem for stem, ipy, interp in per_notebook if interp - ipy > startup]
    return [
        Row(figure=f'12a. {len(per_notebook)} real notebooks (tests/notebooks/real), Run All '
                   f'on fresh kernels, total of the per-notebook medians ({rounds} trials)',
            value=f'{fmt_time(total_interp)}; {len(per_notebook) - len(differ)} of '
                  f'{len(per_notebook)} with the same text output in the timed runs'
                  + (f' (not: {", ".join(differ)})' if differ else ''),
            anchors=f'ipykernel {fmt_time(total_ipy)}; start-up (median) ipykernel '
                    f'{fmt_time(median(startups["python3"]))}, interp {fmt_time(startup)}',
            ratios=f'interp/ipykernel {total_interp / total_ipy:.2f}',
            goal='total faster than ipykernel (ratio < 1)', met=total_interp < total_ipy),
        Row(figure='12b. the worst real notebook (interp time / ipykernel time)',
            value=f'{worst[0]}: {fmt_time(worst[2])}',
            anchors=f'ipykernel {fmt_time(worst[1])}',
            ratios=f'{worst[2] / worst[1]:.2f}; slower by more than the interp kernel\'s '
                   f'start-up: {", ".join(slower) or "none"}',
            goal='none slower than ipykernel by more than the kernel start-up',
            met=not slower),
    ]


@contextmanager
def interp_kernelspec():
    """The interp kernelspec, installed for the time being where Jupyter looks."""
    with tempfile.TemporaryDirectory() as prefix:
        install(prefix=prefix)
        saved = os.environ.get('JUPYTER_PATH')
        os.environ['JUPYTER_PATH'] = os.path.join(prefix, 'share', 'jupyter')
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop('JUPYTER_PATH', None)
            else:
                os.environ['JUPYTER_PATH'] = saved


def rows(ctx):
    k = os.process_cpu_count() or 1
    with interp_kernelspec():
        rounds = ctx.reps(7, 2)
        cpu = _cpu_notebook(k)
        fresh = _interleaved(lambda name: _fresh(name, cpu), rounds)
        warm = _interleaved(lambda name: _warm(name, cpu), rounds)
        sleepers = _interleaved(lambda name: _fresh(name, SLEEPERS), rounds)
        bare = _bare_interpreter_row(ctx, k)
        shared = _interleaved(lambda name: _fresh(name, SHARED), rounds)
        chain = _interleaved(lambda name: _fresh(name, CHAIN), rounds)
        trips = ctx.reps(300, 50)
        trivial = {n: _round_trips(n, trips, 'x = 1') for n in KERNELS}
        small = {n: _round_trips(n, trips, 'y = x + 1', setup='x = 41') for n in KERNELS}
        crowded = {n: _round_trips(n, trips, 'y = x + 1', setup=MANY_NAMES) for n in KERNELS}
        failures = _interleaved(_first_failure, rounds)
        corpus = _corpus_rows(ctx)
    added = percentile(trivial[KERNEL_NAME], 50) - percentile(trivial['python3'], 50)
    added_small = percentile(small[KERNEL_NAME], 50) - percentile(small['python3'], 50)
    added_crowded = percentile(crowded[KERNEL_NAME], 50) - percentile(crowded['python3'], 50)
    ipy_shared, interp_shared = (median([r[0] for r in shared[n]]) for n in KERNELS)
    ipy_failure, interp_failure = (median(failures[n]) for n in KERNELS)
    same_shared = {tuple(r[1]) for r in shared['python3']} == \
        {tuple(r[1]) for r in shared[KERNEL_NAME]}
    ipy_chain, interp_chain = (median([r[0] for r in chain[n]]) for n in KERNELS)
    same_chain = {tuple(r[1]) for r in chain['python3']} == {tuple(r[1]) for r in chain[KERNEL_NAME]}
    added_chain = (interp_chain - ipy_chain) / len(CHAIN)
    return [
        _cpu_row('a (fresh kernels)', fresh, k),
        _cpu_row('b (warm kernel)', warm, k),
        _speedup_row('9c. two CPU-bound cells, two cells sleeping 1 s (10 x 0.1 s) and a join, '
                     'Run All on fresh kernels', sleepers, 1.8, 'sleeping cells hold no core'),
        bare,
        Row(figure='10a. trivial cell round trip (`x = 1`, execute_request -> execute_reply)',
            value=fmt_latency(trivial[KERNEL_NAME]),
            anchors=f'ipykernel {fmt_latency(trivial["python3"])}',
            ratios=f'added p50 {added * 1e3:+.2f} ms',
            goal='within 1 ms of ipykernel', met=added <= 1e-3),
        Row(figure='10b. round trip of a cell reading one small value (`y = x + 1`)',
            value=fmt_latency(small[KERNEL_NAME]),
            anchors=f'ipykernel {fmt_latency(small["python3"])}',
            ratios=f'added p50 {added_small * 1e3:+.2f} ms',
            goal='within 1 ms of ipykernel', met=added_small <= 1e-3),
        Row(figure=f'10c. round trip of the first failing cell of a fresh kernel (a NameError '
                   f'in a function, its traceback shown), {rounds} interleaved trials',
            value=fmt_time(interp_failure), anchors=f'ipykernel {fmt_time(ipy_failure)}',
            ratios=f'interp/ipykernel {interp_failure / ipy_failure:.2f}',
            goal='<= ipykernel', met=interp_failure <= ipy_failure),
        Row(figure=f'10d. the cell of 10b once the session has defined {NAMES_DEFINED:,} names '
                   f'(one cell of `v_i = i`)',
            value=fmt_latency(crowded[KERNEL_NAME]),
            anchors=f'ipykernel {fmt_latency(crowded["python3"])}',
            ratios=f'added p50 {added_crowded * 1e3:+.2f} ms',
            goal='within 1 ms of ipykernel (no growth with the names defined)',
            met=added_crowded <= 1e-3),
        Row(figure=f'11. shared-data notebook (5M-element list and 1M-entry dict built once, '
                   f'read by 5 later cells), Run All on fresh kernels, {rounds} interleaved '
                   f'trials',
            value=f'{fmt_time(interp_shared)} (outputs '
                  f'{"identical" if same_shared else "DIFFERENT"})',
            anchors=f'ipykernel {fmt_time(ipy_shared)}',
            ratios=f'interp/ipykernel {interp_shared / ipy_shared:.2f}',
            goal='<= 1.0', met=same_shared and interp_shared <= ipy_shared),
        Row(figure=f'11b. chain of {len(CHAIN)} cells, each making an object of a notebook class '
                   f'from the one before (`x2 = x1 + 1`, `__add__` making a new object), Run All '
                   f'on fresh kernels, {rounds} interleaved trials',
            value=f'{fmt_time(interp_chain)} (outputs '
                  f'{"identical" if same_chain else "DIFFERENT"})',
            anchors=f'ipykernel {fmt_time(ipy_chain)}',
            ratios=f'interp/ipykernel {interp_chain / ipy_chain:.2f}, added per cell '
                   f'{added_chain * 1e3:+.2f} ms',
            goal='within 1 ms of ipykernel per cell', met=same_chain and added_chain <= 1e-3),
        *corpus,
    ]
