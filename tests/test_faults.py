"""Faults, each on a real interp kernel: a clear error or a clean restart, and the kernel
usable after.
"""

import os
import queue
import signal
import time

import pytest
from jupyter_client.manager import KernelManager

from interpkernel.kernel.install import KERNEL_NAME

pytestmark = pytest.mark.usefixtures('kernelspec')


@pytest.fixture
def kernel(tmp_path):
    """(manager, client, path of the kernel's stderr) for a fresh interp kernel."""
    stderr = tmp_path / 'kernel.err'
    manager = KernelManager(kernel_name=KERNEL_NAME)
    with open(stderr, 'w') as err:      # open while the kernel (or its restart) runs
        manager.start_kernel(stderr=err)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        yield manager, client, stderr
        client.stop_channels()
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)


def _execute(client, code, timeout=30):
    """The reply content for `code`, or None if no reply came within `timeout`."""
    reply = _reply(client, code, timeout)
    return None if reply is None else reply['content']


def _reply(client, code, timeout=30):
    """The execute_reply message for `code`, or None if none came within `timeout`."""
    return _reply_message(client, client.execute(code), timeout)


def _reply_message(client, msg_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reply = client.get_shell_msg(timeout=0.2)
        except queue.Empty:
            continue
        if reply['parent_header'].get('msg_id') == msg_id:
            return reply
    return None


def _usable(client):
    reply = _execute(client, 'check = 6 * 7\ncheck', timeout=60)
    return reply is not None and reply['status'] == 'ok'


def _restart_and_check(manager, client):
    manager.restart_kernel(now=True)
    client.wait_for_ready(timeout=60)
    assert _usable(client)


def test_a_worker_cell_calling_os_exit_ends_the_kernel_and_restart_brings_it_back(kernel):
    manager, client, _ = kernel
    assert _usable(client)
    assert _execute(client, 'import os\nos._exit(3)', timeout=10) is None
    deadline = time.monotonic() + 10
    while manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not manager.is_alive()
    _restart_and_check(manager, client)


def test_restart_after_kill_9_of_the_kernel(kernel):
    manager, client, _ = kernel
    assert _execute(client, 'x = list(range(10))')['status'] == 'ok'
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    _restart_and_check(manager, client)


def test_a_request_sent_as_soon_as_an_error_reply_arrives_runs(kernel):
    # Requests queued behind a failed one are aborted, as in ipykernel; one
    # sent after its error reply arrived is not, however fast it comes.
    _, client, _ = kernel
    failing = 'def down(n):\n    return down(n + 1)\ndown(0)'   # a long traceback to format
    for attempt in range(25):
        assert _execute(client, failing)['status'] == 'error'
        reply = _execute(client, f'x = {attempt}')
        assert reply is not None and reply['status'] == 'ok', (attempt, reply)


@pytest.mark.parametrize('code, ename', [
    ('def down(n):\n    return down(n + 1)\ndown(0)', 'RecursionError'),
    ('block = bytearray(1 << 62)', 'MemoryError'),
    ('def down(n):\n    return down(n + 1)\n%time down(0)', 'RecursionError'),   # in the host
])
def test_recursion_and_memory_exhaustion_are_errors_and_the_kernel_goes_on(kernel, code, ename):
    _, client, _ = kernel
    reply = _execute(client, code, timeout=60)
    assert reply['status'] == 'error' and reply['ename'] == ename
    assert _usable(client)


@pytest.mark.parametrize('code', [
    'print("go", flush=True)\nwhile True:\n    pass',
    # In the host (get_ipython, asyncio): the kernel's SIGINT handler raises in the
    # cell; it sent itself SIGINT again, and the cell failed with RecursionError.
    'get_ipython()\nimport time\nprint("go", flush=True)\ntime.sleep(60)',
    'import asyncio\nprint("go", flush=True)\nawait asyncio.sleep(60)',
], ids=['worker', 'host', 'host-await'])
def test_an_interrupt_stops_a_running_cell_and_the_kernel_goes_on(kernel, code):
    manager, client, _ = kernel
    assert _usable(client)
    msg_id = client.execute(code)
    deadline = time.monotonic() + 30
    while True:     # its first output: the cell runs
        message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if message['parent_header'].get('msg_id') == msg_id and \
                message['msg_type'] == 'stream':
            break
    manager.interrupt_kernel()
    while True:
        reply = client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply['parent_header'].get('msg_id') == msg_id:
            break
    assert reply['content']['ename'] == 'KeyboardInterrupt'
    assert _usable(client)


def test_cells_that_start_daemon_threads_run_in_the_host_and_shutdown_does_not_wait_for_them(
        kernel):
    # Workers refuse daemon threads, and one that never ends would keep its
    # worker from being destroyed: at shutdown the kernel would hang until killed.
    manager, client, stderr = kernel
    cells = ['import threading, time\n'
             'threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()',
             'def start():\n'
             '    thread = threading.Thread(target=time.sleep, args=(1000,))\n'
             '    thread.daemon = True\n'
             '    thread.start()',
             'start()\nstarted = True']
    replies = [_reply(client, code) for code in cells]
    assert [reply['content']['status'] for reply in replies] == ['ok'] * 3
    reasons = [reply['metadata']['interp']['host_reason'] for reply in replies]
    assert reasons[0] == 'it starts a daemon thread', reasons
    assert reasons[2] == 'it calls start, which starts a daemon thread', reasons
    process = manager.provisioner.process
    began = time.monotonic()
    manager.shutdown_kernel(now=False)
    # It exits by itself: jupyter_client sends SIGTERM to a kernel still alive after 2.5 s.
    assert process.returncode == 0 and time.monotonic() - began < 2.5
    assert 'Bad file descriptor' not in stderr.read_text()


def test_shutdown_ends_with_a_worker_thread_a_cell_left_running(kernel):
    manager, client, stderr = kernel
    reply = _execute(client, 'import threading, time\n'
                             'threading.Thread(target=time.sleep, args=(1,)).start()'
                             '\nstarted = True')
    assert reply['status'] == 'ok'
    process = manager.provisioner.process
    manager.shutdown_kernel(now=False)
    assert process.returncode == 0       # the kernel waited for the thread, then exited
    assert 'Bad file descriptor' not in stderr.read_text()


def test_running_out_of_memory_under_setrlimit_is_a_memory_error_and_the_kernel_goes_on(kernel):
    manager, client, stderr = kernel
    limit = ('import resource\n'
             "vm = next(int(line.split()[1]) for line in open('/proc/self/status')\n"
             "          if line.startswith('VmSize:')) * 1024\n"
             'resource.setrlimit(resource.RLIMIT_AS, (vm + (768 << 20), resource.RLIM_INFINITY))')
    assert _execute(client, limit)['status'] == 'ok'
    # A list of 50 MB arrays grows until the process's address space is full.
    reply = _execute(client, 'blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))',
                     timeout=60)
    assert reply['status'] == 'error' and reply['ename'] == 'MemoryError'
    count = _execute(client, 'print(len(blocks))')     # as in Python, what it made stays
    assert count['status'] == 'ok'
    assert _execute(client, 'del blocks')['status'] == 'ok'
    assert _usable(client)


def _streamed(client, msg_id):
    """The stream texts of request `msg_id` among the IOPub messages sent so far."""
    texts = []
    while True:
        try:
            message = client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            return texts
        if message['parent_header'].get('msg_id') == msg_id and message['msg_type'] == 'stream':
            texts.append(message['content']['text'])


def _reply_to(client, msg_id, timeout):
    reply = _reply_message(client, msg_id, timeout)
    return None if reply is None else reply['content']


def test_an_interrupt_sent_right_after_its_request_stops_the_cell_or_finds_it_not_begun(kernel):
    manager, client, _ = kernel
    other = client.execute('print("other", flush=True)')
    assert _reply_to(client, other, 30)['status'] == 'ok'
    msg_id = client.execute('while True:\n    pass')
    manager.interrupt_kernel()    # within a millisecond: the signal may beat the request
    reply = _reply_to(client, msg_id, 3)
    if reply is None:
        # It came before the request was read, and found nothing to stop (as in
        # ipykernel, which ignores SIGINT between requests): the next one lands.
        manager.interrupt_kernel()
        reply = _reply_to(client, msg_id, 10)
    assert reply is not None and (reply['status'], reply.get('ename')) in (
        ('error', 'KeyboardInterrupt'), ('aborted', None))
    assert _streamed(client, other) == ['other\n']
    assert _usable(client)


def test_the_runtimes_warnings_go_to_the_kernels_log_not_into_a_cell(kernel):
    # A spare worker that cannot start is said this way, while some cell runs:
    # unhandled, the warning would land in that cell's stderr.
    manager, client, stderr = kernel
    msg_id = client.execute("get_ipython()\nimport logging\n"
                            "logging.getLogger('interpkernel').warning('said by the runtime')")
    assert _reply_to(client, msg_id, 30)['status'] == 'ok'
    assert _streamed(client, msg_id) == []
    assert '[interpkernel] WARNING | said by the runtime' in stderr.read_text()
