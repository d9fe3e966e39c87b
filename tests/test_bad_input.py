"""Every row of the README's "Bad input" table, checked as a user would meet it.

Each bad input must give one line that says what was wrong, change nothing,
and leave what it was sent to working: the pool runs the next cell, the shell
the next magic, the kernel the next execute_request.
"""

import json
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from interpkernel import Channel, Pool, select
from interpkernel.kernel.install import KERNEL_NAME

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r'^\| (Python|magic|kernel|command line) \| `(.+)` \| `(.+)` \|$')


def _rows():
    text = (ROOT / 'README.md').read_text()
    section = text.split('\n## Bad input\n', 1)[1].split('\n## ', 1)[0]
    return [ROW.match(line).groups() for line in section.splitlines() if ROW.match(line)]


ROWS = _rows()


def _of(where):
    return [pytest.param(given, shown, id=given) for kind, given, shown in ROWS if kind == where]


def test_the_table_covers_every_place_a_user_gives_input():
    kinds = [kind for kind, _, _ in ROWS]
    assert len(ROWS) >= 40 and {'Python', 'magic', 'kernel', 'command line'} == set(kinds)


@pytest.mark.parametrize('given, shown', _of('Python'))
def test_python_api(pool, given, shown):
    namespace = {'pool': pool, 'Pool': Pool, 'Channel': Channel, 'select': select,
                 'threading': threading}
    with pytest.raises(Exception) as info:
        exec(given, namespace)
    said = f'{type(info.value).__name__}: {info.value}'
    assert shown in said and '\n' not in said
    assert pool.run('after = 41 + 1', outputs=['after']) == {'after': 42}


@pytest.mark.parametrize('given, shown', _of('magic'))
def test_magics(shell, capsys, given, shown):
    before = {k: v for k, v in shell.user_ns.items() if not k.startswith('_')}
    result = shell.run_cell(given.replace('\\n', '\n'), store_history=True)
    said = capsys.readouterr()
    assert not result.success
    assert shown in said.out + said.err
    assert len((said.out + said.err).strip().splitlines()) == 1
    assert {k: v for k, v in shell.user_ns.items() if not k.startswith('_')} == before
    assert shell.run_cell('%%interp --out after\nafter = 1').success


@pytest.fixture(scope='module')
def kernel(kernelspec):
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _request(client, msg_type, content, timeout=30):
    message = client.session.msg(msg_type, content)
    client.shell_channel.send(message)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reply = client.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        if reply['parent_header'].get('msg_id') == message['header']['msg_id']:
            return reply['content']
    raise AssertionError(f'no reply to {msg_type} within {timeout} s')


@pytest.mark.parametrize('given, shown', _of('kernel'))
def test_kernel_requests(kernel, given, shown):
    msg_type, _, content = given.partition(' ')
    reply = _request(kernel, msg_type, json.loads(content))
    assert reply['status'] == 'error'
    said = f'{reply["ename"]}: {reply["evalue"]}'
    assert shown in said and '\n' not in said
    assert _request(kernel, 'execute_request', {'code': 'after = 1'})['status'] == 'ok'


@pytest.mark.parametrize('given, shown', _of('command line'))
def test_command_line(given, shown):
    done = subprocess.run([sys.executable, '-m', 'interpkernel', *shlex.split(given)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert shown in done.stderr.strip().splitlines()[-1]
