"""The magics in a real ipykernel, over the Jupyter protocol (jupyter_client).

These check what only a kernel shows: output routed to the cell that made it
(its parent header), --bg display updates after the cell returned, and the
kernel's interrupt reaching a worker.
"""

import queue
import time

import pytest
from jupyter_client.manager import start_new_kernel


class Session:
    """A kernel client that keeps every iopub message, whichever cell it belongs to."""

    def __init__(self, client):
        self.client = client
        self.messages = []
        self.replies = {}     # msg_id -> reply content, whichever order they come in

    def pump(self, timeout=0.05):
        while True:
            try:
                self.messages.append(self.client.get_iopub_msg(timeout=timeout))
            except queue.Empty:
                return

    def submit(self, code):
        return self.client.execute(code)

    def reply(self, msg_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            if msg_id in self.replies:
                self.wait_idle(msg_id, deadline)
                return self.replies[msg_id]
            try:
                reply = self.client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                continue
            self.replies[reply['parent_header'].get('msg_id')] = reply['content']
        raise AssertionError(f'no reply to {msg_id} within {timeout} s')

    def wait_idle(self, msg_id, deadline):
        while time.monotonic() < deadline:
            if any(m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle'
                   for m in self.of(msg_id)):
                return
            self.pump()
        raise AssertionError(f'{msg_id} never went idle')

    def run(self, code, timeout=60):
        msg_id = self.submit(code)
        return msg_id, self.reply(msg_id, timeout)

    def of(self, msg_id, msg_type=None):
        return [m for m in self.messages if m['parent_header'].get('msg_id') == msg_id
                and (msg_type is None or m['msg_type'] == msg_type)]

    def text(self, msg_id, name='stdout'):
        return ''.join(m['content']['text'] for m in self.of(msg_id, 'stream')
                       if m['content']['name'] == name)

    def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            if predicate():
                return
        raise AssertionError('condition not met in time')


@pytest.fixture(scope='module')
def kernel():
    manager, client = start_new_kernel(kernel_name='python3')
    session = Session(client)
    _, reply = session.run('%load_ext interpkernel')
    assert reply['status'] == 'ok'
    yield session, manager
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def test_output_and_result_reach_the_cell(kernel):
    session, _ = kernel
    msg_id, reply = session.run('%%interp\nprint("from worker")\n6 * 7')
    assert reply['status'] == 'ok'
    assert session.text(msg_id) == 'from worker\n'
    [result] = session.of(msg_id, 'execute_result')
    assert result['content']['data']['text/plain'] == '42'


def test_error_reply_names_the_exception_and_the_cells_line(kernel):
    session, _ = kernel
    msg_id, reply = session.run('%%interp\nx = 1\nx / 0')
    assert reply['status'] == 'error' and reply['ename'] == 'ZeroDivisionError'
    [error] = session.of(msg_id, 'error')
    assert any('line 2' in line for line in error['content']['traceback'])


def test_background_output_goes_to_its_own_cell_while_others_run(kernel):
    session, _ = kernel
    session.run('%interp channel gate')
    bg_id, reply = session.run('%%interp --bg waiter\nprint("started", flush=True)\n'
                               'value = gate.recv()\nprint("got", value)')
    assert reply['status'] == 'ok'
    session.wait_for(lambda: 'started' in session.text(bg_id))
    other_id, _ = session.run('print("other cell")\ngate.send(7)')
    session.run('%interp wait waiter')
    assert session.text(bg_id) == 'started\ngot 7\n'
    assert session.text(other_id) == 'other cell\n'
    status = [m for m in session.of(bg_id) if m['msg_type'] in
              ('display_data', 'update_display_data')]
    display_id = status[0]['content']['transient']['display_id']
    assert 'queued' in status[0]['content']['data']['text/plain'] or \
        'running' in status[0]['content']['data']['text/plain']
    assert status[-1]['msg_type'] == 'update_display_data'
    assert status[-1]['content']['transient']['display_id'] == display_id
    assert 'done' in status[-1]['content']['data']['text/plain']
    _, reply = session.run('assert value == 7')
    assert reply['status'] == 'ok'


def test_kernel_interrupt_stops_a_running_worker_cell(kernel):
    session, manager = kernel
    session.run('%%interp spin\nkeep = "kept"')
    msg_id = session.submit('%%interp spin\nprint("go", flush=True)\nwhile True:\n    pass')
    session.wait_for(lambda: 'go' in session.text(msg_id))
    manager.interrupt_kernel()
    reply = session.reply(msg_id)
    assert reply['status'] == 'error' and reply['ename'] == 'KeyboardInterrupt'
    _, reply = session.run("%%interp spin --out keep2\nkeep2 = keep")
    assert reply['status'] == 'ok'


def test_background_display_updates_reach_their_cell(kernel):
    session, _ = kernel
    bg_id, _ = session.run('%%interp --bg shower\nfrom IPython.display import display\n'
                           'h = display("first", display_id="d1")\nh.update("second")')
    session.run('%interp wait shower')
    updates = [m['content']['data']['text/plain'] for m in session.of(bg_id, 'update_display_data')
               if m['content']['transient'].get('display_id') == 'd1']
    assert updates == ["'second'"]


def test_labels_match_the_execution_count(kernel):
    """ipykernel on IPython 9 counts a cell before running it: labels must not run ahead."""
    session, _ = kernel
    msg_id, reply = session.run('%%interp\nx = 1\nx / 0')
    [executing] = session.of(msg_id, 'execute_input')
    count = executing['content']['execution_count']
    assert reply['execution_count'] == count
    [error] = session.of(msg_id, 'error')
    assert any(f'Cell In[{count}], line 2' in line for line in error['content']['traceback'])


def _status_lines(session, msg_id):
    return [m['content']['data']['text/plain'] for m in session.of(msg_id)
            if m['msg_type'] in ('display_data', 'update_display_data')]


def test_wait_for_finished_background_cells_returns_at_once(kernel):
    session, _ = kernel
    bg_id, _ = session.run('%%interp --bg quick\nquick_value = 5')
    session.wait_for(lambda: any('done' in line for line in _status_lines(session, bg_id)))
    msg_id, reply = session.run('%interp wait quick\nprint(quick_value)')
    assert reply['status'] == 'ok' and session.text(msg_id) == '5\n'


def test_interrupting_wait_stops_the_cells_in_one_line(kernel):
    session, manager = kernel
    bg_id, _ = session.run('%%interp --bg forever\nwhile True:\n    pass')
    session.wait_for(lambda: any('running' in line for line in _status_lines(session, bg_id)))
    msg_id = session.submit('%interp wait forever')
    session.wait_for(lambda: session.of(msg_id, 'execute_input'))
    time.sleep(0.5)
    manager.interrupt_kernel()
    reply = session.reply(msg_id)
    count = reply['execution_count'] - 1
    assert reply['status'] == 'error' and reply['ename'] == 'KeyboardInterrupt'
    assert reply['traceback'] == [f'KeyboardInterrupt: interrupted In[{count}] on forever']
    session.wait_for(lambda: any('interrupted after' in line
                                 for line in _status_lines(session, bg_id)))
