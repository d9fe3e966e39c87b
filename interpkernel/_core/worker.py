"""The worker loop: what runs *inside* each worker interpreter.

The host boots a worker once (`boot`), then for every cell puts a task on the
worker's task queue and makes the interpreter call `run_next` on the host's
worker thread.  A worker also runs one service thread of its own, which

- interrupts the running cell on request: it schedules ``KeyboardInterrupt``
  on the cell's thread (``PyThreadState_SetAsyncExc`` has to be called from
  inside the same interpreter) and wakes any interruptible wait; ``time.sleep``
  is made such a wait here, so sleeping cells stop too;
- sends buffered output at most `output.FLUSH_INTERVAL` after it was written.

Tasks and reports are the records of `interpkernel._core.protocol`: each task
on the queue is answered by one ``(seq, 'done', report)`` event.  In the
kernel's versioned mode the worker keeps the values its cells make in a
`values.Store`, and runs each cell in its ``__main__`` with exactly the names
the host binds for it.
"""

import builtins
import contextvars
import os
import pickle
import select
import struct
import sys
import threading
import time

from ..errors import MissingOutputError, TransferError
from . import execution, output, protocol, transfer, transport, values, versioned

__all__ = ['boot', 'run_next', 'shutdown', 'interrupt_message', 'STOP']

_MESSAGE = struct.Struct('q')   # one interrupt request: the seq of the cell to interrupt
STOP = -1                       # the seq that ends the service thread instead


def interrupt_message(seq):
    """The interrupt-pipe message asking to interrupt cell `seq`."""
    return _MESSAGE.pack(seq)

RUNTIME = None


def boot(config):
    """Set the worker up (called once, by the host, in the new interpreter)."""
    global RUNTIME
    name, tasks, events, doorbell, interrupts = pickle.loads(config)
    RUNTIME = _Runtime(name, tasks, events, doorbell, interrupts)


def run_next():
    """Run the next task on the queue (called by the host, once per cell)."""
    RUNTIME.run_next()


def shutdown():
    """Stop the service thread and release every descriptor (called before destroy)."""
    RUNTIME.shutdown()


