"""Running a kernel cell where its values live, and saying what it changed.

The same steps serve a worker interpreter and the host: bind exactly the
names the cell may read (versions kept here, or moved in now), run it, then
compare the namespace and the fingerprints of the values kept here with what
they were, and keep every new version under its key.  A failed cell keeps
the assignments it made before the exception, as in sequential Python.
"""

import importlib
import pickle
import time

from . import execution, protocol, reloading, transfer, values
from .refusal import refusal, refusal_words

__all__ = ['run', 'export', 'drop', 'warm', 'describe', 'is_dunder']


def is_dunder(name):
    """``__name__``, ``__builtins__``...; not ``__`` or ``___`` (IPython's results), nor
    ``__annotations__``: the annotated names of cells, a value like any other."""
    return len(name) > 4 and name.startswith('__') and name.endswith('__') and \
        name != '__annotations__'


def run(task, store, namespace, execute, keep=is_dunder, format_result=True, within=None):
    """Run `task` (a `VersionedTask`) in `namespace`; return its `VersionedReport`.

    Args:
        store: the `values.Store` of this interpreter.
        namespace: the dict the cell runs in (``__main__``'s).
        execute: ``execute(source, label, namespace, compile_flags, code_name, timed_at)``
            -> ``(shown value as (value,) or None, exception or None)``.
        keep: names for which it is true stay bound whatever the view
            (dunders; in the host, IPython's own names).
        format_result: put the shown value's mimebundle in the report (the
            host's IPython shows it itself).
        within: ``within(function)`` calls `function` in the context cells
            run in (where state kept in context variables lives), if not here.
    """
    within = within if within is not None else _call
    started = time.perf_counter()
    # States first: a module among the values imports on the import path the
    # cell would have (``sys.path``), an object unpickles within its limits.
    restored = within(lambda: restore_states(task.states))
    view, failed = _view(task, store, namespace)
    if failed:
        return protocol.VersionedReport(None, None, None, started, time.perf_counter(),
                                        (), (), (), (), tuple(failed))
    refused = _import_first(task.imports)
    if refused is not None:
        return protocol.VersionedReport(None, None, None, started, time.perf_counter(),
                                        (), (), (), (), (), refused=refused)
    for name in [n for n in namespace if not keep(n)]:
        del namespace[name]
    namespace.update(view)
    # The namespace alone holds what the cell reads, as in order: a `del` or a
    # rebinding there frees its object (runs its ``__del__``) in the cell.
    del view
    identities = {name: id(value) for name, value in namespace.items()}
    if not task.check or any(_pickled(payload) for _, _, payload in task.load):
        # What a cell changes unchecked is not seen; and unpickling an object of a
        # notebook class updates that class here in place (cloudpickle).
        store.forget_fingerprints()
    before = store.fingerprints() if task.check else {}
    # Versions no other cell reads, which the cell may replace: the store lets go
    # of them while it runs (see `VersionedTask.release`).
    released = {key[0] for key in task.release if key in store}
    store.drop(task.release)
    for cell in map(protocol.CellSource._make, task.sources):
        execution.remember_cell(cell.filename, cell.label, cell.source)
    if task.autoreload:
        reloading.before_cell(protocol.AutoreloadSettings(*task.autoreload))
    result, error = execute(task.source, task.label, namespace, task.compile_flags,
                            task.code_name, task.timed_at)
    if task.autoreload:
        reloading.after_cell()
    # Fingerprints first: encoding values below may touch them (pickling a
    # class fills in its __annotations__).
    after = {key: values.fingerprint(store.get(key)) for key in before if key in store}
    changed = tuple(key for key, fingerprint in after.items() if fingerprint != before[key])
    if task.check:
        store.remember_fingerprints(after)
    written, kept = [], set()

    def keep_version(name, value):
        key = (name, task.version)
        store.put(key, value)
        kept.add(name)
        info = values.describe(value)
        written.append((name, key, tuple(info), _small_payload(value, info)))

    # What the cell left in a released name is a new version even if it is the
    # same object: the store let go of the old one, whose ``id()`` another
    # object may have taken since.
    for name in [n for n, value in namespace.items() if not keep(n) and
                 (n in released or identities.get(n) != id(value))]:
        keep_version(name, namespace[name])
    deleted = tuple(n for n in identities if n not in namespace and not keep(n))
    for key in changed:
        if key[0] not in kept:
            keep_version(key[0], store.get(key))
    # Instances of a class the cell changed (``Time.hours = ...``, even by a magic)
    # change with it: a new version here, which later readers come for.
    classes = tuple(value for value in map(store.get, changed) if issubclass(type(value), type))
    if classes:
        for name in [n for n, value in namespace.items() if n not in kept and not keep(n)
                     and issubclass(type(value), classes)]:
            keep_version(name, namespace[name])
    for name in task.relinked:
        if name not in kept and name in namespace:
            keep_version(name, namespace[name])
    shown = None
    if result is not None and error is None:
        # IPython keeps no result that is its output history itself (``Out``).
        if task.result_name and not any(result[0] is namespace.get(name)
                                        for name in ('Out', '_oh')):
            keep_version(task.result_name, result[0])
        if format_result:
            try:
                # Formatted where the cell ran: its print options (numpy's live in
                # a context variable) are the ones it set.
                shown = pickle.dumps(within(lambda: _format(result[0])))
            except BaseException as exc:
                error = exc
    error_content, exception = describe(error)
    report = protocol.VersionedReport(shown, error_content, exception, started,
                                      time.perf_counter(), tuple(written), deleted, changed,
                                      restored + within(lambda: capture_states(task.capture)),
                                      ())
    # The cell's frames reach this one (their f_back) as long as an exception the cell
    # kept lives (``except E as e: error = e``): it must hold none of the cell's values,
    # or ``del error`` would free them only when a collection finds the cycle.
    del result, error, classes
    return report


