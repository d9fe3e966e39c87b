"""Row 8: how long an interrupt takes to stop a cell, by what the cell is doing.

interpkernel: a named worker runs a cell that prints "go" and then spins in a
pure-Python loop, blocks in ``Channel.recv``, or sleeps in ``time.sleep``; the
host calls ``future.interrupt()`` as soon as "go" arrives and times until the
future has failed with KeyboardInterrupt.  Anchor: the same for a
``multiprocessing.Process`` stopped with SIGINT (the way a Jupyter kernel is
interrupted).  The child is spawned, not forked: by this group the bench process
has threads (the shared ipyparallel cluster's) and has made subinterpreters, and
a forked child can hang on a lock some thread held at the fork.  Goals from
the runtime issue: 100 ms for a loop, 1 s when blocked.
"""

import multiprocessing
import os
import signal
import threading
import time

from interpkernel import Channel, Pool

from ._stats import percentile
from ._table import Row, fmt_time

NAME = 'interrupts'
BODIES = {
    'pure-Python loop': ('while True:\n    pass', 0.1),
    'blocked in Channel.recv': ('ch.recv()', 1.0),
    'in time.sleep': ('import time\ntime.sleep(3600)', 1.0),
}


def _interrupt_once(pool, body):
    go = threading.Event()
    future = pool.submit('print("go", flush=True)\n' + body, {'ch': Channel()}, worker='target',
                         on_event=lambda e: e.msg_type == 'stream' and go.set())
    go.wait(30)
    start = time.perf_counter()
    future.interrupt()
    try:
        future.result(timeout=30)
    except KeyboardInterrupt:
        return time.perf_counter() - start
    raise RuntimeError(f'the cell was not interrupted: {body!r}')


def _spin(ready):
    # Python keeps SIGINT ignored if it started so (a bench run as a background
    # job of a script inherits that): the anchor must stop on it as Python does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:   # the signal may land while set() returns: that ends the child quietly too
        ready.set()
        while True:
            pass
    except KeyboardInterrupt:
        os._exit(0)


def _process_interrupt():
    spawn = multiprocessing.get_context('spawn')
    ready = spawn.Event()
    child = spawn.Process(target=_spin, args=(ready,))
    child.start()
    try:
        if not ready.wait(60):
            raise RuntimeError('the anchor child process did not start within 60 s')
        start = time.perf_counter()
        os.kill(child.pid, signal.SIGINT)
        child.join(30)
        if child.exitcode is None:
            raise RuntimeError('the anchor child process ignored SIGINT for 30 s')
        return time.perf_counter() - start
    finally:
        child.kill()
        child.join()


def rows(ctx):
    runs = ctx.reps(15, 5)
    process = [_process_interrupt() for _ in range(runs)]
    measured = {}
    with Pool(1) as pool:
        pool.run('pass', worker='target')
        for label, (body, _) in BODIES.items():
            measured[label] = [_interrupt_once(pool, body) for _ in range(runs)]
    result = []
    for label, (_, goal) in BODIES.items():
        p50, worst = percentile(measured[label], 50), max(measured[label])
        anchor = (f'SIGINT to a spinning child process p50 {fmt_time(percentile(process, 50))}'
                  if label == 'pure-Python loop' else '')
        result.append(Row(
            figure=f'8. interrupt a cell {label} until its future fails ({runs} runs)',
            value=f'p50 {fmt_time(p50)} (max {fmt_time(worst)})', anchors=anchor, ratios='',
            goal=f'<= {fmt_time(goal)}', met=worst <= goal))
    return result