class _Runtime:
    def __init__(self, name, tasks, events, doorbell, interrupts):
        self.name = name
        self._tasks, self._events, self._doorbell = tasks, events, doorbell
        self._interrupts = interrupts
        self._cancel_r, self._cancel_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._flush_r, self._flush_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        transport.set_wait_hook(self._blocked)
        self._lock = threading.Lock()
        self._running = None        # seq of the cell running now
        self._last = 0              # seq of the latest cell, for stray output
        self._cell_thread = None
        self._interrupted = False
        self._early_interrupt = None   # seq of a cell interrupted before it began
        self._last_namespace = None
        self.store = values.Store()
        self._context = contextvars.Context()

        self.outbox = output.Outbox(self._emit, self._wake_service, self._seq_for_output)
        sys.stdout = output.CellStream('stdout', self.outbox)
        sys.stderr = output.CellStream('stderr', self.outbox)
        output.install_display_hook(self.outbox)
        output.quiet_progress_bars()
        builtins.display = output.display
        # A new interpreter's __main__ names the builtin importer as its loader;
        # IPython's shows itself as <module '__main__'> (inspect.getmodule(f)).
        sys.modules['__main__'].__loader__ = None
        _patch_threads_to_remember_their_cell(self)
        time.sleep = _interruptible_sleep
        self._service = threading.Thread(target=self._serve, name='interpkernel-service')
        self._service.start()

    def shutdown(self):
        self._interrupts.send(interrupt_message(STOP))
        self._service.join()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        transport.set_cancel_fd(None)
        transport.set_wait_hook(None)
        for fd in (self._cancel_r, self._cancel_w, self._flush_r, self._flush_w):
            os.close(fd)
        for handle in (self._interrupts, self._doorbell):
            handle.close()

    # -- events --

    def _emit(self, event):
        self._events.put(event)
        self._doorbell.ring()

    def _blocked(self, blocked):
        """Tell the host the running cell waits (sleep, a channel ...) and uses no core."""
        seq = self._running
        if seq is not None and threading.get_ident() == self._cell_thread:
            self._emit((seq, 'blocked', blocked))

    def _wake_service(self):
        try:
            os.write(self._flush_w, b'\0')
        except BlockingIOError:
            pass

    def _seq_for_output(self):
        thread = threading.current_thread()
        seq = getattr(thread, '_interpkernel_seq', None)
        if seq is None:
            seq = self._running if self._running is not None else self._last
        return seq

    # -- the service thread --

    def _serve(self):
        poller = select.poll()
        poller.register(self._interrupts.fileno(), select.POLLIN)
        poller.register(self._flush_r, select.POLLIN)
        while True:
            wait = self.outbox.flush_due()
            ready = {fd for fd, _ in poller.poll(None if wait is None else wait * 1000)}
            if self._flush_r in ready:
                transport.drain(self._flush_r)
            if self._interrupts.fileno() in ready:
                if not self._handle_interrupts():
                    self.outbox.flush()
                    return

    def _handle_interrupts(self):
        data = os.read(self._interrupts.fileno(), _MESSAGE.size * 64)
        for (seq,) in _MESSAGE.iter_unpack(data):
            if seq == STOP:
                return False
            self._interrupt(seq)
        return True

    def _interrupt(self, seq):
        with self._lock:
            if seq != self._running:
                if seq > self._last:   # handed to us but not begun: raise as it begins
                    self._early_interrupt = seq
                return  # that cell is over: an interrupt must not hit the next one
            execution.async_raise(self._cell_thread, KeyboardInterrupt)
            self._interrupted = True
        try:
            os.write(self._cancel_w, b'\0')
        except BlockingIOError:
            pass

    # -- cells --

    def _begin(self, seq):
        """Mark cell `seq` running; True if it was interrupted before it began."""
        transport.drain(self._cancel_r)
        with self._lock:
            self._running = self._last = seq
            self._cell_thread = threading.get_ident()
            # Waits of this thread, which runs the cell, wake on an interrupt.
            transport.set_cancel_fd(self._cancel_r, self._cell_thread)
            return self._early_interrupt == seq

    def _end(self):
        with self._lock:
            if self._interrupted:
                execution.async_raise(self._cell_thread, None)  # drop one not yet raised
                self._interrupted = False
            self._running = None

    def run_next(self):
        task = protocol.receive(self._tasks.get())
        handler = {protocol.CellTask: self._run_cell, protocol.VersionedTask: self._run_versioned,
                   protocol.ExportTask: self._export, protocol.DropTask: self._drop,
                   protocol.WarmTask: self._warm}[type(task)]
        report = handler(task)
        self.outbox.flush()
        self._emit((task.seq, 'done', protocol.send(report)))

    def _execute(self, seq, label, source, namespace, before=None, flags=0, code_name=None,
                 frame_depth=0, timed_at=0):
        """Run one cell's code, interruptibly: ``(shown value or None, exception or None)``.

        `before`, if given, is called first inside the interruptible part.
        """
        error = result = None
        try:
            try:
                # Inside the try: an interrupt may land as soon as _begin lets go
                # of the lock, before it has even returned.
                if self._begin(seq):
                    raise KeyboardInterrupt
                if before is not None:
                    before()
                # One context for all cells, as in a sequential session: state kept in
                # context variables (decimal's context) lives from cell to cell.
                result = self._context.run(execution.execute, source, label, namespace, flags,
                                           code_name, frame_depth, timed_at)
            except BaseException as exc:
                error = exc
            finally:
                self._end()
        except KeyboardInterrupt as exc:   # arrived after the cell's own code ended
            self._end()
            error = error or exc
        sys.stdout, sys.stderr = self.outbox_streams()
        return result, error

    def _run_cell(self, task):
        started = time.perf_counter()
        namespace = _fresh_namespace() if task.fresh_namespace else sys.modules['__main__'].__dict__
        # Outputs cross as handles (channels) and views (buffers) of objects in
        # this namespace: it lives until the host has decoded them, that is
        # until the next cell of this worker.
        self._last_namespace = namespace
        landing = namespace if task.notebook else None

        def bind_inputs():
            namespace.update(transfer.decode_values(task.inputs, namespace=landing))

        result, error = self._execute(task.seq, task.label, task.source, namespace, bind_inputs)
        encoded = skipped = ()
        if error is None:
            try:
                if result is not None:
                    result = pickle.dumps(output.format_result(result[0]))
                encoded, skipped = _collect_outputs(namespace, task.outputs, task.strict_outputs,
                                                    task.notebook)
            except BaseException as exc:
                error, result = exc, None
        error_content, exception = versioned.describe(error)
        return protocol.CellReport(encoded, skipped, result, error_content, exception, started,
                                   time.perf_counter())

    def _run_versioned(self, task):
        namespace = sys.modules['__main__'].__dict__

        def execute(source, label, namespace, flags, code_name, timed_at):
            return self._execute(task.seq, label, source, namespace, flags=flags,
                                 code_name=code_name, frame_depth=task.frame_depth,
                                 timed_at=timed_at)

        return versioned.run(task, self.store, namespace, execute, within=self._context.run)

    def _warm(self, task):
        return self._context.run(versioned.warm, task)

    def _export(self, task):
        return versioned.export(task, self.store)

    def _drop(self, task):
        return versioned.drop(task, self.store, sys.modules['__main__'].__dict__)

    def outbox_streams(self):
        """Fresh stdout/stderr writers, in case the cell replaced or closed them."""
        return output.CellStream('stdout', self.outbox), output.CellStream('stderr', self.outbox)


