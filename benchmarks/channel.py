"""Row 4: round trip of a small value between two running parties, p50.

interpkernel: two named workers, one echoing everything it receives on
``ping`` back on ``pong`` (rendezvous Channels), the other timing each round
trip with ``time.perf_counter`` inside its cell.  Anchors: a
``multiprocessing.Pipe`` between the host and an echoing child process (timed
in the host), and CPython 3.13's own interpreters queues
(``test.support.interpreters.queues``, whose blocking ``get`` polls with 10 ms
sleeps) between two subinterpreters, each on its own thread, timed the same way
as interpkernel's.  The first rounds of each are warm-up and are dropped.
The echo process is spawned, not forked (see `benchmarks.interrupts`).
"""

import multiprocessing
import threading
import time

from interpkernel import Channel, Pool

from ._stats import attempt, percentile
from ._table import Row, describe, fmt_latency, ratios

NAME = 'channel'
WARMUP = 50

ECHO_CELL = 'for x in ping:\n    pong.send(x)\n'
TIMER_CELL = '''\
import time
times = []
for i in range(warmup + rounds):
    start = time.perf_counter()
    ping.send(i)
    pong.recv()
    times.append(time.perf_counter() - start)
times = times[warmup:]
'''
QUEUE_ECHO = '''\
while (x := ping.get()) is not None:
    pong.put(x)
'''
# The same timing loop over the stdlib queues' put/get.
QUEUE_TIMER = (TIMER_CELL.replace('ping.send(i)', 'ping.put(i)')
               .replace('pong.recv()', 'pong.get()') + 'out.put(tuple(times))\n')


def _interpkernel(rounds):
    ping, pong = Channel(), Channel()
    with Pool(1) as pool:
        echo = pool.submit(ECHO_CELL, {'ping': ping, 'pong': pong}, worker='echo')
        times = pool.run(TIMER_CELL, {'ping': ping, 'pong': pong, 'warmup': WARMUP,
                                      'rounds': rounds}, ['times'], worker='timer')['times']
        ping.close()
        echo.result()
    return times


def _echo(conn):
    while (x := conn.recv()) is not None:
        conn.send(x)


def _pipe(rounds):
    spawn = multiprocessing.get_context('spawn')
    here, there = spawn.Pipe()
    child = spawn.Process(target=_echo, args=(there,))
    child.start()
    times = []
    try:
        for i in range(WARMUP + rounds):
            start = time.perf_counter()
            here.send(i)
            here.recv()
            times.append(time.perf_counter() - start)
    finally:
        here.send(None)
        child.join()
    return times[WARMUP:]


def _interpreters_queue(rounds):
    from test.support import interpreters
    from test.support.interpreters import queues
    ping, pong, out = queues.create(), queues.create(), queues.create()
    echo, timer = interpreters.create(), interpreters.create()
    try:
        for interp in (echo, timer):
            interp.exec('from test.support.interpreters import queues')
        echo.prepare_main(ping=ping, pong=pong)
        timer.prepare_main(ping=ping, pong=pong, out=out, warmup=1, rounds=rounds)
        echo_thread = threading.Thread(target=echo.exec, args=(QUEUE_ECHO,))
        echo_thread.start()
        try:
            timer.exec(QUEUE_TIMER)
            return list(out.get())
        finally:
            ping.put(None)   # ends the echo loop, also if the timer failed
            echo_thread.join()
    finally:
        echo.close()
        timer.close()


def rows(ctx):
    pipe = _pipe(ctx.reps(2000, 300))
    times = _interpkernel(ctx.reps(2000, 300))
    queue = attempt(lambda: _interpreters_queue(ctx.reps(20, 10)))
    p50, pipe_p50 = percentile(times, 50), percentile(pipe, 50)
    queue_p50 = queue.apply(lambda t: percentile(t, 50))
    return [Row(
        figure='4. channel round trip between two running workers (rendezvous Channels, '
               'timed inside the cell)',
        value=fmt_latency(times),
        anchors='; '.join([
            f'multiprocessing.Pipe, host <-> child process {fmt_latency(pipe)}',
            describe('3.13 interpreters queues, subinterpreter <-> subinterpreter '
                     f'({len(queue.value or ())} round trips)', queue, fmt_latency)]),
        ratios=ratios(('Pipe/ik', pipe_p50, p50), ('queues/ik', queue_p50, p50)),
        goal='p50 <= Pipe p50', met=p50 <= pipe_p50)]
