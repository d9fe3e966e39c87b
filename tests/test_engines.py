"""One behaviour suite for every engine: what the scheduler may ask of a home.

Each test runs against the subinterpreter engine (a worker), the host engine
(this interpreter) and the cluster engine (an ipyparallel engine process),
like CPython's executor tests run over every executor.
"""

import pickle
import re
import sys
import threading
import types

import pytest

from interpkernel._core import transfer
from interpkernel._core.protocol import TOGETHER, VersionedTask
from interpkernel._core.values import ValueInfo
from interpkernel.host import HostEngine
from interpkernel.pool import SubinterpreterEngine


@pytest.fixture(params=['subinterpreter', 'host', 'cluster'])
def home(request):
    """(engine, home name) for each kind of engine."""
    if request.param == 'host':
        engine = HostEngine({'__name__': '__main__'})
        yield engine, 'host'
        engine.close()
    else:
        engine = request.getfixturevalue('workers' if request.param == 'subinterpreter'
                                         else 'cluster')
        yield engine, engine.homes[0]


@pytest.fixture(params=['subinterpreter', 'cluster'])
def home_with_events(request):
    """(engine, home name) for the engines whose cells' output comes back as events
    (the host's goes to its own sys.stdout)."""
    if request.param == 'subinterpreter':
        engine = SubinterpreterEngine(1)
        engine.wait_ready()
        yield engine, engine.homes[0]
        engine.close()
    else:
        cluster = request.getfixturevalue('cluster')
        yield cluster, cluster.homes[0]


_version = iter(range(1000, 10**6, 10))


def run(home, source, *, bind=(), load=(), states=(), capture=(), result_name='',
        check=True, events=None, code_name='', timed_at=0, release=()):
    engine, name = home
    version = next(_version)
    future = engine.run(
        name, lambda seq: VersionedTask(seq, version, f'In[{version}]', source, tuple(bind),
                                        tuple(load), tuple(states), tuple(capture),
                                        result_name, check, code_name=code_name,
                                        timed_at=timed_at, release=tuple(release)),
        label=f'In[{version}]', on_event=events.append if events is not None else None)
    report = future.result(timeout=30)
    return version, report


def written(report):
    return {name: (key, ValueInfo._make(info)) for name, key, info, _ in report.written}


def test_a_cell_keeps_what_it_binds_under_its_own_key(home):
    version, report = run(home, 'x = [1, 2]\ny = 3')
    made = written(report)
    assert made['x'][0] == ('x', version) and made['y'][0] == ('y', version)
    assert made['x'][1].type_qualname == 'list' and not made['x'][1].immutable
    assert made['y'][1].immutable and report.error is None


def test_bound_versions_are_what_the_cell_sees_and_nothing_else(home):
    first, report = run(home, 'a = 10\nb = 20')
    _, report = run(home, 'try:\n    b\n    seen = "b"\nexcept NameError:\n    seen = "none"\n'
                          'total = a * 2', bind=[('a', ('a', first))])
    made = written(report)
    engine, name = home
    payload = engine.export(name, [made['total'][0], made['seen'][0]]).result(30).values
    values = {key[0]: transfer.decode(p) for key, p in payload}
    assert values == {'total': 20, 'seen': 'none'}


def test_a_failed_cell_keeps_what_it_assigned_before_the_exception(home):
    _, report = run(home, 'kept = 1\nraise ValueError("stop")\nnever = 2')
    assert pickle.loads(report.error)['ename'] == 'ValueError'
    assert set(written(report)) == {'kept'}


def test_a_change_in_place_is_seen_and_kept_as_a_new_version(home):
    first, report = run(home, 'items = [1]')
    second, report = run(home, 'items.append(2)', bind=[('items', ('items', first))])
    assert report.changed == (('items', first),)
    assert written(report)['items'][0] == ('items', second)


def test_deleting_a_name_is_reported(home):
    first, _ = run(home, 'gone = 1')
    _, report = run(home, 'del gone', bind=[('gone', ('gone', first))])
    assert report.deleted == ('gone',)


