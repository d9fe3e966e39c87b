"""CSP channels between interpreters: `Channel` and `select`.

A channel is a cross-interpreter FIFO (`_xi.Queue`) plus three pipes from
`transport`: *items* counts what is queued, *slots* counts room for senders,
*closed* is set once.  Every wait blocks in the kernel and wakes on a write, so
a round trip costs a few syscalls, not the 10 ms polling sleeps of the stdlib.

``Channel()`` is a rendezvous channel, as in CSP and Go: a receiver that starts
waiting opens one slot, and a sender needs a slot to put its item, so `send`
returns only once a receiver is committed to taking that item.
``Channel(capacity=n)`` buffers up to n items.

A channel crosses into cells (and over other channels) as a handle on the same
channel; values cross the way `transfer` moves them.
"""

import random
import time

from ._core import _xi, transfer
from .errors import ChannelClosed, ChannelEmpty, ChannelFull
from ._core.transport import PipeFlag, PipeSemaphore, deadline_after, wait_readable

__all__ = ['Channel', 'select']

MAX_CAPACITY = 65536
# How long a withdrawing receiver waits for the item of a sender that claimed its slot.
_CLAIM_GRACE = 1.0
# How long a receiver polls before it sleeps: about one cross-core answer.
_SPIN = 50e-6
_NO_DEFAULT = object()


class Channel:
    """A CSP channel that threads in any interpreter can share.

    Args:
        capacity: 0 (the default) for a rendezvous channel, where `send`
            waits for a receiver; n > 0 to buffer up to n items.

    Iterating receives until the channel is closed and drained.
    """

    def __init__(self, capacity=0):
        if type(capacity) is not int or not 0 <= capacity <= MAX_CAPACITY:
            raise ValueError(f'capacity must be an int from 0 to {MAX_CAPACITY}, got {capacity!r}')
        self._capacity = capacity
        self._queue = _xi.Queue()
        self._items = PipeSemaphore()
        self._slots = PipeSemaphore(capacity)
        self._closed = PipeFlag()
        self._senders = PipeSemaphore()   # counts senders waiting for a slot

    @classmethod
    def _rebuild(cls, capacity, queue, items, slots, closed, senders):
        self = cls.__new__(cls)
        self._capacity, self._queue = capacity, queue
        self._items, self._slots, self._closed, self._senders = items, slots, closed, senders
        return self

    def __reduce__(self):
        return (Channel._rebuild, (self._capacity, self._queue, self._items, self._slots,
                                   self._closed, self._senders))

    def __repr__(self):
        state = ' closed' if self.closed else ''
        return f'<Channel {self._queue.id} capacity={self._capacity}{state}>'

    @property
    def capacity(self):
        return self._capacity

    @property
    def closed(self):
        """True once `close` was called (items may still wait to be received)."""
        return self._closed.is_set()

    def close(self):
        """Close the channel: senders fail from now on, receivers drain what is left.

        Wakes every waiting sender and receiver.  Closing twice is harmless.
        """
        self._closed.set()

    def send(self, value, timeout=None):
        """Send `value`, waiting for a receiver (rendezvous) or for buffer room.

        Raises:
            ChannelClosed: the channel is closed, before or while waiting.
            ChannelFull: `timeout` seconds passed first; nothing was sent.
            TransferError: `value` cannot move between interpreters.
        """
        if self.closed:
            raise ChannelClosed('send on a closed channel')
        payload = transfer.encode_values({'value': value}, direction='over the channel')[0][1]
        deadline = deadline_after(timeout)
        if not self._slots.try_acquire():
            self._wait_for_slot(deadline, timeout)
        self._put(payload)

    def _wait_for_slot(self, deadline, timeout):
        # Counted while waiting, so a non-blocking receive knows to open a slot.
        self._senders.release()
        try:
            watch = [self._slots.fileno(), self._closed.fileno()]
            while not self._slots.try_acquire():
                ready = wait_readable(watch, deadline)
                if not ready:
                    raise ChannelFull(f'no receiver (or buffer room) within {timeout} s')
                if self._closed.fileno() in ready:
                    raise ChannelClosed('the channel was closed while sending')
        finally:
            self._senders.try_acquire()

    def recv(self, timeout=None):
        """Receive the next value, waiting up to `timeout` seconds (None: forever).

        Raises:
            ChannelClosed: the channel is closed and nothing is left in it.
            ChannelEmpty: `timeout` passed with nothing to receive.
        """
        ready = select([self], timeout=timeout)
        return ready[1]

    def recv_nowait(self):
        """Receive a value that is ready now, else raise ChannelEmpty."""
        return self.recv(timeout=0)

    def __iter__(self):
        while True:
            try:
                yield self.recv()
            except ChannelClosed:
                return

    # -- the receiving side, shared with select() --
    #
    # Rendezvous accounting: every receive is paired with exactly one slot
    # opened for senders.  A receiver that waits opens ("offers") its slot
    # first; one that finds an item already queued opens a slot afterwards, to
    # give back the one whose waiting receiver it overtook.  Items that select()
    # had to put back carry their slot with them ("prepaid").

    def _take(self, offered):
        """Take a queued item if one is counted.

        Returns (taken, value, used_offer): whether the receiver's own offer
        (if `offered`) was the slot that item's sender used.
        """
        while self._items.try_acquire():
            try:
                prepaid, payload = self._queue.get()
            except _xi.QueueEmpty:
                continue  # its sender's interpreter was destroyed; the item went with it
            if self._capacity:
                self._slots.release()
            elif not offered and not prepaid:
                self._slots.release()
            return True, transfer.decode(payload), offered and not prepaid
        return False, None, False

    def _put(self, payload, prepaid=False):
        self._queue.put((prepaid, payload))
        self._items.release()

    def _sender_waiting(self):
        """A rendezvous channel with a sender blocked in `send` right now."""
        return not self._capacity and self._senders.has_tokens()

    def _offer(self):
        """Announce a waiting receiver (rendezvous channels open one slot)."""
        if not self._capacity:
            self._slots.release()

    def _withdraw(self):
        """Take back an `_offer`.  If a sender already claimed it, its item is
        moments away: wait for it and put it back, prepaid, for the next receiver."""
        if self._capacity or self._slots.try_acquire():
            return
        watch = [self._items.fileno(), self._closed.fileno()]
        deadline = deadline_after(_CLAIM_GRACE)
        while wait_readable(watch, deadline):
            if self._items.try_acquire():
                try:
                    prepaid, payload = self._queue.get()
                except _xi.QueueEmpty:
                    return
                self._put(payload, prepaid=True)
                return
            if self.closed:
                return


