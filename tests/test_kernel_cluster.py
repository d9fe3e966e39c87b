"""The interp kernel with an ipyparallel cluster attached: cells that refuse
subinterpreters (numpy) run on the cluster's engine processes, in parallel, with
the results of running the notebook in order.

Real kernels (jupyter_client), real local clusters (engine processes on
loopback), and ipykernel for the reference.
"""

import os
import re
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from interpkernel.kernel.install import KERNEL_NAME
from interpkernel.notebook import Kernel, comparable

from test_kernel import Client

pytestmark = pytest.mark.usefixtures('kernelspec')

NUMPY_NOTEBOOK = Path(__file__).parent / 'notebooks' / 'numpy_independent.ipynb'


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """Kernels started from here read ``c.InterpKernel.cluster``: a local cluster of two
    engines, in a profile of a throwaway IPython directory."""
    ipython_dir = tmp_path / 'ipython'
    profile = ipython_dir / 'profile_default'
    profile.mkdir(parents=True)
    (profile / 'ipython_kernel_config.py').write_text(
        f"c.InterpKernel.cluster = {{'n': 2, 'profile_dir': {str(tmp_path / 'cluster')!r}}}\n")
    monkeypatch.setenv('IPYTHONDIR', str(ipython_dir))
    return ipython_dir


@pytest.fixture
def kernel(configured):
    with Kernel(KERNEL_NAME) as started:
        yield Client(started.client), started


def run(client, *sources, timeout=120):
    ids = [client.client.execute(source) for source in sources]
    return ids, client.wait(ids, timeout)


def ran_on(client, msg_id):
    return client.replies[msg_id]['metadata']['interp']['ran_on']


def test_a_numpy_notebook_runs_on_the_engines_at_once_with_ipykernels_outputs(configured):
    reference = nbformat.read(NUMPY_NOTEBOOK, as_version=4)
    NotebookClient(reference, kernel_name='python3', timeout=120).execute()
    expected = [comparable(c.outputs) for c in reference.cells if c.cell_type == 'code']
    with Kernel(KERNEL_NAME) as kernel:
        runs = kernel.run_all(nbformat.read(NUMPY_NOTEBOOK, as_version=4), timeout=300)
    assert [comparable(run.outputs) for run in runs] == expected
    flows = [run.dataflow for run in runs]
    # The four independent cells (each builds and reduces its arrays) and the join ran
    # on engines, not in the host; two of them on different engines at once.
    assert all(flow.ran_on in ('e0', 'e1') for flow in flows[2:]), [f.ran_on for f in flows]
    work = flows[2:6]
    assert any(first.ran_on != second.ran_on and first.started < second.ended and
               second.started < first.ended
               for first in work for second in work), \
        [(f.ran_on, f.started, f.ended) for f in work]


def test_numpys_global_state_follows_the_cells_across_engines(kernel):
    # Seeded legacy random draws and print options, set on one engine, are what a cell
    # running on the other sees: the cells' outputs are those of running in order.
    client, _ = kernel
    ids, replies = run(
        client,
        'import numpy as np', 'np.random.seed(7)\nnp.set_printoptions(precision=2)',
        # Busy cells, so that the readers below spread over both engines.
        *[f'import time\nbusy_{n} = np.zeros(3)\ntime.sleep(1)' for n in range(2)],
        *[f'drawn_{n} = np.random.rand(2)\nprint(np.array([1 / 3]), drawn_{n}.shape)'
          for n in range(3)],
        'print(np.round(np.concatenate([drawn_0, drawn_1, drawn_2]), 6))')
    assert [r['status'] for r in replies] == ['ok'] * len(ids)
    assert {ran_on(client, i) for i in ids[1:]} == {'e0', 'e1'}
    for msg_id in ids[4:7]:
        assert client.text(msg_id) == '[0.33] (2,)\n'
    import numpy
    state = numpy.random.RandomState(7)
    expected = numpy.round(state.rand(6), 6)
    with numpy.printoptions(precision=2):
        assert client.text(ids[-1]) == f'{expected}\n'


