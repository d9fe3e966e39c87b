"""CSP channels: rendezvous and buffered, close, iteration, select, across interpreters."""

import threading
import time

import pytest

from interpkernel import (Channel, ChannelClosed, ChannelEmpty, ChannelFull, Pool,
                          TransferError, select)


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


def test_bad_capacity_is_refused():
    for capacity in (-1, 1.5, 10 ** 9):
        with pytest.raises(ValueError, match='capacity'):
            Channel(capacity)


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


def test_non_blocking_receive_takes_from_a_waiting_rendezvous_sender():
    channel = Channel()
    threads = [_in_thread(channel.send, value) for value in (42, 43)]
    while not channel._sender_waiting():
        time.sleep(0.001)
    assert channel.recv_nowait() in (42, 43)
    while not channel._sender_waiting():
        time.sleep(0.001)
    assert select([channel], default='none')[1] in (42, 43)
    for thread in threads:
        thread.join(5)
    assert select([channel], default='none') == (None, 'none')