FINALIZED = 'FREED = []\nclass R:\n    def __del__(self):\n        FREED.append("r")\nr = R()'


@pytest.mark.parametrize('source', ['del r', 'r = None'])
def test_a_released_version_is_freed_in_the_cell_that_lets_go_of_it(home, source):
    first, _ = run(home, FINALIZED)
    bind = [(name, (name, first)) for name in ('FREED', 'R', 'r')]
    _, report = run(home, source + '\nfreed = list(FREED)', bind=bind, release=[('r', first)])
    engine, name = home
    [(_, payload)] = engine.export(name, [written(report)['freed'][0]]).result(30).values
    assert transfer.decode(payload) == ['r']


def test_a_version_not_released_is_freed_only_when_dropped(home):
    first, _ = run(home, FINALIZED)
    bind = [(name, (name, first)) for name in ('FREED', 'R', 'r')]
    _, report = run(home, 'del r\nfreed = list(FREED)', bind=bind)
    engine, name = home
    [(_, payload)] = engine.export(name, [written(report)['freed'][0]]).result(30).values
    assert transfer.decode(payload) == []


def test_a_released_name_the_cell_leaves_bound_is_a_new_version(home):
    first, _ = run(home, 'kept = [1]')
    second, report = run(home, 'if False:\n    del kept', bind=[('kept', ('kept', first))],
                         release=[('kept', first)])
    assert written(report)['kept'][0] == ('kept', second) and report.deleted == ()
    engine, name = home
    exported = engine.export(name, [('kept', first), ('kept', second)]).result(30)
    assert [key for key, _ in exported.values] == [('kept', second)]
    assert [key for key, *_ in exported.failures] == [('kept', first)]


def test_values_moved_in_are_kept_for_later_cells(home):
    payload = transfer.encode({'k': [1, 2]}, notebook=True)
    first, report = run(home, 'size = len(moved["k"])', load=[('moved', ('moved', 7), payload)])
    second, report = run(home, 'again = moved["k"][1]', bind=[('moved', ('moved', 7))])
    engine, name = home
    [(_, value)] = engine.export(name, [('again', second)]).result(30).values
    assert transfer.decode(value) == 2


def test_values_exported_together_share_their_objects_where_they_are_loaded(home):
    first, _ = run(home, 'a = [1]\nb = {"k": a}')
    engine, name = home
    [(keys, together)] = engine.export(name, [('a', first), ('b', first)],
                                       together=True).result(30).values
    assert keys == (('a', first), ('b', first))
    load = [('a2', ('a2', 5), (TOGETHER, together, 0)), ('b2', ('b2', 5), (TOGETHER, together, 1))]
    _, report = run(home, 'a2.append(2)\nshared = (b2["k"] is a2, b2)', load=load)
    [(_, value)] = engine.export(name, [written(report)['shared'][0]]).result(30).values
    assert transfer.decode(value) == (True, {'k': [1, 2]})


def test_a_class_updated_by_values_loaded_together_is_no_change_of_the_cell(home):
    # Unpickling a notebook class updates the one already here in place
    # (cloudpickle): not a change the cell made (once reported as one).
    cls = type('Moved', (), {'__module__': '__main__'})
    first, _ = run(home, 'pass', load=[('Moved', ('Moved', 3), transfer.encode(cls, notebook=True))])
    cls.extra = 1
    together = transfer.encode((cls, cls()), notebook=True)
    _, report = run(home, 'x = 1', bind=[('Moved', ('Moved', 3))],
                    load=[('Again', ('Again', 4), (TOGETHER, together, 0)),
                          ('obj', ('obj', 4), (TOGETHER, together, 1))])
    assert report.error is None and report.changed == ()


def test_exporting_a_value_that_cannot_move_says_why(home):
    first, _ = run(home, 'def g():\n    yield 1\ngen = g()')
    engine, name = home
    report = engine.export(name, [('gen', first)]).result(30)
    assert report.values == () and report.failures[0][1] == 'generator'


def test_dropped_versions_are_forgotten(home):
    first, _ = run(home, 'big = bytearray(1000)')
    engine, name = home
    engine.drop(name, [('big', first)])
    report = engine.export(name, [('big', first)]).result(30)
    assert report.failures[0][1] == 'missing'


