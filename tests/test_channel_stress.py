"""Channel stress, the fast variant of ``python -m benchmarks.channel_stress``.

Every value sent is received exactly once or its sender got an exception, and
a receiver sees a channel closed only after every value whose send returned
was received: over pipelines like ``test_host_to_worker_pipeline`` and over
randomized rounds of several senders and receivers in the host and in
workers, with closes and interrupts at random moments.  A CPU hog runs beside
them, as in the benchmark.
"""

import random

import pytest

from benchmarks.channel_stress import Rounds, Tally, cpu_hog, pipelines
from interpkernel import Pool

PIPELINES = 1500
ROUNDS = 8


@pytest.fixture(scope='module')
def hogged_pool():
    with cpu_hog(), Pool(1) as pool:   # the hog first: forking after the pool warns
        pool.wait_ready()
        yield pool


def test_pipelines_lose_no_value(hogged_pool):
    losses, _, wrong = pipelines(hogged_pool, PIPELINES)
    assert losses == 0, f'{losses} of {PIPELINES} pipelines lost values, e.g. {wrong}'


def test_randomized_rounds_keep_every_value(hogged_pool):
    seed = random.randrange(2 ** 32)
    tally = Rounds(hogged_pool, seed).run(ROUNDS)
    assert tally.problems == [], f'seed {seed}: {tally}'
    assert tally.delivered > 0


def test_the_tally_catches_every_kind_of_breach():
    tally = Tally()
    tally.check([[('try', 1), ('ok', 1), ('try', 2), ('ok', 2), ('try', 3), ('raised', 3)],
                 [('got', 1), ('got', 1), ('got', 9), ('closed', 0)]],
                leftovers={0: [2], 1: []}, interrupted_receivers=0)
    assert tally.problems == ['1 received 2 times', '9 received but never sent',
                              'channel 0 was seen closed and drained, then still held [2]']
    tally.check([[('try', 4), ('ok', 4), ('try', 5), ('ok', 5)], [('got', 5)]],
                leftovers={}, interrupted_receivers=0)
    assert tally.problems[-1] == 'sent but never received: [4] (0 receivers were interrupted)'


def test_an_interrupted_receiver_may_drop_the_one_value_it_held():
    tally = Tally()
    tally.check([[('try', 1), ('ok', 1), ('try', 2), ('ok', 2)], [('got', 2)]],
                leftovers={}, interrupted_receivers=1)
    assert tally.problems == [] and tally.in_hand == 1
