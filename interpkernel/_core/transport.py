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
"""

import os
import select
import time

__all__ = [
    'PipeSemaphore', 'PipeFlag', 'MessagePipe', 'Doorbell',
    'wait_readable', 'drain', 'set_cancel_fd', 'deadline_after',
]

_cancel_fd = None


def set_cancel_fd(fd):
    """Make every wait in this interpreter also wake when `fd` becomes readable."""
    global _cancel_fd
    _cancel_fd = fd


def deadline_after(timeout):
    """Turn a relative timeout (seconds or None) into a monotonic deadline."""
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError(f'timeout must be non-negative or None, got {timeout!r}')
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
    cancel = _cancel_fd
    if cancel is not None:
        poller.register(cancel, select.POLLIN)
    spin_until = time.monotonic() + spin if spin else 0.0
    while True:
        if deadline is None:
            timeout_ms = None
        else:
            timeout_ms = max(0.0, deadline - time.monotonic()) * 1000
        if spin_until and time.monotonic() < spin_until:
            timeout_ms = 0
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

    At most 65536 tokens can be outstanding (one pipe buffer).
    """

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
        """Take one token if there is one; never blocks."""
        try:
            return bool(os.read(self._r, 1))
        except BlockingIOError:
            return False

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
