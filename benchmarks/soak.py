"""Row 13: one kernel over a long session, the interp kernel against ipykernel.

- 13a: 2,000 cells, each making a 10,000-element list under one of 50 names
  and showing its length, sent one after another (each waits for its reply);
  then every list is deleted.  Kernel RSS growth from the first cell to after
  the deletes, threads and open descriptors before and after, and the median
  round trip of the last 200 cells over that of the first 200.
- 13c: a magic that reads every name (``%who_ls``, a barrier run in the host),
  before the cells of 13a and after them: its cost must not grow with the
  session's history.
- 13b: ``x = bytearray(1 GiB)`` then ``del x``: the kernel's RSS after, over
  its RSS before (memory is given back, as in ipykernel).

Both kernels are started with jupyter_client, as in rows 9-12, and their
process is read in /proc.
"""

import os
import queue
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from interpkernel.kernel.install import KERNEL_NAME, install

from ._stats import median
from ._table import Row
from .memory import MiB, _status_kib

NAME = 'soak'
KERNELS = ('python3', KERNEL_NAME)
NAMES = 50
GROWTH_GOAL = 20 * MiB


def _state(pid):
    """(VmRSS bytes, threads, open descriptors) of process `pid`."""
    threads = next(int(line.split()[1]) for line in
                   Path(f'/proc/{pid}/status').read_text().splitlines()
                   if line.startswith('Threads:'))
    return _status_kib(pid, 'VmRSS'), threads, len(os.listdir(f'/proc/{pid}/fd'))


def _execute(client, code, timeout=60):
    """Run `code`; seconds from request to reply."""
    start = time.perf_counter()
    msg_id = client.execute(code)
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = client.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f'no reply to {code[:40]!r} within {timeout} s') from None
        if reply['parent_header'].get('msg_id') == msg_id:
            if reply['content']['status'] != 'ok':
                raise RuntimeError(f'{code[:40]!r} failed: {reply["content"]}')
            return time.perf_counter() - start


def _settled_state(client, pid):
    _execute(client, 'import gc\ngc.collect()')
    time.sleep(0.5)
    return _state(pid)


def _soak(name, cells):
    manager, client = start_new_kernel(kernel_name=name)
    try:
        pid = manager.provisioner.process.pid
        _execute(client, 'pass')
        magic_early = _magic_round_trip(client)
        before = _settled_state(client, pid)
        times = [_execute(client, f'data_{i % NAMES} = list(range(10_000))\n'
                                  f'len(data_{i % NAMES})') for i in range(cells)]
        _execute(client, 'del ' + ', '.join(f'data_{i}' for i in range(NAMES)))
        after = _settled_state(client, pid)
        magic_late = _magic_round_trip(client)
        _execute(client, 'x = bytearray(1 << 30)')
        held = _settled_state(client, pid)[0]
        _execute(client, 'del x')
        freed = _settled_state(client, pid)[0]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    window = min(200, cells // 5)
    return {'growth': after[0] - before[0], 'threads': (before[1], after[1]),
            'fds': (before[2], after[2]),
            'latency': (median(times[:window]), median(times[-window:])),
            'big': (before[0], held, freed), 'magic': (magic_early, magic_late)}


def _magic_round_trip(client, runs=5):
    """Median round trip of a magic that reads every name (a barrier in the host)."""
    return median(_execute(client, '%who_ls') for _ in range(runs))


def rows(ctx):
    cells = ctx.reps(2000, 400)
    with tempfile.TemporaryDirectory() as prefix:
        install(prefix=prefix)
        saved = os.environ.get('JUPYTER_PATH')
        os.environ['JUPYTER_PATH'] = os.path.join(prefix, 'share', 'jupyter')
        try:
            found = {name: _soak(name, cells) for name in KERNELS}
        finally:
            if saved is None:
                os.environ.pop('JUPYTER_PATH', None)
            else:
                os.environ['JUPYTER_PATH'] = saved
    ours, theirs = found[KERNEL_NAME], found['python3']

    def growth(r):
        first, last = r['latency']
        return last / first

    def described(r):
        first, last = r['latency']
        return (f'RSS +{r["growth"] / MiB:.1f} MiB, threads {r["threads"][0]}->'
                f'{r["threads"][1]}, fds {r["fds"][0]}->{r["fds"][1]}, p50 first 200 '
                f'{first * 1e3:.2f} ms, last 200 {last * 1e3:.2f} ms ({growth(r):.2f}x)')

    steady = ours['threads'][0] == ours['threads'][1] and ours['fds'][0] == ours['fds'][1]
    big_ours, big_theirs = ours['big'], theirs['big']
    return [
        Row(figure=f'13a. soak: {cells} cells on one kernel (a 10,000-element list under one '
                   f'of {NAMES} names, its length shown), then the lists deleted',
            value=described(ours), anchors=f'ipykernel {described(theirs)}',
            ratios=f'latency growth interp {growth(ours):.2f}x, ipykernel '
                   f'{growth(theirs):.2f}x',
            goal=f'RSS growth <= {GROWTH_GOAL / MiB:.0f} MiB, threads and fds back, '
                 f'last 200 within 1.2x of the first 200',
            met=ours['growth'] <= GROWTH_GOAL and steady and growth(ours) <= 1.2),
        Row(figure=f'13c. a magic reading every name (`%who_ls`, median of 5) before the '
                   f'cells of 13a and after them (and the deletes)',
            value=f'{ours["magic"][0] * 1e3:.1f} ms, then {ours["magic"][1] * 1e3:.1f} ms',
            anchors=f'ipykernel {theirs["magic"][0] * 1e3:.1f} ms, then '
                    f'{theirs["magic"][1] * 1e3:.1f} ms',
            ratios=f'after / before: interp '
                   f'{ours["magic"][1] / ours["magic"][0]:.2f}x, ipykernel '
                   f'{theirs["magic"][1] / theirs["magic"][0]:.2f}x',
            goal='its cost does not grow with the session (after <= 1.5x before)',
            met=ours['magic'][1] <= 1.5 * ours['magic'][0]),
        Row(figure='13b. `x = bytearray(1 GiB)`, then `del x`: kernel RSS after / before',
            value=f'{big_ours[2] / MiB:.0f} MiB after (before {big_ours[0] / MiB:.0f}, '
                  f'holding {big_ours[1] / MiB:.0f})',
            anchors=f'ipykernel {big_theirs[2] / MiB:.0f} MiB after (before '
                    f'{big_theirs[0] / MiB:.0f}, holding {big_theirs[1] / MiB:.0f})',
            ratios=f'after/before interp {big_ours[2] / big_ours[0]:.2f}, ipykernel '
                   f'{big_theirs[2] / big_theirs[0]:.2f}',
            goal='memory given back (after <= before + 64 MiB)',
            met=big_ours[2] <= big_ours[0] + 64 * MiB),
    ]