def test_engine_cells_show_results_errors_and_their_values_reach_the_host(kernel):
    client, _ = kernel
    ids, replies = run(client, 'import numpy as np', 'arr = np.arange(6).reshape(2, 3)\narr',
                       'arr.sum() + missing_name')
    assert [r['status'] for r in replies] == ['ok', 'ok', 'error']
    assert ran_on(client, ids[1]) in ('e0', 'e1')
    [result] = client.of(ids[1], 'execute_result')
    assert result['content']['data']['text/plain'] == 'array([[0, 1, 2],\n       [3, 4, 5]])'
    assert replies[2]['ename'] == 'NameError' and 'missing_name' in replies[2]['evalue']
    assert any('arr.sum() + missing_name' in line for line in replies[2]['traceback'])
    # A magic runs in the host: the array comes to it.
    ids, replies = run(client, '%%capture\nshape = arr.shape', 'print(shape, type(arr).__name__)')
    assert [r['status'] for r in replies] == ['ok', 'ok']
    assert ran_on(client, ids[0]) == 'host'
    assert client.text(ids[1]) == '(2, 3) ndarray\n'
    # A cell that is one %time runs where the array is, and times it there.
    [msg_id], [reply] = run(client, '%time arr.sum()')
    assert reply['status'] == 'ok' and ran_on(client, msg_id) in ('e0', 'e1')
    assert client.text(msg_id).startswith('CPU times: ')
    [result] = client.of(msg_id, 'execute_result')
    assert result['content']['data']['text/plain'] == 'np.int64(15)'


def start_on_an_engine(client, source):
    """Submit ``import numpy`` and `source` (which prints a line first); return their
    message ids once that line has come."""
    ids = [client.client.execute('import numpy as np'), client.client.execute(source)]
    deadline = time.monotonic() + 60
    while not client.text(ids[1]).strip():
        assert time.monotonic() < deadline, 'the engine cell never started'
        client.pump()
    return ids


def test_interrupting_a_busy_engine_cell_stops_it_and_the_engines_keep_working(kernel):
    client, started = kernel
    ids = start_on_an_engine(client, 'import time\nprint("going", flush=True)\n'
                                     'for _ in range(600):\n    time.sleep(0.1)\n'
                                     'late = np.ones(1)')
    interrupted = time.monotonic()
    started.interrupt()
    [first, second] = client.wait(ids)
    assert first['status'] == 'ok' and second['status'] == 'error'
    assert second['ename'] == 'KeyboardInterrupt' and time.monotonic() - interrupted < 30
    ids, replies = run(client, 'after = int(np.ones(3).sum())\nafter')
    assert replies[0]['status'] == 'ok' and ran_on(client, ids[0]) in ('e0', 'e1')
    [result] = client.of(ids[0], 'execute_result')
    assert result['content']['data']['text/plain'] == '3'


def test_an_engine_killed_mid_cell_fails_that_cell_clearly_and_the_rest_goes_on(kernel):
    client, _ = kernel
    ids = start_on_an_engine(client, 'import os, time\nprint(os.getpid(), flush=True)\n'
                                     'doomed = np.ones(2)\ntime.sleep(60)')
    os.kill(int(client.text(ids[1])), signal.SIGKILL)
    [first, second] = client.wait(ids)
    assert first['status'] == 'ok' and second['status'] == 'error'
    assert second['ename'] == 'EngineLost' and 'is gone' in second['evalue']
    ids, replies = run(client, 'survivor = np.arange(4)\nprint(int(survivor.sum()))')
    assert replies[0]['status'] == 'ok' and client.text(ids[0]) == '6\n'