def _view(task, store, namespace):
    """name -> value: the versions `task` binds and loads (those loaded are kept
    under their keys); and ``(name, type, reason)`` of each that failed."""
    view, failed = {}, []
    for name, key in task.bind:
        if key in store:
            view[name] = store.get(key)
        else:      # dropped meanwhile: the scheduler places the cell again
            failed.append((name, 'missing', 'this interpreter no longer holds it'))
    # A payload of values encoded together (a tuple's: hashable) -> the decoded tuple.
    # By value: entries that shared it may reach here as copies of it.
    together = {}
    for name, key, payload in task.load:
        if payload[0] == protocol.SAME_OBJECT:
            if payload[1] not in view:    # it failed to load: said once, for that name
                continue
            value = view[payload[1]]
        else:
            encoded, index = (payload[1], payload[2]) if payload[0] == protocol.TOGETHER \
                else (payload, None)
            try:
                if index is None:
                    value = transfer.decode(encoded, namespace)
                else:
                    if encoded not in together:
                        together[encoded] = transfer.decode(encoded, namespace)
                    value = together[encoded][index]
            except Exception as exc:   # e.g. a module that refuses subinterpreters: nothing ran
                failed.append((name, encoded[-1] if encoded[0] == 'p' else 'value',
                               transfer.reason(exc)))
                continue
        if key is not None:       # None: given for this cell only, not a version
            store.put(key, value)
        view[name] = value
    return view, failed


