"""CSP channels between interpreters: `Channel` and `select`.

A channel is a cross-interpreter FIFO (`_xi.Queue`) plus pipes from
`transport`: *items* counts what is queued, *slots* counts room for senders,
*closed* is set once, and the *gate* is a lock that orders every send's last
step against `close`.  Every wait blocks in the kernel and wakes on a write, so
a round trip costs a few syscalls, not the 10 ms polling sleeps of the stdlib.

``Channel()`` is a rendezvous channel, as in CSP and Go: a receiver that starts
waiting opens one slot, and a sender needs a slot to put its item, so `send`
returns only once a receiver is committed to taking that item.
``Channel(capacity=n)`` buffers up to n items.

A value whose `send` returned is received exactly once: closing the channel
does not drop it, and a receiver sees `ChannelClosed` only once every such
value was received.  (The queue does drop the items of an interpreter that is
destroyed before they are received.)  A send that raised put nothing in the
channel, unless what it raised is an interrupt (which may surface just after
the put).

A channel crosses into cells (and over other channels) as a handle on the same
channel; values cross the way `transfer` moves them.
"""

import numbers
import random
import time
from collections.abc import Iterable

from ._core import _xi, transfer
from .errors import ChannelClosed, ChannelEmpty, ChannelFull
from ._core.transport import PipeFlag, PipeLock, PipeSemaphore, deadline_after, wait_readable

__all__ = ['Channel', 'select']

# Half what a semaphore holds: besides up to `capacity` items and slots, the
# counts may hold a few tokens with no item behind them (see _take).
MAX_CAPACITY = PipeSemaphore.MAX_TOKENS // 2
# How long a receiver out of time waits for a blocked sender it has just let in.
_CLAIM_GRACE = 1.0
# How long a receiver polls before it sleeps: about one cross-core answer.
_SPIN = 50e-6
_NO_DEFAULT = object()
_TAKEN, _EMPTY, _DRAINED = 'taken', 'empty', 'drained'   # what one try at receiving found


def _check_capacity(capacity):
    if isinstance(capacity, bool) or not isinstance(capacity, numbers.Integral):
        raise TypeError('capacity must be an int: 0 for a rendezvous channel, n > 0 to buffer '
                        f'n items; got {capacity!r} of type {type(capacity).__name__}')
    if not 0 <= capacity <= MAX_CAPACITY:
        raise ValueError(f'capacity must be from 0 to {MAX_CAPACITY}, got {capacity!r}')
    return int(capacity)


