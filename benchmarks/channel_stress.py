"""Channel stress: is every value received exactly once, or did its sender get an exception?

Two drivers, also run small by ``tests/test_channel_stress.py``:

- `pipelines`: the pipeline of ``test_host_to_worker_pipeline`` over and over.
  The host sends 0..9 on a rendezvous Channel, a worker sends their squares on
  a buffered one (capacity 10) and closes it, the host reads ``list(squares)``.
  One worker cell serves every run (the channels come to it over a control
  channel), so a run costs about a millisecond.  A loss is a run whose list
  is not the ten squares.
- `rounds`: seeded randomized rounds.  Each round makes 1-3 channels
  (rendezvous and buffered), 1-3 senders and 1-3 receivers, each in a host
  thread or in its own named worker, which send, receive and ``select`` with
  and without timeouts and non-blocking, while channels are closed and worker
  parties interrupted at random moments.  Every value is tallied (see
  `Tally.check`).

A CPU hog process runs beside both: a receiver descheduled at the wrong moment
is what exposes a race.

Usage: ``python -m benchmarks.channel_stress [--runs N] [--messages N] [--seed S]``
prints the runs, the losses (breaches) and the time of each driver; it exits
with status 1 if there was any.
"""

import argparse
import contextlib
import dataclasses
import random
import subprocess
import sys
import threading
import time
from collections import Counter

from interpkernel import Channel, Pool

from ._table import Row, fmt_time

NAME = 'channel_stress'

PIPELINE_CELL = '''\
for numbers, squares in control:
    for n in numbers:
        squares.send(n * n)
    squares.close()
'''
SQUARES = [n * n for n in range(10)]


@contextlib.contextmanager
def cpu_hog():
    """A process spinning on one core while the block runs (and ending with its
    parent, should the parent be killed before it can stop it)."""
    hog = subprocess.Popen([sys.executable, '-c', 'import os\nparent = os.getppid()\n'
                            'while os.getppid() == parent: pass'])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


def pipelines(pool, runs, worker='pipeline'):
    """Run the pipeline `runs` times: (losses, seconds, a few of the wrong lists)."""
    control = Channel()
    server = pool.submit(PIPELINE_CELL, {'control': control}, worker=worker)
    losses, wrong = 0, []
    start = time.perf_counter()
    try:
        for _ in range(runs):
            numbers, squares = Channel(), Channel(capacity=10)
            control.send((numbers, squares))
            for n in range(10):
                numbers.send(n)
            numbers.close()
            got = list(squares)
            if got != SQUARES:
                losses += 1
                if len(wrong) < 5:
                    wrong.append(got)
    finally:
        control.close()
        server.result(timeout=30)
    return losses, time.perf_counter() - start, wrong


# -- randomized rounds --------------------------------------------------------

# The parties' code, run in host threads and in worker cells alike.  Each party
# appends to `log`: ('try', v) before a send, ('ok', v) once it returned,
# ('raised', v) if it raised; ('got', v) for a value received; ('closed', n)
# once it saw the channel named n (its index in the round) closed and drained.
PARTIES = '''\
import random
from interpkernel import ChannelClosed, ChannelEmpty, ChannelFull, select

TIMEOUTS = (None, None, None, 0, 0.0005, 0.005)
# A receive from one channel always times out: blocked there for good, it could
# leave a sender blocked on another of its channels for good.
SHORT_TIMEOUTS = (0, 0.0005, 0.005)


def sender(channels, values, seed, close_after, log):
    rng = random.Random(seed)
    for value in values:
        channel = rng.choice(channels)
        log.append(('try', value))
        try:
            channel.send(value, timeout=rng.choice(TIMEOUTS))
        except (ChannelClosed, ChannelFull):
            log.append(('raised', value))
        else:
            log.append(('ok', value))
    if close_after:
        rng.choice(channels).close()


def receiver(channels, names, seed, log):
    rng = random.Random(seed)
    live = list(channels)
    while live:
        kind = rng.random()
        single = rng.choice(live)
        try:
            if kind < 0.3:
                value = single.recv(timeout=rng.choice(SHORT_TIMEOUTS))
            elif kind < 0.35:
                value = single.recv_nowait()
            elif kind < 0.9:
                _, value = select(live, timeout=rng.choice(TIMEOUTS))
            else:
                got, value = select(live, default=None)
                if got is None:
                    continue
        except ChannelEmpty:
            continue
        except ChannelClosed:
            # recv: that channel is closed and drained; select: every one is.
            for channel in ([single] if kind < 0.35 else list(live)):
                log.append(('closed', names[channels.index(channel)]))
                live.remove(channel)
            continue
        log.append(('got', value))
'''

SENDER_CELL = PARTIES + 'sender(channels, values, seed, close_after, LOG)\n'
RECEIVER_CELL = PARTIES + 'receiver(channels, names, seed, LOG)\n'
# A party's log stays in its worker's namespace, also when the cell was interrupted.
FETCH_CELL = 'log_out, LOG = LOG, []'
SENDING_TIME = 0.5      # how long senders have before every channel is closed
PARTY_TIMEOUT = 30.0    # a party still running this long after its round ended is a hang