def _fresh_namespace():
    return {'__name__': '__main__', '__builtins__': builtins}


def _patch_threads_to_remember_their_cell(runtime):
    """Threads started by a cell keep sending their output to that cell.

    Daemon threads stay refused (RuntimeError), as in every isolated
    interpreter: one that never ends would keep the worker from ever being
    destroyed (tqdm's monitor is such a thread).  The kernel runs cells that
    start daemon threads in the host.
    """
    original_start = threading.Thread.start

    def start(self):
        self._interpkernel_seq = runtime._running if runtime._running is not None else runtime._last
        return original_start(self)

    threading.Thread.start = start


_real_sleep = time.sleep


def _interruptible_sleep(secs):
    """time.sleep that an interrupt of the worker can cut short."""
    if not isinstance(secs, (int, float)):
        return _real_sleep(secs)   # let the real one raise its TypeError
    if secs < 0:
        raise ValueError('sleep length must be non-negative')
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        transport.wait_readable([], deadline)


def _collect_outputs(namespace, outputs, strict, notebook):
    """Encode the output values: (encoded pairs, skipped (name, type name, reason)).

    Strict: every name must be set and movable, else the cell fails.
    Lenient (inferred outputs): unset names are left out, and values that
    cannot move stay in the worker, reported as skipped.
    """
    if strict:
        missing = [name for name in outputs if name not in namespace]
        if missing:
            raise MissingOutputError(missing)
        found = {name: namespace[name] for name in outputs}
        return transfer.encode_values(found, snapshot=False, notebook=notebook,
                                      direction='out of the worker'), ()
    found = {name: namespace[name] for name in outputs if name in namespace}
    try:    # together if they can: objects they share stay shared
        return transfer.encode_values(found, snapshot=False, notebook=notebook,
                                      direction='out of the worker'), ()
    except TransferError:
        pass   # one stays here: each that can move moves on its own
    encoded, skipped = [], []
    for name in outputs:
        if name in namespace:
            try:
                encoded += transfer.encode_values({name: namespace[name]}, snapshot=False,
                                                  notebook=notebook, direction='out of the worker')
            except TransferError as exc:
                skipped.append((name, exc.type_name, exc.reason))
    return tuple(encoded), tuple(skipped)
