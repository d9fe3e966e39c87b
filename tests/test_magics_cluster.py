"""``%interp cluster`` and ``%%interp --engine cluster`` through a real IPython shell,
on a real local ipyparallel cluster that the magic starts (engine processes, loopback)."""

import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from test_magics_kernel import Session

TERMINAL_START = re.compile(r'\[interp\] cluster of 2 engines ready in (\d+\.\d) s: e0, e1')


def run(shell, cell):
    return shell.run_cell(cell, store_history=True)


@pytest.fixture(scope='module')
def started(shell, tmp_path_factory):
    """What ``%interp cluster start -n 2`` printed; the cluster runs for the module."""
    with pytest.MonkeyPatch.context() as patch:
        # The cluster's connection files go to a profile of a throwaway IPython dir.
        patch.setenv('IPYTHONDIR', str(tmp_path_factory.mktemp('ipython')))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert run(shell, '%interp cluster start -n 2 --profile magics').success
        yield printed.getvalue()
        run(shell, '%interp cluster stop')


@pytest.fixture
def ns(shell, started):
    """The user namespace, with the names a test adds removed afterwards."""
    before = set(shell.user_ns)
    yield shell.user_ns
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


def test_start_shows_registration_and_how_long_it_took(started):
    lines = started.split('\n')
    assert '\r[interp] starting a cluster of 2 engines: 2/2 engines registered (' in lines[0]
    assert TERMINAL_START.fullmatch(lines[1]) and lines[2:] == ['']
    assert float(TERMINAL_START.fullmatch(lines[1]).group(1)) < 15


def test_numpy_arrays_made_on_the_cluster_come_back(shell, ns):
    ns['factor'] = 2
    result = run(shell, '%%interp --engine cluster\nimport os\nimport numpy as np\n'
                        'small = np.arange(6).reshape(2, 3) * factor\n'
                        'big = np.ones(100_000)\npid = os.getpid()')
    assert result.success
    assert isinstance(ns['small'], np.ndarray) and ns['small'].tolist() == [[0, 2, 4], [6, 8, 10]]
    assert ns['big'].shape == (100_000,) and ns['big'].sum() == 100_000   # 800 kB: exported
    assert ns['pid'] != os.getpid()


def test_numpy_arrays_go_in_too(shell, ns):
    ns['data'] = np.arange(1_000_000, dtype=np.float64)
    assert run(shell, '%%interp --engine cluster\ntotal = float(data.sum())\nlast = data[-1]').success
    assert ns['total'] == 499999500000.0 and ns['last'] == 999_999.0


def test_a_named_engine_keeps_what_its_cells_made(shell, ns):
    assert run(shell, "%%interp --engine cluster keeper --out ''\nimport os\nimport numpy as np\n"
                      "hidden = np.arange(4)\nfirst_pid = os.getpid()").success
    assert 'hidden' not in ns and 'first_pid' not in ns
    assert run(shell, '%%interp --engine cluster keeper --out answer,same\n'
                      'answer = int(hidden.sum()) + 1\nsame = os.getpid() == first_pid').success
    assert ns['answer'] == 7 and ns['same'] is True
    # Another name has a namespace of its own.
    result = run(shell, '%%interp --engine cluster stranger\nseen = hidden')
    assert isinstance(result.error_in_exec, NameError)


def test_notebook_functions_and_classes_are_sent_by_value(shell, ns):
    run(shell, 'class Box:\n    def __init__(self, v): self.v = v\n'
               'def make(v):\n    return Box(v * FACTOR)\nFACTOR = 3')
    assert run(shell, '%%interp --engine cluster\nb = make(2)\nv = b.v').success
    assert ns['v'] == 6 and type(ns['b']).__name__ == 'Box'