class Channel:
    """A CSP channel that threads in any interpreter can share.

    Args:
        capacity: 0 (the default) for a rendezvous channel, where `send`
            waits for a receiver; n > 0 to buffer up to n items (at most
            `MAX_CAPACITY`).

    Iterating receives until the channel is closed and drained.
    """

    def __init__(self, capacity=0):
        self._capacity = _check_capacity(capacity)
        self._queue = _xi.Queue()
        self._items = PipeSemaphore()
        self._slots = PipeSemaphore(self._capacity)
        self._closed = PipeFlag()
        self._gate = PipeLock()
        self._senders = PipeSemaphore()   # counts senders waiting for a slot
        self._prepaid = PipeSemaphore()   # rendezvous: items whose slot nobody waits for (_withdraw)

    @classmethod
    def _rebuild(cls, capacity, queue, *pipes):
        self = cls.__new__(cls)
        self._capacity, self._queue = capacity, queue
        (self._items, self._slots, self._closed, self._gate, self._senders,
         self._prepaid) = pipes
        return self

    def __reduce__(self):
        return (Channel._rebuild, (self._capacity, self._queue, self._items, self._slots,
                                   self._closed, self._gate, self._senders, self._prepaid))

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

        Every value whose `send` returned stays to be received.  Wakes every
        waiting sender and receiver.  Closing twice is harmless.
        """
        # Through the gate: a send that is putting its item finishes first (see _commit).
        self._gate.call(self._closed.set)

    def send(self, value, timeout=None):
        """Send `value`, waiting for a receiver (rendezvous) or for buffer room.

        Args:
            timeout: seconds to wait (None or ``inf``: forever).

        Raises:
            ChannelClosed: the channel is closed, before or while waiting.
            ChannelFull: `timeout` seconds passed first.
            TransferError: `value` cannot move between interpreters.
            TypeError, ValueError: `timeout` is not None or a number >= 0.
            In each case nothing was sent.
        """
        deadline = deadline_after(timeout)
        payload = transfer.encode_values({None: value}, direction='over the channel')[0][1]
        slot = False
        try:
            while not (slot := self._slots.try_acquire()):
                self._wait_for_slot(deadline, timeout)
            self._gate.call(self._commit, payload)
        except BaseException:
            # Not sent: give the slot back.  Should an interrupt surface just
            # after the put, the item is sent all the same and the channel has
            # one slot too many (a rendezvous send may then once not wait for
            # its receiver): the safe side, as one too few can stall it.
            if slot:
                self._slots.release()
            raise

    def _wait_for_slot(self, deadline, timeout):
        """Wait until a slot may be free; raise if the channel closes or time runs out."""
        watch = [self._slots.fileno(), self._closed.fileno()]
        try:
            # Counted while waiting, so a non-blocking receive knows to open a slot.
            self._senders.release()
            ready = wait_readable(watch, deadline)
        finally:
            self._senders.try_acquire()
        if not ready:
            raise ChannelFull(f'no receiver (or buffer room) within {timeout} s')
        if self._closed.fileno() in ready:
            raise ChannelClosed('send on a closed channel')

    def _commit(self, payload):
        # Runs under the gate, as `close` sets the flag under it, so each send
        # commits entirely before or entirely after the close: an item put is
        # counted in `_items` before the flag can be set, and a send that
        # finds the flag set puts nothing.  Receivers rely on this (see
        # _receive).  Checking the flag before taking the slot, without the
        # gate, let a close slip in between: the send returned, but its item
        # came after the last receiver had seen the channel closed and drained.
        if self._closed.is_set():
            raise ChannelClosed('send on a closed channel')
        try:
            self._queue.put(payload)
        finally:
            # Counted even if an interrupt surfaces around the put: a count
            # with no item behind it is skipped (see _take); an item with no
            # count would be taken in place of the next one, and the last lost.
            self._items.release()

    def recv(self, timeout=None):
        """Receive the next value, waiting up to `timeout` seconds (None or ``inf``: forever).

        Raises:
            ChannelClosed: the channel is closed and nothing is left in it.
            ChannelEmpty: `timeout` passed with nothing to receive.
            TypeError, ValueError: `timeout` is not None or a number >= 0.
        """
        return select([self], timeout=timeout)[1]

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
    # Rendezvous accounting: every item taken is paid for by exactly one slot.
    # A receiver that waits opens ("offers") its slot first and the item that
    # comes in pays with it.  One that takes an item without having offered
    # overtook a waiting receiver whose slot that item used: it opens a slot
    # for that receiver.  Slots and items are interchangeable, so a count says
    # how many queued items are "prepaid", their slot offered by a receiver
    # that has left since (_withdraw): whoever takes one of those pays nothing.

    def _receive(self, offered):
        """One try at receiving, without waiting: (outcome, value, used_offer).

        outcome: _TAKEN (value is the item), _EMPTY, or _DRAINED (closed, and
        nothing will ever come).  used_offer: as for `_take`.
        """
        taken, value, used_offer = self._take(offered)
        if taken or not self._closed.is_set():
            return (_TAKEN if taken else _EMPTY), value, used_offer
        # Closed.  Drained for good only if a take made *after* seeing the flag
        # finds nothing: close() sets it behind the gate, once every committed
        # item is counted (see _commit).  The take above came before the look
        # at the flag, and between the two a sender can put its last item and
        # close the channel: deciding from that take lost that item (issue 11,
        # once in ~2,000 host -> worker -> host pipelines).
        taken, value, used_again = self._take(offered and not used_offer)
        return (_TAKEN if taken else _DRAINED), value, used_offer or used_again

    def _take(self, offered):
        """Take the next item if one is counted: (taken, value, used_offer).

        used_offer: the item paid with the receiver's own offer (if `offered`).
        """
        used_offer = False
        while True:
            try:
                if not self._items.try_acquire():
                    return False, None, used_offer
                used_offer = self._pay(offered and not used_offer) or used_offer
                payload = self._queue.get()
            except _xi.QueueEmpty:
                # A count with no item: its sender's interpreter was destroyed
                # and the item went with it, or an interrupt came around a put.
                continue
            except KeyboardInterrupt:
                # Perhaps the count was taken and the item not: count it again.
                # If it was, this leaves a count with no item, which is skipped.
                self._items.release()
                raise
            return True, transfer.decode(payload), used_offer

    def _pay(self, offered):
        """Settle the slot of an item being taken; True if the receiver's own offer pays."""
        if self._capacity:
            self._slots.release()   # its room in the buffer is free again
            return False
        if self._prepaid.try_acquire():
            return False            # paid by a receiver that left; an offer of ours stays open
        if offered:
            return True
        self._slots.release()
        return False

    def _sender_waiting(self):
        """A rendezvous channel with a sender blocked in `send` right now."""
        return not self._capacity and self._senders.has_tokens()

    def _offer(self):
        """Announce a waiting receiver (rendezvous channels open one slot)."""
        if not self._capacity:
            self._slots.release()

    def _withdraw(self):
        """Take back an `_offer`.  If a sender has claimed it already, its item
        comes with nobody waiting for it: mark one item prepaid, so that the
        receiver taking it opens no slot for a receiver that is gone."""
        if not self._capacity and not self._slots.try_acquire():
            self._prepaid.release()


def select(channels, timeout=None, default=_NO_DEFAULT):
    """Receive from whichever of `channels` has a value first: ``(channel, value)``.

    Like Go's ``select`` (python-csp's ``Alt``) over receives.  Ready channels
    are tried in random order, so none starves.  A channel that is closed and
    drained is skipped; when all are, `ChannelClosed` is raised.

    Args:
        channels: an iterable of Channel.
        timeout: seconds to wait (None or ``inf``: forever).
        default: if given, ``(None, default)`` is returned instead of raising
            ChannelEmpty; with no timeout it means "do not wait at all".

    Raises:
        ChannelEmpty: the timeout passed and no default was given.
        ChannelClosed: every channel is closed and drained.
        TypeError, ValueError: `channels` holds something else than channels,
            or `timeout` is not None or a number >= 0.
    """
    given = channels
    channels = list(channels) if isinstance(channels, Iterable) else []
    if not channels or not all(isinstance(c, Channel) for c in channels):
        raise TypeError(f'select() needs one or more Channel objects, got {given!r}')
    if default is not _NO_DEFAULT and timeout is None:
        timeout = 0
    deadline = deadline_after(timeout)
    order = random.sample(channels, len(channels))
    offered = []
    try:
        while True:
            live = []
            for channel in order:
                outcome, value, used_offer = channel._receive(channel in offered)
                if used_offer:
                    offered.remove(channel)
                if outcome is _TAKEN:
                    return channel, value
                if outcome is _EMPTY:
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
