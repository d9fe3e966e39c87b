"""CSP channels: rendezvous and buffered, close, iteration, select, across interpreters."""

import math
import threading
import time

import pytest

from interpkernel import (Channel, ChannelClosed, ChannelEmpty, ChannelFull, Pool,
                          TransferError, select)
from interpkernel._core.transport import check_timeout
from interpkernel.channels import MAX_CAPACITY


@pytest.fixture(scope='module')
def pool():
    with Pool(2) as own:
        own.wait_ready()
        yield own


def _in_thread(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.start()
    return thread


def test_rendezvous_send_waits_for_a_receiver():
    channel = Channel()
    with pytest.raises(ChannelFull):
        channel.send('nobody', timeout=0.05)
    sent = threading.Event()

    def sender():
        channel.send('hello')
        sent.set()

    thread = _in_thread(sender)
    assert not sent.wait(0.1)        # no receiver yet: the sender is still blocked
    assert channel.recv(timeout=5) == 'hello'
    thread.join(5)
    assert sent.is_set()


def test_timed_out_rendezvous_send_delivers_nothing():
    channel = Channel()
    with pytest.raises(ChannelFull):
        channel.send(1, timeout=0.01)
    with pytest.raises(ChannelEmpty):
        channel.recv(timeout=0.01)


def test_buffered_channel_holds_capacity_items_then_blocks():
    channel = Channel(capacity=2)
    channel.send('a')
    channel.send('b')
    with pytest.raises(ChannelFull):
        channel.send('c', timeout=0.05)
    assert [channel.recv(), channel.recv()] == ['a', 'b']


def test_recv_timeout_raises_channel_empty_which_is_a_queue_empty():
    import queue
    channel = Channel(1)
    with pytest.raises(queue.Empty):
        channel.recv(timeout=0.01)
    with pytest.raises(ChannelEmpty):
        channel.recv_nowait()


def test_close_lets_receivers_drain_then_ends_iteration():
    channel = Channel(capacity=3)
    for item in (1, 2, 3):
        channel.send(item)
    channel.close()
    assert channel.closed
    assert list(channel) == [1, 2, 3]
    with pytest.raises(ChannelClosed):
        channel.recv()


def test_send_on_closed_channel_raises():
    channel = Channel()
    channel.close()
    channel.close()
    with pytest.raises(ChannelClosed, match='closed'):
        channel.send(1)


def test_close_wakes_a_blocked_receiver_and_sender():
    receiving, sending = Channel(), Channel()
    errors = []

    def receiver():
        try:
            receiving.recv()
        except ChannelClosed as exc:
            errors.append(exc)

    def sender():
        try:
            sending.send(1)
        except ChannelClosed as exc:
            errors.append(exc)

    threads = [_in_thread(receiver), _in_thread(sender)]
    time.sleep(0.05)
    receiving.close()
    sending.close()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 2


def test_select_returns_the_ready_channel():
    a, b = Channel(1), Channel(1)
    b.send('from b')
    assert select([a, b], timeout=1) == (b, 'from b')


def test_select_default_and_timeout():
    a = Channel()
    assert select([a], default='none') == (None, 'none')
    with pytest.raises(ChannelEmpty):
        select([a], timeout=0.01)


def test_select_skips_closed_channels_and_raises_when_all_are():
    a, b = Channel(1), Channel(1)
    a.close()
    b.send(2)
    assert select([a, b]) == (b, 2)
    b.close()
    with pytest.raises(ChannelClosed):
        select([a, b])


def test_select_rejects_non_channels():
    with pytest.raises(TypeError, match='Channel'):
        select([1])
    with pytest.raises(TypeError):
        select([])


def test_select_over_rendezvous_channels_loses_no_value():
    channels = [Channel() for _ in range(3)]
    per_sender = 200

    def sender(channel, base):
        for i in range(per_sender):
            channel.send(base + i)

    threads = [_in_thread(sender, c, 1000 * n) for n, c in enumerate(channels)]
    received = [select(channels, timeout=10)[1] for _ in range(3 * per_sender)]
    for thread in threads:
        thread.join(5)
    assert sorted(received) == sorted(1000 * n + i for n in range(3) for i in range(per_sender))


@pytest.mark.parametrize('capacity, error', [
    (True, TypeError), (1.5, TypeError), (2.0, TypeError), ('2', TypeError), (None, TypeError),
    (-1, ValueError), (MAX_CAPACITY + 1, ValueError), (10 ** 100, ValueError),
])
def test_bad_capacity_is_refused_with_what_is_expected(capacity, error):
    with pytest.raises(error, match=rf'^capacity must be .*got {repr(capacity)[:20]}'):
        Channel(capacity)


def test_largest_capacity_buffers_that_many():
    channel = Channel(MAX_CAPACITY)
    for i in range(MAX_CAPACITY):
        channel.send(i, timeout=0)
    with pytest.raises(ChannelFull):
        channel.send('one too many', timeout=0)
    assert channel.recv_nowait() == 0
    channel.send(MAX_CAPACITY, timeout=0)     # into a pipe read only in part
    channel.close()
    assert list(channel) == list(range(1, MAX_CAPACITY + 1))


def test_unsendable_value_is_a_transfer_error():
    with pytest.raises(TransferError, match='over the channel'):
        Channel(1).send(threading.Lock())


def test_host_to_worker_pipeline(pool):
    numbers, squares = Channel(), Channel(capacity=10)
    future = pool.submit('for n in numbers:\n    squares.send(n * n)\nsquares.close()',
                         {'numbers': numbers, 'squares': squares})
    for n in range(10):
        numbers.send(n)
    numbers.close()
    assert list(squares) == [n * n for n in range(10)]
    future.result(timeout=10)


def test_worker_to_worker_pipeline_runs_on_two_interpreters(pool):
    channel = Channel()
    producer = pool.submit('import threading\ntid = threading.get_ident()\n'
                           'for i in range(100):\n    ch.send({"i": i})\nch.close()',
                           {'ch': channel}, ['tid'])
    consumer = pool.submit('import threading\ntid = threading.get_ident()\n'
                           'got = [item["i"] for item in ch]', {'ch': channel}, ['tid', 'got'])
    assert consumer.result(timeout=20)['got'] == list(range(100))
    assert producer.result(timeout=20)['tid'] != consumer.result()['tid']


@pytest.mark.parametrize('worker', ['maker', None])
def test_channel_created_in_a_worker_comes_back_usable(pool, worker):
    result = pool.run('from interpkernel import Channel\nch = Channel(2)\nch.send("made in worker")',
                      outputs=['ch'], worker=worker)
    assert result['ch'].recv(timeout=5) == 'made in worker'


def test_channel_can_travel_over_a_channel(pool):
    outer, inner = Channel(1), Channel(1)
    outer.send(inner)
    pool.run('outer.recv().send("via inner")', {'outer': outer})
    assert inner.recv(timeout=5) == 'via inner'


def _take_from_the_waiting_sender(receive, channel, tries=5):
    # The sender gets a grace of _CLAIM_GRACE to claim the slot a non-blocking
    # receive opens for it; a thread starved for longer than that under a
    # loaded full suite misses it (seen once in CI).  Without the eager path
    # every try misses, so a few tries still test it.
    for _ in range(tries):
        while not channel._sender_waiting():
            time.sleep(0.001)
        try:
            outcome = receive()
        except ChannelEmpty:
            continue
        if outcome != 'none':
            return outcome
    return 'none'


def test_non_blocking_receive_takes_from_a_waiting_rendezvous_sender():
    channel = Channel()
    threads = [_in_thread(channel.send, value) for value in (42, 43)]
    assert _take_from_the_waiting_sender(channel.recv_nowait, channel) in (42, 43)
    assert _take_from_the_waiting_sender(
        lambda: select([channel], default='none')[1], channel) in (42, 43)
    for thread in threads:
        thread.join(5)
    assert select([channel], default='none') == (None, 'none')


# -- closing while values are in flight (issue 11) --

def test_the_last_value_is_received_when_the_close_lands_between_a_failed_take_and_the_flag():
    # The interleaving that lost a value once in ~2,000 pipelines: the receiver
    # finds nothing queued, then the sender puts its last value and closes,
    # and only then does the receiver look at the closed flag.
    channel = Channel(capacity=1)
    take = channel._take

    def take_then_the_sender_finishes(offered):
        found = take(offered)
        if not found[0] and not channel.closed:
            channel.send('last')
            channel.close()
        return found

    channel._take = take_then_the_sender_finishes
    assert list(channel) == ['last']


class _SlowPut:
    """A channel queue whose put waits for `go`, so a close can race with it."""

    def __init__(self, queue, putting, go):
        self._queue, self._putting, self._go = queue, putting, go

    def put(self, item):
        self._putting.set()
        self._go.wait(5)
        self._queue.put(item)

    def get(self):
        return self._queue.get()


@pytest.mark.parametrize('capacity', [0, 1])
def test_close_waits_for_a_send_that_is_putting_its_item(capacity):
    channel, putting, go = Channel(capacity), threading.Event(), threading.Event()
    channel._queue = _SlowPut(channel._queue, putting, go)
    received = []
    if capacity == 0:
        receiver = _in_thread(lambda: received.extend(channel))
    sender = _in_thread(channel.send, 'in flight')
    assert putting.wait(5)
    closer = _in_thread(channel.close)
    closer.join(0.1)
    assert closer.is_alive() and not channel.closed   # the close waits at the gate
    go.set()
    for thread in (sender, closer):
        thread.join(5)
    assert channel.closed
    if capacity == 0:
        receiver.join(5)
    else:
        received = list(channel)
    assert received == ['in flight']


def test_a_send_that_finds_the_channel_closed_at_the_gate_leaves_nothing():
    channel = Channel(capacity=2)
    channel.close()
    with pytest.raises(ChannelClosed, match='closed'):
        channel.send(1, timeout=0)
    assert list(channel) == []
    assert channel._slots.try_acquire() and channel._slots.try_acquire()  # both slots given back


def test_a_rendezvous_receiver_that_leaves_after_its_slot_was_claimed_loses_nothing():
    channel = Channel()
    channel._offer()                       # a receiver offers, and a sender takes its slot ...
    sender = _in_thread(channel.send, 'claimed')
    sender.join(5)
    channel._withdraw()                    # ... as that receiver leaves with another value
    assert not sender.is_alive()
    assert channel.recv(timeout=5) == 'claimed'
    with pytest.raises(ChannelFull):       # and no slot is left open
        channel.send('more', timeout=0.05)


# -- timeouts --

@pytest.mark.parametrize('value, expected', [
    (None, None), (0, 0.0), (2, 2.0), (0.25, 0.25), (math.inf, None), (10 ** 400, None),
])
def test_check_timeout_returns_seconds_or_none(value, expected):
    result = check_timeout(value)
    assert result == expected and type(result) is type(expected)


BAD_TIMEOUTS = [
    (math.nan, ValueError, 'got nan'),
    (-1, ValueError, 'got -1'),
    (-0.5, ValueError, 'got -0.5'),
    (-math.inf, ValueError, 'got -inf'),
    ('1', TypeError, "got '1' of type str"),
    (True, TypeError, 'got True of type bool'),
    ([1], TypeError, r'got \[1\] of type list'),
    (1j, TypeError, r'got 1j of type complex'),
]


@pytest.mark.parametrize('value, error, shown', BAD_TIMEOUTS)
def test_check_timeout_says_what_is_wrong_in_one_line(value, error, shown):
    with pytest.raises(error, match='^when must be a non-negative number of seconds or None, '
                                    + shown + '$'):
        check_timeout(value, 'when')


@pytest.mark.parametrize('value, error, shown', BAD_TIMEOUTS)
def test_every_channel_call_refuses_a_bad_timeout_and_leaves_the_channel_as_it_was(
        value, error, shown):
    message = '^timeout must be a non-negative number of seconds or None, ' + shown
    buffered, rendezvous = Channel(2), Channel()
    buffered.send('kept')
    with pytest.raises(error, match=message):
        buffered.send('refused', timeout=value)
    with pytest.raises(error, match=message):
        buffered.recv(timeout=value)
    with pytest.raises(error, match=message):
        select([buffered, rendezvous], timeout=value)
    with pytest.raises(error, match=message):
        select([buffered], timeout=value, default='d')
    with pytest.raises(error, match=message):
        rendezvous.recv(timeout=value)
    with pytest.raises(error, match=message):
        rendezvous.send('refused', timeout=value)
    # Nothing was sent, taken or offered:
    assert buffered.recv_nowait() == 'kept'
    with pytest.raises(ChannelEmpty):
        buffered.recv_nowait()
    with pytest.raises(ChannelFull):      # no receiver slot was left open
        rendezvous.send('x', timeout=0)
    assert not rendezvous._senders.has_tokens()


def test_a_bad_timeout_on_a_rendezvous_send_delivers_nothing_to_a_waiting_receiver():
    channel, got = Channel(), []
    receiver = _in_thread(lambda: got.append(select([channel], timeout=0.3, default=None)))
    time.sleep(0.05)                       # the receiver waits, its slot offered
    with pytest.raises(ValueError, match='got nan'):
        channel.send('refused', timeout=math.nan)
    receiver.join(5)
    assert got == [(None, None)]


@pytest.mark.parametrize('forever', [None, math.inf, 1e300, 10 ** 400])
def test_infinite_and_huge_timeouts_wait_until_the_value_comes(forever):
    channel, back = Channel(), Channel(1)

    def echo():
        back.send(channel.recv(timeout=forever), timeout=forever)

    thread = _in_thread(echo)
    time.sleep(0.05)
    channel.send('ping', timeout=forever)
    assert select([back], timeout=forever) == (back, 'ping')
    thread.join(5)


def test_select_with_a_default_and_an_infinite_timeout_waits():
    channel = Channel(1)
    timer = threading.Timer(0.05, channel.send, ('late',))
    timer.start()
    assert select([channel], timeout=math.inf, default='none') == (channel, 'late')
    timer.join()


def test_an_interrupted_rendezvous_receiver_leaves_no_slot_open(pool):
    channel = Channel()
    started = Channel(1)
    future = pool.submit('started.send(1)\nch.recv()', {'ch': channel, 'started': started})
    started.recv(timeout=10)
    time.sleep(0.05)                       # now blocked in recv, its slot offered
    future.interrupt()
    with pytest.raises(KeyboardInterrupt):
        future.result(timeout=10)
    with pytest.raises(ChannelFull):
        channel.send('nobody takes this', timeout=0.05)


def test_an_interrupted_sender_sends_nothing(pool):
    channel, started = Channel(), Channel(1)
    future = pool.submit('started.send(1)\nch.send("never")', {'ch': channel, 'started': started})
    started.recv(timeout=10)
    time.sleep(0.05)                       # now blocked in send, waiting for a receiver
    future.interrupt()
    with pytest.raises(KeyboardInterrupt):
        future.result(timeout=10)
    with pytest.raises(ChannelEmpty):
        channel.recv(timeout=0.05)
