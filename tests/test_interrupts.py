"""Interrupting cells: busy loops, blocked channel waits, sleeps; the worker survives."""

import threading

import pytest

from interpkernel import Channel, Pool


@pytest.fixture
def pool():
    with Pool(2) as own:
        own.wait_ready()
        yield own


def _started(future, marker):
    """Wait until the cell has printed `marker` (so it is really running)."""
    seen = threading.Event()
    future.add_event_listener(
        lambda e: e.msg_type == 'stream' and marker in e.content['text'] and seen.set())
    assert seen.wait(30), f'cell never printed {marker!r}'


@pytest.mark.parametrize('body', [
    'while True:\n    pass',
    'ch.recv()',
    'select([ch, Channel()])',
    'import time\ntime.sleep(3600)',
    'from time import sleep\nsleep(3600)',
    'for item in ch:\n    pass',
])
def test_interrupt_raises_keyboard_interrupt_and_the_worker_keeps_its_namespace(pool, body):
    pool.run('kept = "still here"', worker='w')
    source = 'from interpkernel import Channel, select\nprint("go", flush=True)\n' + body
    future = pool.submit(source, {'ch': Channel()}, worker='w')
    _started(future, 'go')
    future.interrupt()
    with pytest.raises(KeyboardInterrupt):
        future.result(timeout=10)
    # It ends at the cell's line, as Python's own (C) waits show no frame of theirs.
    shown = '\n'.join(future.error['traceback'])
    assert 'interpkernel' not in shown and shown.endswith('KeyboardInterrupt')
    assert pool.run('pass', outputs=['kept'], worker='w') == {'kept': 'still here'}


def test_cell_can_catch_the_interrupt_and_finish(pool):
    # "go" is printed inside the try: the interrupt may land while print returns.
    source = ('try:\n    print("go", flush=True)\n    while True: pass\n'
              'except KeyboardInterrupt:\n    outcome = "caught"')
    future = pool.submit(source, outputs=['outcome'])
    _started(future, 'go')
    future.interrupt()
    assert future.result(timeout=10) == {'outcome': 'caught'}


def test_interrupt_all_stops_every_running_cell(pool):
    futures = [pool.submit('print("go", flush=True)\nwhile True: pass') for _ in range(2)]
    for future in futures:
        _started(future, 'go')
    pool.interrupt()
    for future in futures:
        with pytest.raises(KeyboardInterrupt):
            future.result(timeout=10)


def test_interrupt_by_worker_name_hits_only_that_worker(pool):
    target = pool.submit('print("go", flush=True)\nwhile True: pass', worker='target')
    other = pool.submit('print("go", flush=True)\nimport time\ntime.sleep(0.5)\nok = 1',
                        outputs=['ok'], worker='bystander')
    _started(target, 'go')
    _started(other, 'go')
    pool.interrupt('target')
    with pytest.raises(KeyboardInterrupt):
        target.result(timeout=10)
    assert other.result(timeout=10) == {'ok': 1}


def test_a_late_interrupt_does_not_hit_the_next_cell(pool):
    first = pool.submit('x = 1', worker='late')
    first.result()
    first.interrupt()              # the cell is over: nothing must happen
    assert pool.run('import time\ntime.sleep(0.2)\ny = 2', outputs=['y'], worker='late') == {'y': 2}


def test_interrupting_a_queued_cell_cancels_it():
    with Pool(1) as own:
        blocker = own.submit('print("go", flush=True)\nwhile True: pass')
        queued = own.submit('never = 1')
        _started(blocker, 'go')
        queued.interrupt()
        assert queued.cancelled()
        blocker.interrupt()
        with pytest.raises(KeyboardInterrupt):
            blocker.result(timeout=10)


def test_sleep_keeps_its_argument_checks(pool):
    with pytest.raises(ValueError, match='non-negative'):
        pool.run('import time\ntime.sleep(-1)')
    with pytest.raises(TypeError):
        pool.run('import time\ntime.sleep("1")')


def test_interrupt_right_as_a_cell_is_handed_over_is_not_lost(pool):
    for _ in range(20):
        future = pool.submit('import time\ntime.sleep(60)', worker='race')
        while not future.running():
            pass
        future.interrupt()
        with pytest.raises(KeyboardInterrupt):
            future.result(timeout=10)
