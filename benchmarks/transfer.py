"""Rows 5 and 6: moving big buffers into a cell (``n = len(data)``, output n).

5. 64 MiB of bytes (which the interpreter layer copies) into a warmed worker,
   as GB/s (1e9 bytes/s); anchors: ipyparallel ``push`` of the same bytes to
   one engine, and one plain copy of them in the host (``bytearray(data)``,
   into fresh pages as the worker's copy is): the machine's one-copy speed.
6. memoryview of 16 MiB and of 256 MiB (zero-copy: the time should not grow
   with the size; the two sizes take turns), and a 256 MiB bytearray (the
   worker copies it once); anchor: ``pickle.loads(pickle.dumps(...))`` of the
   same bytearray in the host.

Buffers are filled with a repeating pattern, not zeros, so every page is real.
"""

import pickle

from interpkernel import Pool

from ._stats import attempt, interleaved, median, repeat
from ._table import Row, describe, fmt_ratio, fmt_time, ratios

NAME = 'transfer'
MiB = 1 << 20
BYTES_GOAL = 2e9       # bytes/s
ZERO_COPY_GOAL = 2.0   # memoryview 256 MiB / 16 MiB time; a copy would make it ~16
CELL = 'n = len(data)'


def _filled(size):
    return bytearray(range(256)) * (size // 256)


def _runner(pool, data):
    """A function running CELL on `data`, checked; it has run once (warm-up)."""
    def run():
        assert pool.run(CELL, {'data': data}, ['n'])['n'] == len(data)
    run()
    return run


def _run_time(pool, data, times):
    """Median seconds of running CELL on `data`."""
    return median(repeat(_runner(pool, data), times))


def _ipp_push(cluster, data, times):
    view = cluster.client()[0]
    push = lambda: view.push({'data': data}, block=True)
    push()
    return median(repeat(push, times))


def _pickle_round_trip(data, times):
    return median(repeat(lambda: pickle.loads(pickle.dumps(data, pickle.HIGHEST_PROTOCOL)),
                         times))


def _gbps(size, seconds):
    return f'{size / seconds / 1e9:.2f} GB/s'


def _bytes_row(ctx, pool):
    data = bytes(_filled(64 * MiB))
    seconds = _run_time(pool, data, ctx.reps(10, 3))
    copy = median(repeat(lambda: bytearray(data), ctx.reps(10, 3)))
    ipp = attempt(lambda: _ipp_push(ctx.cluster, data, ctx.reps(3, 1)))
    rate = lambda s: f'{_gbps(len(data), s)} ({fmt_time(s)})'
    return Row(
        figure='5. 64 MiB bytes into a cell on a warmed worker',
        value=rate(seconds),
        anchors='; '.join([f'one copy in the host {rate(copy)}',
                           describe('ipyparallel push to 1 engine', ipp, rate)]),
        ratios=ratios(('copy/ik time', copy, seconds), ('ipp/ik time', ipp.value, seconds)),
        goal=f'>= {BYTES_GOAL / 1e9:.0f} GB/s', met=len(data) / seconds >= BYTES_GOAL)


def _memoryview_row(ctx, pool):
    sizes = {'small': 16 * MiB, 'big': 256 * MiB}
    runs = {name: _runner(pool, memoryview(_filled(size))) for name, size in sizes.items()}
    times = interleaved(runs, ctx.reps(30, 10))
    small, big = median(times['small']), median(times['big'])
    growth = big / small
    return Row(
        figure='6a. memoryview into a cell: 256 MiB vs 16 MiB',
        value=f'256 MiB {fmt_time(big)}, 16 MiB {fmt_time(small)}',
        anchors='(none: the ratio to the smaller size is the figure)',
        ratios=f'256/16 MiB time {fmt_ratio(growth)}',
        goal=f'time independent of size (zero-copy): 256/16 <= {ZERO_COPY_GOAL:.0f}x '
             '(a copy: ~16x)',
        met=growth <= ZERO_COPY_GOAL)


def _bytearray_row(ctx, pool):
    data = _filled(256 * MiB)
    seconds = _run_time(pool, data, ctx.reps(5, 2))
    pickled = _pickle_round_trip(data, ctx.reps(5, 2))
    return Row(
        figure='6b. 256 MiB bytearray into a cell (one copy, in the worker)',
        value=f'{fmt_time(seconds)} ({_gbps(len(data), seconds)})',
        anchors=f'pickle.dumps + loads in the host {fmt_time(pickled)}',
        ratios=ratios(('pickle/ik', pickled, seconds)),
        goal='<= pickle dumps + loads (one memcpy)', met=seconds <= pickled)


def rows(ctx):
    with Pool(1) as pool:
        pool.wait_ready()
        return [_bytes_row(ctx, pool), _memoryview_row(ctx, pool), _bytearray_row(ctx, pool)]
