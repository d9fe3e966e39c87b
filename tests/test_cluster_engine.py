"""The cluster engine on real local ipyparallel clusters (engine processes on loopback).

What every engine does is in test_engines.py; here, what only a cluster has:
values in other processes, numpy, engines that die, signals, connecting.
"""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from interpkernel._core import transfer
from interpkernel._core.protocol import VersionedTask
from interpkernel.cluster import ClusterEngine
from interpkernel.errors import ClusterError, EngineLost, PoolClosed

_version = iter(range(500_000, 10**6))   # apart from test_engines.py's, on the same homes


def submit(engine, home, source, *, bind=(), load=(), events=None):
    """Queue a cell in `home`: (its version, its future)."""
    version = next(_version)
    future = engine.run(
        home, lambda seq: VersionedTask(seq, version, f'In[{version}]', source, tuple(bind),
                                        tuple(load), (), (), '', True),
        label=f'In[{version}]', on_event=events.append if events is not None else None)
    return version, future


def run(engine, home, source, **options):
    version, future = submit(engine, home, source, **options)
    return version, future.result(timeout=30)


def value(engine, home, key):
    report = engine.export(home, [key]).result(timeout=30)
    assert report.failures == ()
    return transfer.decode(report.values[0][1])


def ename(report):
    return pickle.loads(report.error)['ename'] if report.error is not None else None


def wait_for_text(events, text, timeout=20):
    deadline = time.monotonic() + timeout
    while not any(e.msg_type == 'stream' and text in e.content['text'] for e in list(events)):
        assert time.monotonic() < deadline, f'no output {text!r} within {timeout} s'
        time.sleep(0.01)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_homes_are_engine_processes_of_their_own(cluster):
    assert cluster.homes == ('e0', 'e1')
    pids = {home: pid for home, (_, pid) in cluster.processes.items()}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    for home in cluster.homes:
        version, report = run(cluster, home, 'import os\npid = os.getpid()')
        assert value(cluster, home, ('pid', version)) == pids[home]


def test_numpy_arrays_made_on_an_engine_stay_there_and_come_back_by_export(cluster):
    made, report = run(cluster, 'e0', 'import numpy as np\n'
                                      'a = np.arange(1_000_000.0).reshape(1000, 1000)')
    [(key, payload)] = [(key, payload) for name, key, _, payload in report.written if name == 'a']
    assert payload is None       # 8 MB: not sent back with the report
    summed, report = run(cluster, 'e0', 'total = float(a.sum())', bind=[('a', key)])
    assert value(cluster, 'e0', ('total', summed)) == sum(range(1_000_000))
    _, report = run(cluster, 'e1', 'total = a.sum()', bind=[('a', key)])   # not there
    assert report.failed_loads == (('a', 'missing', 'this interpreter no longer holds it'),)
    back = value(cluster, 'e0', key)
    assert isinstance(back, np.ndarray) and back.shape == (1000, 1000)
    assert np.array_equal(back, np.arange(1_000_000.0).reshape(1000, 1000))


def test_a_value_moved_in_lands_in_the_engine_and_notebook_code_travels_by_value(cluster):
    payload = transfer.encode(np.full(3, 7), notebook=True)
    made, report = run(cluster, 'e1', 'import dataclasses, pickle\n'
                                      '@dataclasses.dataclass\n'
                                      'class Point:\n    x: int\n'
                                      'p = Point(int(arr.sum()))\n'
                                      'again = pickle.loads(pickle.dumps(p))\n'
                                      'def grow(q):\n    return Point(q.x + bonus)\n'
                                      'bonus = 1',
                       load=[('arr', ('arr', 999_001), payload)])
    assert report.error is None, pickle.loads(report.error)
    assert value(cluster, 'e1', ('again', made)).x == 21      # cells' classes pickle there
    grow = value(cluster, 'e1', ('grow', made))
    assert grow.__module__ == '__main__' and grow.__code__.co_filename == f'<cell In[{made}]>'


def test_buffers_cross_between_processes_as_copies(cluster):
    shared = bytearray(b'sent')
    load = [('blob', ('blob', 999_002), transfer.encode(shared, snapshot=False))]
    made, report = run(cluster, 'e0', 'view = memoryview(b"made")\nsize = len(blob)', load=load)
    payloads = {name: payload for name, _, _, payload in report.written}
    assert bytes(transfer.decode(payloads['view'])) == b'made'
    assert value(cluster, 'e0', ('size', made)) == 4