def test_an_error_shows_the_cells_traceback(shell, ns, capsys):
    result = run(shell, '%%interp --engine cluster\nx = 1\n1 / 0')
    assert not result.success and isinstance(result.error_in_exec, ZeroDivisionError)
    out = capsys.readouterr().out
    assert f'Cell In[{result.execution_count}], line 2' in out and '1 / 0' in out
    assert 'ZeroDivisionError: division by zero' in out and 'interpkernel' not in out


def test_timeout_interrupts_the_engine_and_it_keeps_working(shell, ns, capsys):
    began = time.perf_counter()
    result = run(shell, '%%interp --engine cluster worn --timeout 0.5\nimport time\n'
                        'time.sleep(30)')
    assert time.perf_counter() - began < 5
    assert type(result.error_in_exec).__name__ == 'CellTimeout'
    out = capsys.readouterr().out
    assert 'time.sleep(30)' in out and 'ran past --timeout 0.5 s and was interrupted' in out
    assert 'cluster_home' not in out
    assert run(shell, '%%interp --engine cluster worn\nafter = 1').success and ns['after'] == 1


def test_output_streams_live_while_a_background_cell_runs(shell, ns, capsys):
    result = run(shell, '%%interp --engine cluster --bg talker\nimport time\n'
                        'print("first line", flush=True)\ntime.sleep(30)\nnever = 1')
    assert result.success
    deadline = time.monotonic() + 10
    seen = ''
    while 'first line' not in seen:
        assert time.monotonic() < deadline, 'the print did not arrive while the cell ran'
        time.sleep(0.05)
        seen += capsys.readouterr().out
    status = repr(run(shell, '%interp status').result)
    assert re.search(r'cluster e\d +running +In\[\d+\]', status), status
    run(shell, '%interp interrupt talker')
    run(shell, '%interp wait talker')
    assert 'never' not in ns
    assert 'KeyboardInterrupt' in capsys.readouterr().out


def test_background_cell_lands_on_wait(shell, ns):
    assert run(shell, '%%interp --engine cluster --bg waiter\nimport time\ntime.sleep(0.5)\n'
                      'late = 7').success
    assert 'late' not in ns
    run(shell, '%interp wait waiter')
    assert ns['late'] == 7


def test_spmd_on_every_engine(shell, ns, capsys):
    assert run(shell, '%%interp --engine cluster --all --out where\nimport os\n'
                      'where = (rank, size, os.getpid())\nprint("hello")').success
    assert [w[:2] for w in ns['where']] == [(0, 2), (1, 2)]
    assert len({w[2] for w in ns['where']}) == 2
    out = capsys.readouterr().out
    assert '[rank 0] hello' in out and '[rank 1] hello' in out
    result = run(shell, '%%interp --engine cluster -n 3 --out x\nx = 1')
    assert 'asks for more engines than the cluster has (2)' in str(result.error_in_exec)


def test_status_lists_the_engines_and_the_named_cells(shell, ns, capsys):
    table = repr(run(shell, '%interp cluster').result)
    assert re.search(r'cluster e0 +idle', table) and re.search(r'cluster e1 +idle', table)
    out = capsys.readouterr().out
    assert out.startswith('[interp] cluster of 2 engines (started here, ready in ')
    assert 'keeper on e' in out
    assert 'cluster e0' in repr(run(shell, '%interp status').result)


def test_attaching_a_second_cluster_is_refused(shell, ns):
    result = run(shell, '%interp cluster start -n 1')
    assert 'is attached already; %interp cluster stop it first' in str(result.error_in_exec)


