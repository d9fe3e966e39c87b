"""Blocking and waking across interpreters, built on pipes.

A pipe's file descriptors belong to the whole process, so a thread in any
interpreter can block on one with ``poll()`` (releasing only its own GIL) and a
thread in any other interpreter wakes it by writing a byte: no polling loop, no
sleeps.  A non-blocking pipe is also an atomic counter: ``write`` of n bytes
releases n tokens and a 1-byte ``read`` takes one or fails at once, so it makes
a counting semaphore that every interpreter can share.

Each handle owns its own duplicates of the descriptors (taken when the handle
is unpickled in another interpreter) and closes them when it is collected, so
the pipe lives exactly as long as some interpreter still uses it.

Waits here are interruptible inside workers: a worker registers its *cancel*
descriptor with `set_cancel_fd`, and the worker's interrupter writes to it right
after scheduling a ``KeyboardInterrupt`` on the cell's thread, so a cell blocked
in a wait wakes up and the pending exception is raised at once.

That ``KeyboardInterrupt`` is an asynchronous exception (as is one from
SIGINT in the host): outside a wait it surfaces wherever the thread is, but
only where a call returns, a function starts or a loop turns back.
`PipeSemaphore.try_acquire` and `PipeLock.call` rely on this so that an
interrupt never loses a token or leaves the lock taken.
"""

import math
import numbers
import os
import select
import threading
import time

__all__ = [
    'PipeSemaphore', 'PipeFlag', 'PipeLock', 'MessagePipe', 'Doorbell',
    'wait_readable', 'drain', 'set_cancel_fd', 'set_wait_hook', 'check_timeout', 'deadline_after',
]

_cancel_fd = None
_wait_hook = None
# A wait longer than this is reported as blocked (shorter ones cost no message).
BLOCKED_AFTER = 0.01
# poll() takes at most INT_MAX milliseconds; a longer wait polls a day at a time.
_MAX_POLL_MS = 86_400_000


def set_cancel_fd(fd, thread=None):
    """Make every wait of thread `thread` (an ident; the worker's cell thread) also
    wake when `fd` becomes readable.

    Only that thread: interrupts are raised in it, and a thread a cell started
    and left running must neither drain its wake-up nor poll the descriptor
    after the worker closed it (EBADF at shutdown).
    """
    global _cancel_fd
    _cancel_fd = None if fd is None else (fd, thread)


def set_wait_hook(hook):
    """Call ``hook(True)`` when a wait in this interpreter has lasted `BLOCKED_AFTER`
    seconds, and ``hook(False)`` when that wait ends (None: no hook)."""
    global _wait_hook
    _wait_hook = hook


def check_timeout(value, name='timeout'):
    """Validate the timeout argument `name`: seconds as a float, or None for "forever".

    None and ``inf`` mean wait forever (both return None); otherwise `value`
    must be a real number (int, float ..., not bool) >= 0.

    Raises:
        TypeError: `value` is not a number (or is a bool).
        ValueError: `value` is negative or nan.
    """
    if value is None:
        return None
    expected = f'{name} must be a non-negative number of seconds or None'
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{expected}, got {value!r} of type {type(value).__name__}')
    try:
        seconds = float(value)
    except OverflowError:          # an int beyond any float: longer than anyone waits
        return None
    if not seconds >= 0:           # also refuses nan, which compares false with everything
        raise ValueError(f'{expected}, got {value!r}')
    return None if seconds == math.inf else seconds


def deadline_after(timeout):
    """Turn a relative timeout into a monotonic deadline (None: never), validated
    by `check_timeout`."""
    timeout = check_timeout(timeout)
    if timeout is None:
        return None
    return time.monotonic() + timeout


def drain(fd):
    """Read and discard everything buffered in the non-blocking pipe `fd`."""
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass


def wait_readable(fds, deadline=None, spin=0.0):
    """Block until some of `fds` are readable; return them ([] once `deadline` passes).

    The wait sleeps in the kernel and holds no GIL.  With `spin` seconds it
    first polls without sleeping for that long: a partner on another core
    often answers within microseconds, and waking a sleeping thread costs more.
    In a worker it also wakes on an interrupt, which then surfaces as
    ``KeyboardInterrupt`` from here.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    cancel = _cancel_fd[0] if _cancel_fd is not None and \
        _cancel_fd[1] == threading.get_ident() else None
    if cancel is not None:
        poller.register(cancel, select.POLLIN)
    now = time.monotonic()
    spin_until = now + spin if spin else 0.0
    hook = _wait_hook
    blocked_at, blocked = now + spin + BLOCKED_AFTER, False
    try:
        while True:
            now = time.monotonic()
            if deadline is None:
                timeout_ms = None
            else:
                timeout_ms = min(max(0.0, deadline - now) * 1000, _MAX_POLL_MS)
            if spin_until and now < spin_until:
                timeout_ms = 0
            elif hook is not None and not blocked:
                if now >= blocked_at:
                    blocked = True
                    hook(True)
                else:
                    first = (blocked_at - now) * 1000
                    timeout_ms = first if timeout_ms is None else min(timeout_ms, first)
            ready = [fd for fd, _ in poller.poll(timeout_ms)]
            if cancel is not None and cancel in ready:
                # The interrupter has already scheduled KeyboardInterrupt on this
                # thread; it fires at the next bytecode boundary of this loop.
                drain(cancel)
                ready.remove(cancel)
            if ready:
                return ready
            if deadline is not None and time.monotonic() >= deadline:
                return []
    finally:
        if blocked:
            hook(False)


def _readable_now(fd):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _PipeHandle:
    """Owns one pipe's two descriptors; pickles so the receiver gets duplicates."""

    def __init__(self, fds=None):
        if fds is None:
            fds = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._r, self._w = fds

    @classmethod
    def _adopt(cls, r, w):
        # The sender keeps its handle (and so these numbers) alive until the
        # receiver has unpickled this one; dup() gives the receiver its own.
        self = cls.__new__(cls)
        _PipeHandle.__init__(self, (os.dup(r), os.dup(w)))
        return self

    def __reduce__(self):
        return (type(self)._adopt, (self._r, self._w))

    def fileno(self):
        """The read end, for `wait_readable`."""
        return self._r

    def close(self):
        r, w, self._r, self._w = self._r, self._w, -1, -1
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)

    def __del__(self):
        self.close()


class PipeSemaphore(_PipeHandle):
    """A counting semaphore every interpreter of the process can share.

    It is sure to hold `MAX_TOKENS` tokens.  A Linux pipe holds 64 KiB, but it
    frees each of its 4 KiB pages only once that page is read to the end: a
    partly read pipe may take fewer than 64 Ki more bytes.
    """

    MAX_TOKENS = 15 * 4096

    def __init__(self, value=0):
        super().__init__()
        if value:
            self.release(value)

    def release(self, n=1):
        """Add `n` tokens, waking up to `n` waiters."""
        try:
            written = os.write(self._w, bytes(n))
        except BlockingIOError:
            written = 0
        if written != n:
            raise OverflowError(f'semaphore cannot hold {n} more tokens: the pipe is full')

    def try_acquire(self):
        """Take one token if there is one; never blocks.

        An interrupt that surfaces here gives back the token taken, if any.
        """
        try:
            return bool(os.read(self._r, 1))
        except BlockingIOError:
            return False
        except KeyboardInterrupt:
            # The interrupt surfaced as the read returned: the token was taken.
            os.write(self._w, b'\0')
            raise

    def has_tokens(self):
        """Whether a token is available now (a peek: it takes none)."""
        return _readable_now(self._r)


class PipeFlag(_PipeHandle):
    """A one-way flag: once set it stays set, and waiters on it wake for good."""

    def set(self):
        try:
            os.write(self._w, b'\1')
        except BlockingIOError:
            pass  # the pipe is full, so the flag is set already

    def is_set(self):
        return _readable_now(self._r)


class PipeLock(_PipeHandle):
    """A lock every interpreter of the process can share: a pipe holding one token."""

    def __init__(self):
        super().__init__()
        os.write(self._w, b'\0')

    def call(self, function, *args):
        """Return ``function(*args)``, run while holding the lock (waiting for it if need be).

        The lock is taken and given back in this one frame: the read that takes
        it is the first call of its ``try``, and nothing between that ``try``
        and the one whose ``finally`` gives it back can raise, so an interrupt
        cannot leave the lock taken.  Waiting for it is interruptible.
        """
        while True:
            try:
                token = os.read(self._r, 1)
            except BlockingIOError:
                token = b''
            except KeyboardInterrupt:
                os.write(self._w, b'\0')   # the interrupt surfaced as the read took the lock
                raise
            if token:
                break
            wait_readable([self._r])
        try:
            return function(*args)
        finally:
            os.write(self._w, b'\0')


class MessagePipe(_PipeHandle):
    """Short fixed-size messages (at most PIPE_BUF bytes each, so never torn)."""

    def send(self, message):
        try:
            os.write(self._w, message)
        except BlockingIOError:
            raise OverflowError('message pipe is full: its reader is not reading') from None


class Doorbell(_PipeHandle):
    """Wakes one listener thread; rings coalesce while it has not answered."""

    def ring(self):
        try:
            os.write(self._w, b'\0')
        except BlockingIOError:
            pass  # the listener has a wake-up pending already

    def answer(self):
        """Clear the pending rings (the listener calls this before it looks for work)."""
        drain(self._r)
