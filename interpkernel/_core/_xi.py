"""Cross-interpreter primitives: the only module that touches the interpreter C layer.

CPython 3.13 ships the machinery as private modules (``_interpreters``,
``_interpqueues``); 3.14 publishes it as ``concurrent.interpreters``.  Everything
version-specific lives here, behind a small surface:

- interpreters are plain integer ids: `create`, `run`, `set_main`, `destroy`;
- `Queue` is a handle on a cross-interpreter FIFO of *shareable* objects (see
  `is_shareable`), with non-blocking `put`/`get` only: blocking is built on top
  with pipes in `interpkernel._core.transport`, because the stdlib's blocking calls
  poll with 10 ms sleeps.

Importing this module in an interpreter also lets it receive memoryviews
(3.13 refuses them until ``_interpreters`` is loaded there).
"""

import queue
import sys
import threading
import weakref

__all__ = [
    'QueueEmpty', 'Queue', 'create', 'destroy', 'run', 'set_main',
    'is_shareable', 'is_interned', 'NATIVE_TYPES',
]

# Types that cross between interpreters without pickling on every supported
# version.  Tuples cross too when all their items do (checked recursively:
# 3.13's own ``is_shareable`` only looks at the outer tuple).
NATIVE_TYPES = (type(None), bool, int, float, str, bytes)

# A str crosses as a new object, which the receiver interns again where the
# sender's was (the compiler interns name-like constants: ``a = "abc"`` in two
# cells gives one object, and ``a is b`` is True).  A CPython detail of 3.13+.
is_interned = sys._is_interned

if sys.version_info >= (3, 14):  # pragma: no cover - not installable on our machines
    from concurrent import interpreters as _ci

    _interps = {}

    class QueueEmpty(queue.Empty):
        """Raised by `Queue.get` when the queue has no item."""

    def create():
        interp = _ci.create()
        _interps[interp.id] = interp
        return interp.id

    def destroy(iid):
        _interps.pop(iid).close()

    def run(iid, code):
        try:
            _interps[iid].exec(code)
        except _ci.ExecutionFailed as exc:
            return str(exc)
        return None

    def set_main(iid, mapping):
        _interps[iid].prepare_main(mapping)

    def is_shareable(obj):
        return _ci.is_shareable(obj)

    class Queue:
        """A handle on a cross-interpreter FIFO; one handle per id and interpreter."""

        def __init__(self, qid=None):
            self._q = _ci.create_queue() if qid is None else _ci.Queue(qid)
            self.id = self._q.id

        def put(self, obj):
            self._q.put_nowait(obj)

        def get(self):
            try:
                return self._q.get_nowait()
            except queue.Empty:
                raise QueueEmpty from None

        def __reduce__(self):
            return (type(self), (self.id,))

else:
    import _interpqueues
    import _interpreters

    # 3.13 raises its own QueueEmpty (a queue.Empty); catch it by that base.
    QueueEmpty = queue.Empty
    _SHAREABLE_FORMAT = 0      # items are shareable objects, never pickled here
    _UNBOUND_REMOVE = 1        # drop items whose sending interpreter is gone

    # CPython 3.13 sets up the static types of a new interpreter racily
    # (python/cpython#127108): one created while another is created or ends
    # fails now and then with "Failed to import encodings module".  Creations
    # take turns, and one that fails is tried again.
    _CREATION = threading.Lock()
    _CREATION_TRIES = 3

    def create():
        # CPython 3.13.0 crashes ending a subinterpreter (a corrupted tuple free
        # list) when _datetime was first imported by a subinterpreter, and more
        # than one imported it; imported here first, its types belong to the
        # main interpreter and every subinterpreter ends cleanly.
        import _datetime  # noqa: F401
        with _CREATION:
            for attempt in range(_CREATION_TRIES):
                try:
                    return _interpreters.create('isolated')
                except _interpreters.InterpreterError:
                    if attempt + 1 == _CREATION_TRIES:   # out of memory, say
                        raise

    def destroy(iid):
        _interpreters.destroy(iid)

    def run(iid, code):
        failure = _interpreters.exec(iid, code)
        if failure is None:
            return None
        return failure.formatted or f'{failure.type.__name__}: {failure.msg}'

    def set_main(iid, mapping):
        _interpreters.set___main___attrs(iid, mapping)

    def is_shareable(obj):
        return _interpreters.is_shareable(obj)

    _known_queues = weakref.WeakValueDictionary()

    class Queue:
        """A handle on a cross-interpreter FIFO; one handle per id and interpreter.

        The queue lives while any interpreter holds a handle on it.  A handle
        pickles as its id: the sender must keep its own handle alive until the
        receiver has unpickled it.
        """

        def __new__(cls, qid=None):
            if qid is None:
                qid = _interpqueues.create(0, _SHAREABLE_FORMAT, _UNBOUND_REMOVE)
            elif not isinstance(qid, int):
                raise TypeError(f'queue id must be an int, got {qid!r}')
            try:
                return _known_queues[qid]
            except KeyError:
                self = super().__new__(cls)
                self.id = qid
                _interpqueues.bind(qid)
                _known_queues[qid] = self
                return self

        def __del__(self):
            try:
                _interpqueues.release(self.id)
            except _interpqueues.QueueError:
                pass  # already destroyed by the runtime at shutdown

        def put(self, obj):
            _interpqueues.put(self.id, obj, _SHAREABLE_FORMAT, _UNBOUND_REMOVE)

        def get(self):
            # Looked at first: the first QueueEmpty that _interpqueues raises in
            # an interpreter imports test.support (and unittest) to find its
            # class, 15-20 ms on the first cell of a kernel.
            if not _interpqueues.get_count(self.id):
                raise QueueEmpty
            return _interpqueues.get(self.id)[0]

        def __reduce__(self):
            return (type(self), (self.id,))