def test_a_cluster_started_by_the_magic_takes_the_numpy_cells_and_stop_keeps_their_values(
        tmp_path, monkeypatch):
    monkeypatch.setenv('IPYTHONDIR', str(tmp_path / 'ipython'))
    with Kernel(KERNEL_NAME) as started:
        client = Client(started.client)
        ids, replies = run(client, 'import numpy as np', 'before = np.arange(3)',
                           '%interp cluster start -n 1')
        assert [r['status'] for r in replies] == ['ok'] * 3
        assert ran_on(client, ids[1]) == 'host'
        assert 'cluster of 1 engine ready' in client.text(ids[2])
        ids, replies = run(client, 'made_there = before * 2', '%interp status',
                           '%interp timeline')
        assert ran_on(client, ids[0]) == 'e0'
        [status] = client.of(ids[1], 'execute_result')
        assert 'cluster e0' in status['content']['data']['text/plain']
        # The engine is a lane of the timeline, with the cell it ran.
        [timeline] = client.of(ids[2], 'execute_result')
        table = timeline['content']['data']['text/plain']
        assert re.search(r'^In\[4\]\s+done\s+e0\s', table, re.MULTILINE), table
        assert '>e0</text>' in timeline['content']['data']['image/svg+xml']
        ids, replies = run(client, '%interp cluster stop', 'print(made_there.tolist())')
        assert [r['status'] for r in replies] == ['ok', 'ok']
        assert client.text(ids[1]) == '[0, 2, 4]\n' and ran_on(client, ids[1]) == 'host'


def test_a_cluster_that_cannot_start_is_said_once_and_the_cells_run_in_the_host(
        tmp_path, monkeypatch):
    profile = tmp_path / 'ipython' / 'profile_default'
    profile.mkdir(parents=True)
    missing = tmp_path / 'nowhere' / 'ipcontroller-client.json'
    (profile / 'ipython_kernel_config.py').write_text(
        f"c.InterpKernel.cluster = {{'url_file': {str(missing)!r}, 'timeout': 2}}\n")
    monkeypatch.setenv('IPYTHONDIR', str(tmp_path / 'ipython'))
    with Kernel(KERNEL_NAME) as started:
        client = Client(started.client)
        ids, replies = run(client, 'import numpy as np\nprint(int(np.arange(4).sum()))',
                           'print(int(np.ones(2).sum()))')
    assert [r['status'] for r in replies] == ['ok', 'ok']
    said = [m['content']['text'] for m in client.of(ids[0], 'stream')
            if m['content']['name'] == 'stderr']
    assert len(said) == 1 and said[0].startswith(
        '[interp] the cluster of c.InterpKernel.cluster did not start (ClusterError: ')
    assert client.text(ids[0]).endswith('6\n') and client.text(ids[1]) == '2\n'
    assert ran_on(client, ids[0]) == 'host'


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_kernel_takes_the_cluster_it_started_with_it(configured):
    started = Kernel(KERNEL_NAME)
    try:
        client = Client(started.client)
        ids, replies = run(client, 'import numpy as np\nimport os\nprint(os.getpid())')
        assert replies[0]['status'] == 'ok' and ran_on(client, ids[0]) in ('e0', 'e1')
        engine = int(client.text(ids[0]))
    finally:
        started.close()     # SIGKILL: the kernel runs no shutdown code
    deadline = time.monotonic() + 30
    while _alive(engine):
        assert time.monotonic() < deadline, 'the engine process outlived its kernel'
        time.sleep(0.1)


def test_engines_work_in_the_kernels_directory_and_other_refusing_modules_stay_home(
        kernel, tmp_path):
    client, _ = kernel
    ids, replies = run(client, f'%cd {tmp_path}',
                       'import numpy as np\nimport os\nprint(os.getcwd())',
                       # psutil refuses subinterpreters too, but is not a module the
                       # cluster takes: its cells stay in the host
                       'import psutil\nprint(psutil.Process().pid == os.getpid())')
    assert [r['status'] for r in replies] == ['ok'] * 3
    assert ran_on(client, ids[1]) in ('e0', 'e1') and client.text(ids[1]) == f'{tmp_path}\n'
    assert ran_on(client, ids[2]) == 'host' and client.text(ids[2]) == 'True\n'