def test_connect_and_detach_leave_a_running_cluster_running(shell, ns, cluster, capsys):
    """Runs last but one: it stops the module's cluster first."""
    run(shell, '%interp cluster stop')
    assert capsys.readouterr().out == '[interp] cluster of 2 engines stopped\n'
    url_file = os.path.join(cluster.cluster.profile_dir, 'security',
                            f'ipcontroller-{cluster.cluster.cluster_id}-client.json')
    assert run(shell, f'%interp cluster connect --url-file {url_file}').success
    assert re.fullmatch(r'\[interp\] attached to a cluster of 2 engines in \d+\.\d s: e0, e1 '
                        r'\(%interp cluster stop detaches; the cluster keeps running\)\n',
                        capsys.readouterr().out)
    assert run(shell, '%%interp --engine cluster\nnine = 3 * 3').success and ns['nine'] == 9
    run(shell, '%interp cluster stop')
    assert capsys.readouterr().out == '[interp] detached from the cluster; it keeps running\n'
    assert cluster.run('e0', lambda seq: _task(seq), label='after').result(30).error is None


def _task(seq):
    from interpkernel._core.protocol import VersionedTask
    return VersionedTask(seq, seq, 'after', 'x = 1', (), (), (), (), '', False)


def test_without_a_cluster_the_magics_say_what_to_do(shell, ns, tmp_path, capsys):
    run(shell, '%interp cluster stop')
    assert capsys.readouterr().out == '[interp] no cluster to stop: none is attached\n'
    result = run(shell, '%%interp --engine cluster\nx = 1')
    assert str(result.error_in_exec) == ('no cluster is attached: run %interp cluster start -n N '
                                         'first (or %interp cluster connect to use a running one)')
    began = time.perf_counter()
    result = run(shell, f'%interp cluster connect --url-file {tmp_path / "gone.json"} '
                        f'--timeout 2')
    assert time.perf_counter() - began < 10     # bounded by its timeout, not hanging
    assert type(result.error_in_exec).__name__ == 'ClusterError'
    shown = capsys.readouterr().out.strip()
    assert shown.startswith('ClusterError: no cluster to connect to at ') and '\n' not in shown


def test_without_ipyparallel_the_error_names_what_to_install():
    script = textwrap.dedent('''
        import sys
        sys.modules['ipyparallel'] = None      # as if it were not installed
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic('load_ext', 'interpkernel')
        shell.run_cell('%interp cluster start -n 1')
        shell.run_cell('%%interp --engine cluster\\nx = 1')
    ''')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60)
    expected = ('ClusterError: the cluster engine needs ipyparallel, which is not installed: '
                'pip install interpkernel[cluster]')
    assert done.stdout.splitlines() == [expected, expected], done.stdout + done.stderr


def test_in_a_kernel_output_and_values_land_in_their_cell(kernel_session, tmp_path):
    session = kernel_session
    start, reply = session.run(f'import os\nos.environ["IPYTHONDIR"] = {str(tmp_path)!r}\n'
                               f'%interp cluster start -n 1')
    assert reply['status'] == 'ok', reply
    shown = [m['content']['data']['text/plain'] for m in session.of(start)
             if m['msg_type'] in ('display_data', 'update_display_data')]
    assert shown[-1].startswith('[interp] starting a cluster of 1 engine: 1/1 engines registered')
    assert re.fullmatch(r'\[interp\] cluster of 1 engine ready in \d+\.\d s: e0\n',
                        session.text(start))
    cell, reply = session.run('%%interp --engine cluster\nimport numpy as np\n'
                              'print("from the engine")\nv = np.arange(4)')
    assert reply['status'] == 'ok' and session.text(cell) == 'from the engine\n'
    shown, reply = session.run('int(v.sum())')
    [result] = session.of(shown, 'execute_result')
    assert result['content']['data']['text/plain'] == '6'
    stop, reply = session.run('%interp cluster stop')
    # ipyparallel also logs the stopped engine's output there (a warning, in a kernel).
    assert session.text(stop).endswith('[interp] cluster of 1 engine stopped\n')


@pytest.fixture
def kernel_session():
    from jupyter_client.manager import start_new_kernel
    manager, client = start_new_kernel(kernel_name='python3')
    session = Session(client)
    try:
        _, reply = session.run('%load_ext interpkernel')
        assert reply['status'] == 'ok'
        yield session
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