def test_output_comes_back_live_as_the_events_other_engines_give(cluster):
    events, arrived = [], []

    def listen(event):
        events.append(event)
        arrived.append(time.perf_counter())

    version, future = submit(cluster, 'e1', (
        'import sys, time\n'
        'from IPython.display import HTML, clear_output, display\n'
        'print("first")\n'
        'handle = display(HTML("<b>shown</b>"), display_id=True)\n'
        'time.sleep(1)\n'
        'handle.update(HTML("<b>updated</b>"))\n'
        'print("warned", file=sys.stderr)\n'
        'clear_output(wait=True)\n'
        'print("last")'), events=[])
    future.add_event_listener(listen)
    report = future.result(timeout=30)
    done = time.perf_counter()
    assert report.error is None
    shape = [(e.msg_type, e.content.get('name'), e.content.get('text'),
              e.content.get('data', {}).get('text/html')) for e in events]
    assert shape == [('stream', 'stdout', 'first\n', None),
                     ('display_data', None, None, '<b>shown</b>'),
                     ('update_display_data', None, None, '<b>updated</b>'),
                     ('stream', 'stderr', 'warned\n', None),
                     ('clear_output', None, None, None),
                     ('stream', 'stdout', 'last\n', None)]
    assert events[1].content['transient']['display_id'] == \
        events[2].content['transient']['display_id']
    assert done - arrived[0] > 0.6    # "first" came while the cell slept
    assert future.events == events


def test_a_failed_cell_comes_back_with_its_traceback_and_exception(cluster):
    import cloudpickle
    _, report = run(cluster, 'e0', 'def inner():\n    return 1 / 0\nvalue = inner()')
    content = pickle.loads(report.error)
    assert content['ename'] == 'ZeroDivisionError'
    text = '\n'.join(content['traceback'])
    assert 'Cell In[' in text and 'return 1 / 0' in text and 'cluster_home' not in text
    assert isinstance(cloudpickle.loads(report.exception), ZeroDivisionError)


def test_interrupting_a_busy_engine_stops_its_cell_and_nothing_else(cluster):
    events = []
    busy, future = submit(cluster, 'e0', 'print("going")\nimport time\ntime.sleep(60)\n'
                                         'after = 1', events=events)
    queued, behind = submit(cluster, 'e0', 'never = 1')
    wait_for_text(events, 'going')
    assert cluster.status('e0').busy
    behind.interrupt()                        # not started: cancelled, never sent
    started = time.perf_counter()
    cluster.interrupt('e0')
    report = future.result(timeout=10)
    assert time.perf_counter() - started < 5
    assert ename(report) == 'KeyboardInterrupt'
    assert 'after' not in {name for name, *_ in report.written}
    assert behind.cancelled()
    assert engine_failures(cluster, 'e0', [('never', queued)]) == ['missing']
    version, report = run(cluster, 'e0', 'import time\ntime.sleep(0.3)\nfine = 1')
    assert report.error is None and value(cluster, 'e0', ('fine', version)) == 1


def engine_failures(engine, home, keys):
    return [failure[1] for failure in engine.export(home, keys).result(timeout=30).failures]


def test_a_cell_interrupted_before_the_engine_began_it_is_still_interrupted(cluster):
    version, future = submit(cluster, 'e1', 'import time\ntime.sleep(60)\nafter = 1')
    future.interrupt()             # its request is on its way: iopub has not said busy
    report = future.result(timeout=10)
    assert ename(report) == 'KeyboardInterrupt'
    assert 'after' not in {name for name, *_ in report.written}


@pytest.fixture
def profile_dir(tmp_path):
    return str(tmp_path / 'ipython')


def test_an_engine_killed_mid_cell_fails_its_cells_clearly_and_the_others_keep_working(
        profile_dir):
    engine = ClusterEngine.start(2, profile_dir=profile_dir)
    try:
        _, pid = engine.processes['e1']
        kept, _ = run(engine, 'e1', 'kept = 1')
        events = []
        _, doomed = submit(engine, 'e1', 'print("going")\nimport time\ntime.sleep(60)',
                           events=events)
        behind = engine.export('e1', [('kept', kept)])
        wait_for_text(events, 'going')
        killed = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        error = doomed.exception(timeout=30)
        noticed = time.perf_counter() - killed
        assert isinstance(error, EngineLost) and noticed < 10
        assert str(error).startswith("cluster engine 'e1' is gone (its process ended while "
                                     "running In[") and '\n' not in str(error)
        assert isinstance(behind.exception(timeout=5), EngineLost)
        assert isinstance(submit(engine, 'e1', 'x = 1')[1].exception(timeout=5), EngineLost)
        version, report = run(engine, 'e0', 'import numpy\nalive = int(numpy.int64(3))')
        assert report.error is None and value(engine, 'e0', ('alive', version)) == 3
        assert not engine.status('e1').busy
        os.kill(engine.processes['e0'][1], signal.SIGKILL)     # idle, and the last one
        error = submit(engine, 'e0', 'x = 1')[1].exception(timeout=10)
        assert isinstance(error, EngineLost)
        assert str(error).startswith("cluster engine 'e0' is gone (its process ended ")
    finally:
        engine.close()