def _host_parties():
    namespace = {}
    exec(PARTIES, namespace)
    return {'sender': namespace['sender'], 'receiver': namespace['receiver']}


@dataclasses.dataclass
class Tally:
    """What the rounds did, and every breach of the invariant they saw."""
    rounds: int = 0
    messages: int = 0         # sends attempted
    delivered: int = 0        # sends that returned and whose value was received
    refused: int = 0          # sends that raised (closed, full, interrupted)
    interrupts: int = 0       # worker parties that an interrupt stopped
    in_hand: int = 0          # values lost in the hands of an interrupted receiver
    problems: list = dataclasses.field(default_factory=list)   # every breach, described

    def check(self, logs, leftovers, interrupted_receivers):
        """Tally one round.

        `logs`: each party's log; `leftovers`: channel index -> values found in
        it after every party ended; `interrupted_receivers`: how many receiver
        parties an interrupt stopped.  A breach: a value received twice, a value
        received that nobody sent, a value whose send returned but that nobody
        received (an interrupted receiver may drop the one value it held), a
        value still in a channel that a receiver already saw closed and drained.
        """
        self.rounds += 1
        entries = [entry for log in logs for entry in log]
        tried = {v for kind, v in entries if kind == 'try'}
        sent = {v for kind, v in entries if kind == 'ok'}
        received = Counter(v for kind, v in entries if kind == 'got')
        for values in leftovers.values():
            received.update(values)
        closed_seen = {i for kind, i in entries if kind == 'closed'}
        self.messages += len(tried)
        self.refused += len(tried - sent)
        self.delivered += len(sent & received.keys())
        for value, count in received.items():
            if count > 1:
                self.problems.append(f'{value} received {count} times')
            if value not in tried:
                self.problems.append(f'{value} received but never sent')
        lost = sorted(sent - received.keys())
        if len(lost) > interrupted_receivers:
            self.problems.append(f'sent but never received: {lost} '
                                 f'({interrupted_receivers} receivers were interrupted)')
        self.in_hand += min(len(lost), interrupted_receivers)
        for index, values in leftovers.items():
            if values and index in closed_seen:
                self.problems.append(f'channel {index} was seen closed and drained, '
                                     f'then still held {values}')