def _import_first(modules):
    """Import `modules` before the cell: ``(module, reason)`` of the first that refuses
    subinterpreters, or None.  Any other failure is left to the cell's own import,
    which fails the same way where it would in order."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            refused = refusal(exc)
            if refused is not None:
                # In CPython's words if they are there, as a probe reports the module:
                # the host records it, and later cells importing it know it refuses.
                return module, refusal_words(exc) or str(refused)
        except Exception:   # noqa: BLE001 - the cell's own import raises it, in its place
            pass
    return None


SMALL = 256 << 10   # bytes: values this small are encoded as they are made, for any reader


def _small_payload(value, info):
    """The encoding of a small value that can move, made now so that a reader
    elsewhere need not wait for this interpreter to be free; else None."""
    if info.size > SMALL or not info.movable or info.iterator:
        return None
    try:
        payload = transfer.encode(value, notebook=True, copy_finalized=False)
    except Exception:   # noqa: BLE001 - it may not move: the scheduler finds out if it must
        return None
    if payload[0] == 'p' and len(payload[1]) > SMALL:
        return None
    return payload


def _pickled(payload):
    """Is a load's `payload` (or the one it is part of) a pickle?"""
    return (payload[1] if payload[0] == protocol.TOGETHER else payload)[0] == 'p'


def _call(function):
    return function()


def _format(value):
    from . import output
    return output.format_result(value)


def export(task, store):
    """Encode the versions `task` names: an `ExportReport`."""
    encoded, failures = [], []
    for key in task.keys:
        if key not in store:
            failures.append((key, 'missing', 'this interpreter no longer holds it'))
            continue
        if task.together:
            continue
        value = store.get(key)
        try:
            encoded.append((key, transfer.encode(value, notebook=True, copy_finalized=False)))
        except Exception as exc:   # a value that cannot move: the caller decides what to do
            failures.append((key, transfer.type_name(value), transfer.reason(exc)))
    if task.together and not failures:
        values = tuple(store.get(key) for key in task.keys)
        try:
            encoded.append((task.keys, transfer.encode(values, notebook=True,
                                                       copy_finalized=False)))
        except Exception as exc:   # noqa: BLE001 - told to the caller, which sends them apart
            failures.append((task.keys, 'tuple', transfer.reason(exc)))
    return protocol.ExportReport(tuple(encoded), tuple(failures))


def drop(task, store, namespace):
    """Forget the versions `task` names, and unbind the names still bound to them
    (not to a later version of theirs holding the same object: changed in place)."""
    for key in task.keys:
        if key not in store:
            continue
        name, value = key[0], store.get(key)
        store.drop([key])
        # (A version may hold None, a name absent from it.)
        if name in namespace and namespace[name] is value and \
                not any(other[0] == name for other in store.keys_holding(value)):
            del namespace[name]
    return protocol.ExportReport((), ())


def warm(task):
    """Import what showing results and moving values need, before a cell waits for it."""
    import cloudpickle  # noqa: F401 - imported for its cost, now rather than in a cell
    _format(None)
    return protocol.ExportReport((), ())


def describe(error):
    """(pickled error content, pickled exception) of a cell's failure, or (None, None)."""
    if error is None:
        return None, None
    content, error = execution.describe_error(error)
    return pickle.dumps(content), _pickle_exception(error)


def _pickle_exception(exc):
    """The exception, cloudpickled for the host; None if it cannot be (the host
    then raises ExecutionFailed with the traceback text instead)."""
    import cloudpickle
    try:
        return cloudpickle.dumps(exc)
    except Exception:   # noqa: BLE001 - any pickling failure means "send the text instead"
        return None


def restore_states(states):
    """Set interpreter states (random's generator ...) to the payloads given.

    Returns ``((name, None, error), ...)`` for those that could not be set.
    """
    failed = []
    for name, restore, payload in states:
        try:
            exec(restore, {'state': transfer.decode(payload)})
        except Exception as exc:   # reported: the host says which state and why
            failed.append((name, None, f'{type(exc).__name__}: {exc}'))
    return tuple(failed)


def capture_states(capture):
    """``((name, payload, ''), ...)`` of the states named; an error for each that failed.

    Each source is statements that bind ``state``.
    """
    captured = []
    for name, source in capture:
        scope = {}
        try:
            exec(source, scope)
            captured.append((name, transfer.encode(scope['state']), ''))
        except Exception as exc:   # reported: the state then cannot move from here
            captured.append((name, None, f'{type(exc).__name__}: {exc}'))
    return tuple(captured)