def select(channels, timeout=None, default=_NO_DEFAULT):
    """Receive from whichever of `channels` has a value first: ``(channel, value)``.

    Like Go's ``select`` (python-csp's ``Alt``) over receives.  Ready channels
    are tried in random order, so none starves.  A channel that is closed and
    drained is skipped; when all are, `ChannelClosed` is raised.

    Args:
        channels: an iterable of Channel.
        timeout: seconds to wait (None: forever).
        default: if given, ``(None, default)`` is returned instead of raising
            ChannelEmpty; with no timeout it means "do not wait at all".

    Raises:
        ChannelEmpty: the timeout passed and no default was given.
        ChannelClosed: every channel is closed and drained.
    """
    channels = list(channels)
    if not channels or not all(isinstance(c, Channel) for c in channels):
        raise TypeError(f'select() needs one or more Channel objects, got {channels!r}')
    if default is not _NO_DEFAULT and timeout is None:
        timeout = 0
    deadline = deadline_after(timeout)
    order = random.sample(channels, len(channels))
    offered = []
    try:
        while True:
            live = []
            for channel in order:
                taken, value, used_offer = channel._take(channel in offered)
                if taken:
                    if used_offer:
                        offered.remove(channel)
                    return channel, value
                if not channel.closed:
                    live.append(channel)
            if not live:
                raise ChannelClosed('every channel is closed and drained')
            if deadline is not None and deadline <= time.monotonic():
                # Out of time, but a sender blocked on a rendezvous channel
                # completes a receive at once: open it a slot and let it in.
                eager = [c for c in live if c not in offered and c._sender_waiting()]
                if not eager:
                    if default is not _NO_DEFAULT:
                        return None, default
                    raise ChannelEmpty(f'nothing to receive within {timeout} s')
                live, deadline = eager, deadline_after(_CLAIM_GRACE)
            for channel in live:
                if channel not in offered:
                    channel._offer()
                    offered.append(channel)
            watch = [fd for c in live for fd in (c._items.fileno(), c._closed.fileno())]
            wait_readable(watch, deadline, spin=_SPIN)
            random.shuffle(order)
    finally:
        for channel in offered:
            channel._withdraw()