class Rounds:
    """Randomized rounds over one pool; named workers ``party0..5`` host worker parties."""

    WORKERS = [f'party{i}' for i in range(6)]

    def __init__(self, pool, seed, interrupts=True):
        self.pool, self.seed, self.interrupts = pool, seed, interrupts
        self.tally = Tally()
        self._parties = _host_parties()
        for name in self.WORKERS:
            pool.run('LOG = []', worker=name)

    def run(self, count):
        for _ in range(count):
            self.round(random.Random(f'{self.seed}:{self.tally.rounds}'))
        return self.tally

    def round(self, rng):
        channels = [Channel(rng.choice((0, 0, 1, 2, 5))) for _ in range(rng.randint(1, 3))]
        workers = iter(rng.sample(self.WORKERS, len(self.WORKERS)))
        base = self.tally.rounds * 1_000_000
        reading = [rng.sample(range(len(channels)), rng.randint(1, len(channels)))
                   for _ in range(rng.randint(1, 3))]
        for name in set(range(len(channels))).difference(*reading):
            rng.choice(reading).append(name)       # every channel has a receiver
        receivers = [self._start(rng, workers, 'receiver', RECEIVER_CELL,
                                 {'channels': [channels[i] for i in names], 'names': names,
                                  'seed': rng.random()})
                     for names in reading]
        senders = [self._start(rng, workers, 'sender', SENDER_CELL,
                               {'channels': rng.sample(channels, rng.randint(1, len(channels))),
                                'seed': rng.random(),
                                'values': range(start, start + rng.randint(20, 1000)),
                                'close_after': rng.random() < 0.2})
                   for start in range(base, base + rng.randint(1, 3) * 100_000, 100_000)]
        parties = receivers + senders
        chaos = threading.Thread(target=self._chaos, args=(rng, channels, parties))
        chaos.start()
        _wait(senders, SENDING_TIME)     # a sender still blocked then ends at the close
        chaos.join()
        for channel in channels:
            channel.close()
        for party in _wait(parties, PARTY_TIMEOUT):
            self.tally.problems.append(f'a {party.role} hung')
            party.stop()
        if _wait(parties, PARTY_TIMEOUT):
            raise RuntimeError('a party hung and ignored its interrupt')
        self.tally.problems.extend(f'a {party.role} failed: {party.error!r}'
                                   for party in parties if party.error is not None)
        interrupted = sum(party.interrupted for party in parties if party.role == 'receiver')
        self.tally.interrupts += sum(party.interrupted for party in parties)
        leftovers = {i: list(channel) for i, channel in enumerate(channels)}
        self.tally.check([party.log() for party in parties], leftovers, interrupted)

    def _start(self, rng, workers, role, cell, inputs):
        if rng.random() < 0.5:
            return HostParty(role, self._parties[role], inputs)
        return WorkerParty(role, self.pool, next(workers), cell, inputs)

    def _chaos(self, rng, channels, parties):
        """Close a channel and interrupt a worker party, at random moments, maybe."""
        events = []
        if rng.random() < 0.3:
            events.append((rng.uniform(0, 0.05), rng.choice(channels).close))
        in_workers = [party for party in parties if isinstance(party, WorkerParty)]
        if self.interrupts and in_workers and rng.random() < 0.5:
            events.append((rng.uniform(0, 0.05), rng.choice(in_workers).stop))
        start = time.monotonic()
        for at, action in sorted(events, key=lambda event: event[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            action()


class HostParty:
    """A party in a thread of the host (never interrupted)."""

    interrupted = False

    def __init__(self, role, function, inputs):
        self.role, self._log, self.error = role, [], None
        self._thread = threading.Thread(target=self._run, args=(function, inputs))
        self._thread.start()

    def _run(self, function, inputs):
        try:
            function(**inputs, log=self._log)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout):
        self._thread.join(timeout)

    def is_alive(self):
        return self._thread.is_alive()

    def stop(self):
        pass   # a hung host party is a bug: nothing can stop it

    def log(self):
        return self._log


class WorkerParty:
    """A party in a cell of its own named worker; its log stays in that worker."""

    def __init__(self, role, pool, worker, cell, inputs):
        self.role, self._pool, self._worker = role, pool, worker
        self._future = pool.submit(cell, inputs, worker=worker)

    def join(self, timeout):
        with contextlib.suppress(BaseException):
            self._future.result(timeout=timeout)

    def is_alive(self):
        return not self._future.done()

    def stop(self):
        self._future.interrupt()

    @property
    def interrupted(self):
        """Stopped by an interrupt (or cancelled before it began)."""
        if self._future.cancelled():
            return True
        return isinstance(self._future.exception(timeout=0), KeyboardInterrupt)

    @property
    def error(self):
        """What the cell raised, other than an interrupt."""
        return None if self.interrupted else self._future.exception(timeout=0)

    def log(self):
        return self._pool.run(FETCH_CELL, outputs=['log_out'], worker=self._worker)['log_out']


def _wait(parties, timeout):
    """Join every party, `timeout` seconds in all; those still running."""
    deadline = time.monotonic() + timeout
    for party in parties:
        party.join(max(0.0, deadline - time.monotonic()))
    return [party for party in parties if party.is_alive()]


# -- the benchmark ------------------------------------------------------------

def stress(runs, messages, seed):
    """Both drivers with a CPU hog beside them: ((losses, seconds, wrong), Tally, seconds)."""
    with cpu_hog(), Pool(1) as pool:
        piped = pipelines(pool, runs)
        start = time.perf_counter()
        rounds = Rounds(pool, seed)
        while rounds.tally.messages < messages:
            rounds.run(10)
        return piped, rounds.tally, time.perf_counter() - start


def rows(ctx):
    runs, messages = ctx.reps(300_000, 5_000), ctx.reps(1_000_000, 20_000)
    (losses, piped_time, _), tally, rounds_time = stress(runs, messages, seed=0)
    return [
        Row(figure=f'channel stress: host -> worker -> host pipelines, CPU hog beside ({runs} runs)',
            value=f'{losses} lost ({fmt_time(piped_time)})', anchors='', ratios='',
            goal='0 lost', met=losses == 0),
        Row(figure=f'channel stress: randomized rounds, {tally.messages} messages '
                   f'({tally.rounds} rounds, {tally.interrupts} interrupts)',
            value=f'{len(tally.problems)} breaches ({fmt_time(rounds_time)})'
                  + ''.join(f'; {problem}' for problem in tally.problems[:3]), anchors='',
            ratios='', goal='0 breaches', met=not tally.problems)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.channel_stress',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=300_000, help='pipelines to run')
    parser.add_argument('--messages', type=int, default=1_000_000,
                        help='messages to send in randomized rounds')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    (losses, piped_time, wrong), tally, rounds_time = stress(args.runs, args.messages, args.seed)
    print(f'pipelines: {args.runs} runs, {losses} losses, {piped_time:.1f} s'
          + (f'; first wrong results: {wrong}' if wrong else ''))
    print(f'randomized rounds: {tally.rounds} rounds, {tally.messages} messages '
          f'({tally.delivered} delivered, {tally.refused} refused), {tally.interrupts} interrupts, '
          f'{tally.in_hand} values dropped by interrupted receivers, '
          f'{len(tally.problems)} breaches, {rounds_time:.1f} s (seed {args.seed})')
    for problem in tally.problems[:20]:
        print('  ', problem)
    return 1 if losses or tally.problems else 0


if __name__ == '__main__':
    sys.exit(main())