def test_the_shown_result_is_kept_under_its_result_name(home):
    version, report = run(home, '6 * 7', result_name='_9')
    assert written(report)['_9'][0] == ('_9', version)


def test_state_a_cell_keeps_in_a_context_variable_is_captured(home):
    # decimal's context (and numpy's print options) live in context variables:
    # the cell must run in the context the capture reads.
    capture = (('decimal', 'import decimal\nstate = decimal.getcontext().prec\n'),)
    _, report = run(home, 'import decimal\ndecimal.getcontext().prec = 7', capture=capture)
    [(name, payload, error)] = report.states
    assert error == '' and transfer.decode(payload) == 7


def test_interpreter_state_is_restored_and_captured(home):
    capture = (('random', 'import random\nstate = random.getstate()\n'),)
    _, report = run(home, 'import random\nrandom.seed(5)', capture=capture)
    [(name, payload, error)] = report.states
    assert name == 'random' and error == ''
    expected = __import__('random').Random(5).random()
    restore = (('random', 'import random\nrandom.setstate(state)', payload),)
    version, report = run(home, 'import random\ndrawn = random.random()', states=restore)
    engine, home_name = home
    [(_, value)] = engine.export(home_name, [('drawn', version)]).result(30).values
    assert transfer.decode(value) == expected


def test_small_values_come_back_encoded_so_readers_elsewhere_need_not_wait(home):
    _, report = run(home, 'def f(x):\n    return x + 1\nsmall = [1, 2]\nbig = list(range(100_000))')
    payloads = {name: payload for name, _, _, payload in report.written}
    assert payloads['f'] is not None and payloads['small'] is not None
    assert payloads['big'] is None


def test_output_goes_to_the_cell_as_it_runs(home_with_events):
    events = []
    run(home_with_events, 'print("hello")', events=events)
    assert [e.content['text'] for e in events if e.msg_type == 'stream'] == ['hello\n']


def test_a_timed_cell_prints_its_times_after_its_output_then_shows_its_value(
        home_with_events):
    events = []
    _, report = run(home_with_events, 'print("hello")\nx = [1, 2]\nlen(x) * 21', events=events,
                    timed_at=1, result_name='_1')
    printed = ''.join(e.content['text'] for e in events if e.msg_type == 'stream')
    assert re.fullmatch(r'hello\nCPU times: user \S+ \S+, sys: \S+ \S+, total: \S+ \S+\n'
                        r'Wall time: \S+ \S+\n', printed), printed
    assert pickle.loads(report.result)['data']['text/plain'] == '42'
    assert set(written(report)) == {'x', '_1'}


@pytest.mark.parametrize('source, shown', [
    ('6 * 7', '42'), ('y = 6 * 7', None), ('y = 6\ny * 7', '42'), ('6 * 7;', None)])
def test_a_timed_cell_shows_what_ipythons_time_magic_returns(home, source, shown):
    _, report = run(home, source, timed_at=1, result_name='_1')
    assert report.error is None
    assert (pickle.loads(report.result)['data']['text/plain'] if report.result else None) == shown


def test_a_timed_cell_that_fails_keeps_what_it_assigned_and_its_traceback_starts_at_the_magic(
        home):
    # As IPython's: the magic's line of the cell, then the timed code's frames.
    _, report = run(home, 'kept = 1\ndef f():\n    return 1 / 0\nf()', timed_at=3,
                    code_name='/tmp/ipykernel_1/123.py')
    error = pickle.loads(report.error)
    assert error['ename'] == 'ZeroDivisionError'
    [link] = error['interp_chain']
    assert [(frame.filename, frame.lineno, frame.name) for frame in link.frames] == [
        ('/tmp/ipykernel_1/123.py', 3, '<module>'), ('<timed exec>', 4, '<module>'),
        ('<timed exec>', 3, 'f')]
    assert set(written(report)) == {'kept', 'f'}


