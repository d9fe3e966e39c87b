"""Stop a local cluster's processes once the process that started them has ended.

A kernel that starts a cluster stops it when it shuts down; one killed
(``SIGKILL``, as jupyter_client kills a kernel that does not stop in time)
runs no shutdown code, and ipyparallel starts each of its processes in a
session of its own, out of reach of the signals its parent gets.  `watch`
starts a small process that outlives such a death:

    python -m interpkernel.reaper OWNER PGID...

It waits until OWNER (its parent) has ended, then sends SIGTERM to each
process group still there, and SIGKILL to those left 3 s later.  It ends by
itself once every group is gone (the cluster was stopped as it should be).
"""

import os
import signal
import subprocess
import sys
import time

__all__ = ['watch']

POLL = 0.5       # s between looks at the owner and the groups
GRACE = 3.0      # s between SIGTERM and SIGKILL


def watch(groups):
    """Start a reaper of the process groups `groups` (ids of their leaders) for this
    process; the caller ends it with ``terminate()`` and ``wait()`` when it stops them
    itself."""
    return subprocess.Popen(
        [sys.executable, '-m', 'interpkernel.reaper', str(os.getpid()), *map(str, groups)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def _alive(group):
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(groups, signum):
    for group in groups:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass


def main(argv):
    owner, *groups = (int(arg) for arg in argv)
    # Once the owner has ended, this process has another parent (init, or a
    # subreaper): no zombie of the owner can look alive.
    while os.getppid() == owner:
        # Groups that ended are forgotten: their ids may be reused by others.
        groups = [group for group in groups if _alive(group)]
        if not groups:
            return
        time.sleep(POLL)
    left = [group for group in groups if _alive(group)]
    _signal(left, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [group for group in left if _alive(group)]
    _signal(left, signal.SIGKILL)


if __name__ == '__main__':
    main(sys.argv[1:])