def test_close_interrupts_running_cells_stops_the_cluster_it_started_and_is_idempotent(
        profile_dir):
    progress = []
    engine = ClusterEngine.start(1, profile_dir=profile_dir,
                                 on_progress=lambda *counts: progress.append(counts))
    assert progress in ([(0, 1), (1, 1)], [(1, 1)])
    [(_, pid)] = engine.processes.values()
    events = []
    _, running = submit(engine, 'e0', 'print("going")\nimport time\ntime.sleep(60)\nafter = 1',
                        events=events)
    _, queued = submit(engine, 'e0', 'x = 1')
    # Running, not still on its way: a cell that a loaded machine had not
    # begun within close()'s wait fails as PoolClosed instead.
    wait_for_text(events, 'going')
    started = time.perf_counter()
    engine.close()
    # Interrupted, not waited for: far less than the cell's 60 s (a loaded CI
    # machine took 8 s to stop the cluster after).
    assert time.perf_counter() - started < 30
    assert ename(running.result(timeout=1)) == 'KeyboardInterrupt' and queued.cancelled()
    engine.close()
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, 'the engine process outlived close()'
        time.sleep(0.05)
    with pytest.raises(PoolClosed):
        submit(engine, 'e0', 'x = 1')


def test_an_engine_attached_to_a_cluster_leaves_it_running_when_closed(profile_dir):
    owner = ClusterEngine.start(1, profile_dir=profile_dir)
    try:
        url_file = os.path.join(owner.cluster.profile_dir, 'security',
                                f'ipcontroller-{owner.cluster.cluster_id}-client.json')
        attached = ClusterEngine.connect(url_file, timeout=30)
        assert attached.cluster is None and attached.processes == owner.processes
        version, report = run(attached, 'e0', 'x = 6 * 7')
        attached.close()
        [(_, pid)] = owner.processes.values()
        assert alive(pid)
        assert value(owner, 'e0', ('x', version)) == 42       # the home kept its values
    finally:
        owner.close()


def test_engines_that_do_not_register_in_time_fail_the_start_with_their_log(profile_dir):
    from traitlets.config import Config
    refusing = [sys.executable, '-c',
                'import sys; print("this engine refuses to start", file=sys.stderr); sys.exit(3)']
    started = time.perf_counter()
    progress = []
    with pytest.raises(ClusterError) as raised:
        ClusterEngine.start(1, timeout=3, profile_dir=profile_dir,
                            config=Config({'LocalEngineLauncher': {'engine_cmd': refusing}}),
                            on_progress=lambda *counts: progress.append(counts))
    assert time.perf_counter() - started < 10 and progress == [(0, 1)]
    assert str(raised.value) == ("0 of 1 engines registered within 3 s; the engines' log ends:"
                                 "\nthis engine refuses to start")


def test_connecting_to_a_cluster_that_is_not_there_fails_clearly_in_bounded_time(tmp_path):
    missing = tmp_path / 'missing.json'
    started = time.perf_counter()
    with pytest.raises(ClusterError, match=r'^no cluster to connect to at .*missing\.json: its '
                                           r'connection file is missing; start one'):
        ClusterEngine.connect(str(missing), timeout=2)
    assert time.perf_counter() - started < 1

    stale = tmp_path / 'ipcontroller-client.json'
    stale.write_text(json.dumps(_connection_info_nobody_answers()))
    started = time.perf_counter()
    with pytest.raises(ClusterError) as raised:
        ClusterEngine.connect(str(stale), timeout=2)
    assert 2 <= time.perf_counter() - started < 5
    assert str(raised.value) == (f'no cluster answered at {stale} within 2 s: is its '
                                 f'controller running?')


def _connection_info_nobody_answers():
    ports = {}
    for channel in ('registration', 'control', 'mux', 'task', 'iopub', 'notification',
                    'broadcast'):
        with socket.socket() as probe:        # a port that was free a moment ago
            probe.bind(('127.0.0.1', 0))
            ports[channel] = probe.getsockname()[1]
    return {'ssh': '', 'interface': 'tcp://127.0.0.1', **ports, 'task_scheme': 'leastload',
            'key': 'not-a-secret', 'curve_serverkey': None, 'location': '127.0.0.1',
            'pack': 'json', 'unpack': 'json', 'signature_scheme': 'hmac-sha256'}


def test_without_ipyparallel_interpkernel_imports_and_the_cluster_says_what_to_install():
    script = ('import sys\n'
              'sys.modules["ipyparallel"] = None   # as if it were not installed\n'
              'import interpkernel, interpkernel.cluster\n'
              'from interpkernel.cluster import ClusterEngine\n'
              'try:\n'
              '    ClusterEngine.start(1)\n'
              'except interpkernel.ClusterError as exc:\n'
              '    print(exc)\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)})
    assert done.stdout == ('the cluster engine needs ipyparallel, which is not installed: '
                           'pip install interpkernel[cluster]\n'), done.stderr