def test_a_home_whose_cell_waits_reports_it_blocked_until_the_wait_ends(home):
    engine, name = home
    changes = []
    engine.watch_blocking(lambda changed: changes.append((changed, engine.blocked(changed))))
    run(home, 'import time\ntime.sleep(0.01 / 4)')        # too short to count
    short = list(changes)
    run(home, 'import time\ntime.sleep(0.3)')
    if not isinstance(engine, SubinterpreterEngine):
        # The host and cluster engines never report it (they have no spare homes
        # to use meanwhile).
        assert changes == [] and not engine.blocked(name)
    else:
        assert short == [] and changes[-2:] == [(name, True), (name, False)]


def test_a_spare_home_starts_on_first_use_and_retires_when_told():
    engine = SubinterpreterEngine(1, spare=1)
    try:
        assert engine.homes == ('#0',) and engine.spare_homes == ('#1',)
        assert [w.name for w in engine.workers] == ['#0']
        _, report = run((engine, '#1'), 'x = 6 * 7')
        assert written(report)['x'][1].type_qualname == 'int'
        assert [w.name for w in engine.workers] == ['#0', '#1']
        engine.retire('#1')
        assert [w.name for w in engine.workers] == ['#0']
        with pytest.raises(ValueError, match='not a spare home'):
            engine.retire('#0')
        _, report = run((engine, '#1'), 'y = 1')       # started afresh
        assert 'y' in written(report)
    finally:
        engine.close()


@pytest.mark.parametrize('size, spare, error', [
    (2, -1, 'spare workers must be an int >= 0'), (2, 1.5, 'spare workers must be an int'),
    (2, 10**6, 'the number of spare workers 1000000 is more than max_size'),
    (0, 1, 'number of workers must be a positive int')])
def test_bad_worker_counts_are_refused_in_one_line(size, spare, error):
    with pytest.raises(ValueError, match=error):
        SubinterpreterEngine(size, spare)


def test_the_most_workers_an_engine_accepts_can_be_raised_and_its_error_says_how():
    with pytest.raises(ValueError, match=r'the number of workers 3 is more than max_size \(2\); '
                                         r'ask for fewer workers, or raise the limit here'):
        SubinterpreterEngine(3, 0, max_size=2, raise_limit='raise the limit here')
    with pytest.raises(ValueError, match='spare workers 3 is more than max_size'):
        SubinterpreterEngine(1, 3, max_size=2)
    engine = SubinterpreterEngine(3, 0, max_size=3)
    try:
        assert len(engine.homes) == 3
    finally:
        engine.close()


def test_a_version_dropped_while_a_host_cell_runs_is_unbound_only_once_it_ends(monkeypatch):
    # The kernel drops versions from its event loop while a host cell runs in another
    # thread; unbinding them then raced the cell (KeyError: 'some_list', wtfpython).
    engine = HostEngine({'__name__': '__main__'})
    gate = types.SimpleNamespace(entered=threading.Event(), go=threading.Event())
    monkeypatch.setitem(sys.modules, '_host_gate', gate)
    first, _ = run((engine, 'host'), 'x = [1]\ny = [2]')
    found = []
    cell = threading.Thread(target=lambda: found.append(run(
        (engine, 'host'), 'import _host_gate\n_host_gate.entered.set()\n_host_gate.go.wait(10)\n'
                          'seen = x', bind=[('x', ('x', first)), ('y', ('y', first))])))
    cell.start()
    assert gate.entered.wait(10)
    engine.drop('host', [('x', first), ('y', first)])
    assert engine.namespace['x'] == [1]     # still there for the running cell
    gate.go.set()
    cell.join(10)
    [(_, report)] = found
    assert report.error is None and 'seen' in written(report)
    assert 'x' not in engine.namespace and 'y' not in engine.namespace
    engine.close()


def test_dropping_a_version_holding_none_of_a_name_not_bound_is_quiet(home):
    # wtfpython: some_list = some_list.append(4) keeps None; the name was unbound since.
    first, _ = run(home, 'some_list = None')
    run(home, 'del some_list', bind=[('some_list', ('some_list', first))])
    engine, name = home
    engine.drop(name, [('some_list', first)])
    _, report = run(home, 'after = 1')
    assert report.error is None
